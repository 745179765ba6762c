/*
 * macho.h — a validated view of one cache image's Mach-O header and load
 * commands, read through the cache's checked reader.
 *
 * dsc_macho_parse() checks the header, that every load command lies inside
 * sizeofcmds with a sane cmdsize, and that segment and section tables fit
 * their commands. After that, walkers may trust cmd/cmdsize framing; the
 * *contents* of individual commands (offsets into LINKEDIT, etc.) are still
 * input and must be checked where they are used.
 */
#ifndef DSC_MACHO_H
#define DSC_MACHO_H

#include "base/macho_format.h"
#include "cache/cache.h"

struct dsc_section {
    char sectname[17];
    char segname[17];
    uint64_t addr;
    uint64_t size;
    uint32_t offset, align, reloff, nreloc, flags, reserved1, reserved2, reserved3;
    unsigned segment;           /* index into dsc_macho.segs */
};

struct dsc_segment {
    char name[17];
    uint64_t vmaddr, vmsize, fileoff, filesize;
    uint32_t maxprot, initprot, nsects, flags;
    unsigned first_section;     /* index into dsc_macho.sects */
    uint64_t cmd_offset;        /* of its load command, in `cmds` */
};

struct dsc_lc {
    uint32_t cmd;
    uint32_t cmdsize;
    dsc_span body;              /* the whole command, cmdsize bytes */
    uint64_t offset;            /* from the start of the load commands */
};

struct dsc_macho {
    const dsc_cache *cache;
    uint32_t image;
    const char *path;           /* image path, for messages */
    bool is64;
    uint32_t cputype, cpusubtype, filetype, ncmds, sizeofcmds, flags;
    uint32_t header_size;       /* 28 or 32 */
    dsc_span header;            /* mach_header + load commands */
    dsc_span cmds;              /* load commands only */
    struct dsc_segment *segs;
    unsigned nsegs;
    struct dsc_section *sects;
    unsigned nsects;
    const char *install_name;   /* from LC_ID_DYLIB, points into the cache */
    uint8_t uuid[16];
    bool has_uuid;
};

int dsc_macho_parse(const dsc_cache *c, uint32_t image, struct dsc_macho *mo, dsc_error *err);
void dsc_macho_free(struct dsc_macho *mo);

/* Iterate load commands: start with *cursor = 0; returns false at the end. */
bool dsc_lc_next(const struct dsc_macho *mo, uint64_t *cursor, struct dsc_lc *lc);
/* First load command with `cmd`, or false. */
bool dsc_lc_find(const struct dsc_macho *mo, uint32_t cmd, struct dsc_lc *lc);

const struct dsc_segment *dsc_macho_segment(const struct dsc_macho *mo, const char *name);
const struct dsc_section *dsc_macho_section(const struct dsc_macho *mo, const char *seg, const char *sect);

/* "<cache>: <image path>: <message>" */
int dsc_image_fail(dsc_error *err, const dsc_cache *c, uint32_t image, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

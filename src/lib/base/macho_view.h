/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * macho_view.h — the one reader of a Mach-O header and its load commands,
 * for cache images (cache/macho.h finds their bytes) and for standalone
 * files such as an extracted output (dsc_macho_read_file).
 *
 * dsc_macho_commands() checks that every load command lies inside
 * sizeofcmds with a sane, 4-aligned cmdsize and that segment and section
 * tables fit their commands. After that, walkers may trust cmd/cmdsize
 * framing; the *contents* of individual commands (offsets into LINKEDIT,
 * etc.) are still input: the typed readers below check that a command is
 * long enough, and callers check where its offsets point.
 */
#ifndef DSC_MACHO_VIEW_H
#define DSC_MACHO_VIEW_H

#include "base/macho_format.h"
#include "base/reader.h"

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

/* How many kinds of load command dsc_lc_find finds without a walk. */
#define DSC_LC_INDEXED 8

struct dsc_macho {
    /* Whose image this is: set by cache/macho.c for a cache image and by
     * the caller for an extracted file; the reader only carries them. */
    const dsc_cache *cache;
    uint32_t image;
    const char *path;           /* image path, for messages */
    bool is64;
    uint32_t cputype, cpusubtype, filetype, ncmds, sizeofcmds, flags;
    uint32_t header_size;       /* MH_HEADER_SIZE or MH_HEADER_SIZE_64 */
    dsc_span header;            /* mach_header + load commands */
    dsc_span cmds;              /* load commands only */
    dsc_span file;              /* a standalone file: all of it; empty for a cache image */
    struct dsc_segment *segs;
    unsigned nsegs;
    struct dsc_section *sects;
    unsigned nsects;
    const char *install_name;   /* from LC_ID_DYLIB, points into the bytes read */
    uint8_t uuid[16];
    bool has_uuid;
    /* The one walk of dsc_macho_commands notes where the first command of
     * each kind the typed readers ask for is (its offset in `cmds` plus
     * one; 0: none), so that dsc_lc_find answers them without a walk. */
    uint32_t lc_first[DSC_LC_INDEXED];
    bool lc_indexed;
    unsigned linkedit;          /* index of the first __LINKEDIT segment plus one; 0: none */
};

/* Read the mach_header at the start of `s` (magic, word size, counts) and
 * check that the counts are plausible. Failures name `who` in `err`. */
int dsc_macho_header(dsc_span s, struct dsc_macho *mo, const char *who, dsc_error *err);
/* After dsc_macho_header: index the load commands of `s`, which starts at
 * the header and holds header_size + sizeofcmds bytes or more. Frees what
 * it allocated on failure. */
int dsc_macho_commands(dsc_span s, struct dsc_macho *mo, const char *who, dsc_error *err);
/* A standalone file: both of the above, and every segment's file bytes
 * inside the file. Clears *mo first, then sets mo->file. */
int dsc_macho_read_file(dsc_span file, const char *who, struct dsc_macho *mo, dsc_error *err);
void dsc_macho_free(struct dsc_macho *mo);

/* Iterate load commands: start with *cursor = 0; returns false at the end. */
bool dsc_lc_next(const struct dsc_macho *mo, uint64_t *cursor, struct dsc_lc *lc);
/* First load command with `cmd`, or false. Commands edited in place
 * after dsc_macho_commands must keep their kinds and places. */
bool dsc_lc_find(const struct dsc_macho *mo, uint32_t cmd, struct dsc_lc *lc);

const struct dsc_segment *dsc_macho_segment(const struct dsc_macho *mo, const char *name);
const struct dsc_section *dsc_macho_section(const struct dsc_macho *mo, const char *seg, const char *sect);

/* The name of a dylib_command (LC_ID_DYLIB, LC_LOAD_DYLIB, ...): an lc_str
 * past the fixed part, NUL-terminated inside the command. */
bool dsc_macho_dylib_name(const struct dsc_lc *lc, const char **name);

/* Typed reads of the commands whose fields the engine uses. Each returns
 * 1 with the fields filled, 0 when the image has no such command, -1 when
 * the command is too short for its fields. Offsets are LINKEDIT file
 * offsets, unchecked: see dsc_macho_linkedit (cache/macho.h). */
struct dsc_symtab_cmd {
    uint32_t symoff, nsyms, stroff, strsize;
};
struct dsc_dysymtab_cmd {
    uint32_t ilocalsym, nlocalsym, iextdefsym, nextdefsym, iundefsym, nundefsym;
    uint32_t indirectsymoff, nindirectsyms;
};
int dsc_macho_symtab(const struct dsc_macho *mo, struct dsc_symtab_cmd *out);
int dsc_macho_dysymtab(const struct dsc_macho *mo, struct dsc_dysymtab_cmd *out);
/* The (dataoff, datasize) of the first linkedit_data_command `cmd`. */
int dsc_macho_linkedit_data(const struct dsc_macho *mo, uint32_t cmd, uint32_t *off, uint32_t *size);
/* The export trie: LC_DYLD_EXPORTS_TRIE's, else LC_DYLD_INFO(_ONLY)'s. */
int dsc_macho_export_trie(const struct dsc_macho *mo, uint32_t *off, uint32_t *size);
/* The first LC_DYLD_INFO_ONLY or LC_DYLD_INFO command, at least
 * DYLD_INFO_CMD_SIZE bytes long; same returns. */
int dsc_macho_dyld_info(const struct dsc_macho *mo, struct dsc_lc *lc);

/* A standalone file's bytes at [addr, addr+len) of one segment's file
 * contents, or false. */
bool dsc_macho_file_span(const struct dsc_macho *mo, uint64_t addr, uint64_t len, dsc_span *out);

#endif

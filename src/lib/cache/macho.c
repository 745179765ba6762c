/*
 * macho.c — validate and index a cache image's header and load commands.
 * See macho.h for what is checked here and what callers must still check.
 */
#include "cache/macho.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Apple's linker never emits anywhere near this much; bounds allocation. */
#define MAX_SIZEOFCMDS (1u << 20)
#define SEG32_SIZE 56
#define SEG64_SIZE 72
#define SECT32_SIZE 68
#define SECT64_SIZE 80

int dsc_image_fail(dsc_error *err, const dsc_cache *c, uint32_t image, const char *fmt, ...)
{
    if (!err)
        return -1;
    char what[DSC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const dsc_image *img = dsc_image_at(c, image);
    return dsc_fail(err, c->path, "%s: %s", img ? img->path : "(no such image)", what);
}

static void copy_name(char out[17], const uint8_t *p)
{
    memcpy(out, p, 16);
    out[16] = 0;
}

bool dsc_lc_next(const struct dsc_macho *mo, uint64_t *cursor, struct dsc_lc *lc)
{
    uint32_t cmd, size;
    if (!span_u32(mo->cmds, *cursor, &cmd) || !span_u32(mo->cmds, *cursor + 4, &size) ||
        size < 8 || !span_sub(mo->cmds, *cursor, size, &lc->body))
        return false;
    lc->cmd = cmd;
    lc->cmdsize = size;
    lc->offset = *cursor;
    *cursor += size;
    return true;
}

bool dsc_lc_find(const struct dsc_macho *mo, uint32_t cmd, struct dsc_lc *lc)
{
    uint64_t cur = 0;
    while (dsc_lc_next(mo, &cur, lc))
        if (lc->cmd == cmd)
            return true;
    return false;
}

const struct dsc_segment *dsc_macho_segment(const struct dsc_macho *mo, const char *name)
{
    for (unsigned i = 0; i < mo->nsegs; i++)
        if (strcmp(mo->segs[i].name, name) == 0)
            return &mo->segs[i];
    return NULL;
}

const struct dsc_section *dsc_macho_section(const struct dsc_macho *mo, const char *seg, const char *sect)
{
    for (unsigned i = 0; i < mo->nsects; i++)
        if (strcmp(mo->sects[i].segname, seg) == 0 && strcmp(mo->sects[i].sectname, sect) == 0)
            return &mo->sects[i];
    return NULL;
}

static int parse_segment(struct dsc_macho *mo, const struct dsc_lc *lc, dsc_error *err)
{
    const uint8_t *p = lc->body.data;
    unsigned fixed = mo->is64 ? SEG64_SIZE : SEG32_SIZE, ssize = mo->is64 ? SECT64_SIZE : SECT32_SIZE;
    if (lc->cmdsize < fixed)
        return dsc_image_fail(err, mo->cache, mo->image, "segment command is too short");
    struct dsc_segment *s = &mo->segs[mo->nsegs];
    copy_name(s->name, p + 8);
    if (mo->is64) {
        s->vmaddr = dsc_le64(p + 24);
        s->vmsize = dsc_le64(p + 32);
        s->fileoff = dsc_le64(p + 40);
        s->filesize = dsc_le64(p + 48);
        s->maxprot = dsc_le32(p + 56);
        s->initprot = dsc_le32(p + 60);
        s->nsects = dsc_le32(p + 64);
        s->flags = dsc_le32(p + 68);
    } else {
        s->vmaddr = dsc_le32(p + 24);
        s->vmsize = dsc_le32(p + 28);
        s->fileoff = dsc_le32(p + 32);
        s->filesize = dsc_le32(p + 36);
        s->maxprot = dsc_le32(p + 40);
        s->initprot = dsc_le32(p + 44);
        s->nsects = dsc_le32(p + 48);
        s->flags = dsc_le32(p + 52);
    }
    s->cmd_offset = lc->offset;
    s->first_section = mo->nsects;
    if (s->nsects > (lc->cmdsize - fixed) / ssize)
        return dsc_image_fail(err, mo->cache, mo->image, "segment %s claims %u sections, more than its command holds",
                              s->name, s->nsects);
    uint64_t end;
    if (!dsc_add_ok(s->vmaddr, s->vmsize, &end))
        return dsc_image_fail(err, mo->cache, mo->image, "segment %s wraps the address space", s->name);
    struct dsc_section *grown = realloc(mo->sects, (mo->nsects + s->nsects + 1) * sizeof *grown);
    if (!grown)
        return dsc_image_fail(err, mo->cache, mo->image, "out of memory");
    mo->sects = grown;
    for (uint32_t i = 0; i < s->nsects; i++) {
        const uint8_t *q = p + fixed + (uint64_t)i * ssize;
        struct dsc_section *x = &mo->sects[mo->nsects++];
        copy_name(x->sectname, q);
        copy_name(x->segname, q + 16);
        const uint8_t *r = q + (mo->is64 ? 48 : 40);
        x->addr = mo->is64 ? dsc_le64(q + 32) : dsc_le32(q + 32);
        x->size = mo->is64 ? dsc_le64(q + 40) : dsc_le32(q + 36);
        x->offset = dsc_le32(r);
        x->align = dsc_le32(r + 4);
        x->reloff = dsc_le32(r + 8);
        x->nreloc = dsc_le32(r + 12);
        x->flags = dsc_le32(r + 16);
        x->reserved1 = dsc_le32(r + 20);
        x->reserved2 = dsc_le32(r + 24);
        x->reserved3 = mo->is64 ? dsc_le32(r + 28) : 0;
        x->segment = mo->nsegs;
    }
    mo->nsegs++;
    return 0;
}

static int parse_commands(struct dsc_macho *mo, dsc_error *err)
{
    uint64_t cur = 0;
    struct dsc_lc lc;
    mo->segs = calloc(mo->ncmds ? mo->ncmds : 1, sizeof *mo->segs);
    if (!mo->segs)
        return dsc_image_fail(err, mo->cache, mo->image, "out of memory");
    for (uint32_t i = 0; i < mo->ncmds; i++) {
        if (!dsc_lc_next(mo, &cur, &lc))
            return dsc_image_fail(err, mo->cache, mo->image, "load command %u is out of range", i);
        if (lc.cmdsize % 4)
            return dsc_image_fail(err, mo->cache, mo->image, "load command %u has a misaligned size %u", i, lc.cmdsize);
        if (lc.cmd == (mo->is64 ? LC_SEGMENT_64 : LC_SEGMENT)) {
            if (parse_segment(mo, &lc, err))
                return -1;
        } else if (lc.cmd == LC_ID_DYLIB) {
            uint32_t name_off;
            const char *name;
            if (!span_u32(lc.body, 8, &name_off) || name_off < 24 ||
                !span_cstr(lc.body, name_off, lc.cmdsize, &name, NULL))
                return dsc_image_fail(err, mo->cache, mo->image, "LC_ID_DYLIB name is out of its command");
            mo->install_name = name;
        } else if (lc.cmd == LC_UUID) {
            if (!span_copy(lc.body, 8, mo->uuid, 16))
                return dsc_image_fail(err, mo->cache, mo->image, "LC_UUID is too short");
            mo->has_uuid = true;
        }
    }
    /* ncmds commands must account for all of sizeofcmds. */
    if (cur != mo->cmds.size)
        return dsc_image_fail(err, mo->cache, mo->image, "load commands end at %llu, not at sizeofcmds %u",
                              (unsigned long long)cur, mo->sizeofcmds);
    return 0;
}

int dsc_macho_parse(const dsc_cache *c, uint32_t image, struct dsc_macho *mo, dsc_error *err)
{
    memset(mo, 0, sizeof *mo);
    const dsc_image *img = dsc_image_at(c, image);
    if (!img)
        return dsc_fail(err, c->path, "no image %u", image);
    mo->cache = c;
    mo->image = image;
    mo->path = img->path;
    dsc_span hdr;
    uint32_t magic;
    if (!dsc_vm_span(c, img->address, 28, &hdr))
        return dsc_image_fail(err, c, image, "mach header at 0x%llx is out of its mapping",
                              (unsigned long long)img->address);
    magic = dsc_le32(hdr.data);
    if (magic != MH_MAGIC && magic != MH_MAGIC_64)
        return dsc_image_fail(err, c, image, "bad Mach-O magic 0x%08x", magic);
    mo->is64 = magic == MH_MAGIC_64;
    if (mo->is64 != c->info.is64)
        return dsc_image_fail(err, c, image, "Mach-O word size differs from the cache's");
    mo->header_size = mo->is64 ? 32 : 28;
    mo->cputype = dsc_le32(hdr.data + 4);
    mo->cpusubtype = dsc_le32(hdr.data + 8);
    mo->filetype = dsc_le32(hdr.data + 12);
    mo->ncmds = dsc_le32(hdr.data + 16);
    mo->sizeofcmds = dsc_le32(hdr.data + 20);
    mo->flags = dsc_le32(hdr.data + 24);
    if (mo->sizeofcmds > MAX_SIZEOFCMDS || mo->ncmds > mo->sizeofcmds / 8)
        return dsc_image_fail(err, c, image, "implausible load commands (%u commands in %u bytes)",
                              mo->ncmds, mo->sizeofcmds);
    if (!dsc_vm_span(c, img->address, mo->header_size + (uint64_t)mo->sizeofcmds, &mo->header))
        return dsc_image_fail(err, c, image, "load commands run past the end of their mapping");
    span_sub(mo->header, mo->header_size, mo->sizeofcmds, &mo->cmds);
    if (parse_commands(mo, err)) {
        dsc_macho_free(mo);
        return -1;
    }
    return 0;
}

void dsc_macho_free(struct dsc_macho *mo)
{
    free(mo->segs);
    free(mo->sects);
    mo->segs = NULL;
    mo->sects = NULL;
}

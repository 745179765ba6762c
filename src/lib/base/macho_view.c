/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * macho_view.c — read and index a Mach-O header and its load commands.
 * See macho_view.h for what is checked here and what callers must still
 * check. Field offsets are macho_format.h's.
 */
#include "base/macho_view.h"

#include <stdlib.h>
#include <string.h>

/* Apple's linker never emits anywhere near this much; bounds allocation. */
#define MAX_SIZEOFCMDS (1u << 20)

static void copy_name(char out[17], const uint8_t *p)
{
    memcpy(out, p, 16);
    out[16] = 0;
}

bool dsc_lc_next(const struct dsc_macho *mo, uint64_t *cursor, struct dsc_lc *lc)
{
    uint32_t cmd, size;
    if (!span_u32(mo->cmds, *cursor, &cmd) || !span_u32(mo->cmds, *cursor + 4, &size) ||
        size < LC_HEADER_SIZE || !span_sub(mo->cmds, *cursor, size, &lc->body))
        return false;
    lc->cmd = cmd;
    lc->cmdsize = size;
    lc->offset = *cursor;
    *cursor += size;
    return true;
}

/* Where dsc_macho_commands notes `cmd` in lc_first, or -1: the commands
 * of the typed readers below and of the passes that copy LINKEDIT data. */
static int indexed_slot(uint32_t cmd)
{
    switch (cmd) {
    case LC_SYMTAB: return 0;
    case LC_DYSYMTAB: return 1;
    case LC_DYLD_INFO: return 2;
    case LC_DYLD_INFO_ONLY: return 3;
    case LC_DYLD_EXPORTS_TRIE: return 4;
    case LC_FUNCTION_STARTS: return 5;
    case LC_DATA_IN_CODE: return 6;
    case LC_DYLD_CHAINED_FIXUPS: return 7;
    default: return -1;
    }
}

bool dsc_lc_find(const struct dsc_macho *mo, uint32_t cmd, struct dsc_lc *lc)
{
    int k = indexed_slot(cmd);
    uint64_t cur = 0;
    if (k >= 0 && mo->lc_indexed) {
        cur = mo->lc_first[k] ? mo->lc_first[k] - 1 : 0;
        return mo->lc_first[k] && dsc_lc_next(mo, &cur, lc) && lc->cmd == cmd;
    }
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

/* A segment command's vmaddr, vmsize, fileoff, filesize: u64s or u32s. */
static uint64_t seg_word(const struct dsc_macho *mo, const uint8_t *p, unsigned i)
{
    return mo->is64 ? dsc_le64(p + SEG_VMADDR + 8 * i) : dsc_le32(p + SEG_VMADDR + 4 * i);
}

static void read_section(const struct dsc_macho *mo, const uint8_t *q, struct dsc_section *x)
{
    copy_name(x->sectname, q + SECT_SECTNAME);
    copy_name(x->segname, q + SECT_SEGNAME);
    const uint8_t *r = q + (mo->is64 ? SECT_OFFSET_64 : SECT_OFFSET);
    x->addr = mo->is64 ? dsc_le64(q + SECT_ADDR) : dsc_le32(q + SECT_ADDR);
    x->size = mo->is64 ? dsc_le64(q + SECT_ADDR + 8) : dsc_le32(q + SECT_ADDR + 4);
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

static int parse_segment(struct dsc_macho *mo, const struct dsc_lc *lc, const char *who, dsc_error *err)
{
    const uint8_t *p = lc->body.data;
    unsigned fixed = mo->is64 ? SEG_SIZE_64 : SEG_SIZE, ssize = mo->is64 ? SECT_SIZE_64 : SECT_SIZE;
    if (lc->cmdsize < fixed)
        return dsc_fail(err, who, "segment command is too short");
    struct dsc_segment *s = &mo->segs[mo->nsegs];
    const uint8_t *prot = p + (mo->is64 ? SEG_MAXPROT_64 : SEG_MAXPROT);
    copy_name(s->name, p + SEG_SEGNAME);
    s->vmaddr = seg_word(mo, p, 0);
    s->vmsize = seg_word(mo, p, 1);
    s->fileoff = seg_word(mo, p, 2);
    s->filesize = seg_word(mo, p, 3);
    s->maxprot = dsc_le32(prot);
    s->initprot = dsc_le32(prot + 4);
    s->nsects = dsc_le32(prot + 8);
    s->flags = dsc_le32(prot + 12);
    s->cmd_offset = lc->offset;
    s->first_section = mo->nsects;
    if (s->nsects > (lc->cmdsize - fixed) / ssize)
        return dsc_fail(err, who, "segment %s claims %u sections, more than its command holds", s->name, s->nsects);
    uint64_t end;
    if (!dsc_add_ok(s->vmaddr, s->vmsize, &end))
        return dsc_fail(err, who, "segment %s wraps the address space", s->name);
    for (uint32_t i = 0; i < s->nsects; i++)
        read_section(mo, p + fixed + (uint64_t)i * ssize, &mo->sects[mo->nsects++]);
    if (!mo->linkedit && strcmp(s->name, "__LINKEDIT") == 0)
        mo->linkedit = mo->nsegs + 1;
    mo->nsegs++;
    return 0;
}

bool dsc_macho_dylib_name(const struct dsc_lc *lc, const char **name)
{
    uint32_t name_off;
    return span_u32(lc->body, DYLIB_NAME, &name_off) && name_off >= DYLIB_CMD_SIZE &&
           span_cstr(lc->body, name_off, lc->cmdsize, name, NULL);
}

static int parse_command(struct dsc_macho *mo, const struct dsc_lc *lc, const char *who, dsc_error *err)
{
    int k = indexed_slot(lc->cmd);
    if (k >= 0 && !mo->lc_first[k])
        mo->lc_first[k] = (uint32_t)lc->offset + 1; /* offsets < sizeofcmds <= MAX_SIZEOFCMDS */
    if (lc->cmd == (mo->is64 ? LC_SEGMENT_64 : LC_SEGMENT))
        return parse_segment(mo, lc, who, err);
    if (lc->cmd == LC_ID_DYLIB) {
        if (!dsc_macho_dylib_name(lc, &mo->install_name))
            return dsc_fail(err, who, "LC_ID_DYLIB name is out of its command");
    } else if (lc->cmd == LC_UUID) {
        if (!span_copy(lc->body, UUID_UUID, mo->uuid, 16))
            return dsc_fail(err, who, "LC_UUID is too short");
        mo->has_uuid = true;
    }
    return 0;
}

static int parse_commands(struct dsc_macho *mo, const char *who, dsc_error *err)
{
    uint64_t cur = 0;
    struct dsc_lc lc;
    /* Room for every section at once: each segment's lie inside its own
     * command (parse_segment checks), so sizeofcmds bounds them all. */
    unsigned ssize = mo->is64 ? SECT_SIZE_64 : SECT_SIZE;
    memset(mo->lc_first, 0, sizeof mo->lc_first);
    mo->lc_indexed = false;
    mo->linkedit = 0;
    mo->segs = malloc((mo->ncmds ? mo->ncmds : 1) * sizeof *mo->segs); /* parse_segment fills each */
    mo->sects = malloc((mo->sizeofcmds / ssize + 1) * sizeof *mo->sects);
    if (!mo->segs || !mo->sects)
        return dsc_fail_oom(err, who);
    for (uint32_t i = 0; i < mo->ncmds; i++) {
        if (!dsc_lc_next(mo, &cur, &lc))
            return dsc_fail(err, who, "load command %u is out of range", i);
        if (lc.cmdsize % 4)
            return dsc_fail(err, who, "load command %u has a misaligned size %u", i, lc.cmdsize);
        if (parse_command(mo, &lc, who, err))
            return -1;
    }
    /* ncmds commands must account for all of sizeofcmds. */
    if (cur != mo->cmds.size)
        return dsc_fail(err, who, "load commands end at %llu, not at sizeofcmds %u", (unsigned long long)cur,
                        mo->sizeofcmds);
    mo->lc_indexed = true;
    return 0;
}

int dsc_macho_header(dsc_span s, struct dsc_macho *mo, const char *who, dsc_error *err)
{
    uint32_t magic;
    if (!span_u32(s, 0, &magic) || (magic != MH_MAGIC && magic != MH_MAGIC_64))
        return dsc_fail(err, who, "bad Mach-O magic 0x%08x", s.size >= 4 ? dsc_le32(s.data) : 0);
    mo->is64 = magic == MH_MAGIC_64;
    mo->header_size = mo->is64 ? MH_HEADER_SIZE_64 : MH_HEADER_SIZE;
    if (s.size < MH_HEADER_SIZE) /* every field read here; _64 only adds a reserved word */
        return dsc_fail(err, who, "mach header is cut short");
    mo->cputype = dsc_le32(s.data + MH_CPUTYPE);
    mo->cpusubtype = dsc_le32(s.data + MH_CPUSUBTYPE);
    mo->filetype = dsc_le32(s.data + MH_FILETYPE);
    mo->ncmds = dsc_le32(s.data + MH_NCMDS);
    mo->sizeofcmds = dsc_le32(s.data + MH_SIZEOFCMDS);
    mo->flags = dsc_le32(s.data + MH_FLAGS);
    if (mo->sizeofcmds > MAX_SIZEOFCMDS || mo->ncmds > mo->sizeofcmds / LC_HEADER_SIZE)
        return dsc_fail(err, who, "implausible load commands (%u commands in %u bytes)", mo->ncmds, mo->sizeofcmds);
    return 0;
}

int dsc_macho_commands(dsc_span s, struct dsc_macho *mo, const char *who, dsc_error *err)
{
    if (!span_sub(s, 0, mo->header_size + (uint64_t)mo->sizeofcmds, &mo->header))
        return dsc_fail(err, who, "load commands run past the end of their mapping");
    span_sub(mo->header, mo->header_size, mo->sizeofcmds, &mo->cmds);
    if (parse_commands(mo, who, err)) {
        dsc_macho_free(mo);
        return -1;
    }
    return 0;
}

/* The first segment whose file bytes are not inside the file, or NULL. */
static const struct dsc_segment *segment_outside(const struct dsc_macho *mo)
{
    for (unsigned i = 0; i < mo->nsegs; i++)
        if (!dsc_range_ok(mo->file.size, mo->segs[i].fileoff, mo->segs[i].filesize))
            return &mo->segs[i];
    return NULL;
}

int dsc_macho_read_file(dsc_span file, const char *who, struct dsc_macho *mo, dsc_error *err)
{
    memset(mo, 0, sizeof *mo);
    if (dsc_macho_header(file, mo, who, err) || dsc_macho_commands(file, mo, who, err))
        return -1;
    mo->file = file;
    const struct dsc_segment *bad = segment_outside(mo);
    if (bad) {
        dsc_fail(err, who, "segment %s is out of the file", bad->name);
        dsc_macho_free(mo);
    }
    return bad ? -1 : 0;
}

void dsc_macho_free(struct dsc_macho *mo)
{
    free(mo->segs);
    free(mo->sects);
    mo->segs = NULL;
    mo->sects = NULL;
    mo->linkedit = 0;
    mo->lc_indexed = false;
}

/* The u32 fields at `offs` of the first command `cmd` at least `size` long. */
static int read_fields(const struct dsc_macho *mo, uint32_t cmd, uint32_t size, const unsigned *offs,
                       uint32_t **out, unsigned n)
{
    struct dsc_lc lc;
    if (!dsc_lc_find(mo, cmd, &lc))
        return 0;
    if (lc.cmdsize < size)
        return -1;
    for (unsigned i = 0; i < n; i++)
        *out[i] = dsc_le32(lc.body.data + offs[i]);
    return 1;
}

int dsc_macho_symtab(const struct dsc_macho *mo, struct dsc_symtab_cmd *t)
{
    static const unsigned offs[] = {SYMTAB_SYMOFF, SYMTAB_NSYMS, SYMTAB_STROFF, SYMTAB_STRSIZE};
    uint32_t *out[] = {&t->symoff, &t->nsyms, &t->stroff, &t->strsize};
    return read_fields(mo, LC_SYMTAB, SYMTAB_CMD_SIZE, offs, out, 4);
}

int dsc_macho_dysymtab(const struct dsc_macho *mo, struct dsc_dysymtab_cmd *d)
{
    static const unsigned offs[] = {DYSYMTAB_ILOCALSYM, DYSYMTAB_NLOCALSYM, DYSYMTAB_IEXTDEFSYM,
                                    DYSYMTAB_NEXTDEFSYM, DYSYMTAB_IUNDEFSYM, DYSYMTAB_NUNDEFSYM,
                                    DYSYMTAB_INDIRECTSYMOFF, DYSYMTAB_NINDIRECTSYMS};
    uint32_t *out[] = {&d->ilocalsym, &d->nlocalsym, &d->iextdefsym, &d->nextdefsym,
                       &d->iundefsym, &d->nundefsym, &d->indirectsymoff, &d->nindirectsyms};
    return read_fields(mo, LC_DYSYMTAB, DYSYMTAB_CMD_SIZE, offs, out, 8);
}

int dsc_macho_linkedit_data(const struct dsc_macho *mo, uint32_t cmd, uint32_t *off, uint32_t *size)
{
    static const unsigned offs[] = {LINKEDIT_DATAOFF, LINKEDIT_DATASIZE};
    uint32_t *out[] = {off, size};
    return read_fields(mo, cmd, LINKEDIT_DATA_CMD_SIZE, offs, out, 2);
}

int dsc_macho_dyld_info(const struct dsc_macho *mo, struct dsc_lc *lc)
{
    if (!dsc_lc_find(mo, LC_DYLD_INFO_ONLY, lc) && !dsc_lc_find(mo, LC_DYLD_INFO, lc))
        return 0;
    return lc->cmdsize < DYLD_INFO_CMD_SIZE ? -1 : 1;
}

int dsc_macho_export_trie(const struct dsc_macho *mo, uint32_t *off, uint32_t *size)
{
    struct dsc_lc lc;
    int rc = dsc_macho_linkedit_data(mo, LC_DYLD_EXPORTS_TRIE, off, size);
    if (rc || (rc = dsc_macho_dyld_info(mo, &lc)) <= 0)
        return rc;
    *off = dsc_le32(lc.body.data + DYLD_INFO_EXPORT);
    *size = dsc_le32(lc.body.data + DYLD_INFO_EXPORT + 4);
    return 1;
}

bool dsc_macho_file_span(const struct dsc_macho *mo, uint64_t addr, uint64_t len, dsc_span *out)
{
    for (unsigned i = 0; i < mo->nsegs; i++) {
        const struct dsc_segment *s = &mo->segs[i];
        if (addr >= s->vmaddr && dsc_range_ok(s->filesize, addr - s->vmaddr, len))
            return span_sub(mo->file, s->fileoff + (addr - s->vmaddr), len, out);
    }
    return false;
}

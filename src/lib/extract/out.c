/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * out.c — the output Mach-O builder: file layout, load commands, serialise.
 *
 * File layout (compact, no gaps beyond alignment): the segments in load
 * command order, each at a page-aligned file offset (the first, holding the
 * mach header, at 0), then the rebuilt __LINKEDIT. Segments keep their cache
 * VM addresses (see extract.h); __LINKEDIT keeps the cache's LINKEDIT vmaddr
 * unless an added segment took it. Inside __LINKEDIT, pointer-aligned:
 * fixups (chained, or rebase/bind/weak/lazy opcodes), export trie, function
 * starts, data in code, symbols, indirect symbols, strings; then, when
 * signing, the code signature (base/codesign.h), 16-aligned as ld64 and
 * lld place it, signing every byte before it.
 *
 * Load commands are the cache image's, in their order, with every file
 * offset rewritten; MH_DYLIB_IN_CACHE is cleared; split-seg info, the
 * cache's code signature and other views into the shared LINKEDIT are
 * dropped; LC_CODE_SIGNATURE of the new signature comes last (where ld64
 * puts it). They must fit before the first section of the first segment,
 * as in the cache; when the signature's command does not, the file is
 * written unsigned with a warning rather than not at all.
 */
#include "extract/extract.h"

#include <string.h>

#include "base/codesign.h"

/* LINKEDIT pieces in file order; the signature, last, is not a blob. */
enum piece { P_CHAINED, P_REBASE, P_BIND, P_WEAK, P_LAZY, P_EXPORTS, P_FSTARTS, P_DIC, P_SYMTAB, P_INDIRECT,
             P_STRTAB, P_SIGNATURE, P_COUNT };

static const struct dsc_blob *piece_blob(const struct dsc_plan *p, enum piece i)
{
    const struct dsc_linkedit *le = &p->le;
    const struct dsc_blob *all[P_SIGNATURE] = {&le->chained, &le->rebase, &le->bind, &le->weak_bind, &le->lazy_bind,
                                           &le->exports, &le->fstarts, &le->dic, &le->symtab, &le->indirect,
                                           &le->strtab};
    return all[i];
}

/* What the signature of a file signed up to `code_limit` says: ld64's
 * identifier (the install name's last component), __TEXT's file range. */
static struct dsc_codesign sign_params(const struct dsc_plan *p, uint64_t code_limit)
{
    const char *name = p->mo.install_name ? p->mo.install_name : p->mo.path;
    const char *leaf = strrchr(name, '/');
    struct dsc_codesign cs = {.identifier = leaf && leaf[1] ? leaf + 1 : name, .code_limit = code_limit,
                              .exec_flags = p->mo.filetype == MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0};
    for (unsigned i = 0; i < p->nsegs; i++)
        if (!strcmp(p->segs[i].name, "__TEXT")) {
            cs.exec_base = p->segs[i].fileoff;
            cs.exec_limit = p->segs[i].filesize;
        }
    return cs;
}

/* File offsets of the LINKEDIT pieces (the signature's 16-aligned when
 * signing); sets p->sign_size and returns LINKEDIT's size. */
static uint64_t linkedit_layout(struct dsc_plan *p, uint64_t off[P_COUNT])
{
    uint64_t at = 0;
    for (int i = 0; i < P_SIGNATURE; i++) {
        at = dsc_align_up(at, 8);
        off[i] = p->linkedit_fileoff + at;
        at += piece_blob(p, (enum piece)i)->size;
    }
    off[P_SIGNATURE] = p->linkedit_fileoff + (p->sign ? dsc_align_up(at, 16) : at);
    struct dsc_codesign cs = sign_params(p, off[P_SIGNATURE]);
    p->sign_size = p->sign ? dsc_codesign_size(&cs) : 0;
    return off[P_SIGNATURE] + p->sign_size - p->linkedit_fileoff;
}

static bool is_zerofill(uint32_t flags)
{
    uint32_t type = flags & 0xff;
    return type == S_ZEROFILL || type == S_GB_ZEROFILL || type == S_THREAD_LOCAL_ZEROFILL;
}

/* ---- load command writers ---- */

/* Fields written into room taken at once (a segment command and its
 * sections: dozens of fields, one blob_reserve). */
struct cmd_out {
    uint8_t *at;
    bool is64;
};

static void out_u32(struct cmd_out *o, uint32_t v)
{
    dsc_put32(o->at, v);
    o->at += 4;
}

static void out_word(struct cmd_out *o, uint64_t v)
{
    if (o->is64) {
        dsc_put64(o->at, v);
        o->at += 8;
    } else {
        out_u32(o, (uint32_t)v);
    }
}

static void out_name(struct cmd_out *o, const char name[17])
{
    size_t n = strnlen(name, 16);
    memcpy(o->at, name, n);
    memset(o->at + n, 0, 16 - n);
    o->at += 16;
}

static bool emit_segment(struct dsc_plan *p, const struct dsc_out_segment *s)
{
    bool is64 = p->mo.is64;
    struct dsc_blob *b = &p->cmds;
    uint64_t size = (is64 ? 72 : 56) + (uint64_t)s->nsects * (is64 ? 80 : 68);
    /* The room is written field by field below: its size must be exact,
     * and fit the command's 32-bit cmdsize. */
    if (size > UINT32_MAX || !blob_reserve(b, (size_t)size))
        return false;
    struct cmd_out o = {b->data + b->size, is64};
    out_u32(&o, is64 ? LC_SEGMENT_64 : LC_SEGMENT);
    out_u32(&o, (uint32_t)size);
    out_name(&o, s->name);
    out_word(&o, s->vmaddr);
    out_word(&o, s->vmsize);
    out_word(&o, s->fileoff);
    out_word(&o, s->filesize);
    out_u32(&o, s->maxprot);
    out_u32(&o, s->initprot);
    out_u32(&o, s->nsects);
    out_u32(&o, s->flags);
    for (unsigned i = 0; i < s->nsects; i++) {
        const struct dsc_out_section *x = &s->sects[i];
        uint64_t off = is_zerofill(x->flags) ? 0 : s->fileoff + (x->addr - s->vmaddr);
        out_name(&o, x->sectname);
        out_name(&o, x->segname);
        out_word(&o, x->addr);
        out_word(&o, x->size);
        const uint32_t rest[] = {(uint32_t)off, x->align, 0, 0, x->flags, x->reserved1, x->reserved2, x->reserved3};
        for (unsigned k = 0; k < (is64 ? 8u : 7u); k++)
            out_u32(&o, rest[k]);
    }
    b->size += size;
    p->ncmds++;
    return true;
}

static bool emit_all_segments(struct dsc_plan *p)
{
    struct dsc_out_segment le = {
        .name = "__LINKEDIT",
        .vmaddr = p->linkedit_vmaddr,
        .vmsize = dsc_align_up(p->linkedit_size, p->page_size),
        .fileoff = p->linkedit_fileoff,
        .filesize = p->linkedit_size,
        .maxprot = 1,
        .initprot = 1,
    };
    for (unsigned i = 0; i < p->nsegs; i++)
        if (!emit_segment(p, &p->segs[i]))
            return false;
    return emit_segment(p, &le);
}

/* A linkedit_data_command; `off` is ignored (written 0) when size is 0. */
static bool emit_data_cmd(struct dsc_plan *p, uint32_t cmd, uint64_t off, uint64_t size)
{
    p->ncmds++;
    return blob_u32(&p->cmds, cmd) && blob_u32(&p->cmds, LINKEDIT_DATA_CMD_SIZE) && blob_u32(&p->cmds, size ? (uint32_t)off : 0) &&
           blob_u32(&p->cmds, (uint32_t)size);
}

static bool emit_off_size(struct dsc_blob *b, uint64_t off, uint64_t size)
{
    return blob_u32(b, size ? (uint32_t)off : 0) && blob_u32(b, (uint32_t)size);
}

static bool emit_fixup_cmds(struct dsc_plan *p, const uint64_t off[P_COUNT])
{
    const struct dsc_linkedit *le = &p->le;
    if (p->encoding == DSC_ENCODE_CHAINED)
        return emit_data_cmd(p, LC_DYLD_CHAINED_FIXUPS, off[P_CHAINED], le->chained.size) &&
               (!le->exports.size || emit_data_cmd(p, LC_DYLD_EXPORTS_TRIE, off[P_EXPORTS], le->exports.size));
    struct dsc_blob *b = &p->cmds;
    p->ncmds++;
    return blob_u32(b, LC_DYLD_INFO_ONLY) && blob_u32(b, DYLD_INFO_CMD_SIZE) && emit_off_size(b, off[P_REBASE], le->rebase.size) &&
           emit_off_size(b, off[P_BIND], le->bind.size) && emit_off_size(b, off[P_WEAK], le->weak_bind.size) &&
           emit_off_size(b, off[P_LAZY], le->lazy_bind.size) && emit_off_size(b, off[P_EXPORTS], le->exports.size);
}

static bool emit_symtab(struct dsc_plan *p, const uint64_t off[P_COUNT])
{
    struct dsc_blob *b = &p->cmds;
    p->ncmds++;
    return blob_u32(b, LC_SYMTAB) && blob_u32(b, SYMTAB_CMD_SIZE) && emit_off_size(b, off[P_SYMTAB], p->le.nsyms) &&
           emit_off_size(b, off[P_STRTAB], p->le.strtab.size);
}

static bool emit_dysymtab(struct dsc_plan *p, const uint64_t off[P_COUNT])
{
    const struct dsc_linkedit *le = &p->le;
    struct dsc_blob *b = &p->cmds;
    /* ilocalsym, nlocalsym, iextdefsym, nextdefsym, iundefsym, nundefsym;
     * no TOC, module table, external refs or relocations. */
    uint32_t v[(DYSYMTAB_CMD_SIZE - LC_HEADER_SIZE) / 4] = {0, le->nlocal, le->nlocal, le->nextdef,
                                                           le->nlocal + le->nextdef, le->nundef};
    v[(DYSYMTAB_INDIRECTSYMOFF - LC_HEADER_SIZE) / 4] = le->nindirect ? (uint32_t)off[P_INDIRECT] : 0;
    v[(DYSYMTAB_NINDIRECTSYMS - LC_HEADER_SIZE) / 4] = le->nindirect;
    bool ok = blob_u32(b, LC_DYSYMTAB) && blob_u32(b, DYSYMTAB_CMD_SIZE);
    for (unsigned i = 0; ok && i < sizeof v / sizeof v[0]; i++)
        ok = blob_u32(b, v[i]);
    p->ncmds++;
    return ok;
}

static bool is_fixup_cmd(uint32_t cmd)
{
    return cmd == LC_DYLD_INFO || cmd == LC_DYLD_INFO_ONLY || cmd == LC_DYLD_EXPORTS_TRIE ||
           cmd == LC_DYLD_CHAINED_FIXUPS;
}

/* Commands that only point into the shared LINKEDIT or the cache's signature. */
static bool is_dropped_cmd(uint32_t cmd)
{
    return cmd == LC_SEGMENT_SPLIT_INFO || cmd == LC_CODE_SIGNATURE || cmd == LC_DYLIB_CODE_SIGN_DRS ||
           cmd == LC_LINKER_OPTIMIZATION_HINT || cmd == LC_ENCRYPTION_INFO || cmd == LC_ENCRYPTION_INFO_64 ||
           cmd == LC_ATOM_INFO || cmd == LC_FUNCTION_VARIANTS || cmd == LC_FUNCTION_VARIANT_FIXUPS ||
           cmd == LC_TWOLEVEL_HINTS || cmd == LC_NOTE;
}

static int build_commands(struct dsc_plan *p, const uint64_t off[P_COUNT])
{
    uint32_t seg_cmd = p->mo.is64 ? LC_SEGMENT_64 : LC_SEGMENT;
    bool segs_done = false, fixups_done = false, ok = true;
    uint64_t cur = 0;
    struct dsc_lc lc;
    while (ok && dsc_lc_next(&p->mo, &cur, &lc)) {
        if (lc.cmd == seg_cmd) {
            ok = segs_done || emit_all_segments(p);
            segs_done = true;
        } else if (is_fixup_cmd(lc.cmd)) {
            ok = fixups_done || emit_fixup_cmds(p, off);
            fixups_done = true;
        } else if (lc.cmd == LC_SYMTAB) {
            ok = emit_symtab(p, off);
        } else if (lc.cmd == LC_DYSYMTAB) {
            ok = emit_dysymtab(p, off);
        } else if (lc.cmd == LC_FUNCTION_STARTS) {
            ok = emit_data_cmd(p, lc.cmd, off[P_FSTARTS], p->le.fstarts.size);
        } else if (lc.cmd == LC_DATA_IN_CODE) {
            ok = emit_data_cmd(p, lc.cmd, off[P_DIC], p->le.dic.size);
        } else if (!is_dropped_cmd(lc.cmd)) {
            ok = blob_add(&p->cmds, lc.body.data, lc.body.size);
            p->ncmds++;
        }
    }
    if (ok && !segs_done)
        ok = emit_all_segments(p);
    if (ok && !fixups_done)
        ok = emit_fixup_cmds(p, off);
    if (ok && p->sign)
        ok = emit_data_cmd(p, LC_CODE_SIGNATURE, off[P_SIGNATURE], p->sign_size);
    return ok ? 0 : plan_oom(p);
}

/* Bytes from the mach header to the first section of the first segment. */
static uint64_t header_room(const struct dsc_plan *p)
{
    const struct dsc_out_segment *s = &p->segs[0];
    uint64_t room = s->filesize;
    for (unsigned i = 0; i < s->nsects; i++)
        if (s->sects[i].size && s->sects[i].addr - s->vmaddr < room)
            room = s->sects[i].addr - s->vmaddr;
    return room;
}

/* Move LINKEDIT when its new size would run into another segment. */
static void place_linkedit(struct dsc_plan *p)
{
    uint64_t start = p->linkedit_vmaddr, end = start + dsc_align_up(p->linkedit_size, p->page_size);
    for (unsigned i = 0; i < p->nsegs; i++)
        if (start < p->segs[i].vmaddr + p->segs[i].vmsize && p->segs[i].vmaddr < end) {
            p->linkedit_vmaddr = plan_alloc_vm(p, p->linkedit_size);
            return;
        }
}

/* File offsets, LINKEDIT layout and load commands, signed or not. */
static int lay_out(struct dsc_plan *p)
{
    uint64_t at = 0;
    for (unsigned i = 0; i < p->nsegs; i++) {
        struct dsc_out_segment *s = &p->segs[i];
        s->fileoff = s->filesize ? dsc_align_up(at, p->page_size) : 0;
        if (s->filesize)
            at = s->fileoff + s->filesize;
    }
    p->linkedit_fileoff = dsc_align_up(at, p->page_size);
    uint64_t off[P_COUNT];
    p->linkedit_size = linkedit_layout(p, off);
    p->file_size = p->linkedit_fileoff + p->linkedit_size;
    /* Section and LINKEDIT offsets are 32-bit fields. */
    if (p->file_size > UINT32_MAX)
        return plan_fail(p, "the extracted file would exceed 4 GiB");
    place_linkedit(p);
    p->cmds.size = 0;
    p->ncmds = 0;
    return build_commands(p, off);
}

int out_finish(struct dsc_plan *p)
{
    if (lay_out(p))
        return -1;
    if (p->sign && p->mo.header_size + p->cmds.size > header_room(p)) {
        plan_warn(p, "no room for LC_CODE_SIGNATURE before the first section: written unsigned");
        p->sign = false;
        if (lay_out(p))
            return -1;
    }
    if (p->mo.header_size + p->cmds.size > header_room(p))
        return plan_fail(p, "the new load commands (%zu bytes) do not fit before the first section", p->cmds.size);
    return 0;
}

int out_write(struct dsc_plan *p, uint8_t *buf)
{
    if (!p->copy_bytes)
        return plan_fail(p, "a size plan has no bytes to write");
    uint64_t at = 0;
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct dsc_out_segment *s = &p->segs[i];
        if (!s->filesize)
            continue;
        memset(buf + at, 0, s->fileoff - at); /* alignment padding only */
        memcpy(buf + s->fileoff, s->bytes, s->filesize);
        at = s->fileoff + s->filesize;
    }
    memset(buf + at, 0, p->linkedit_fileoff - at);
    uint64_t off[P_COUNT];
    linkedit_layout(p, off);
    at = p->linkedit_fileoff;
    for (int i = 0; i < P_SIGNATURE; i++) {
        const struct dsc_blob *b = piece_blob(p, (enum piece)i);
        memset(buf + at, 0, off[i] - at);
        if (b->size)
            memcpy(buf + off[i], b->data, b->size);
        at = off[i] + b->size;
    }
    memset(buf + at, 0, off[P_SIGNATURE] - at);
    /* The header and commands replace the cache's, which may have been longer. */
    uint8_t *h = buf;
    dsc_put32(h + 16, p->ncmds);
    dsc_put32(h + 20, (uint32_t)p->cmds.size);
    dsc_put32(h + 24, p->mo.flags & ~MH_DYLIB_IN_CACHE);
    uint64_t old_end = p->mo.header.size, new_end = p->mo.header_size + p->cmds.size;
    memcpy(h + p->mo.header_size, p->cmds.data, p->cmds.size);
    if (old_end > new_end)
        memset(h + new_end, 0, old_end - new_end);
    if (p->sign) { /* last: it hashes every byte written above */
        struct dsc_codesign cs = sign_params(p, off[P_SIGNATURE]);
        dsc_codesign_write(&cs, buf, buf + off[P_SIGNATURE]);
    }
    return 0;
}

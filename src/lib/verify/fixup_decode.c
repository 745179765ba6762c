/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fixup_decode.c — decode an extracted Mach-O's rebase/bind opcodes and
 * chained fixups. See fixup_decode.h.
 */
#include "verify/fixup_decode.h"

#include "base/ptrfmt.h"

#include <stdlib.h>
#include <string.h>

struct file {
    dsc_span bytes;
    const char *name;
    bool is64;
    unsigned ptr_size;
    const struct dsc_segment *segs;
    unsigned nsegs;
    uint64_t base;                /* vmaddr of the segment at file offset 0 */
    dsc_span dyld_info;           /* the LC_DYLD_INFO(_ONLY) command */
    dsc_span chained;             /* LC_DYLD_CHAINED_FIXUPS payload */
    bool has_chained;
    dsc_decoded_fn fn;
    void *ctx;
    dsc_error *err;
    uint64_t budget;              /* records left in this opcode stream */
};

/* A linker rebases or binds each slot once per stream: a stream may emit
 * no more records than the segments' file bytes hold pointers, or a few
 * repeat opcodes over the same slots would make millions of records. */
static uint64_t stream_budget(const struct file *f)
{
    uint64_t slots = 0;
    for (unsigned i = 0; i < f->nsegs; i++)
        slots += f->segs[i].filesize / f->ptr_size;
    return slots;
}

static bool spend(struct file *f)
{
    if (f->budget == 0) {
        dsc_fail(f->err, f->name, "more rebases or binds in one stream than the segments have pointer slots");
        return false;
    }
    f->budget--;
    return true;
}

/* What the decoders need of the file's load commands. */
static int parse(struct file *f, const struct dsc_macho *mo)
{
    struct dsc_lc lc;
    uint32_t off, len;
    f->bytes = mo->file;
    f->is64 = mo->is64;
    f->ptr_size = f->is64 ? 8 : 4;
    f->segs = mo->segs;
    f->nsegs = mo->nsegs;
    for (unsigned i = 0; i < mo->nsegs; i++)
        if (mo->segs[i].fileoff == 0 && mo->segs[i].filesize)
            f->base = mo->segs[i].vmaddr;
    int found = dsc_macho_dyld_info(mo, &lc);
    if (found < 0)
        return dsc_fail(f->err, f->name, "LC_DYLD_INFO is too short");
    if (found)
        f->dyld_info = lc.body;
    found = dsc_macho_linkedit_data(mo, LC_DYLD_CHAINED_FIXUPS, &off, &len);
    if (found < 0 || (found && !span_sub(f->bytes, off, len, &f->chained)))
        return dsc_fail(f->err, f->name, "LC_DYLD_CHAINED_FIXUPS is out of the file");
    f->has_chained = found > 0;
    return 0;
}

/* The file bytes of [seg+off, +ptr_size), or false. */
static bool slot(const struct file *f, unsigned seg, uint64_t off, const uint8_t **p)
{
    if (seg >= f->nsegs || !dsc_range_ok(f->segs[seg].filesize, off, f->ptr_size))
        return false;
    *p = f->bytes.data + f->segs[seg].fileoff + off;
    return true;
}

/* ---- opcodes ---- */

static int emit_rebase(struct file *f, unsigned seg, uint64_t off)
{
    const uint8_t *p;
    if (!spend(f))
        return -1;
    if (!slot(f, seg, off, &p))
        return dsc_fail(f->err, f->name, "rebase at segment %u offset 0x%llx is out of the segment", seg,
                        (unsigned long long)off);
    struct dsc_decoded_fixup d = {.f = {.address = f->segs[seg].vmaddr + off, .kind = DSC_FIXUP_REBASE}};
    d.f.target = f->is64 ? dsc_le64(p) : dsc_le32(p);
    return f->fn(f->ctx, &d);
}

static int decode_rebases(struct file *f, dsc_span ops)
{
    unsigned seg = ~0u;
    uint64_t off = 0, pos = 0, n, skip;
    int rc = 0;
    while (rc == 0 && pos < ops.size) {
        uint8_t b = ops.data[pos++], imm = b & 0x0f;
        switch (b & 0xf0) {
        case 0x00: /* DONE */
            return 0;
        case 0x10: /* SET_TYPE_IMM */
            if (imm != 1)
                return dsc_fail(f->err, f->name, "rebase type %u is not a pointer", imm);
            break;
        case 0x20:
            seg = imm;
            if (!span_uleb(ops, &pos, &off))
                goto bad;
            break;
        case 0x30:
            if (!span_uleb(ops, &pos, &n))
                goto bad;
            off += n;
            break;
        case 0x40:
            off += (uint64_t)imm * f->ptr_size;
            break;
        case 0x50:
        case 0x60:
            n = imm;
            if ((b & 0xf0) == 0x60 && !span_uleb(ops, &pos, &n))
                goto bad;
            for (uint64_t i = 0; rc == 0 && i < n; i++, off += f->ptr_size)
                rc = emit_rebase(f, seg, off);
            break;
        case 0x70:
            if (!span_uleb(ops, &pos, &skip))
                goto bad;
            rc = emit_rebase(f, seg, off);
            off += skip + f->ptr_size;
            break;
        case 0x80:
            if (!span_uleb(ops, &pos, &n) || !span_uleb(ops, &pos, &skip))
                goto bad;
            for (uint64_t i = 0; rc == 0 && i < n; i++, off += skip + f->ptr_size)
                rc = emit_rebase(f, seg, off);
            break;
        default:
            goto bad;
        }
    }
    return rc;
bad:
    return dsc_fail(f->err, f->name, "malformed rebase opcode at 0x%llx", (unsigned long long)(pos - 1));
}

struct bind_state {
    unsigned seg;
    uint64_t off;
    struct dsc_decoded_fixup d;
};

static int emit_bind(struct file *f, struct bind_state *s)
{
    const uint8_t *p;
    if (!spend(f))
        return -1;
    if (!s->d.name || !slot(f, s->seg, s->off, &p))
        return dsc_fail(f->err, f->name, "bind at segment %u offset 0x%llx is incomplete or out of range", s->seg,
                        (unsigned long long)s->off);
    s->d.f.address = f->segs[s->seg].vmaddr + s->off;
    s->d.f.kind = DSC_FIXUP_BIND;
    return f->fn(f->ctx, &s->d);
}

static int decode_binds(struct file *f, dsc_span ops)
{
    struct bind_state s = {.seg = ~0u};
    uint64_t pos = 0, n, skip;
    int rc = 0;
    while (rc == 0 && pos < ops.size) {
        uint8_t b = ops.data[pos++], imm = b & 0x0f;
        size_t len;
        switch (b & 0xf0) {
        case 0x00:
            return 0;
        case 0x10:
            s.d.lib_ordinal = imm;
            break;
        case 0x20:
            if (!span_uleb(ops, &pos, &n) || n > INT32_MAX)
                goto bad;
            s.d.lib_ordinal = (int)n;
            break;
        case 0x30:
            s.d.lib_ordinal = imm ? (int)(int8_t)(0xf0 | imm) : 0;
            break;
        case 0x40:
            if (!span_cstr(ops, pos, ops.size, &s.d.name, &len))
                goto bad;
            pos += len + 1;
            s.d.weak_import = imm & 1;
            break;
        case 0x50:
            if (imm != 1)
                return dsc_fail(f->err, f->name, "bind type %u is not a pointer", imm);
            break;
        case 0x60:
            if (!span_sleb(ops, &pos, &s.d.f.addend))
                goto bad;
            break;
        case 0x70:
            s.seg = imm;
            if (!span_uleb(ops, &pos, &s.off))
                goto bad;
            break;
        case 0x80:
            if (!span_uleb(ops, &pos, &n))
                goto bad;
            s.off += n;
            break;
        case 0x90:
            rc = emit_bind(f, &s);
            s.off += f->ptr_size;
            break;
        case 0xa0:
            if (!span_uleb(ops, &pos, &n))
                goto bad;
            rc = emit_bind(f, &s);
            s.off += f->ptr_size + n;
            break;
        case 0xb0:
            rc = emit_bind(f, &s);
            s.off += f->ptr_size + (uint64_t)imm * f->ptr_size;
            break;
        case 0xc0:
            if (!span_uleb(ops, &pos, &n) || !span_uleb(ops, &pos, &skip))
                goto bad;
            for (uint64_t i = 0; rc == 0 && i < n; i++, s.off += skip + f->ptr_size)
                rc = emit_bind(f, &s);
            break;
        default:
            goto bad;
        }
    }
    return rc;
bad:
    return dsc_fail(f->err, f->name, "malformed bind opcode at 0x%llx", (unsigned long long)(pos - 1));
}

static int decode_opcodes(struct file *f)
{
    uint32_t roff = 0, rsize = 0, boff = 0, bsize = 0;
    dsc_span rebase, bind;
    span_u32(f->dyld_info, 8, &roff);
    span_u32(f->dyld_info, 12, &rsize);
    span_u32(f->dyld_info, 16, &boff);
    span_u32(f->dyld_info, 20, &bsize);
    if (!span_sub(f->bytes, roff, rsize, &rebase) || !span_sub(f->bytes, boff, bsize, &bind))
        return dsc_fail(f->err, f->name, "dyld info is out of the file");
    f->budget = stream_budget(f);
    int rc = decode_rebases(f, rebase);
    f->budget = stream_budget(f);
    return rc ? rc : decode_binds(f, bind);
}

/* ---- chained fixups: every format base/ptrfmt.c decodes ---- */

struct imports {
    dsc_span table, symbols;
    uint32_t count;
    unsigned format, entry_size; /* DSC_CHAINED_IMPORT* and its bytes */
};

static int chained_entry(struct file *f, const struct imports *im, uint64_t address, const struct dsc_ptr *p)
{
    struct dsc_decoded_fixup d = {.f = {.address = address}};
    if (p->auth)
        d.f.auth = (struct dsc_fixup_auth){true, p->key, p->addr_div, p->diversity};
    if (!p->bind) {
        d.f.kind = DSC_FIXUP_REBASE;
        d.f.target = p->value;
        return f->fn(f->ctx, &d);
    }
    d.f.kind = DSC_FIXUP_BIND;
    d.f.import = p->import;
    dsc_span entry;
    struct dsc_chained_import e;
    if (d.f.import >= im->count ||
        !span_sub(im->table, (uint64_t)d.f.import * im->entry_size, im->entry_size, &entry))
        return dsc_fail(f->err, f->name, "bind at 0x%llx names a bad import %u", (unsigned long long)address,
                        d.f.import);
    dsc_chained_import_decode(im->format, entry.data, &e);
    if (!span_cstr(im->symbols, e.name_offset, im->symbols.size, &d.name, NULL))
        return dsc_fail(f->err, f->name, "bind at 0x%llx names a bad import %u", (unsigned long long)address,
                        d.f.import);
    /* dyld adds the import's addend to the pointer's (both wrap) */
    d.f.addend = (int64_t)((uint64_t)p->addend + (uint64_t)e.addend);
    d.lib_ordinal = e.lib_ordinal;
    d.weak_import = e.weak_import;
    return f->fn(f->ctx, &d);
}

static int chained_segment(struct file *f, const struct imports *im, unsigned segi, dsc_span starts)
{
    uint16_t page_size, format, page_count;
    if (!span_u16(starts, 4, &page_size) || !span_u16(starts, 6, &format) || !span_u16(starts, 20, &page_count))
        return dsc_fail(f->err, f->name, "chained starts of segment %u are truncated", segi);
    struct dsc_ptr probe;
    if (!dsc_ptr_decode_chained(format, f->base, 0, &probe) || page_size < 8 ||
        (format == DSC_CHAINED_PTR_32) != (f->ptr_size == 4))
        return dsc_fail(f->err, f->name, "segment %u: chained pointer format %u is not one we read", segi, format);
    if (segi >= f->nsegs)
        return dsc_fail(f->err, f->name, "chained starts for missing segment %u", segi);
    for (uint16_t page = 0; page < page_count; page++) {
        uint16_t start;
        if (!span_u16(starts, 22 + 2u * page, &start))
            return dsc_fail(f->err, f->name, "chained page starts of segment %u are truncated", segi);
        if (start == 0xFFFF)
            continue;
        if (start & 0x8000)
            return dsc_fail(f->err, f->name, "segment %u uses multiple chain starts (unsupported)", segi);
        uint64_t page_base = (uint64_t)page * page_size, off = page_base + start;
        for (;;) {
            const uint8_t *p;
            if (off >= page_base + page_size || !slot(f, segi, off, &p))
                return dsc_fail(f->err, f->name, "chain of segment %u page %u leaves its page", segi, page);
            struct dsc_ptr ptr;
            dsc_ptr_decode_chained(format, f->base, f->ptr_size == 8 ? dsc_le64(p) : dsc_le32(p), &ptr);
            int rc = chained_entry(f, im, f->segs[segi].vmaddr + off, &ptr);
            if (rc)
                return rc;
            if (!ptr.next)
                break;
            off += ptr.next;
        }
    }
    return 0;
}

static int decode_chained(struct file *f)
{
    dsc_span c = f->chained, image;
    uint32_t starts_off, imports_off, symbols_off, seg_count;
    struct imports im = {0};
    if (!span_u32(c, 4, &starts_off) || !span_u32(c, 8, &imports_off) || !span_u32(c, 12, &symbols_off) ||
        !span_u32(c, 16, &im.count) || !span_u32(c, 20, &im.format))
        return dsc_fail(f->err, f->name, "chained fixups header is malformed");
    im.entry_size = dsc_chained_import_size(im.format);
    if (!im.entry_size)
        return dsc_fail(f->err, f->name, "chained imports format %u is unknown", im.format);
    if (!span_sub(c, starts_off, c.size - (starts_off < c.size ? starts_off : c.size), &image) ||
        !span_u32(image, 0, &seg_count) || !span_sub(c, imports_off, (uint64_t)im.count * im.entry_size, &im.table) ||
        !span_sub(c, symbols_off, c.size - (symbols_off < c.size ? symbols_off : c.size), &im.symbols))
        return dsc_fail(f->err, f->name, "chained fixups header is malformed");
    for (uint32_t i = 0; i < seg_count; i++) {
        uint32_t off;
        dsc_span starts;
        if (!span_u32(image, 4 + 4ull * i, &off))
            return dsc_fail(f->err, f->name, "chained starts table is truncated");
        if (off == 0)
            continue;
        if (!span_sub(image, off, image.size - (off < image.size ? off : image.size), &starts))
            return dsc_fail(f->err, f->name, "chained starts of segment %u are out of range", i);
        int rc = chained_segment(f, &im, i, starts);
        if (rc)
            return rc;
    }
    return 0;
}

int dsc_fixups_decode_macho(const struct dsc_macho *mo, const char *name, dsc_decoded_fn fn, void *ctx,
                           dsc_error *err)
{
    struct file f = {.name = name, .fn = fn, .ctx = ctx, .err = err};
    int rc = parse(&f, mo);
    if (rc == 0 && f.dyld_info.size)
        rc = decode_opcodes(&f);
    if (rc == 0 && f.has_chained)
        rc = decode_chained(&f);
    return rc;
}

int dsc_fixups_decode(dsc_span file, const char *name, dsc_decoded_fn fn, void *ctx, dsc_error *err)
{
    struct dsc_macho mo;
    if (dsc_macho_read_file(file, name, &mo, err))
        return -1;
    int rc = dsc_fixups_decode_macho(&mo, name, fn, ctx, err);
    dsc_macho_free(&mo);
    return rc;
}

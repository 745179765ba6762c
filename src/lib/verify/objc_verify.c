/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_verify.c — walk the ObjC metadata of an EXTRACTED file, reading the
 * file's own bytes, and count what does not resolve inside it.
 *
 * The file is read with the one Mach-O reader (base/macho_view.h; its
 * LC_DYLD_CHAINED_FIXUPS' pointer format here), every offset checked
 * against the file. Pointers are decoded as the file stores them: plain values (rebase
 * opcodes) or chained-fixup entries (DYLD_CHAINED_PTR_ARM64E and friends);
 * a bind has no address and reads as unresolved. Reads the file cannot
 * satisfy fall back to the cache so that one bad reference does not hide
 * the rest; the callback then counts the item as outside the file.
 */
#include "verify/objc_verify.h"

#include "base/ptrfmt.h"
#include "cache/slide.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 255u

struct outfile {
    const dsc_cache *cache;
    const struct dsc_macho *mo; /* the file, as dsc_macho_read_file read it */
    uint64_t base;              /* vmaddr of __TEXT (chained offsets are from it) */
    unsigned chained_format;    /* DYLD_CHAINED_PTR_*, 0 for plain pointers */
    bool outside;               /* a read fell back to the cache */
};

static bool out_span(void *ctx, uint64_t addr, uint64_t len, dsc_span *out)
{
    struct outfile *f = ctx;
    if (dsc_macho_file_span(f->mo, addr, len, out))
        return true;
    f->outside = true;
    return dsc_vm_span(f->cache, addr, len, out);
}

/* A chained-fixup entry or plain pointer, as the loader would resolve a
 * rebase; false for a bind. */
static bool decode(const struct outfile *f, uint64_t raw, uint64_t *v)
{
    struct dsc_ptr p;
    if (!f->chained_format || !dsc_ptr_decode_chained(f->chained_format, f->base, raw, &p)) {
        *v = raw;
        return true;
    }
    *v = p.value;
    return !p.bind;
}

static bool out_ptr(void *ctx, uint64_t addr, uint64_t *v)
{
    struct outfile *f = ctx;
    unsigned ps = f->mo->is64 ? 8 : 4;
    dsc_span s;
    uint64_t raw;
    if (dsc_macho_file_span(f->mo, addr, ps, &s) && span_ptr(s, 0, ps, &raw))
        return decode(f, raw, v);
    f->outside = true;
    return dsc_vm_ptr_value(f->cache, addr, v);
}

static bool out_cstr(void *ctx, uint64_t addr, uint64_t max_len, const char **str)
{
    struct outfile *f = ctx;
    for (unsigned i = 0; i < f->mo->nsegs; i++) {
        const struct dsc_segment *s = &f->mo->segs[i];
        dsc_span seg;
        if (addr >= s->vmaddr && addr - s->vmaddr < s->filesize &&
            span_sub(f->mo->file, s->fileoff, s->filesize, &seg))
            return span_cstr(seg, addr - s->vmaddr, max_len, str, NULL);
    }
    f->outside = true;
    return dsc_vm_cstr(f->cache, addr, max_len, str);
}

/* ---- the file's pointer format ---- */

/* The pointer format of the first segment with chain starts. */
static void read_chained_format(struct outfile *f)
{
    uint32_t dataoff, datasize, starts, segcount, seginfo;
    uint16_t format;
    dsc_span blob;
    if (dsc_macho_linkedit_data(f->mo, LC_DYLD_CHAINED_FIXUPS, &dataoff, &datasize) <= 0 ||
        !span_sub(f->mo->file, dataoff, datasize, &blob) || !span_u32(blob, 4, &starts) ||
        !span_u32(blob, starts, &segcount))
        return;
    for (uint32_t i = 0; i < segcount && i < MAX_SEGS; i++) {
        if (!span_u32(blob, starts + 4 + 4 * (uint64_t)i, &seginfo) || !seginfo)
            continue;
        if (!span_u16(blob, (uint64_t)starts + seginfo + 6, &format))
            return;
        f->chained_format = format;
        return;
    }
}

/* ---- counting ---- */

struct count_ctx {
    struct outfile *f;
    struct dsc_objc_verify *v;
    dsc_objc_visit_fn fn;
    void *ctx;
};

static bool in_file_sections(const struct outfile *f, uint64_t addr)
{
    for (unsigned i = 0; i < f->mo->nsects; i++)
        if (addr >= f->mo->sects[i].addr && addr - f->mo->sects[i].addr < f->mo->sects[i].size)
            return true;
    return false;
}

static int count_item(void *ctx, const struct dsc_objc_item *it)
{
    struct count_ctx *c = ctx;
    struct dsc_objc_verify *v = c->v;
    bool out = c->f->outside;
    c->f->outside = false;
    switch (it->kind) {
    case DSC_OBJC_CLASS: v->classes++; break;
    case DSC_OBJC_CATEGORY: v->categories++; break;
    case DSC_OBJC_PROTOCOL: v->protocols++; break;
    case DSC_OBJC_METHOD:
        v->methods++;
        v->method_names_outside += out || !in_file_sections(c->f, it->sel_addr) ||
                                   !in_file_sections(c->f, it->target);
        break;
    case DSC_OBJC_SELREF:
        v->selrefs++;
        v->selrefs_outside += out || !in_file_sections(c->f, it->target);
        break;
    case DSC_OBJC_NAME_REF:
        v->strings_outside += out || !in_file_sections(c->f, it->target);
        break;
    case DSC_OBJC_PROTOREF:
        v->protorefs_outside += out || !in_file_sections(c->f, it->target);
        break;
    default:
        break;
    }
    return c->fn ? c->fn(c->ctx, it) : 0;
}

/* Offsets in libobjc's objc_opt_t (index/objc.h) that name a place the
 * file does not hold: the cache's tables, left out of the extraction. */
static uint64_t opt_offsets_outside(const struct dsc_macho *mo)
{
    const struct dsc_section *s = dsc_macho_section(mo, "__TEXT", "__objc_opt_ro");
    dsc_span b, t;
    uint64_t n = 0;
    if (!s || !dsc_macho_file_span(mo, s->addr, DSC_OBJC_OPT_RO_END, &b))
        return 0;
    for (uint64_t o = DSC_OBJC_OPT_RO_OFFSETS; o < DSC_OBJC_OPT_RO_END; o += o < DSC_OBJC_OPT_RO_SELBASE ? 4 : 8) {
        int64_t off = o < DSC_OBJC_OPT_RO_SELBASE ? (int32_t)dsc_le32(b.data + o) : (int64_t)dsc_le64(b.data + o);
        n += off != 0 && !dsc_macho_file_span(mo, s->addr + (uint64_t)off, 1, &t);
    }
    return n;
}

int dsc_objc_verify_macho(const struct dsc_macho *mo, dsc_objc_visit_fn fn, void *ctx, struct dsc_objc_verify *out,
                          dsc_error *err)
{
    memset(out, 0, sizeof *out);
    const struct dsc_segment *text = dsc_macho_segment(mo, "__TEXT");
    struct outfile f = {mo->cache, mo, text ? text->vmaddr : 0, 0, false};
    read_chained_format(&f);
    struct dsc_objc_opt opt;
    struct dsc_objc_image img = {mo, {&f, out_span, out_ptr, out_cstr}, mo->is64 ? 8 : 4, &opt, -1};
    struct count_ctx cc = {&f, out, fn, ctx};
    int rc = dsc_objc_opt_load(mo->cache, &opt, err);
    out->opt_offsets_outside = opt_offsets_outside(mo);
    return rc ? rc : dsc_objc_walk(&img, count_item, &cc, err);
}

int dsc_objc_verify_file(const dsc_cache *c, uint32_t image, const uint8_t *file, size_t size,
                         dsc_objc_visit_fn fn, void *ctx, struct dsc_objc_verify *out, dsc_error *err)
{
    struct dsc_macho mo;
    memset(out, 0, sizeof *out);
    if (dsc_macho_read_file((dsc_span){file, size}, c->path, &mo, err))
        return -1;
    mo.cache = c;
    mo.image = image;
    int rc = dsc_objc_verify_macho(&mo, fn, ctx, out, err);
    dsc_macho_free(&mo);
    return rc;
}

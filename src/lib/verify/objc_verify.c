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

#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 255u

enum ptr_kind { PTR_PLAIN, PTR_ARM64E, PTR_ARM64E_OFFSET, PTR_64, PTR_64_OFFSET, PTR_32 };

struct outfile {
    const dsc_cache *cache;
    const struct dsc_macho *mo; /* the file, as dsc_macho_read_file read it */
    uint64_t base;              /* vmaddr of __TEXT (chained offsets are from it) */
    enum ptr_kind ptrs;
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

/* A chained-fixup entry or plain pointer, as the loader would resolve a rebase. */
static bool decode(const struct outfile *f, uint64_t raw, uint64_t *v)
{
    switch (f->ptrs) {
    case PTR_ARM64E:
    case PTR_ARM64E_OFFSET:
        if (raw >> 62 & 1)
            return false; /* bind */
        if (raw >> 63)
            *v = f->base + (raw & 0xFFFFFFFFu);
        else if (f->ptrs == PTR_ARM64E)
            *v = (raw & 0x7FFFFFFFFFFull) | ((raw >> 43) & 0xFF) << 56;
        else
            *v = f->base + (raw & 0x7FFFFFFFFFFull);
        return true;
    case PTR_64:
    case PTR_64_OFFSET:
        if (raw >> 63)
            return false;
        *v = (raw & 0xFFFFFFFFFull) + (f->ptrs == PTR_64_OFFSET ? f->base : 0);
        return true;
    case PTR_32:
        if (raw >> 31)
            return false;
        *v = raw & 0x3FFFFFFu;
        return true;
    default:
        *v = raw;
        return true;
    }
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
    return dsc_cache_ptr(f->cache, addr, v);
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
        static const enum ptr_kind kinds[] = {
            [1] = PTR_ARM64E, [2] = PTR_64, [3] = PTR_32, [6] = PTR_64_OFFSET,
            [9] = PTR_ARM64E_OFFSET, [12] = PTR_ARM64E_OFFSET,
        };
        f->ptrs = format < sizeof kinds / sizeof kinds[0] && kinds[format] ? kinds[format] : PTR_PLAIN;
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

int dsc_objc_verify_macho(const struct dsc_macho *mo, dsc_objc_visit_fn fn, void *ctx, struct dsc_objc_verify *out,
                          dsc_error *err)
{
    memset(out, 0, sizeof *out);
    const struct dsc_segment *text = dsc_macho_segment(mo, "__TEXT");
    struct outfile f = {mo->cache, mo, text ? text->vmaddr : 0, PTR_PLAIN, false};
    read_chained_format(&f);
    struct dsc_objc_opt opt;
    struct dsc_objc_image img = {mo, {&f, out_span, out_ptr, out_cstr}, mo->is64 ? 8 : 4, &opt, -1};
    struct count_ctx cc = {&f, out, fn, ctx};
    int rc = dsc_objc_opt_load(mo->cache, &opt, err);
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

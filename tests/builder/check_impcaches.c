/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_impcaches.c — dsccheck: prebuilt IMP caches (manifest "impcaches
 * ADDR SIZE", "objc-opts PATH [unchained]"). The classes and methods Apple's
 * builder chooses come from the model dscbuild uses (objc_impc_model.c:
 * dyld-1378 estimateIMPCaches and parseDylibs, from the inputs and the ObjC
 * optimizations file); everything about each cache is then judged as
 * objc4-951.1's runtime reads it (runtime/objc-runtime-new.h
 * preopt_cache_t, objc-cache.mm cache_t::preoptCache and
 * cache_getImp's preopt lookup):
 *  - a chosen class (not a duplicate, vtable 0 in the input) has its
 *    vtable slot slid to a cache in the area (on arm64e signed DA with
 *    address diversity and 0x9cff), and no other class points there; the
 *    test inputs never make Apple's builder drop a class, so every chosen
 *    one has its cache;
 *  - the header: bit_one set, shift >= 7 (128-byte bags), mask + 1 =
 *    2^ceil(log2 n) or twice that, occupied = n, has_inlines 0, and
 *    fallback_class_offset reaching the flattening root's superclass, else
 *    the superclass (0 for none);
 *  - lookup: for every method m of the class, the bucket at (sel_offset
 *    >> shift) & mask, sel_offset being m's uniqued selector minus the
 *    magic selector, holds that offset and class - (imp_offset << 2) = the
 *    IMP the input's method (or its image's category on the class) has;
 *    every other bucket is {0, 0x3FFFFFF}.
 */
#include "check.h"
#include "impc.h"

#include <stdlib.h>
#include <string.h>

uint64_t impc_addr, impc_size;

static struct counts *cnt;
static struct impc_model model;

static int64_t sext38(uint64_t v) { return (int64_t)(v << 26) >> 26; }

static uint64_t at_cache(const struct impc_class *k)
{
    uint64_t a;
    if (!image_reloc(&bc.images[k->img], k->addr, &a))
        die("%s: class 0x%llx is outside the image", bc.images[k->img].cache_path, (unsigned long long)k->addr);
    return a;
}

static bool in_area(const struct decoded_ptr *p) { return p && p->value - impc_addr < impc_size; }

static void check_header(const struct impc_data *x, const char *path, uint64_t cls, uint64_t at, uint32_t *shift,
                         uint32_t *mask)
{
    dsc_span h = vm(at, 16, "IMP cache header");
    uint32_t w = dsc_le32(h.data + 8), b = 0;
    while ((1u << b) < x->n)
        b++;
    *shift = w & 31;
    *mask = (w >> 5) & 0x7FF;
    if ((w >> 16 & 0x3FFF) != x->n || (w >> 30) != 0 || dsc_le32(h.data + 12) != 1u << 31 || *shift < 7 ||
        (*mask + 1 != 1u << b && *mask + 1 != 2u << b) || at + 16 + 8ULL * (*mask + 1) > impc_addr + impc_size)
        die("%s: IMP cache at 0x%llx: header 0x%08x 0x%08x for %u methods", path, (unsigned long long)at, w,
            dsc_le32(h.data + 12), x->n);
    const struct decoded_ptr *super = decoded_at(&dec, cls + 8);
    uint64_t fb = x->flat ? at_cache(&model.k[x->root_super]) : super ? super->value : 0;
    if (dsc_le64(h.data) != fb - cls)
        die("%s: class 0x%llx: IMP cache fallback is not the superclass (of its flattening root)", path,
            (unsigned long long)cls);
}

/* The cache at `at` of chosen class data `x` (class at `cls`). */
static void check_buckets(const struct impc_data *x, uint64_t cls, uint64_t at)
{
    const struct impc_class *k = &model.k[x->cls];
    const char *path = bc.images[k->img].cache_path;
    uint32_t shift, mask, used = 0;
    check_header(x, path, cls, at, &shift, &mask);
    dsc_span b = vm(at + 16, 8ULL * (mask + 1), "IMP cache buckets");
    for (uint32_t i = 0; i < x->n; i++) {
        const char *name = model.sel[x->m[i].sel].name;
        uint64_t sel = UINT64_MAX, imp;
        const char *s;
        for (uint64_t a = sb.start; a < sb.end && sel == UINT64_MAX; a += strlen(s) + 1)
            if (!dsc_vm_cstr(cache, a, 4096, &s) || strcmp(s, name) == 0)
                sel = a - sb.start;
        uint64_t e = sel == UINT64_MAX ? 0 : dsc_le64(b.data + 8 * ((sel >> shift) & mask));
        if (!image_reloc(&bc.images[x->m[i].img], impc_method_imp(&model, &x->m[i], k->meta), &imp) ||
            e >> 38 != sel || cls - (uint64_t)(sext38(e) * 4) != imp)
            die("%s: IMP cache at 0x%llx: lookup of %s does not give 0x%llx", path, (unsigned long long)at, name,
                (unsigned long long)imp);
    }
    for (uint32_t i = 0; i <= mask; i++) {
        uint64_t e = dsc_le64(b.data + 8ULL * i);
        used += e >> 38 != 0x3FFFFFF;
        if (e >> 38 == 0x3FFFFFF && e << 26)
            die("%s: IMP cache at 0x%llx: empty bucket %u holds an IMP", path, (unsigned long long)at, i);
    }
    if (used != x->n)
        die("%s: IMP cache at 0x%llx holds %u buckets for %u methods", path, (unsigned long long)at, used, x->n);
}

static void check_class(size_t ki)
{
    const struct impc_class *k = &model.k[ki];
    uint64_t cls = at_cache(k);
    const struct decoded_ptr *vt = decoded_at(&dec, cls + 24);
    long d = model.data_of ? model.data_of[ki] : -1;
    const struct impc_data *x = d >= 0 ? &model.d[d] : NULL;
    bool chosen = x && x->live && !x->dup_set && !k->list.vtable;
    if (!chosen) {
        if (in_area(vt))
            die("%s: class 0x%llx has an IMP cache it should not", bc.images[k->img].cache_path, (unsigned long long)cls);
        return;
    }
    if (!in_area(vt))
        die("%s: class %s%s (0x%llx): no IMP cache", bc.images[k->img].cache_path, k->meta ? "+" : "-", k->name,
            (unsigned long long)cls);
    if (bc.opt.arch == ARCH_ARM64E && !(vt->auth && vt->key == 2 && vt->addr_div && vt->diversity == 0x9cff))
        die("%s: class 0x%llx: the IMP cache pointer is not signed DA/0x9cff", bc.images[k->img].cache_path,
            (unsigned long long)cls);
    check_buckets(x, cls, vt->value);
    explained++;
    cnt->impcaches++;
}

/* Classes outside the model (images without chained fixups): no cache. */
static void no_cache(void *ctx, const struct image *img, struct objc_in_class k)
{
    (void)ctx;
    uint64_t cls;
    if (image_reloc(img, k.cls, &cls) && in_area(decoded_at(&dec, cls + 24)))
        die("%s: class 0x%llx (not modelled) has an IMP cache", img->cache_path, (unsigned long long)cls);
}

void check_impcaches(struct counts *n)
{
    cnt = n;
    if (!bc.opt.objc_opts) {
        if (impc_size)
            die("the manifest names an IMP cache area but no ObjC optimizations file");
        return;
    }
    impc_model_build(&model, &bc, bc.opt.objc_opts);
    for (size_t i = 0; i < bc.nimages; i++)
        if (!bc.images[i].chained_in && !bc.opt.impc_unchained)
            objc_each_input_class(&bc.images[i], no_cache, NULL);
    for (size_t k = 0; k < model.nk; k++)
        check_class(k);
    impc_model_free(&model);
    if (impc_size && !n->impcaches)
        die("the manifest names an IMP cache area, but no class has a cache");
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_impcaches.c — prebuilt IMP caches (--imp-caches; 0x200 header,
 * 64-bit), the shape Apple's builder emits since dyld-832 and in dyld-1378.
 *
 * Facts relied on, read in dyld-1378 cache_builder/CacheDylib.cpp
 * (emitObjCIMPCaches), common/OptimizerObjC.h (ImpCacheHeader_v2,
 * ImpCacheEntry_v2) and objc4-951.1 runtime/objc-runtime-new.h
 * (preopt_cache_t, preopt_cache_entry_t; "dyld_shared_cache_builder and
 * obj-C agree on these definitions"):
 *  - a class (or metaclass) with a cache gets its class_t *vtable* field
 *    (+24, "method cache properties") pointed at it; `cache` (+16) keeps
 *    the input's bind to libobjc's __objc_empty_cache. Classes whose vtable
 *    is not 0 get none. In auth regions the pointer is signed DA,
 *    address-diversified, discriminator 0x9cff ("originalPreoptCache");
 *  - a cache is a 16-byte header {i64 fallback_class_offset = superclass
 *    (0 if none) - class; u32 shift:5, mask:11, occupied:14, has_inlines:1,
 *    padding:1; u32 unused:31, bit_one:1} and mask + 1 8-byte buckets
 *    {i64 imp_offset:38 = (class - IMP) >> 2; u64 sel_offset:26}, where
 *    sel_offset is the selector's offset from the selector buffer's start
 *    (the magic selector) and a method sits in bucket
 *    (sel_offset >> shift) & mask; an empty bucket is {0, 0x3FFFFFF};
 *  - the caches live in one read-only chunk with the other ObjC tables
 *    (layout.c: after the strings from --objc-era 1284, as Apple's
 *    READ_ONLY chunk of dyld-1284.13/1378; before that era at the area's
 *    start, outside __OBJC_RO, where Apple's LINKEDIT chunk of
 *    dyld-1042.1..1245.1 is outside it too).
 * Simplified: Apple's builder picks the classes and selectors from a
 * profile, flattens inherited and category methods into a class's cache and
 * places the selectors in the buffer so that they hash apart; ours gives
 * every class and metaclass with an own method list a cache of exactly those
 * methods, with the smallest power-of-two size (at least twice the methods)
 * and the first shift under which the uniqued selectors' offsets collide
 * nowhere, and has_inlines 0. The manifest says where: "impcaches ADDR SIZE".
 */
#include "bld.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

#define IMPC_HEADER 16u
#define IMPC_EMPTY_SEL 0x3FFFFFFu
#define IMPC_DIVERSITY 0x9cff

static uint64_t in_ptr(const struct image *img, uint64_t in_addr)
{
    dsc_span s;
    uint64_t v;
    if (!image_in_bytes(img, in_addr, 8, &s) || !span_ptr(s, 0, 8, &v))
        die("%s: pointer at 0x%llx is unreadable", img->in_path, (unsigned long long)in_addr);
    return v;
}

static uint32_t in_u32(const struct image *img, uint64_t in_addr)
{
    dsc_span s;
    if (!image_in_bytes(img, in_addr, 4, &s))
        die("%s: word at 0x%llx is unreadable", img->in_path, (unsigned long long)in_addr);
    return dsc_le32(s.data);
}

static struct objc_in_class class_at(const struct image *img, uint64_t cls)
{
    uint64_t ro = in_ptr(img, cls + 32) & ~7ULL, list = in_ptr(img, ro + 0x20);
    return (struct objc_in_class){cls, list, list ? in_u32(img, list + 4) : 0, in_ptr(img, cls + 24)};
}

void objc_each_input_class(const struct image *img, objc_in_class_fn fn, void *ctx)
{
    const struct sect *x = objc_sect(img, "__objc_classlist");
    for (uint64_t k = 0; x && k + 8 <= x->size; k += 8) {
        uint64_t cls = in_ptr(img, x->in_addr + k);
        fn(ctx, img, class_at(img, cls));
        fn(ctx, img, class_at(img, in_ptr(img, cls)));
    }
}

struct objc_in_method objc_in_method(const struct image *img, const struct objc_in_class *k, uint32_t i)
{
    uint32_t flags = in_u32(img, k->list), entsize = flags & 0xFFFCu;
    uint64_t e = k->list + 8 + (uint64_t)i * entsize;
    if (i >= k->count || entsize < 12)
        die("%s: method list at 0x%llx is malformed", img->in_path, (unsigned long long)k->list);
    if (!(flags & 0x80000000u))
        return (struct objc_in_method){image_in_cstr(img, in_ptr(img, e)), in_ptr(img, e + 16)};
    uint64_t selref = e + (uint64_t)(int64_t)(int32_t)in_u32(img, e);
    return (struct objc_in_method){image_in_cstr(img, in_ptr(img, selref)),
                                   e + 8 + (uint64_t)(int64_t)(int32_t)in_u32(img, e + 8)};
}

bool objc_impcache_wanted(const struct objc_in_class *k) { return k->count && !k->vtable; }

/* mask + 1 for `n` methods: the smallest power of two of at least 2n. */
static uint32_t first_size(uint32_t n)
{
    uint32_t b = 2;
    while (b < 2 * n)
        b *= 2;
    return b;
}

static void count_class(void *ctx, const struct image *img, struct objc_in_class k)
{
    (void)img;
    if (objc_impcache_wanted(&k))
        *(uint64_t *)ctx += IMPC_HEADER + 8ULL * 4 * first_size(k.count);
}

void objc_impcaches_plan(struct cache *c)
{
    if (!c->opt.imp_caches)
        return;
    if (!c->objc_ro_size)
        die("--imp-caches needs a 64-bit cache with an ObjC optimisation header (0x200)");
    for (size_t i = 0; i < c->nimages; i++)
        objc_each_input_class(&c->images[i], count_class, &c->impc_size);
}

struct emit {
    struct cache *c;
    uint64_t cursor;
};

/* Bucket layout: the first size and shift under which no two selector
 * offsets share a bucket. */
static bool place(const uint32_t *sel, uint32_t n, uint32_t size, unsigned shift, int32_t *slot_of)
{
    for (uint32_t b = 0; b < size; b++)
        slot_of[b] = -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = (sel[i] >> shift) & (size - 1);
        if (slot_of[b] >= 0)
            return false;
        slot_of[b] = (int32_t)i;
    }
    return true;
}

static void set_vtable(struct cache *c, struct image *img, uint64_t field, uint64_t target)
{
    if (image_ptr_at(img, field))
        die("%s: class vtable at 0x%llx already holds a pointer", img->in_path, (unsigned long long)field);
    enum region_kind rk = region_of(c, field)->kind;
    bool auth = c->opt.arch == ARCH_ARM64E && (rk == RK_AUTH || rk == RK_AUTH_CONST);
    img->ptrs = xrealloc(img->ptrs, (img->nptrs + 1) * sizeof *img->ptrs);
    img->ptrs[img->nptrs++] = (struct ptr){field, target, auth, auth ? 2 : 0, auth, auth ? IMPC_DIVERSITY : 0, false, false};
}

static void emit_class(void *ctx, const struct image *cimg, struct objc_in_class k)
{
    struct emit *em = ctx;
    struct cache *c = em->c;
    struct image *img = (struct image *)cimg;
    uint64_t cls, base = objc_selector_base(c);
    if (!objc_impcache_wanted(&k) || !image_reloc(img, k.cls, &cls))
        return;
    uint32_t *sel = xcalloc(k.count, sizeof *sel);
    uint64_t *imp = xcalloc(k.count, sizeof *imp);
    for (uint32_t i = 0; i < k.count; i++) {
        struct objc_in_method m = objc_in_method(img, &k, i);
        sel[i] = (uint32_t)(c->selbuf_addr + strpool_add(c->selectors, m.name) - base);
        if (!image_reloc(img, m.imp, &imp[i]))
            die("%s: IMP 0x%llx is outside the image", img->in_path, (unsigned long long)m.imp);
    }
    uint32_t size = first_size(k.count);
    unsigned shift = 0;
    int32_t *slot_of = xcalloc(4 * size, sizeof *slot_of);
    while (!place(sel, k.count, size, shift, slot_of))
        if (++shift == 26) {
            shift = 0;
            if ((size *= 2) > 4 * first_size(k.count))
                die("%s: no IMP cache layout for the class at 0x%llx", img->in_path, (unsigned long long)k.cls);
        }
    const struct ptr *super = image_ptr_at(img, cls + 8);
    uint64_t at = em->cursor;
    uint8_t *h = cache_bytes(c, at, IMPC_HEADER + 8ULL * size);
    dsc_put64(h, (super ? super->target : 0) - cls);
    dsc_put32(h + 8, shift | (size - 1) << 5 | k.count << 16);
    dsc_put32(h + 12, 1u << 31);                        /* bit_one */
    for (uint32_t b = 0; b < size; b++) {
        int32_t i = slot_of[b];
        uint64_t e = i < 0 ? (uint64_t)IMPC_EMPTY_SEL << 38
                           : ((uint64_t)sel[i] << 38) | ((uint64_t)((int64_t)(cls - imp[i]) >> 2) & ((1ULL << 38) - 1));
        dsc_put64(h + IMPC_HEADER + 8ULL * b, e);
    }
    set_vtable(c, img, cls + 24, at);
    em->cursor = at + IMPC_HEADER + 8ULL * size;
    c->stats_impcaches++;
    free(sel);
    free(imp);
    free(slot_of);
}

void objc_impcaches_emit(struct cache *c)
{
    if (!c->impc_size)
        return;
    struct emit em = {c, c->impc_addr};
    size_t before = c->selectors->bytes.len;
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        size_t n = img->nptrs;
        objc_each_input_class(img, emit_class, &em);
        if (img->nptrs != n)
            image_sort_ptrs(img);
    }
    if (c->selectors->bytes.len != before || em.cursor > c->impc_addr + c->impc_size)
        die("internal: IMP caches outgrew their plan");
}

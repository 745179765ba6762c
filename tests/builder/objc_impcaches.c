/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_impcaches.c — prebuilt IMP caches (--imp-caches; 0x200 header,
 * 64-bit), chosen, hashed and emitted as Apple's builder does in dyld-1378.
 *
 * Facts relied on, read in dyld-1378 cache_builder/IMPCaches.cpp and
 * IMPCaches.hpp (the class, method and selector placement), CacheDylib.cpp
 * (emitObjCIMPCaches), common/OptimizerObjC.h (ImpCacheHeader_v2,
 * ImpCacheEntry_v2) and objc4-951.1 runtime/objc-runtime-new.h
 * (preopt_cache_t, preopt_cache_entry_t):
 *  - a class's cache holds its own methods, then those of the categories
 *    of its own image on it (populateMethodLists, attachCategories; a
 *    cross-image category is skipped), each selector once, the first kept;
 *    superclass methods only when the class is at or below a flattening
 *    root: then those of every class up to the root, .cxx_construct and
 *    .cxx_destruct apart, and the fallback is the root's superclass
 *    (findFlatteningRoot, inlineSelectors; "selectorsToInline" is empty in
 *    dyld-1378); such a class gets a cache even without methods (mask 0,
 *    removeUninterestingClasses), and has_inlines stays 0 (set only for
 *    selectors inlined outside flattening);
 *  - a class whose vtable field is set gets none; the cache's address goes
 *    into the class_t *vtable* field (+24); `cache` (+16) keeps the input's
 *    bind to libobjc's __objc_empty_cache. In auth regions the pointer is
 *    signed DA, address-diversified, discriminator 0x9cff
 *    ("originalPreoptCache");
 *  - selectors are placed in 128-byte bags of the selector buffer
 *    (AddressSpace: bag index = offset from the magic selector >> 7, bag 0
 *    holding 128 - 5 bytes after the magic selector); a class with n methods
 *    gets mask 2^ceil(log2 n) - 1, or one bit more, and a shift (of bag
 *    indices, 17 bits) under which its selectors' bag indices hit distinct
 *    slots; the attempts are tried in the order (bits, bits still to fix,
 *    shift) (ClassData::attempts, applyAttempt), fixing bag-index bits as
 *    selectors are given slots; then every selector goes into its bag, or,
 *    when the bag is full, into another whose fixed bits agree
 *    (solveGivenShiftsAndMasks), and takes the next free offset of its bag
 *    in bag order (computeLowBits); the other selectors fill the holes left
 *    before the bags, smallest hole first, or follow (HoleMap);
 *  - the cache is a 16-byte header {i64 fallback_class_offset = fallback
 *    class (0 if none) - class; u32 shift:5 = class shift + 7, mask:11,
 *    occupied:14 = n, has_inlines:1, padding:1; u32 unused:31, bit_one:1}
 *    and mask + 1
 *    8-byte buckets {i64 imp_offset:38 = (class - IMP) >> 2; u64
 *    sel_offset:26 from the magic selector}, a method in bucket
 *    (sel_offset >> shift) & mask; empty buckets are {0, 0x3FFFFFF}; masks
 *    over 0x7FF get no cache (Builder::getIMPCache).
 * In place of Apple's profile (the optimizer configuration's neededClasses
 * and flatteningRoots) every class and metaclass with a method gets a cache,
 * in image and __objc_classlist order, and the flattening roots are
 * --imp-flatten's class names (for classes and metaclasses, as Apple's
 * default root OS_object); a root is found only up the superclass chain
 * inside the class's image. Where Apple tries
 * slot values in a seeded random order and backtracks over classes, this
 * builder takes the lowest value that fits and stops the build when a class
 * cannot be placed (Apple drops it). Apple's IMP caches skip images without
 * chained fixups (CacheDylib.cpp); ours are built for every image. The
 * caches live in one read-only chunk with the other ObjC tables (layout.c:
 * after the strings from --objc-era 1284, as Apple's READ_ONLY chunk of
 * dyld-1284.13/1378; before that era at the area's start). The manifest
 * says where: "impcaches ADDR SIZE".
 */
#include "bld.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

#define IMPC_HEADER 16u
#define IMPC_EMPTY_SEL 0x3FFFFFFu
#define IMPC_DIVERSITY 0x9cff
#define BAG_SHIFT 7
#define BAG_SIZE (1u << BAG_SHIFT)
#define INDEX_BITS 17
#define MAX_INDEX ((1u << INDEX_BITS) - 1)
#define MAGIC_SIZE 5u           /* the magic selector and its NUL */
#define MAX_MASK 0x7FFu

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

static struct objc_in_class list_at(uint64_t cls, uint64_t list, const struct image *img, uint64_t vtable)
{
    return (struct objc_in_class){cls, list, list ? in_u32(img, list + 4) : 0, vtable, false};
}

static struct objc_in_class class_at(const struct image *img, uint64_t cls)
{
    uint64_t ro = in_ptr(img, cls + 32) & ~7ULL;
    return list_at(cls, in_ptr(img, ro + 0x20), img, in_ptr(img, cls + 24));
}

void objc_each_input_class(const struct image *img, objc_in_class_fn fn, void *ctx)
{
    const struct sect *x = objc_sect(img, "__objc_classlist");
    for (uint64_t k = 0; x && k + 8 <= x->size; k += 8) {
        uint64_t cls = in_ptr(img, x->in_addr + k);
        fn(ctx, img, class_at(img, cls));
        struct objc_in_class meta = class_at(img, in_ptr(img, cls));
        meta.meta = true;
        fn(ctx, img, meta);
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

/* m, unless its selector is there already (addMethod: the first kept). */
static void add_method(struct objc_in_method **v, uint32_t *n, struct objc_in_method m)
{
    for (uint32_t j = 0; j < *n; j++)
        if (strcmp((*v)[j].name, m.name) == 0)
            return;
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = m;
}

static void add_list(const struct image *img, const struct objc_in_class *l, struct objc_in_method **v, uint32_t *n)
{
    for (uint32_t i = 0; i < l->count; i++)
        add_method(v, n, objc_in_method(img, l, i));
}

/* Whether `v` is a class of the image's __objc_classlist or its metaclass. */
static bool in_image_class(const struct image *img, uint64_t v, bool *meta)
{
    const struct sect *x = objc_sect(img, "__objc_classlist");
    for (uint64_t o = 0; v && x && o + 8 <= x->size; o += 8) {
        uint64_t cls = in_ptr(img, x->in_addr + o);
        if (cls == v || in_ptr(img, cls) == v) {
            *meta = cls != v;
            return true;
        }
    }
    return false;
}

/* Whether the category's class slot names `cls` (metaclass: the isa of the
 * class it names). A cross-image category's slot is a bind: no class of
 * this image's list matches it. */
static bool category_on(const struct image *img, uint64_t cat_cls, uint64_t cls, bool meta)
{
    bool m;
    return in_image_class(img, cat_cls, &m) && !m && (meta ? in_ptr(img, cat_cls) : cat_cls) == cls;
}

/* The class's own methods, then those of its image's categories on it
 * (populateMethodLists, attachCategories). */
static void add_class_methods(const struct image *img, uint64_t cls, bool meta, struct objc_impcache_in *o)
{
    struct objc_in_class k = class_at(img, cls);
    add_list(img, &k, &o->m, &o->n);
    const struct sect *x = objc_sect(img, "__objc_catlist");
    for (uint64_t at = 0; x && at + 8 <= x->size; at += 8) {
        uint64_t cat = in_ptr(img, x->in_addr + at);
        if (!category_on(img, in_ptr(img, cat + 8), cls, meta))
            continue;
        struct objc_in_class l = list_at(cls, in_ptr(img, cat + (meta ? 24 : 16)), img, 0);
        add_list(img, &l, &o->m, &o->n);
    }
}

const char *objc_in_class_name(const struct image *img, uint64_t cls)
{
    return image_in_cstr(img, in_ptr(img, (in_ptr(img, cls + 32) & ~7ULL) + 0x18));
}

static bool is_root(const char *roots, const char *name)
{
    size_t len = strlen(name);
    for (const char *r = roots; r && *r; r += strcspn(r, ",") + (r[strcspn(r, ",")] != 0))
        if (strcspn(r, ",") == len && strncmp(r, name, len) == 0)
            return true;
    return false;
}

/* findFlatteningRoot: the class itself or a superclass named in `roots`,
 * up the chain while it stays in the image and short of a root class
 * (RO_ROOT); 0 if none. */
static uint64_t flattening_root(const struct image *img, uint64_t cls, const char *roots)
{
    bool meta;
    for (uint64_t cur = cls; in_image_class(img, cur, &meta);) {
        if (is_root(roots, objc_in_class_name(img, cur)))
            return cur;
        if (in_u32(img, in_ptr(img, cur + 32) & ~7ULL) & 2u)
            return 0;
        cur = in_ptr(img, cur + 8);
    }
    return 0;
}

bool objc_impcache_of(const struct image *img, const struct objc_in_class *k, const char *roots,
                      struct objc_impcache_in *out)
{
    bool meta;
    memset(out, 0, sizeof *out);
    out->fallback_of = k->cls;
    if (!in_image_class(img, k->cls, &meta))
        die("%s: class 0x%llx is not in __objc_classlist", img->in_path, (unsigned long long)k->cls);
    add_class_methods(img, k->cls, meta, out);
    uint64_t root = flattening_root(img, k->cls, roots);
    if (root) {
        /* inlineSelectors: every superclass's methods up to the root, but
         * never .cxx_construct/.cxx_destruct */
        for (uint64_t cur = k->cls; cur != root;) {
            cur = in_ptr(img, cur + 8);
            struct objc_impcache_in sup = {0};
            add_class_methods(img, cur, meta, &sup);
            for (uint32_t i = 0; i < sup.n; i++)
                if (strcmp(sup.m[i].name, ".cxx_construct") && strcmp(sup.m[i].name, ".cxx_destruct"))
                    add_method(&out->m, &out->n, sup.m[i]);
            free(sup.m);
        }
        out->flattened = true;
        out->fallback_of = root;
    }
    if ((out->n || out->flattened) && !k->vtable)
        return true;
    free(out->m);
    out->m = NULL;
    return false;
}

/* ---- the plan: classes, their methods' selectors, bag indices ---- */

struct sel {
    const char *name;
    uint32_t idx, fixed;        /* bag index and the bits of it already fixed */
    uint32_t nclasses, seq;     /* classes using it; order of placement */
};

struct kcache {
    struct image *img;
    uint64_t cls;               /* input address */
    struct objc_impcache_in in; /* methods, fallback */
    uint32_t *sel;              /* index into plan.sels per method */
    unsigned bits, shift;       /* mask = 2^bits - 1; shift of bag indices */
};

struct impc_plan {
    struct kcache *v;
    size_t n;
    struct sel *sels;
    size_t nsels;
    uint16_t *bag_used;         /* bytes used per bag index */
};

static int cmp_name(const void *a, const void *b) { return strcmp(((const struct sel *)a)->name, ((const struct sel *)b)->name); }

struct collect {
    struct impc_plan *pl;
    const char *roots;
};

static void collect(void *ctx, const struct image *img, struct objc_in_class k)
{
    struct collect *co = ctx;
    struct impc_plan *pl = co->pl;
    struct objc_impcache_in in;
    if (!objc_impcache_of(img, &k, co->roots, &in))
        return;
    pl->v = xrealloc(pl->v, (pl->n + 1) * sizeof *pl->v);
    pl->v[pl->n++] = (struct kcache){(struct image *)img, k.cls, in, NULL, 0, 0};
    pl->sels = xrealloc(pl->sels, (pl->nsels + in.n) * sizeof *pl->sels);
    for (uint32_t i = 0; i < in.n; i++)
        pl->sels[pl->nsels++] = (struct sel){in.m[i].name, 0, 0, 0, 0};
}

/* Unique the selectors (sorted by name) and point each method at its own. */
static void index_selectors(struct impc_plan *pl)
{
    qsort(pl->sels, pl->nsels, sizeof *pl->sels, cmp_name);
    size_t u = 0;
    for (size_t i = 0; i < pl->nsels; i++)
        if (!u || strcmp(pl->sels[u - 1].name, pl->sels[i].name) != 0)
            pl->sels[u++] = pl->sels[i];
    pl->nsels = u;
    for (size_t k = 0; k < pl->n; k++) {
        struct kcache *kc = &pl->v[k];
        kc->sel = xcalloc(kc->in.n + 1, sizeof *kc->sel);
        for (uint32_t i = 0; i < kc->in.n; i++) {
            struct sel key = {.name = kc->in.m[i].name};
            struct sel *s = bsearch(&key, pl->sels, pl->nsels, sizeof *pl->sels, cmp_name);
            kc->sel[i] = (uint32_t)(s - pl->sels);
            s->nclasses++;
        }
    }
}

static unsigned ceil_log2(uint32_t n)
{
    unsigned b = 0;
    while ((1u << b) < n)
        b++;
    return b;
}

static unsigned to_fix(const struct sel *s, unsigned bits, unsigned shift)
{
    uint32_t mask = (1u << bits) - 1;
    return (unsigned)__builtin_popcount(mask) - (unsigned)__builtin_popcount((s->fixed >> shift) & mask);
}

/* ClassData::applyAttempt: most-fixed selectors first, each into a free
 * slot its fixed bits allow (lowest value first); commits on success. */
static bool try_attempt(struct impc_plan *pl, struct kcache *kc, unsigned bits, unsigned shift)
{
    uint32_t size = 1u << bits, mask = size - 1, *order = xcalloc(kc->in.n, sizeof *order), *value = xcalloc(kc->in.n, sizeof *value);
    bool *used = xcalloc(size, sizeof *used), ok = true;
    for (uint32_t i = 0; i < kc->in.n; i++)
        order[i] = i;
    for (uint32_t i = 1; i < kc->in.n; i++)  /* insertion sort by bits still to fix */
        for (uint32_t j = i; j > 0 && to_fix(&pl->sels[kc->sel[order[j]]], bits, shift) <
                                          to_fix(&pl->sels[kc->sel[order[j - 1]]], bits, shift); j--) {
            uint32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (uint32_t i = 0; i < kc->in.n && ok; i++) {
        const struct sel *s = &pl->sels[kc->sel[order[i]]];
        uint32_t v = 0;
        for (; v < size; v++) {
            uint32_t fut = s->idx | v << shift;
            if ((fut & s->fixed) == (s->idx & s->fixed) && !used[(fut >> shift) & mask])
                break;
        }
        ok = v < size;
        if (ok) {
            used[((s->idx | v << shift) >> shift) & mask] = true;
            value[i] = v;
        }
    }
    for (uint32_t i = 0; i < kc->in.n && ok; i++) {
        struct sel *s = &pl->sels[kc->sel[order[i]]];
        s->idx |= value[i] << shift;
        s->fixed |= mask << shift;
    }
    if (ok) {
        kc->bits = bits;
        kc->shift = shift;
    }
    free(order);
    free(value);
    free(used);
    return ok;
}

/* ClassData::attempts: bits b and b + 1, every shift, by (bits, bits to
 * fix, shift). */
static void place_class(struct impc_plan *pl, struct kcache *kc)
{
    unsigned b = ceil_log2(kc->in.n);
    if (b + 1 > INDEX_BITS)
        die("%s: the class at 0x%llx has too many methods for an IMP cache", kc->img->in_path, (unsigned long long)kc->cls);
    for (unsigned bits = b; bits <= b + 1; bits++) {
        unsigned most = bits * kc->in.n;
        for (unsigned cost = 0; cost <= most; cost++)
            for (unsigned shift = 0; shift + bits <= INDEX_BITS; shift++) {
                unsigned sum = 0;
                for (uint32_t i = 0; i < kc->in.n; i++)
                    sum += to_fix(&pl->sels[kc->sel[i]], bits, shift);
                if (sum == cost && try_attempt(pl, kc, bits, shift))
                    return;
            }
    }
    die("%s: no IMP cache layout for the class at 0x%llx (Apple's builder would drop it)", kc->img->in_path,
        (unsigned long long)kc->cls);
}

static uint32_t bag_room(const struct impc_plan *pl, uint32_t idx)
{
    return (idx ? BAG_SIZE : BAG_SIZE - MAGIC_SIZE) - pl->bag_used[idx];
}

/* solveGivenShiftsAndMasks: a selector's bag, or the first other bag whose
 * index agrees with its fixed bits (every class keeps its slot). */
static void place_selector(struct impc_plan *pl, struct sel *s, uint32_t seq)
{
    uint32_t size = (uint32_t)strlen(s->name) + 1, free_bits = MAX_INDEX & ~s->fixed, v = 0;
    for (;;) {
        uint32_t idx = (s->idx & s->fixed) | v;
        if (bag_room(pl, idx) > size) {
            s->idx = idx;
            s->seq = seq;
            pl->bag_used[idx] += (uint16_t)size;
            return;
        }
        if (v == free_bits)
            die("--imp-caches: no room in the selector buffer for %s", s->name);
        v = (v - free_bits) & free_bits;  /* next subset of the free bits */
    }
}

static int cmp_fixed_first(const void *a, const void *b)
{
    const struct sel *x = *(const struct sel *const *)a, *y = *(const struct sel *const *)b;
    int fx = __builtin_popcount(x->fixed), fy = __builtin_popcount(y->fixed);
    if (fx != fy)
        return fy - fx;
    if (x->nclasses != y->nclasses)
        return x->nclasses > y->nclasses ? -1 : 1;
    return -strcmp(x->name, y->name);
}

static int cmp_bag_order(const void *a, const void *b)
{
    const struct sel *x = *(const struct sel *const *)a, *y = *(const struct sel *const *)b;
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* computeLowBits: the selectors, bag by bag, at their offsets from the
 * magic selector (pool offset 1). */
static void put_selectors(struct impc_plan *pl, struct strpool *pool)
{
    struct sel **v = xcalloc(pl->nsels, sizeof *v);
    for (size_t i = 0; i < pl->nsels; i++)
        v[i] = &pl->sels[i];
    qsort(v, pl->nsels, sizeof *v, cmp_fixed_first);
    for (size_t i = 0; i < pl->nsels; i++)
        place_selector(pl, v[i], (uint32_t)i);
    qsort(v, pl->nsels, sizeof *v, cmp_bag_order);
    uint32_t end = MAGIC_SIZE;
    for (size_t i = 0; i < pl->nsels; i++) {
        if (v[i]->idx << BAG_SHIFT > end)
            end = v[i]->idx << BAG_SHIFT;
        strpool_put(pool, v[i]->name, 1 + end);
        end += (uint32_t)strlen(v[i]->name) + 1;
    }
    free(v);
}

void objc_impcaches_place(struct cache *c)
{
    if (!c->opt.imp_caches || !c->selectors || c->ai->ptr_size != 8 || c->opt.header_size < 0x200)
        return;
    struct impc_plan *pl = xcalloc(1, sizeof *pl);
    struct collect co = {pl, c->opt.impc_roots};
    for (size_t i = 0; i < c->nimages; i++)
        objc_each_input_class(&c->images[i], collect, &co);
    index_selectors(pl);
    for (size_t k = 0; k < pl->n; k++)
        if (pl->v[k].in.n)     /* fillAllClasses: an empty flattened class keeps mask 0 */
            place_class(pl, &pl->v[k]);
    pl->bag_used = xcalloc(MAX_INDEX + 1, sizeof *pl->bag_used);
    put_selectors(pl, c->selectors);
    c->impc = pl;
}

/* HoleMap::addStringOfSize: the smallest hole the string fits (the lowest
 * of equal ones) before the bags, else the end. */
void objc_impcaches_add_selector(struct cache *c, const char *s)
{
    uint32_t off, len = (uint32_t)strlen(s) + 1, best = 0, best_size = UINT32_MAX;
    if (strpool_find(c->selectors, s, &off))
        return;
    const uint8_t *b = c->selectors->bytes.data;
    for (uint32_t at = 1 + MAGIC_SIZE; c->impc && at < c->selectors->bytes.len;) {
        uint32_t end = at;
        while (end < c->selectors->bytes.len && !b[end])
            end++;
        uint32_t hole = end - at;   /* the zeros between two strings */
        if (hole >= len && hole < best_size) {
            best = at;
            best_size = hole;
        }
        while (end < c->selectors->bytes.len && b[end])
            end++;
        at = end + 1;
    }
    if (best)
        strpool_put(c->selectors, s, best);
    else
        strpool_add(c->selectors, s);
}

void objc_impcaches_plan(struct cache *c)
{
    if (!c->opt.imp_caches)
        return;
    if (!c->objc_ro_size || !c->impc)
        die("--imp-caches needs a 64-bit cache with an ObjC optimisation header (0x200)");
    for (size_t k = 0; k < c->impc->n; k++)
        c->impc_size += IMPC_HEADER + 8ULL * (1u << c->impc->v[k].bits);
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

/* emitObjCIMPCaches: header and buckets of one class's cache at `at`. */
static uint64_t emit_class(struct cache *c, const struct kcache *kc, uint64_t at)
{
    uint64_t cls, base = objc_selector_base(c);
    uint32_t size = 1u << kc->bits, mask = size - 1;
    if (!image_reloc(kc->img, kc->cls, &cls))
        die("%s: class 0x%llx is outside the image", kc->img->in_path, (unsigned long long)kc->cls);
    if (mask > MAX_MASK)
        die("%s: the class at 0x%llx needs an IMP cache mask over 0x7FF", kc->img->in_path, (unsigned long long)kc->cls);
    uint64_t fb;
    if (!image_reloc(kc->img, kc->in.fallback_of, &fb))
        die("%s: class 0x%llx is outside the image", kc->img->in_path, (unsigned long long)kc->in.fallback_of);
    const struct ptr *super = image_ptr_at(kc->img, fb + 8);
    uint8_t *h = cache_bytes(c, at, IMPC_HEADER + 8ULL * size);
    dsc_put64(h, (super ? super->target : 0) - cls);
    dsc_put32(h + 8, (kc->shift + BAG_SHIFT) | mask << 5 | kc->in.n << 16);
    dsc_put32(h + 12, 1u << 31);                        /* bit_one */
    for (uint32_t b = 0; b < size; b++)
        dsc_put64(h + IMPC_HEADER + 8ULL * b, (uint64_t)IMPC_EMPTY_SEL << 38);
    for (uint32_t i = 0; i < kc->in.n; i++) {
        uint32_t off;
        uint64_t imp;
        if (!strpool_find(c->selectors, kc->in.m[i].name, &off) || !image_reloc(kc->img, kc->in.m[i].imp, &imp))
            die("%s: IMP cache method %s is not placed", kc->img->in_path, kc->in.m[i].name);
        uint64_t sel = c->selbuf_addr + off - base, slot = (sel >> (kc->shift + BAG_SHIFT)) & mask;
        uint8_t *e = h + IMPC_HEADER + 8 * slot;
        if (dsc_le64(e) >> 38 != IMPC_EMPTY_SEL)
            die("internal: IMP cache slot %llu taken twice", (unsigned long long)slot);
        dsc_put64(e, sel << 38 | ((uint64_t)((int64_t)(cls - imp) >> 2) & ((1ULL << 38) - 1)));
    }
    set_vtable(c, kc->img, cls + 24, at);
    return at + IMPC_HEADER + 8ULL * size;
}

void objc_impcaches_emit(struct cache *c)
{
    if (!c->impc_size)
        return;
    uint64_t cursor = c->impc_addr;
    for (size_t k = 0; k < c->impc->n; k++) {
        cursor = emit_class(c, &c->impc->v[k], cursor);
        c->stats_impcaches++;
    }
    for (size_t i = 0; i < c->nimages; i++)
        image_sort_ptrs(&c->images[i]);
    if (cursor != c->impc_addr + c->impc_size)
        die("internal: IMP caches outgrew their plan");
}

void objc_impcaches_free(struct cache *c)
{
    struct impc_plan *pl = c->impc;
    if (!pl)
        return;
    for (size_t k = 0; k < pl->n; k++) {
        free(pl->v[k].in.m);
        free(pl->v[k].sel);
    }
    free(pl->v);
    free(pl->sels);
    free(pl->bag_used);
    free(pl);
    c->impc = NULL;
}

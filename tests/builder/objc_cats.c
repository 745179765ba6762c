/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_cats.c — preattached categories (--preattach-categories; 0x200
 * header, 64-bit): each class that a category of any image extends gets
 * relative lists of lists in place of its class_ro_t lists, as Apple's
 * builder does since dyld-1122.
 *
 * Facts relied on, read in dyld-1378 cache_builder/NewSharedCacheBuilder.cpp
 * (findObjCCategories, calculateObjCCategoriesSize,
 * emitPreAttachedObjCCategories; the same shape since dyld-1122.1),
 * dyld-1378 common/OptimizerObjC.h (ListOfListsEntry) and objc4-951.1
 * runtime/objc-runtime-new.h (relative_list_list_t, class_ro_t),
 * PointerUnion.h and objc-abi.h:
 *  - a list of lists is {u32 entsize = 8, u32 count} then count 8-byte
 *    entries {imageIndex: low 16 bits, offset: high 48 bits, signed, from
 *    the entry to the list}; imageIndex is the header-info (ObjC) index of
 *    the image that owns the list;
 *  - lists of lists are made for instance methods, protocols and instance
 *    properties (class_ro_t) and class methods and class properties (the
 *    metaclass's class_ro_t), each only when some category adds a
 *    non-empty list of that kind; category lists come first, the class's
 *    own list is always the last entry;
 *  - no own method list: the last entry points at one shared empty method
 *    list {entsizeAndFlags 3 (uniqued, sorted), count 0} at the start of
 *    the area, with the class's own image index; no own protocol or
 *    property list: the last entry is {imageIndex 0, offset 0}, pointing at
 *    itself, which reads as an empty list;
 *  - the class_ro_t field holds the list of lists' address | 1; method-list
 *    fields are signed DA, address-diversified, discriminator 0xC310 where
 *    the cache has auth regions, protocol and property fields are not
 *    signed (ours: only slots in __AUTH* segments are signed, as every
 *    arm64e pointer of this builder; DBCat's class_ro_t structures are
 *    linked into __AUTH_CONST on arm64e for that);
 *  - class properties of a category count only when its image's
 *    objc_image_info has HasCategoryClassProperties (bit 6);
 *  - every ObjC image gets DyldCategoriesOptimized (objc_image_info bit 0);
 *    the categories stay in __objc_catlist (the runtime skips them).
 * Apple's builder skips images with opcode fixups; ours has only such
 * inputs, so it preattaches them all. Categories are taken in image and
 * __objc_catlist order (Apple's order comes from a hash map). The area
 * is the last chunk of the ObjC read-only area (layout.c; Apple's
 * Chunk::Kind order, dyld-1122.1 .. dyld-1378), in libobjc's file's TEXT
 * before 0x208, in READ_ONLY from it.
 */
#include "bld.h"

#include <stdlib.h>
#include <string.h>

#define LOL_ENTRY 8u
#define EMPTY_METHOD_LIST_FLAGS 3u
#define HAS_CATEGORY_CLASS_PROPERTIES (1u << 6)
#define METHOD_LIST_DIVERSITY 0xC310

/* The list kinds a category can add; cat_field is the category_t field,
 * ro_field the class_ro_t field (of the metaclass when meta). */
struct kind {
    unsigned cat_field, ro_field;
    bool meta, methods;
};
static const struct kind kinds[] = {
    {2, 2, false, true},  /* instance methods -> baseMethods */
    {4, 3, false, false}, /* protocols -> baseProtocols */
    {5, 6, false, false}, /* instance properties -> baseProperties */
    {3, 2, true, true},   /* class methods -> metaclass baseMethods */
    {6, 6, true, false},  /* class properties -> metaclass baseProperties */
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

struct category {
    uint32_t objc_index;        /* of the category's image */
    uint64_t cls;               /* the class it extends (cache address) */
    uint64_t lists[NKINDS];     /* non-empty lists it adds, else 0 */
};

struct cats {
    struct category *v;
    size_t n;
    uint64_t cursor;            /* next free byte of the area */
};

static uint64_t catlist_count(const struct image *img)
{
    const struct sect *x = objc_sect(img, "__objc_catlist");
    return x ? x->size / 8 : 0;
}

void objc_cats_plan(struct cache *c)
{
    if (!c->opt.preattach)
        return;
    if (!c->objc_ro_size)
        die("--preattach-categories needs a 64-bit cache whose images have ObjC selectors");
    uint64_t ncats = 0;
    for (size_t i = 0; i < c->nimages; i++)
        ncats += catlist_count(&c->images[i]);
    /* the empty method list, then per category and kind at most a header,
     * its entry and the class's own entry */
    c->cats_size = dsc_align_up(8 + ncats * NKINDS * 3 * LOL_ENTRY, 8);
}

/* The pointer slot at `addr` in whichever image holds it, or NULL. */
static struct ptr *slot_at(struct cache *c, uint64_t addr, struct image **owner)
{
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        for (unsigned s = 0; s < img->nsegs; s++)
            if (addr >= img->segs[s].addr && addr - img->segs[s].addr < img->segs[s].size) {
                *owner = img;
                return (struct ptr *)image_ptr_at(img, addr);
            }
    }
    die("preattach: 0x%llx is in no image", (unsigned long long)addr);
}

static uint64_t target_at(struct cache *c, uint64_t addr)
{
    struct image *img;
    const struct ptr *p = slot_at(c, addr, &img);
    return p ? p->target : 0;
}

/* Entries of a list: u32 count at +4 (method, property lists), or the
 * pointer-sized count at +0 (protocol lists). */
static uint64_t list_count(struct cache *c, uint64_t list, unsigned field)
{
    const uint8_t *b = cache_bytes(c, list, 8);
    return field == 4 ? dsc_le64(b) : dsc_le32(b + 4);
}

static void add_category(struct cache *c, struct cats *cs, uint32_t objc_index, uint64_t cat, bool class_props)
{
    struct category k = {.objc_index = objc_index, .cls = target_at(c, cat + 8)};
    if (!k.cls)
        return; /* a weak-imported class that is missing */
    for (unsigned i = 0; i < NKINDS; i++) {
        if (kinds[i].cat_field == 6 && !class_props)
            continue;
        uint64_t list = target_at(c, cat + 8ULL * kinds[i].cat_field);
        if (list && list_count(c, list, kinds[i].cat_field))
            k.lists[i] = list;
    }
    cs->v = xrealloc(cs->v, (cs->n + 1) * sizeof *cs->v);
    cs->v[cs->n++] = k;
}

static void find_categories(struct cache *c, struct cats *cs)
{
    uint32_t objc_index = 0;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct sect *info = objc_image_info_of(img), *x = objc_sect(img, "__objc_catlist");
        uint64_t at, info_at;
        if (!info || !image_reloc(img, info->in_addr, &info_at))
            continue;
        bool class_props = dsc_le32(cache_bytes(c, info_at + 4, 4)) & HAS_CATEGORY_CLASS_PROPERTIES;
        for (uint64_t k = 0; x && k < x->size / 8 && image_reloc(img, x->in_addr + 8 * k, &at); k++)
            add_category(c, cs, objc_index, target_at(c, at), class_props);
        objc_index++;
    }
}

/* The header-info index of the image that holds `addr`. */
static uint32_t objc_index_of(struct cache *c, uint64_t addr)
{
    uint32_t n = 0;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        uint64_t at;
        if (!objc_image_info_of(img) || !image_reloc(img, objc_image_info_of(img)->in_addr, &at))
            continue;
        for (unsigned s = 0; s < img->nsegs; s++)
            if (addr >= img->segs[s].addr && addr - img->segs[s].addr < img->segs[s].size)
                return n;
        n++;
    }
    die("preattach: class 0x%llx is in no ObjC image", (unsigned long long)addr);
}

static void put_entry(struct cache *c, uint64_t entry, uint32_t objc_index, uint64_t list)
{
    uint64_t off = list ? list - entry : 0;
    dsc_put64(cache_bytes(c, entry, 8), (uint64_t)(objc_index & 0xFFFF) | off << 16);
}

static int cmp_ptr(const void *a, const void *b)
{
    const struct ptr *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Point the class_ro_t field at `field` at the list of lists `lol`. */
static void set_field(struct cache *c, uint64_t field, uint64_t lol, bool methods)
{
    struct image *img;
    struct ptr *p = slot_at(c, field, &img);
    if (!p) {
        img->ptrs = xrealloc(img->ptrs, (img->nptrs + 1) * sizeof *img->ptrs);
        img->ptrs[img->nptrs++] = (struct ptr){field, 0, false, 0, false, 0, false, false};
        qsort(img->ptrs, img->nptrs, sizeof *img->ptrs, cmp_ptr);
        p = (struct ptr *)image_ptr_at(img, field);
    }
    enum region_kind rk = region_of(c, field)->kind;
    bool auth = c->opt.arch == ARCH_ARM64E && methods && (rk == RK_AUTH || rk == RK_AUTH_CONST);
    *p = (struct ptr){field, lol | 1, auth, auth ? 2 : 0, auth, auth ? METHOD_LIST_DIVERSITY : 0, false, false};
}

/* One list of lists for kind `k` of class `cls`, if any category adds to it. */
static void attach_kind(struct cache *c, struct cats *cs, uint64_t cls, unsigned k, uint64_t empty)
{
    uint64_t lol = cs->cursor, entry = lol + LOL_ENTRY;
    uint32_t count = 0;
    for (size_t i = 0; i < cs->n; i++)
        if (cs->v[i].cls == cls && cs->v[i].lists[k]) {
            put_entry(c, entry, cs->v[i].objc_index, cs->v[i].lists[k]);
            entry += LOL_ENTRY;
            count++;
        }
    if (!count)
        return;
    uint64_t ro = target_at(c, (kinds[k].meta ? target_at(c, cls) : cls) + 32) & ~7ULL;
    uint64_t field = ro + 0x10 + 8ULL * kinds[k].ro_field, own = target_at(c, field);
    uint32_t own_index = objc_index_of(c, cls);
    if (own && list_count(c, own, kinds[k].cat_field))
        put_entry(c, entry, own_index, own);
    else if (kinds[k].methods)
        put_entry(c, entry, own_index, empty);
    else
        put_entry(c, entry, 0, 0);
    uint8_t *h = cache_bytes(c, lol, 8);
    dsc_put32(h, LOL_ENTRY);
    dsc_put32(h + 4, count + 1);
    cs->cursor = entry + LOL_ENTRY;
    set_field(c, field, lol, kinds[k].methods);
    c->stats_preattached++;
}

void objc_preattach_categories(struct cache *c)
{
    if (!c->cats_size)
        return;
    struct cats cs = {.cursor = c->cats_addr};
    uint64_t empty = cs.cursor;
    dsc_put32(cache_bytes(c, empty, 8), EMPTY_METHOD_LIST_FLAGS);
    cs.cursor += 8;
    find_categories(c, &cs);
    for (size_t i = 0; i < cs.n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = cs.v[j].cls == cs.v[i].cls;
        for (unsigned k = 0; k < NKINDS && !seen; k++)
            attach_kind(c, &cs, cs.v[i].cls, k, empty);
    }
    if (cs.cursor > c->cats_addr + c->cats_size)
        die("preattach: lists of lists overflow their area");
    free(cs.v);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_cats.c — dsccheck: preattached categories (the manifest's
 * "categories ADDR SIZE" line, dscbuild --preattach-categories; layout in
 * objc_cats.c). Every slid pointer into that area has bit 0 set and sits in
 * a class_ro_t list field: its list of lists is {entsize 8, count >= 2};
 * each entry but the last names a list inside the image whose ObjC index
 * it carries; the last is the class's own list (the slot's input target,
 * with the class image's index) or, where the input field was NULL, a
 * placeholder (the area's empty method list {3, 0} with that index, or
 * {0, 0}). The entries before the last must number the non-empty lists the
 * inputs' categories add to classes found in the cache. Signing: only
 * baseMethods fields in __AUTH* segments of arm64e caches, DA,
 * address-diversified, discriminator 0xC310.
 */
#include "check.h"

#include <string.h>

uint64_t cats_addr, cats_size;
static size_t cat_entries;      /* entries before the last, over all lists */

static size_t image_holding(uint64_t addr)
{
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        for (unsigned s = 0; s < img->nsegs; s++)
            if (addr >= img->segs[s].addr && addr - img->segs[s].addr < img->segs[s].size)
                return i;
    }
    return SIZE_MAX;
}

/* The header-info index of image `i` (ObjC images in image order). */
static uint32_t objc_index(size_t i)
{
    uint32_t k = 0;
    if (i >= bc.nimages || !objc_image_info_of(&bc.images[i]))
        return UINT32_MAX;
    for (size_t j = 0; j < i; j++)
        k += objc_image_info_of(&bc.images[j]) != NULL;
    return k;
}

static bool in_area(uint64_t value)
{
    uint64_t lol = value & ~1ULL;
    return (value & 1) && lol >= cats_addr && lol - cats_addr < cats_size;
}

/* The list of lists `value` names from `slot`; `own` is the input's list
 * (0: the input field was NULL). */
static void check_lol(uint64_t slot, uint64_t value, uint64_t own)
{
    uint64_t lol = value & ~1ULL;
    dsc_span h = vm(lol, 8, "list of lists");
    uint32_t count = dsc_le32(h.data + 4);
    uint32_t cls_index = objc_index(image_holding(slot));
    if (dsc_le32(h.data) != 8 || count < 2 || cls_index == UINT32_MAX)
        die("slot 0x%llx: list of lists at 0x%llx: entsize %u, count %u", (unsigned long long)slot,
            (unsigned long long)lol, dsc_le32(h.data), count);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t e = lol + 8 + 8ULL * i, v = dsc_le64(vm(e, 8, "list of lists entry").data);
        uint32_t idx = (uint32_t)(v & 0xFFFF);
        uint64_t t = e + (uint64_t)((int64_t)v >> 16);
        bool ok;
        if (i + 1 < count) {
            ok = objc_index(image_holding(t)) == idx;
            cat_entries++;
        } else if (own) {
            ok = t == own && idx == cls_index;
        } else {
            ok = v == 0 || (t == cats_addr && idx == cls_index);
        }
        if (!ok)
            die("slot 0x%llx: list of lists entry %u (0x%llx) names 0x%llx with image index %u%s",
                (unsigned long long)slot, i, (unsigned long long)v, (unsigned long long)t, idx,
                i + 1 < count ? "" : ", not the class's own list");
    }
}

static uint64_t target_in(const struct image *img, uint64_t addr)
{
    const struct ptr *p = image_ptr_at(img, addr);
    return p ? p->target : 0;
}

/* Whether `slot` is the baseMethods field of an input class or metaclass. */
static bool method_field(uint64_t slot)
{
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct sect *x = objc_sect(img, "__objc_classlist");
        uint64_t at;
        for (uint64_t k = 0; x && k < x->size / 8 && image_reloc(img, x->in_addr + 8 * k, &at); k++) {
            uint64_t cls = target_in(img, at);
            for (int meta = 0; cls && meta < 2; meta++) {
                uint64_t c = meta ? target_in(img, cls) : cls;
                if (c && (target_in(img, c + 32) & ~7ULL) + 0x20 == slot)
                    return true;
            }
        }
    }
    return false;
}

/* Method-list fields in __AUTH* segments of arm64e caches are signed DA,
 * address-diversified, 0xC310; every other list of lists is plain. */
static void check_auth(uint64_t slot, const struct decoded_ptr *got)
{
    size_t i = image_holding(slot);
    enum region_kind k = RK_DATA;
    for (unsigned s = 0; i != SIZE_MAX && s < bc.images[i].nsegs; s++)
        if (slot - bc.images[i].segs[s].addr < bc.images[i].segs[s].size)
            k = bc.images[i].segs[s].kind;
    bool want = strcmp(bc.ai->name, "arm64e") == 0 && (k == RK_AUTH || k == RK_AUTH_CONST) && method_field(slot);
    if (got->auth != want || (want && (got->key != 2 || !got->addr_div || got->diversity != 0xC310)))
        die("slot 0x%llx: a list of lists %s, expected %s", (unsigned long long)slot,
            got->auth ? "signed" : "unsigned", want ? "DA, address-diversified, 0xC310" : "none");
}

/* Called by check_pointers for a slot that decodes to something else than
 * its input target. */
bool preattached_slot(const struct ptr *p, const struct decoded_ptr *got)
{
    if (!cats_size || !in_area(got->value))
        return false;
    check_auth(p->addr, got);
    check_lol(p->addr, got->value, p->target);
    return true;
}

/* The input's bytes of cache address `addr` in image `i` are zero. */
static bool input_null(size_t i, uint64_t addr)
{
    const struct image *img = &bc.images[i];
    for (unsigned s = 0; s < img->nsegs; s++) {
        const struct seg *sg = &img->segs[s];
        uint64_t off = addr - sg->addr;
        if (addr >= sg->addr && off < sg->size)
            return off + 8 <= sg->in_filesize && dsc_le64(img->file.data + sg->in_fileoff + off) == 0;
    }
    return false;
}

/* Non-empty lists the inputs' categories add: instance and class methods,
 * protocols, instance properties, and class properties where the image's
 * objc_image_info has HasCategoryClassProperties (bit 6). */
static size_t category_lists(void)
{
    size_t n = 0;
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct sect *info = objc_image_info_of(img), *x = objc_sect(img, "__objc_catlist");
        uint64_t at, info_at;
        if (!info || !x || !image_reloc(img, info->in_addr, &info_at))
            continue;
        unsigned last = dsc_le32(vm(info_at + 4, 4, "objc_image_info").data) & (1u << 6) ? 6 : 5;
        for (uint64_t k = 0; k < x->size / 8 && image_reloc(img, x->in_addr + 8 * k, &at); k++) {
            uint64_t cat = target_in(img, at);
            if (!cat || !target_in(img, cat + 8))
                continue;
            for (unsigned f = 2; f <= last; f++) {
                uint64_t list = target_in(img, cat + 8ULL * f);
                dsc_span c = list ? vm(list, 8, "category list") : (dsc_span){0};
                n += list && (f == 4 ? dsc_le64(c.data) : dsc_le32(c.data + 4)) != 0;
            }
        }
    }
    return n;
}

void check_preattached(struct counts *n)
{
    if (!cats_size)
        return;
    dsc_span empty = vm(cats_addr, 8, "empty method list");
    if (dsc_le32(empty.data) != 3 || dsc_le32(empty.data + 4) != 0)
        die("the preattached categories' area does not start with an empty method list");
    for (size_t k = 0; k < dec.n; k++) {
        const struct decoded_ptr *d = &dec.v[k];
        if (!in_area(d->value))
            continue;
        n->preattached++;
        size_t i = image_holding(d->addr);
        if (i != SIZE_MAX && image_ptr_at(&bc.images[i], d->addr))
            continue; /* proven by check_pointers */
        if (i == SIZE_MAX || !input_null(i, d->addr))
            die("slot 0x%llx names a list of lists but was no NULL list field of an input",
                (unsigned long long)d->addr);
        check_auth(d->addr, d);
        check_lol(d->addr, d->value, 0);
        explained++;
    }
    size_t want = category_lists();
    if (cat_entries != want)
        die("lists of lists hold %zu category lists, the inputs' categories add %zu", cat_entries, want);
}

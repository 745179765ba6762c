/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_methlists.c — relative ("small") method lists, as ld64 and
 * ld64.lld -objc_relative_method_lists write them in __TEXT,__objc_methlist:
 * {u32 entsizeAndFlags = 12 | 0x80000000, u32 count}, then entries of three
 * i32 offsets, each from its own field: name -> a selref of the image,
 * types -> a string, imp -> the code.
 *
 * The offsets cross segments (the selrefs are in __DATA), so after layout
 * every field is re-targeted at the cache address of its input target (lld
 * writes no split-seg info to find them; the section is walked instead).
 * Caches with an ObjC optimisation header (0x200, 64-bit) then get what
 * Apple's builder does (dyld-1378 cache_builder/CacheDylib.cpp
 * convertObjCMethodListsToOffsets / Method::convertNameToOffset; dyld-1378
 * common/ObjCVisitor.h MethodList flags; objc4-951.1
 * runtime/objc-runtime-new.h method_t::small, which reads such names as
 * sharedCacheRelativeMethodBase() + offset):
 *  - name = the canonical selector's offset from the selector base (the
 *    magic selector, relativeMethodSelectorBaseAddressOffset), flag
 *    0x40000000 (methodListUsesSelectorOffsets);
 *  - with --method-type-offsets (dyld-1376+; convertMethodListTypesToOffsets,
 *    on only in Apple's unit-test builds): types = the offset, from the same
 *    base, of the type string in a type buffer that follows the selector
 *    buffer (relativeMethodTypesBufferSize in the v2 header), flag
 *    0x20000000 (methodListUsesTypeOffsets).
 * Simplified: a type string equal to a selector gets its own copy in the
 * type buffer (Apple's one strings map would reuse the selector's bytes);
 * lists are not sorted and get no uniqued/sorted bits (the builder sorts no
 * list). Before the opts header (0x1c8 has no objc_opt_t here) the names
 * keep pointing at the image's selrefs, which point at canonical strings.
 */
#include "bld.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

#define REL_LIST 0x80000000u
#define REL_DIRECT_SELECTORS 0x40000000u
#define REL_TYPE_OFFSETS 0x20000000u
#define REL_ENTRY 12u

uint32_t objc_era(const struct cache *c)
{
    if (c->opt.objc_era)
        return c->opt.objc_era;
    if (c->opt.header_size >= 0x228)
        return 1284;        /* the 0x228 header: dyld-1284..1378 */
    if (c->opt.header_size >= 0x208)
        return 1231;        /* the 0x208 header: dyld-1231..1245 */
    return c->opt.preattach ? 1122 : 1042;
}

uint64_t objc_selector_base(const struct cache *c) { return c->selbuf_addr + 1; }

void objc_each_relative_list(struct cache *c, const struct image *img, objc_rel_list_fn fn)
{
    const struct sect *x = image_sect(img, "__TEXT", "__objc_methlist");
    for (uint64_t off = 0; x && off < x->size;) {
        dsc_span h, list;
        if (!image_in_bytes(img, x->in_addr + off, 8, &h))
            die("%s: __objc_methlist is out of the file", img->in_path);
        uint32_t flags = dsc_le32(h.data), count = dsc_le32(h.data + 4);
        if ((flags & 0xFFFF0000u) != REL_LIST || (flags & 0xFFFCu) != REL_ENTRY ||
            !image_in_bytes(img, x->in_addr + off, 8 + (uint64_t)count * REL_ENTRY, &list) ||
            off + list.size > x->size)
            die("%s: __objc_methlist+0x%llx is not a relative method list", img->in_path, (unsigned long long)off);
        fn(c, img, x->in_addr + off, list, flags);
        off = dsc_align_up(off + list.size, 4);
    }
}

const char *image_in_cstr(const struct image *img, uint64_t in_addr)
{
    dsc_span s;
    const char *str;
    if (!image_in_bytes(img, in_addr, 1, &s) ||
        !span_cstr(img->file, (uint64_t)(s.data - img->file.data), 4096, &str, NULL))
        die("%s: no string at 0x%llx", img->in_path, (unsigned long long)in_addr);
    return str;
}

/* The input string an entry's types field names. */
static const char *in_types(const struct image *img, uint64_t field, const uint8_t *raw)
{
    return image_in_cstr(img, field + (uint64_t)(int64_t)(int32_t)dsc_le32(raw));
}

static bool direct(const struct cache *c) { return c->objc_ro_size != 0; }

static void add_types(struct cache *c, const struct image *img, uint64_t in, dsc_span list, uint32_t flags)
{
    (void)flags;
    for (uint64_t e = 8; e + REL_ENTRY <= list.size; e += REL_ENTRY)
        strpool_add(c->types, in_types(img, in + e + 4, list.data + e + 4));
}

void objc_methlists_plan(struct cache *c)
{
    if (!c->opt.type_offsets)
        return;
    if (!direct(c) || objc_era(c) < 1376)
        die("--method-type-offsets needs an ObjC optimisation header of dyld-1376+ (--objc-era 1376)");
    c->types = xcalloc(1, sizeof *c->types);
    strpool_init(c->types);
    for (size_t i = 0; i < c->nimages; i++)
        objc_each_relative_list(c, &c->images[i], add_types);
    c->typebuf_size = c->types->bytes.len - 1;
}

/* The cache address an entry's field at input address `field` targets. */
static uint64_t retarget(const struct image *img, uint64_t field, const uint8_t *raw)
{
    uint64_t at;
    if (!image_reloc(img, field + (uint64_t)(int64_t)(int32_t)dsc_le32(raw), &at))
        die("%s: relative method field at 0x%llx points outside the image", img->in_path,
            (unsigned long long)field);
    return at;
}

static void put_rel(uint8_t *b, uint64_t field, uint64_t target)
{
    int64_t d = (int64_t)(target - field);
    if (d != (int32_t)d)
        die("relative method field at 0x%llx cannot reach 0x%llx", (unsigned long long)field,
            (unsigned long long)target);
    dsc_put32(b, (uint32_t)d);
}

static void fix_list(struct cache *c, const struct image *img, uint64_t in, dsc_span list, uint32_t flags)
{
    uint64_t at, base = objc_selector_base(c);
    if (!image_reloc(img, in, &at))
        die("%s: method list at 0x%llx is outside the image", img->in_path, (unsigned long long)in);
    uint8_t *b = cache_bytes(c, at, list.size);
    bool names = direct(c), types = c->types != NULL;
    dsc_put32(b, flags | (names ? REL_DIRECT_SELECTORS : 0) | (types ? REL_TYPE_OFFSETS : 0));
    for (uint64_t e = 8; e + REL_ENTRY <= list.size; e += REL_ENTRY) {
        uint64_t selref = retarget(img, in + e, list.data + e);
        const struct ptr *p = image_ptr_at(img, selref);
        if (names && (!p || p->target - c->selbuf_addr >= c->selbuf_size))
            die("%s: method name at 0x%llx is no uniqued selector", img->in_path, (unsigned long long)(in + e));
        if (names)
            dsc_put32(b + e, (uint32_t)(p->target - base));
        else
            put_rel(b + e, at + e, selref);
        if (types)
            dsc_put32(b + e + 4, (uint32_t)(c->selbuf_addr + c->selbuf_size + strpool_add(c->types,
                      in_types(img, in + e + 4, list.data + e + 4)) - 1 - base));
        else
            put_rel(b + e + 4, at + e + 4, retarget(img, in + e + 4, list.data + e + 4));
        put_rel(b + e + 8, at + e + 8, retarget(img, in + e + 8, list.data + e + 8));
    }
    c->stats_rel_lists++;
}

void objc_methlists_fix(struct cache *c)
{
    for (size_t i = 0; i < c->nimages; i++)
        objc_each_relative_list(c, &c->images[i], fix_list);
    if (!c->types)
        return;
    if (c->types->bytes.len - 1 != c->typebuf_size)
        die("internal: a method type was missing from the planned type buffer");
    memcpy(cache_bytes(c, c->selbuf_addr + c->selbuf_size, c->typebuf_size), c->types->bytes.data + 1,
           c->typebuf_size);
}

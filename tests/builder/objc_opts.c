/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_opts.c — the dyld-1042+ ObjCOptimizationHeader (header objcOptsOffset
 * and objcOptsSize), for caches whose selectors were uniqued.
 *
 * Version 1 (0x38 bytes): flags, header info RO and RW, the selector hash
 * table (dyld-1378 NewSharedCacheBuilder.cpp emitObjCHashTables: every
 * string of the selector buffer, offsets from the table, objc_hash.c; a
 * chunk of hashTableSize after the strings, layout.c), no class or protocol
 * hash tables (their offsets are 0), and
 * relativeMethodSelectorBaseAddressOffset = the magic selector's offset from
 * the cache base. Version 2 (dyld-1376+, 0x48 bytes; dyld-1378
 * NewSharedCacheBuilder.cpp emitObjCOptsHeader, DyldSharedCache.h) adds
 * relativeMethodSelectorBufferSize (from the magic selector to the buffer's
 * end) and relativeMethodTypesBufferSize (the type buffer after it, 0 without
 * --method-type-offsets). Header info RO is {count, entsize,
 * {mhdr_offset, info_offset[, metadata_offset]}[]} sorted by mach_header
 * address, each offset relative to its own field: entsize 16 before
 * dyld-1122, 24 from it (dyld-1122.1 cache_builder/Optimizers.h
 * header_info_ro_64_t). metadata_offset names the image's PrebuiltLoader;
 * this builder makes no loaders and writes 0. info_offset points at a copy
 * of the image's objc_image_info in a cache-wide array, as Apple's builder
 * does from dyld-1122 (dyld-1122.1 ObjCImageInfoChunk); before it
 * (dyld-1042.1 NewSharedCacheBuilder.cpp) info_offset names the image's own
 * __objc_imageinfo. Header info RW is {count, entsize 8, words}, all zero
 * (no image loaded). Where the RO parts lie in the cache's ObjC read-only
 * area: layout.c; RW opens the DATA (arm64e: AUTH) mapping.
 * The opts header itself is a LINKEDIT chunk before the 1284 era
 * (linkedit.c), the area's first chunk from it (layout.c).
 *
 * libobjc's __TEXT,__objc_opt_ro is objc4's objc_opt_t placeholder
 * (objc4-951.1 objc-sel-table.s: version 16, zeros). Apple's builder fills
 * it from the opts header (dyld-1042.1 .. dyld-1378 NewSharedCacheBuilder.cpp
 * emitObjCOptsHeader: "Also fill in the fields in the objc section"): the
 * header's flags, and each table's offset from the section, 32-bit, and the
 * selector base's, 64-bit at byte 40; it refuses a version below 15. This
 * builder makes no class or protocol hash table (the opts header says 0 for
 * them), so their offsets stay 0 (Apple's formula would give minus the
 * section's cache offset); the selector table (byte 8), header info RO and
 * RW and the selector base are filled.
 */
#include "bld.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

#define OPTS_FLAG_PRODUCTION 1
#define LIBOBJC "/usr/lib/libobjc.A.dylib"

/* The header and header-info shapes of the cache's ObjC era. */
static uint32_t opts_version(const struct cache *c) { return objc_era(c) >= 1376 ? 2 : 1; }
static uint64_t opts_header_size(const struct cache *c) { return opts_version(c) == 2 ? 0x48 : 0x38; }
static uint32_t hinfo_entsize(const struct cache *c) { return objc_era(c) >= 1122 ? 24 : 16; }
static bool info_copies(const struct cache *c) { return objc_era(c) >= 1122; }

const struct sect *objc_sect(const struct image *img, const char *name)
{
    const struct sect *x = image_sect(img, "__DATA_CONST", name);
    return x ? x : image_sect(img, "__DATA", name);
}

const struct sect *objc_image_info_of(const struct image *img) { return objc_sect(img, "__objc_imageinfo"); }

static size_t objc_images(const struct cache *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nimages; i++)
        n += objc_image_info_of(&c->images[i]) != NULL;
    return n;
}

/* The selector buffer's strings (offsets from its start) into keys/offs;
 * their count. */
static size_t selector_keys(const struct cache *c, const char **keys, uint32_t *offs)
{
    const char *b = (const char *)c->selectors->bytes.data;
    size_t n = 0, len = c->selectors->bytes.len;
    for (size_t at = 1; at < len; at += strlen(b + at) + 1) {
        if (!b[at])
            continue;
        if (keys) {
            keys[n] = b + at;
            offs[n] = (uint32_t)at;
        }
        n++;
    }
    return n;
}

/* The selector hash table (see the top), in its chunk after the strings. */
static void write_selopt(struct cache *c)
{
    size_t n = selector_keys(c, NULL, NULL);
    const char **keys = xcalloc(n, sizeof *keys);
    uint32_t *at = xcalloc(n, sizeof *at);
    int32_t *offs = xcalloc(n, sizeof *offs);
    selector_keys(c, keys, at);
    for (size_t i = 0; i < n; i++)
        offs[i] = (int32_t)(c->selbuf_addr + at[i] - c->selopt_addr);
    objc_hash_write(cache_bytes(c, c->selopt_addr, c->selopt_size), c->selopt_size, keys, offs, n, "selector");
    free(keys);
    free(at);
    free(offs);
}

void objc_opts_plan(struct cache *c)
{
    if (!c->selectors || c->opt.header_size < 0x200 || c->ai->ptr_size != 8)
        return;
    size_t n = objc_images(c);
    c->objc_ro_size = opts_header_size(c);
    c->hinfo_size = 8 + hinfo_entsize(c) * n + (info_copies(c) ? 8 * n : 0);
    c->objc_rw_size = 8 + 8 * n;
    c->selopt_size = objc_hash_chunk_size((uint32_t)selector_keys(c, NULL, NULL));
}

/* dyld-1042.1 .. 1165.3 SubCache::addMainCacheHeaderInfo sets objcOptsSize
 * and then, meaning swiftOptsSize, overwrites it with the Swift opts
 * header's size (0x20: version, padding, three table offsets;
 * common/OptimizerSwift.h), leaving swiftOptsSize 0; dyld-1231.3 writes
 * swiftOptsSize instead. dyld reads the header through objcOptsOffset
 * alone (DyldSharedCache::objcOpts), so real caches of those eras say 0x20. */
#define SWIFT_OPTS_HEADER_V1_SIZE 0x20
uint64_t objc_opts_size_field(const struct cache *c)
{
    return objc_era(c) < 1231 ? SWIFT_OPTS_HEADER_V1_SIZE : c->objc_ro_size;
}

struct image *objc_libobjc(struct cache *c)
{
    for (size_t i = 0; i < c->nimages; i++)
        if (!strcmp(c->images[i].install_name, LIBOBJC))
            return &c->images[i];
    return NULL;
}

/* libobjc's objc_opt_t (see the top): offsets from the section's address. */
static void fill_opt_ro(struct cache *c, const uint8_t *h)
{
    const struct image *img = objc_libobjc(c);
    const struct sect *x = img ? image_sect(img, "__TEXT", "__objc_opt_ro") : NULL;
    uint64_t at, base = c->ai->base;
    if (!x || !image_reloc(img, x->in_addr, &at))
        return;
    if (x->size < 48)
        die("%s: __TEXT,__objc_opt_ro is %llu bytes, objc_opt_t needs 48", img->in_path, (unsigned long long)x->size);
    uint8_t *o = cache_bytes(c, at, 48);
    if (dsc_le32(o) < 15)
        die("%s: __objc_opt_ro version %u, expected at least 15", img->in_path, dsc_le32(o));
    dsc_put32(o + 4, dsc_le32(h + 4));
    dsc_put32(o + 8, (uint32_t)(base + dsc_le64(h + 0x18) - at));    /* selopt_offset */
    dsc_put32(o + 12, (uint32_t)(base + dsc_le64(h + 0x08) - at));   /* headeropt_ro_offset */
    dsc_put32(o + 24, (uint32_t)(base + dsc_le64(h + 0x10) - at));   /* headeropt_rw_offset */
    dsc_put64(o + 40, base + dsc_le64(h + 0x30) - at);               /* relativeMethodSelectorBaseAddressOffset */
}

void objc_opts_write(struct cache *c)
{
    if (!c->objc_ro_size)
        return;
    size_t n = objc_images(c);
    uint32_t es = hinfo_entsize(c);
    uint64_t hdr = c->objc_ro_addr, ro = c->hinfo_addr, infos = ro + 8 + es * n, base = c->ai->base;
    uint8_t *h = cache_bytes(c, hdr, c->objc_ro_size);
    uint8_t *table = cache_bytes(c, ro, c->hinfo_size);
    uint8_t *rw = cache_bytes(c, c->objc_rw_addr, c->objc_rw_size);
    dsc_put32(h, opts_version(c));
    dsc_put32(h + 4, OPTS_FLAG_PRODUCTION);
    dsc_put64(h + 0x08, ro - base);
    dsc_put64(h + 0x10, c->objc_rw_addr - base);
    dsc_put64(h + 0x18, c->selopt_addr - base);
    dsc_put64(h + 0x30, objc_selector_base(c) - base);
    if (opts_version(c) == 2) {
        dsc_put64(h + 0x38, c->selbuf_addr + c->selbuf_size - objc_selector_base(c));
        dsc_put64(h + 0x40, c->typebuf_size);
    }
    dsc_put32(table, (uint32_t)n);
    dsc_put32(table + 4, es);
    dsc_put32(rw, (uint32_t)n);
    dsc_put32(rw + 4, 8);
    /* Images are laid out in image order, so their headers ascend. */
    size_t k = 0;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct sect *x = objc_image_info_of(img);
        uint64_t at;
        if (!x || !image_reloc(img, x->in_addr, &at))
            continue;
        uint64_t entry = ro + 8 + es * k, info = info_copies(c) ? infos + 8 * k : at;
        dsc_put64(table + 8 + es * k, img->segs[0].addr - entry);
        dsc_put64(table + 8 + es * k + 8, info - (entry + 8));
        if (info_copies(c))
            memcpy(table + (info - ro), cache_bytes(c, at, 8), 8);
        k++;
    }
    write_selopt(c);
    c->objc_opts_offset = hdr - base;
    fill_opt_ro(c, h);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_opts.c — the dyld-1042+ ObjCOptimizationHeader (header objcOptsOffset
 * and objcOptsSize), for caches whose selectors were uniqued.
 *
 * Version 1: flags, header info RO and RW, no selector/class/protocol hash
 * tables (their offsets are 0), and relativeMethodSelectorBaseAddressOffset
 * = the magic selector's offset from the cache base. Header info RO is
 * {count, entsize 16, {mhdr_offset, info_offset}[]} sorted by mach_header
 * address, each offset relative to its own field; info_offset points at a
 * copy of the image's objc_image_info in a cache-wide array, as Apple's
 * builder does. Header info RW is {count, entsize 8, words}, all zero (no
 * image loaded). RO parts follow the selector buffer in the main TEXT; RW
 * follows the cache-owned data after the images in DATA.
 */
#include "bld.h"

#include <string.h>

#define OPTS_HEADER_SIZE 0x38
#define OPTS_FLAG_PRODUCTION 1

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

void objc_opts_plan(struct cache *c)
{
    if (!c->selectors || c->opt.header_size < 0x200 || c->ai->ptr_size != 8)
        return;
    size_t n = objc_images(c);
    c->objc_ro_size = OPTS_HEADER_SIZE + 8 + 16 * n + 8 * n;
    c->objc_rw_size = 8 + 8 * n;
}

void objc_opts_write(struct cache *c)
{
    if (!c->objc_ro_size)
        return;
    size_t n = objc_images(c);
    uint64_t hdr = c->objc_ro_addr, ro = hdr + OPTS_HEADER_SIZE, infos = ro + 8 + 16 * n, base = c->ai->base;
    uint8_t *h = cache_bytes(c, hdr, c->objc_ro_size);
    uint8_t *rw = cache_bytes(c, c->objc_rw_addr, c->objc_rw_size);
    dsc_put32(h, 1);
    dsc_put32(h + 4, OPTS_FLAG_PRODUCTION);
    dsc_put64(h + 0x08, ro - base);
    dsc_put64(h + 0x10, c->objc_rw_addr - base);
    dsc_put64(h + 0x30, c->selbuf_addr + 1 - base);    /* the magic selector */
    uint8_t *table = h + OPTS_HEADER_SIZE;
    dsc_put32(table, (uint32_t)n);
    dsc_put32(table + 4, 16);
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
        uint64_t entry = ro + 8 + 16 * k, info = infos + 8 * k;
        dsc_put64(table + 8 + 16 * k, img->segs[0].addr - entry);
        dsc_put64(table + 8 + 16 * k + 8, info - (entry + 8));
        memcpy(h + (info - hdr), cache_bytes(c, at, 8), 8);
        k++;
    }
    c->objc_opts_offset = hdr - base;
}

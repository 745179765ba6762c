/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_methlists.c — dsccheck: every relative method list of every input
 * (__TEXT,__objc_methlist) is in the cache entry by entry: same count, the
 * input's flags plus the builder's (0x40000000 direct selectors with an ObjC
 * optimisation header, 0x20000000 with type offsets), each name the same
 * selector (a uniqued string at selector base + offset, or the image's own
 * selref that the input named), each types string the same (in the type
 * buffer after the selectors, or the input's string moved), each IMP the
 * input's code moved. Read through libdsc; only the inputs' list walk is
 * shared with the builder.
 */
#include "check.h"

#include <string.h>

uint32_t objc_era_m;        /* manifest "objc ERA": the cache has an ObjC opts header */
bool type_offsets_m;        /* manifest "objc ERA type-offsets" */
uint64_t types_size;

static struct counts *cnt;

static uint64_t in_target(const uint8_t *raw, uint64_t field) { return field + (uint64_t)(int64_t)(int32_t)dsc_le32(raw); }

static uint64_t moved(const struct image *img, uint64_t in_addr, const char *what)
{
    uint64_t at;
    if (!image_reloc(img, in_addr, &at))
        die("%s: %s at 0x%llx is outside the image", img->cache_path, what, (unsigned long long)in_addr);
    return at;
}

static const char *cache_str(uint64_t addr, const char *what)
{
    const char *s;
    if (!dsc_vm_cstr(cache, addr, 4096, &s))
        die("%s at 0x%llx is no string", what, (unsigned long long)addr);
    return s;
}

/* The selector name the input's selref at `selref` points at. */
static const char *in_selector(const struct image *img, uint64_t selref)
{
    dsc_span s;
    uint64_t v;
    if (!image_in_bytes(img, selref, 8, &s) || !span_ptr(s, 0, 8, &v))
        die("%s: selref 0x%llx is unreadable", img->in_path, (unsigned long long)selref);
    return image_in_cstr(img, v);
}

static void check_entry(const struct image *img, uint64_t in, const uint8_t *raw, uint64_t at, const uint8_t *got)
{
    uint64_t base = sb.start, types_end = sb.end + types_size;
    const char *sel = in_selector(img, in_target(raw, in));
    if (objc_era_m) {
        uint64_t s = base + dsc_le32(got);
        if (s < base || s >= sb.end || strcmp(cache_str(s, "selector"), sel) != 0)
            die("%s: relative method at 0x%llx does not name %s from the selector base", img->cache_path,
                (unsigned long long)at, sel);
    } else if (in_target(got, at) != moved(img, in_target(raw, in), "selref")) {
        die("%s: relative method at 0x%llx does not name its selref", img->cache_path, (unsigned long long)at);
    }
    const char *types = image_in_cstr(img, in_target(raw + 4, in + 4));
    if (type_offsets_m) {
        uint64_t t = base + dsc_le32(got + 4);
        if (t < sb.end || t >= types_end || strcmp(cache_str(t, "method types"), types) != 0)
            die("%s: relative method at 0x%llx: types are not %s in the type buffer", img->cache_path,
                (unsigned long long)at, types);
    } else if (in_target(got + 4, at + 4) != moved(img, in_target(raw + 4, in + 4), "method types")) {
        die("%s: relative method at 0x%llx: types moved wrongly", img->cache_path, (unsigned long long)at);
    }
    if (in_target(got + 8, at + 8) != moved(img, in_target(raw + 8, in + 8), "IMP"))
        die("%s: relative method at 0x%llx: IMP moved wrongly", img->cache_path, (unsigned long long)at);
    cnt->rel_methods++;
}

static void check_list(struct cache *c, const struct image *img, uint64_t in, dsc_span list, uint32_t flags)
{
    (void)c;
    uint64_t at = moved(img, in, "method list");
    dsc_span got = vm(at, list.size, "relative method list");
    uint32_t want = flags | (objc_era_m ? 0x40000000u : 0) | (type_offsets_m ? 0x20000000u : 0);
    if (dsc_le32(got.data) != want || dsc_le32(got.data + 4) != dsc_le32(list.data + 4))
        die("%s: relative method list at 0x%llx: flags 0x%x count %u, want 0x%x count %u", img->cache_path,
            (unsigned long long)at, dsc_le32(got.data), dsc_le32(got.data + 4), want, dsc_le32(list.data + 4));
    for (uint64_t e = 8; e + 12 <= list.size; e += 12)
        check_entry(img, in + e, list.data + e, at + e, got.data + e);
}

void check_relative_lists(struct counts *n)
{
    cnt = n;
    if (objc_era_m && !sb.slots)
        die("the manifest names an ObjC era, but the cache has no selector buffer");
    for (size_t i = 0; i < bc.nimages; i++)
        objc_each_relative_list(&bc, &bc.images[i], check_list);
}

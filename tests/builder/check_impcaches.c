/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_impcaches.c — dsccheck: prebuilt IMP caches (manifest "impcaches
 * ADDR SIZE", "imp-flatten ROOTS"). Every class and metaclass with methods
 * (its own, those of its image's categories on it, and below a flattening
 * root those of its superclasses up to the root) or under a root, and
 * vtable 0 in the input, has its vtable slot slid to a cache in the area,
 * and no other class points there; each cache's header names the
 * superclass (of the root when flattened; superclass - class, 0 for none), a
 * shift of at least 7 (128-byte selector bags), a bucket count of
 * 2^ceil(log2 n) or twice that, occupied = n and bit_one; every non-empty
 * bucket sits where (sel_offset >> shift) & mask says, names a uniqued
 * selector (from the selector base) of one of those methods and that
 * method's IMP (class - (imp_offset << 2)); every method is there once;
 * empty buckets are {0, 0x3FFFFFF}. Facts: dyld-1378 IMPCaches.cpp
 * (attachCategories, Builder::getIMPCache: cache_shift = shift + 7),
 * CacheDylib.cpp emitObjCIMPCaches, objc4-951.1 preopt_cache_t.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

uint64_t impc_addr, impc_size;

static struct counts *cnt;

static int64_t sext38(uint64_t v) { return (int64_t)(v << 26) >> 26; }

/* Apple's bucket counts for n methods: 2^ceil(log2 n), or twice that. */
static bool apple_size(uint32_t size, uint32_t n)
{
    uint32_t b = 1;
    while (b < n)
        b *= 2;
    return size == b || size == 2 * b;
}

/* The cache at `at` of a class (at `cls`) with methods m[0..n): header and
 * every bucket. */
static void check_buckets(const struct image *img, const struct objc_in_method *m, uint32_t n, uint64_t cls,
                          uint64_t at)
{
    dsc_span h = vm(at, 16, "IMP cache header");
    uint32_t w = dsc_le32(h.data + 8), shift = w & 31, mask = (w >> 5) & 0x7FF, size = mask + 1;
    if ((w >> 16 & 0x3FFF) != n || (w >> 30) != 0 || dsc_le32(h.data + 12) != 1u << 31 || shift < 7 ||
        !apple_size(size, n) || at + 16 + 8ULL * size > impc_addr + impc_size)
        die("%s: IMP cache at 0x%llx: header 0x%08x 0x%08x for %u methods", img->cache_path,
            (unsigned long long)at, w, dsc_le32(h.data + 12), n);
    dsc_span b = vm(at + 16, 8ULL * size, "IMP cache buckets");
    bool *seen = xcalloc(n, sizeof *seen);
    uint32_t used = 0;
    for (uint32_t i = 0; i < size; i++) {
        uint64_t e = dsc_le64(b.data + 8ULL * i), sel = e >> 38;
        if (sel == 0x3FFFFFF) {
            if (e << 26)
                die("%s: IMP cache at 0x%llx: empty bucket %u holds an IMP", img->cache_path, (unsigned long long)at, i);
            continue;
        }
        const char *name;
        if (((sel >> shift) & mask) != i || sb.start + sel >= sb.end || !dsc_vm_cstr(cache, sb.start + sel, 4096, &name))
            die("%s: IMP cache at 0x%llx: bucket %u holds selector offset 0x%llx", img->cache_path,
                (unsigned long long)at, i, (unsigned long long)sel);
        uint64_t imp = cls - (uint64_t)(sext38(e) * 4), want;
        uint32_t j = 0;
        while (j < n && !(strcmp(m[j].name, name) == 0 && !seen[j] && image_reloc(img, m[j].imp, &want) && want == imp))
            j++;
        if (j == n)
            die("%s: IMP cache at 0x%llx: bucket %u (%s -> 0x%llx) is no method of the class", img->cache_path,
                (unsigned long long)at, i, name, (unsigned long long)imp);
        seen[j] = true;
        used++;
    }
    free(seen);
    if (used != n)
        die("%s: IMP cache at 0x%llx holds %u of %u methods", img->cache_path, (unsigned long long)at, used, n);
}

static void check_class(void *ctx, const struct image *img, struct objc_in_class k)
{
    (void)ctx;
    uint64_t cls;
    if (!image_reloc(img, k.cls, &cls))
        die("%s: class 0x%llx is outside the image", img->cache_path, (unsigned long long)k.cls);
    const struct decoded_ptr *vt = decoded_at(&dec, cls + 24), *super = decoded_at(&dec, cls + 8);
    struct objc_impcache_in in;
    uint64_t fb;
    if (!objc_impcache_of(img, &k, bc.opt.impc_roots, &in)) {
        if (vt && vt->value - impc_addr < impc_size)
            die("%s: class 0x%llx has an IMP cache it should not", img->cache_path, (unsigned long long)cls);
        return;
    }
    if (!image_reloc(img, in.fallback_of, &fb))
        die("%s: class 0x%llx is outside the image", img->cache_path, (unsigned long long)in.fallback_of);
    super = decoded_at(&dec, fb + 8);
    if (!vt || vt->value - impc_addr >= impc_size)
        die("%s: class 0x%llx: vtable is no IMP cache", img->cache_path, (unsigned long long)cls);
    dsc_span h = vm(vt->value, 8, "IMP cache");
    if (dsc_le64(h.data) != (super ? super->value : 0) - cls)
        die("%s: class 0x%llx: IMP cache fallback is not the superclass (of its flattening root)", img->cache_path,
            (unsigned long long)cls);
    check_buckets(img, in.m, in.n, cls, vt->value);
    free(in.m);
    explained++;
    cnt->impcaches++;
}

void check_impcaches(struct counts *n)
{
    cnt = n;
    if (!impc_size)
        return;
    for (size_t i = 0; i < bc.nimages; i++)
        objc_each_input_class(&bc.images[i], check_class, NULL);
    if (!n->impcaches)
        die("the manifest names an IMP cache area, but no class has a cache");
}

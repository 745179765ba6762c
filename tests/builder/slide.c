/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slide.c — write every resolved pointer into its data mapping and encode
 * the mapping's slide info (v1 bitmap, v2/v4 delta chains, v3/v5 arm64e
 * chains with authenticated pointers), as dyld_cache_slide_info* in dyld's
 * cache-builder/dyld_cache_format.h lay them out. Null pointers (missing
 * weak imports) are plain zero words outside every chain, as Apple's
 * builder leaves them.
 */
#include "bld.h"

#include <stdlib.h>
#include <string.h>

#define V2_MASK64 0x00FFFF0000000000ULL
#define V4_MASK 0xC0000000u
#define V2_NO_REBASE 0x4000
#define V2_EXTRA 0x8000
#define V4_NO_REBASE 0xFFFF
#define V4_USE_EXTRA 0x8000
#define V4_EXTRA_END 0x8000
#define V3_NO_REBASE 0xFFFF

static int cmp_ptr_addr(const void *a, const void *b)
{
    const struct ptr *x = *(const struct ptr *const *)a, *y = *(const struct ptr *const *)b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* All non-null pointers of the region, sorted; null slots are zeroed here. */
static const struct ptr **region_ptrs(struct cache *c, struct region *r, size_t *count)
{
    size_t n = 0, cap = 0;
    const struct ptr **v = NULL;
    for (size_t i = 0; i < c->nimages; i++)
        for (size_t k = 0; k < c->images[i].nptrs; k++) {
            const struct ptr *p = &c->images[i].ptrs[k];
            if (p->addr - r->addr >= r->size)
                continue;
            if (p->target == 0) {
                memset(r->mem + (p->addr - r->addr), 0, c->ai->ptr_size);
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                v = xrealloc(v, cap * sizeof *v);
            }
            v[n++] = p;
        }
    if (n)
        qsort(v, n, sizeof *v, cmp_ptr_addr);
    *count = n;
    return v;
}

/* Index past the pointers from v[k] on that lie below `end` (one page's:
 * v is sorted by address). */
static size_t page_end(const struct ptr **v, size_t n, size_t k, uint64_t end)
{
    while (k < n && v[k]->addr < end)
        k++;
    return k;
}

/* dyld_cache_slide_info2 and dyld_cache_slide_info4 share one header:
 * version, page size, page_starts offset and count, page_extras offset and
 * count, delta mask, value add; the page starts follow at offset 40. */
static void put_v2v4_header(struct buf *b, uint32_t version, uint32_t pages, uint32_t nextras, uint64_t mask,
                            uint64_t value_add)
{
    buf_u32(b, version);
    buf_u32(b, 4096);
    buf_u32(b, 40);
    buf_u32(b, pages);
    buf_u32(b, (uint32_t)(40 + 2ULL * pages));
    buf_u32(b, nextras);
    buf_u64(b, mask);
    buf_u64(b, value_add);
}

static void put_ptr(struct cache *c, struct region *r, uint64_t addr, uint64_t raw)
{
    if (c->ai->ptr_size == 8)
        dsc_put64(r->mem + (addr - r->addr), raw);
    else
        dsc_put32(r->mem + (addr - r->addr), (uint32_t)raw);
}

/* ---- v1: a 128-byte bitmap per page, identical bitmaps shared ---- */
static void encode_v1(struct cache *c, struct region *r, const struct ptr **v, size_t n)
{
    uint32_t pages = (uint32_t)(r->size / 4096);
    uint16_t *toc = xcalloc(pages, sizeof *toc);
    struct buf entries = {0};
    uint32_t nentries = 0;
    size_t k = 0;
    for (uint32_t pg = 0; pg < pages; pg++) {
        uint8_t bits[128] = {0};
        uint64_t start = r->addr + (uint64_t)pg * 4096;
        for (; k < n && v[k]->addr < start + 4096; k++) {
            uint64_t slot = (v[k]->addr - start) / 4;
            bits[slot / 8] |= (uint8_t)(1u << (slot % 8));
            put_ptr(c, r, v[k]->addr, v[k]->target);
        }
        uint32_t e = 0;
        while (e < nentries && memcmp(entries.data + e * 128, bits, 128) != 0)
            e++;
        if (e == nentries) {
            buf_put(&entries, bits, 128);
            nentries++;
        }
        if (e > 0xffff)
            die("v1 slide info: more than 65536 distinct bitmaps");
        toc[pg] = (uint16_t)e;
    }
    struct buf *b = &r->slide;
    uint32_t entries_off = (uint32_t)dsc_align_up(24 + 2ULL * pages, 4);
    buf_u32(b, 1);
    buf_u32(b, 24);
    buf_u32(b, pages);
    buf_u32(b, entries_off);
    buf_u32(b, nentries);
    buf_u32(b, 128);
    for (uint32_t pg = 0; pg < pages; pg++)
        buf_u16(b, toc[pg]);
    buf_align(b, 4);
    buf_put(b, entries.data, entries.len);
    buf_free(&entries);
    free(toc);
}

/* ---- v2 (64-bit): value | (delta/4 << 40) chains; deltas reach 256 KiB ---- */
static void encode_v2(struct cache *c, struct region *r, const struct ptr **v, size_t n)
{
    uint64_t value_add = strcmp(c->ai->name, "x86_64") == 0 ? c->ai->base : 0;
    uint32_t pages = (uint32_t)(r->size / 4096);
    struct buf *b = &r->slide;
    put_v2v4_header(b, 2, pages, 0, V2_MASK64, value_add);
    size_t k = 0;
    for (uint32_t pg = 0; pg < pages; pg++) {
        uint64_t start = r->addr + (uint64_t)pg * 4096;
        size_t first = k;
        k = page_end(v, n, k, start + 4096);
        buf_u16(b, first == k ? V2_NO_REBASE : (uint16_t)((v[first]->addr - start) / 4));
        for (size_t i = first; i < k; i++) {
            uint64_t delta = i + 1 < k ? (v[i + 1]->addr - v[i]->addr) / 4 : 0;
            uint64_t value = v[i]->target - value_add;
            if (value & V2_MASK64)
                die("v2 slide info: target 0x%llx collides with the delta mask",
                    (unsigned long long)v[i]->target);
            put_ptr(c, r, v[i]->addr, value | delta << 40);
        }
    }
}

/* ---- v4 (32-bit): 2-bit deltas (12 bytes), hop through small integers ---- */
static bool v4_linkable(uint32_t w)
{
    return (w & 0xFFFF8000u) == 0 || (w & 0xFFFF8000u) == 0xFFFF8000u;
}

static void encode_v4(struct cache *c, struct region *r, const struct ptr **v, size_t n)
{
    uint64_t value_add = c->ai->base;
    uint32_t pages = (uint32_t)(r->size / 4096);
    uint16_t *starts = xcalloc(pages, sizeof *starts);
    struct buf extras = {0};
    uint32_t nextras = 0;
    size_t k = 0;
    for (uint32_t pg = 0; pg < pages; pg++) {
        uint64_t start = r->addr + (uint64_t)pg * 4096;
        size_t first = k;
        k = page_end(v, n, k, start + 4096);
        if (first == k) {
            starts[pg] = V4_NO_REBASE;
            continue;
        }
        uint8_t *page = r->mem + (start - r->addr);
        uint32_t chain_starts[1024], nchains = 0;
        /* Pointer slots of the page, to tell them from link candidates. */
        uint8_t is_ptr[1024] = {0};
        for (size_t i = first; i < k; i++) {
            uint64_t value = v[i]->target - value_add;
            if (value >= 0x3FFF8000u || value < 0x8000u)
                die("v4 slide info: target 0x%llx is not encodable", (unsigned long long)v[i]->target);
            dsc_put32(page + (v[i]->addr - start), (uint32_t)value);
            is_ptr[(v[i]->addr - start) / 4] = 1;
        }
        uint32_t cur = (uint32_t)(v[first]->addr - start);
        chain_starts[nchains++] = cur;
        for (size_t i = first + 1; i <= k; i++) {
            uint32_t next = i < k ? (uint32_t)(v[i]->addr - start) : cur;
            while (next != cur) {
                /* Farthest reachable word: the next pointer, or a small
                 * non-pointer integer that can carry a link. */
                uint32_t hop = 0;
                for (uint32_t d = 12; d >= 4 && !hop; d -= 4) {
                    uint32_t at = cur + d;
                    if (at == next || (at < next && !is_ptr[at / 4] && v4_linkable(dsc_le32(page + at))))
                        hop = at;
                }
                uint32_t w = dsc_le32(page + cur);
                if (!hop) {
                    chain_starts[nchains++] = next;
                    cur = next;
                    break;
                }
                dsc_put32(page + cur, (w & ~V4_MASK) | ((hop - cur) / 4) << 30);
                cur = hop;
                uint32_t hw = dsc_le32(page + cur);
                if (!is_ptr[cur / 4] && (hw & 0xFFFF8000u) == 0xFFFF8000u)
                    dsc_put32(page + cur, hw & ~V4_MASK);  /* small negative: decoder restores the top bits */
            }
        }
        if (nchains == 1) {
            starts[pg] = (uint16_t)(chain_starts[0] / 4);
            continue;
        }
        starts[pg] = (uint16_t)(V4_USE_EXTRA | nextras);
        for (uint32_t j = 0; j < nchains; j++, nextras++)
            buf_u16(&extras, (uint16_t)(chain_starts[j] / 4 | (j + 1 == nchains ? V4_EXTRA_END : 0)));
        if (nextras > 0x7fff)
            die("v4 slide info: too many chain extras");
    }
    struct buf *b = &r->slide;
    put_v2v4_header(b, 4, pages, nextras, V4_MASK, value_add);
    for (uint32_t pg = 0; pg < pages; pg++)
        buf_u16(b, starts[pg]);
    buf_put(b, extras.data, extras.len);
    buf_free(&extras);
    free(starts);
}

/* ---- v3 / v5: arm64e chains, 11-bit next in 8-byte units ---- */
static uint64_t v3_word(const struct cache *c, const struct ptr *p, uint64_t next)
{
    if (p->auth) {
        uint64_t off = p->target - c->ai->base;
        if (off >> 32)
            die("v3 slide info: auth target 0x%llx is more than 4 GiB from the base",
                (unsigned long long)p->target);
        return off | (uint64_t)p->diversity << 32 | (uint64_t)p->addr_div << 48 | (uint64_t)(p->key & 3) << 49 |
               next << 51 | 1ULL << 63;
    }
    if (p->target >> 43)
        die("v3 slide info: target 0x%llx needs more than 43 bits", (unsigned long long)p->target);
    return p->target | next << 51;
}

static uint64_t v5_word(const struct cache *c, const struct ptr *p, uint64_t next)
{
    uint64_t off = p->target - c->ai->base;
    if (off >> 34)
        die("v5 slide info: target 0x%llx is beyond 16 GiB from the base", (unsigned long long)p->target);
    if (p->auth) {
        if (p->key != 0 && p->key != 2)
            die("v5 slide info: only keys IA and DA exist");
        return off | (uint64_t)p->diversity << 34 | (uint64_t)p->addr_div << 50 | (uint64_t)(p->key == 2) << 51 |
               next << 52 | 1ULL << 63;
    }
    return off | next << 52;
}

static void encode_v3v5(struct cache *c, struct region *r, const struct ptr **v, size_t n, unsigned version)
{
    uint32_t page_size = version == 5 ? 16384 : 4096;
    uint32_t pages = (uint32_t)(r->size / page_size);
    struct buf *b = &r->slide;
    buf_u32(b, version);
    buf_u32(b, page_size);
    buf_u32(b, pages);
    buf_u32(b, 0);
    buf_u64(b, c->ai->base);
    size_t k = 0;
    for (uint32_t pg = 0; pg < pages; pg++) {
        uint64_t start = r->addr + (uint64_t)pg * page_size;
        size_t first = k;
        k = page_end(v, n, k, start + page_size);
        buf_u16(b, first == k ? V3_NO_REBASE : (uint16_t)(v[first]->addr - start));
        for (size_t i = first; i < k; i++) {
            uint64_t next = i + 1 < k ? (v[i + 1]->addr - v[i]->addr) / 8 : 0;
            put_ptr(c, r, v[i]->addr, version == 5 ? v5_word(c, v[i], next) : v3_word(c, v[i], next));
        }
    }
}

static void check_combination(const struct cache *c)
{
    const char *a = c->ai->name;
    unsigned s = c->opt.slide;
    bool ok = (s == 1 && (strcmp(a, "arm64_32") == 0 || strcmp(a, "x86_64") == 0)) ||
              (s == 2 && (strcmp(a, "arm64") == 0 || strcmp(a, "x86_64") == 0)) ||
              ((s == 3 || s == 5) && strcmp(a, "arm64e") == 0) || (s == 4 && strcmp(a, "arm64_32") == 0);
    if (!ok)
        die("slide info v%u is not used for %s caches", s, a);
}

void slide_encode(struct cache *c)
{
    check_combination(c);
    for (unsigned i = 0; i < c->nregions; i++) {
        struct region *r = &c->regions[i];
        if (r->kind == RK_TEXT || r->kind == RK_LINKEDIT || r->kind == RK_READ_ONLY)
            continue;
        size_t n;
        const struct ptr **v = region_ptrs(c, r, &n);
        switch (c->opt.slide) {
        case 1: encode_v1(c, r, v, n); break;
        case 2: encode_v2(c, r, v, n); break;
        case 4: encode_v4(c, r, v, n); break;
        default: encode_v3v5(c, r, v, n, c->opt.slide); break;
        }
        free(v);
    }
}

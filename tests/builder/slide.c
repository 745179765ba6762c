/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slide.c — write every resolved pointer into its data mapping and encode
 * the mapping's slide info (v1 bitmap, v2/v4 delta chains, v3/v5 arm64e
 * chains with authenticated pointers), as dyld_cache_slide_info* in dyld's
 * cache-builder/dyld_cache_format.h lay them out. Null pointers (missing
 * weak imports) are plain zero words outside every chain, as Apple's
 * builder leaves them. The words themselves are base/ptrfmt's
 * (dsc_ptr_encode_slide, the inverse of the decoder extraction uses).
 */
#include "bld.h"
#include "base/ptrfmt.h"

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
static void put_v2v4_header(struct buf *b, const struct dsc_slide_format *f, uint32_t pages, uint32_t nextras)
{
    buf_u32(b, f->version);
    buf_u32(b, 4096);
    buf_u32(b, 40);
    buf_u32(b, pages);
    buf_u32(b, (uint32_t)(40 + 2ULL * pages));
    buf_u32(b, nextras);
    buf_u64(b, f->delta_mask);
    buf_u64(b, f->value_add);
}

static const char *encode_failure(enum dsc_ptr_encode_status st)
{
    switch (st) {
    case DSC_PTR_AUTH_RANGE: return "authenticated target too far from the cache base";
    case DSC_PTR_NEXT_RANGE: return "chain step beyond the format's reach";
    case DSC_PTR_UNSUPPORTED: return "a word the format has no form for";
    default: return "target beyond the format's reach";
    }
}

/* The slide word of `p` at `addr`. */
static uint64_t slide_word(const struct dsc_slide_format *f, const struct dsc_ptr *p, uint64_t addr)
{
    uint64_t raw;
    enum dsc_ptr_encode_status st = dsc_ptr_encode_slide(f, p, &raw);
    if (st != DSC_PTR_ENCODED)
        die("v%u slide info: word at 0x%llx, value 0x%llx: %s", f->version, (unsigned long long)addr,
            (unsigned long long)p->value, encode_failure(st));
    return raw;
}

/* Write pointer `p`, `next` bytes before the next slot of its chain. */
static void put_ptr(struct region *r, const struct dsc_slide_format *f, const struct ptr *p, uint64_t next)
{
    struct dsc_ptr d = {.value = p->target, .next = next, .is_pointer = true, .auth = p->auth, .key = p->key,
                        .addr_div = p->addr_div, .diversity = p->diversity};
    uint64_t raw = slide_word(f, &d, p->addr);
    if (f->slot_size == 8)
        dsc_put64(r->mem + (p->addr - r->addr), raw);
    else
        dsc_put32(r->mem + (p->addr - r->addr), (uint32_t)raw);
}

/* ---- v1: a 128-byte bitmap per page, identical bitmaps shared ---- */
static void encode_v1(struct cache *c, struct region *r, const struct ptr **v, size_t n)
{
    uint32_t pages = (uint32_t)(r->size / 4096);
    uint16_t *toc = xcalloc(pages, sizeof *toc);
    const struct dsc_slide_format f = {.version = 1, .slot_size = c->ai->ptr_size};
    struct buf entries = {0};
    uint32_t nentries = 0;
    size_t k = 0;
    for (uint32_t pg = 0; pg < pages; pg++) {
        uint8_t bits[128] = {0};
        uint64_t start = r->addr + (uint64_t)pg * 4096;
        for (; k < n && v[k]->addr < start + 4096; k++) {
            uint64_t slot = (v[k]->addr - start) / 4;
            bits[slot / 8] |= (uint8_t)(1u << (slot % 8));
            put_ptr(r, &f, v[k], 0);
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
    const struct dsc_slide_format f = {2, 8, V2_MASK64, strcmp(c->ai->name, "x86_64") == 0 ? c->ai->base : 0};
    uint32_t pages = (uint32_t)(r->size / 4096);
    struct buf *b = &r->slide;
    put_v2v4_header(b, &f, pages, 0);
    size_t k = 0;
    for (uint32_t pg = 0; pg < pages; pg++) {
        uint64_t start = r->addr + (uint64_t)pg * 4096;
        size_t first = k;
        k = page_end(v, n, k, start + 4096);
        buf_u16(b, first == k ? V2_NO_REBASE : (uint16_t)((v[first]->addr - start) / 4));
        for (size_t i = first; i < k; i++)
            put_ptr(r, &f, v[i], i + 1 < k ? v[i + 1]->addr - v[i]->addr : 0);
    }
}

/* ---- v4 (32-bit): 2-bit deltas (12 bytes), hop through small integers ---- */

/* A non-pointer word a chain can pass through: a small integer, which
 * dyld gives back as it is. */
static bool v4_linkable(const struct dsc_slide_format *f, uint32_t w)
{
    struct dsc_ptr d;
    dsc_ptr_decode_slide(f, w, &d);
    return !d.is_pointer && d.value == w;
}

/* The word at page offset `at` (a pointer already written, or a small
 * integer) with its chain step set to `next` bytes. */
static void v4_relink(const struct dsc_slide_format *f, uint8_t *page, uint64_t start, uint32_t at, uint32_t next)
{
    struct dsc_ptr d;
    dsc_ptr_decode_slide(f, dsc_le32(page + at), &d);
    d.next = next;
    dsc_put32(page + at, (uint32_t)slide_word(f, &d, start + at));
}

static void encode_v4(struct cache *c, struct region *r, const struct ptr **v, size_t n)
{
    const struct dsc_slide_format f = {4, 4, V4_MASK, c->ai->base};
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
            put_ptr(r, &f, v[i], 0);
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
                    if (at == next || (at < next && !is_ptr[at / 4] && v4_linkable(&f, dsc_le32(page + at))))
                        hop = at;
                }
                if (!hop) {
                    chain_starts[nchains++] = next;
                    cur = next;
                    break;
                }
                v4_relink(&f, page, start, cur, hop - cur);
                cur = hop;
                v4_relink(&f, page, start, cur, 0);    /* a small negative loses its top bits, dyld restores them */
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
    put_v2v4_header(b, &f, pages, nextras);
    for (uint32_t pg = 0; pg < pages; pg++)
        buf_u16(b, starts[pg]);
    buf_put(b, extras.data, extras.len);
    buf_free(&extras);
    free(starts);
}

/* ---- v3 / v5: arm64e chains, 11-bit next in 8-byte units ---- */
static void encode_v3v5(struct cache *c, struct region *r, const struct ptr **v, size_t n, unsigned version)
{
    const struct dsc_slide_format f = {.version = version, .slot_size = 8, .value_add = c->ai->base};
    uint32_t page_size = version == 5 ? 16384 : 4096;
    uint32_t pages = (uint32_t)(r->size / page_size);
    struct buf *b = &r->slide;
    buf_u32(b, version);
    buf_u32(b, page_size);
    buf_u32(b, pages);
    buf_u32(b, 0);
    buf_u64(b, f.value_add);
    size_t k = 0;
    for (uint32_t pg = 0; pg < pages; pg++) {
        uint64_t start = r->addr + (uint64_t)pg * page_size;
        size_t first = k;
        k = page_end(v, n, k, start + page_size);
        buf_u16(b, first == k ? V3_NO_REBASE : (uint16_t)(v[first]->addr - start));
        for (size_t i = first; i < k; i++)
            put_ptr(r, &f, v[i], i + 1 < k ? v[i + 1]->addr - v[i]->addr : 0);
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

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slide.c — walk slide info v1..v5 and decode each slot to its unslid value.
 * Formats: dyld_cache_slide_info, _info2, _info3 and _info4 in dyld's
 * cache-builder/dyld_cache_format.h (dyld-1042.1); dyld_cache_slide_info5
 * from dyld-1160.6 on. See slide.h for the contract.
 */
#include "cache/slide.h"

#define V1_HEADER 24
#define V2_HEADER 40
#define V3_HEADER 24
#define V1_PAGE 4096u

#define V2_PAGE_ATTR_EXTRA 0x8000u
#define V2_PAGE_ATTR_NO_REBASE 0x4000u
#define V2_PAGE_ATTR_END 0x8000u
#define V4_PAGE_NO_REBASE 0xFFFFu
#define V4_PAGE_USE_EXTRA 0x8000u
#define V4_PAGE_INDEX 0x7FFFu
#define V4_PAGE_EXTRA_END 0x8000u
#define V3_PAGE_NO_REBASE 0xFFFFu

/* Per-walk state shared by the page loops. */
struct walk {
    const struct dsc_slide_src *src;
    uint32_t version, page_size;
    uint64_t delta_mask, value_add;
    dsc_slide_fn fn;
    void *ctx;
    dsc_error *err;
};

static int bad(struct walk *w, const char *what, uint64_t page)
{
    return dsc_fail(w->err, w->src->file, "slide info v%u of mapping at 0x%llx: %s (page %llu)", w->version,
                    (unsigned long long)w->src->address, what, (unsigned long long)page);
}

/* Read the slot at page `page`, offset `off`, into `s`. */
static bool read_slot(const struct walk *w, uint64_t page, uint64_t off, unsigned size, struct dsc_slide_slot *s)
{
    if (off > w->page_size - size)
        return false;
    uint64_t at = page * w->page_size + off;
    s->address = w->src->address + at;
    s->size = size;
    s->is_pointer = true;
    s->auth = false;
    s->key = 0;
    s->addr_div = false;
    s->diversity = 0;
    return span_ptr(w->src->bytes, at, size, &s->raw);
}

/* Pages [first, end) of the mapping that overlap [lo, hi), capped at `count`. */
static void page_range(const struct walk *w, uint64_t lo, uint64_t hi, uint64_t count, uint64_t *first,
                       uint64_t *end)
{
    uint64_t a = w->src->address;
    *first = lo > a ? (lo - a) / w->page_size : 0;
    *end = hi > a ? (hi - a + w->page_size - 1) / w->page_size : 0;
    if (*end > count)
        *end = count;
}

/* ---- v1: one bitmap of 4-byte slots per page; values are already unslid ---- */

static int walk_v1(struct walk *w, uint64_t lo, uint64_t hi)
{
    dsc_span b = w->src->slide;
    uint32_t toc_off, toc_count, ent_off, ent_count, ent_size;
    if (!span_u32(b, 4, &toc_off) || !span_u32(b, 8, &toc_count) || !span_u32(b, 12, &ent_off) ||
        !span_u32(b, 16, &ent_count) || !span_u32(b, 20, &ent_size))
        return bad(w, "header is truncated", 0);
    if (ent_size != 128)
        return bad(w, "bitmap size is not 128", 0);
    w->page_size = V1_PAGE;
    uint64_t first, end;
    page_range(w, lo, hi, toc_count, &first, &end);
    for (uint64_t page = first; page < end; page++) {
        uint16_t idx;
        dsc_span bitmap;
        if (!span_u16(b, toc_off + page * 2, &idx) || idx >= ent_count ||
            !span_sub(b, ent_off + (uint64_t)idx * ent_size, ent_size, &bitmap))
            return bad(w, "table of contents is out of the blob", page);
        for (unsigned j = 0; j < ent_size; j++) {
            for (unsigned k = 0; k < 8; k++) {
                if (!(bitmap.data[j] >> k & 1))
                    continue;
                struct dsc_slide_slot s;
                /* dyld slides v1 slots as 32-bit words; 64-bit caches
                 * with v1 keep the pointer in the marked 8-byte slot. */
                if (!read_slot(w, page, (j * 8u + k) * 4u, w->src->ptr_size, &s))
                    return bad(w, "slot is out of the mapping", page);
                s.value = s.raw;
                int r = w->fn(w->ctx, &s);
                if (r)
                    return r;
            }
        }
    }
    return 0;
}

/* ---- v2 / v4: delta chains in delta_mask bits ---- */

static void decode_v2(const struct walk *w, struct dsc_slide_slot *s)
{
    uint64_t v = s->raw & ~w->delta_mask;
    if (s->size == 4)
        v &= 0xffffffffu;
    if (w->version == 2) {
        /* A zero is a link the builder did not rebase. */
        s->is_pointer = v != 0;
        if (v)
            v += w->value_add;
    } else if ((v & 0xFFFF8000u) == 0) {
        s->is_pointer = false; /* small positive integer */
    } else if ((v & 0x3FFF8000u) == 0x3FFF8000u) {
        s->is_pointer = false; /* small negative integer */
        v |= 0xC0000000u;
    } else {
        v += w->value_add;
    }
    s->value = s->size == 4 ? (v & 0xffffffffu) : v;
}

static int chain_v2(struct walk *w, uint64_t page, uint64_t off)
{
    unsigned size = w->version == 4 ? 4 : w->src->ptr_size;
    unsigned shift = (unsigned)__builtin_ctzll(w->delta_mask) - 2;
    for (;;) {
        struct dsc_slide_slot s;
        if (!read_slot(w, page, off, size, &s))
            return bad(w, "chain leaves its page or the mapping", page);
        uint64_t delta = (s.raw & w->delta_mask) >> shift;
        decode_v2(w, &s);
        int r = w->fn(w->ctx, &s);
        if (r)
            return r;
        if (delta == 0)
            return 0;
        off += delta;
    }
}

static int walk_v2(struct walk *w, uint64_t lo, uint64_t hi)
{
    dsc_span b = w->src->slide;
    uint32_t starts_off, starts_count, extras_off, extras_count;
    if (!span_u32(b, 4, &w->page_size) || !span_u32(b, 8, &starts_off) || !span_u32(b, 12, &starts_count) ||
        !span_u32(b, 16, &extras_off) || !span_u32(b, 20, &extras_count) || !span_u64(b, 24, &w->delta_mask) ||
        !span_u64(b, 32, &w->value_add))
        return bad(w, "header is truncated", 0);
    if (w->src->ptr_size == 4 || w->version == 4) {
        w->delta_mask &= 0xffffffffu;
        w->value_add &= 0xffffffffu;
    }
    if (w->page_size < 1024 || w->page_size > 65536 || (w->page_size & (w->page_size - 1)))
        return bad(w, "implausible page size", 0);
    if (w->delta_mask == 0 || __builtin_ctzll(w->delta_mask) < 2)
        return bad(w, "implausible delta mask", 0);
    bool v4 = w->version == 4;
    uint16_t none = v4 ? V4_PAGE_NO_REBASE : V2_PAGE_ATTR_NO_REBASE;
    uint16_t use_extra = v4 ? V4_PAGE_USE_EXTRA : V2_PAGE_ATTR_EXTRA;
    uint16_t index_mask = v4 ? V4_PAGE_INDEX : 0x3FFF;
    uint16_t extra_end = v4 ? V4_PAGE_EXTRA_END : V2_PAGE_ATTR_END;
    uint64_t first, end;
    page_range(w, lo, hi, starts_count, &first, &end);
    for (uint64_t page = first; page < end; page++) {
        uint16_t start;
        if (!span_u16(b, starts_off + page * 2, &start))
            return bad(w, "page starts are out of the blob", page);
        if (start == none)
            continue;
        if (!(start & use_extra)) {
            int r = chain_v2(w, page, (uint64_t)(start & index_mask) * 4);
            if (r)
                return r;
            continue;
        }
        for (uint64_t j = start & index_mask;; j++) {
            uint16_t extra;
            if (j >= extras_count || !span_u16(b, extras_off + j * 2, &extra))
                return bad(w, "page extras are out of the blob", page);
            int r = chain_v2(w, page, (uint64_t)(extra & index_mask) * 4);
            if (r)
                return r;
            if (extra & extra_end)
                break;
        }
    }
    return 0;
}

/* ---- v3 / v5: arm64e chains of 8-byte pointers ---- */

static void decode_v3(const struct walk *w, struct dsc_slide_slot *s)
{
    uint64_t raw = s->raw;
    s->auth = raw >> 63;
    if (w->version == 3) {
        if (s->auth) {
            s->value = w->value_add + (raw & 0xFFFFFFFFu);
            s->diversity = (uint16_t)(raw >> 32);
            s->addr_div = raw >> 48 & 1;
            s->key = raw >> 49 & 3;
        } else {
            s->value = (raw & 0x7FFFFFFFFFFull) | ((raw >> 43) & 0xFF) << 56;
        }
    } else {
        s->value = w->value_add + (raw & 0x3FFFFFFFFull);
        if (s->auth) {
            s->diversity = (uint16_t)(raw >> 34);
            s->addr_div = raw >> 50 & 1;
            s->key = (raw >> 51 & 1) ? 2 : 0; /* only IA and DA */
        } else {
            s->value |= ((raw >> 34) & 0xFF) << 56;
        }
    }
}

static int walk_v3(struct walk *w, uint64_t lo, uint64_t hi)
{
    dsc_span b = w->src->slide;
    uint32_t starts_count;
    if (!span_u32(b, 4, &w->page_size) || !span_u32(b, 8, &starts_count) || !span_u64(b, 16, &w->value_add))
        return bad(w, "header is truncated", 0);
    if (w->page_size < 1024 || w->page_size > 65536 || (w->page_size & (w->page_size - 1)))
        return bad(w, "implausible page size", 0);
    unsigned next_shift = w->version == 3 ? 51 : 52;
    uint64_t first, end;
    page_range(w, lo, hi, starts_count, &first, &end);
    for (uint64_t page = first; page < end; page++) {
        uint16_t start;
        if (!span_u16(b, V3_HEADER + page * 2, &start))
            return bad(w, "page starts are out of the blob", page);
        if (start == V3_PAGE_NO_REBASE)
            continue;
        for (uint64_t off = start;;) {
            struct dsc_slide_slot s;
            if (!read_slot(w, page, off, 8, &s))
                return bad(w, "chain leaves its page or the mapping", page);
            uint64_t delta = (s.raw >> next_shift & 0x7FF) * 8;
            decode_v3(w, &s);
            int r = w->fn(w->ctx, &s);
            if (r)
                return r;
            if (delta == 0)
                break;
            off += delta;
        }
    }
    return 0;
}

int dsc_slide_walk(const struct dsc_slide_src *src, uint64_t lo, uint64_t hi, dsc_slide_fn fn, void *ctx,
                   dsc_error *err)
{
    struct walk w = {.src = src, .fn = fn, .ctx = ctx, .err = err};
    if (!span_u32(src->slide, 0, &w.version))
        return dsc_fail(err, src->file, "slide info of mapping at 0x%llx is empty", (unsigned long long)src->address);
    switch (w.version) {
    case 1:
        return walk_v1(&w, lo, hi);
    case 2:
    case 4:
        return walk_v2(&w, lo, hi);
    case 3:
    case 5:
        if (src->ptr_size != 8)
            return bad(&w, "needs 64-bit pointers", 0);
        return walk_v3(&w, lo, hi);
    default:
        return dsc_fail(err, src->file, "unknown slide info version %u of mapping at 0x%llx", w.version,
                        (unsigned long long)src->address);
    }
}

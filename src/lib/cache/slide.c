/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slide.c — walk slide info v1..v5 and decode each slot to its unslid value.
 * Formats: dyld_cache_slide_info, _info2, _info3 and _info4 in dyld's
 * cache-builder/dyld_cache_format.h (dyld-1042.1); dyld_cache_slide_info5
 * from dyld-1160.6 on. See slide.h for the contract.
 */
#include "cache/slide.h"

#include "base/ptrfmt.h"

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
    struct dsc_slide_format fmt;
    struct dsc_ptr_link link;   /* fmt's, for slots passed over */
    uint32_t page_size;
    dsc_slide_fn fn;
    void *ctx;
    dsc_error *err;
    uint64_t lo, hi;    /* slots reported: those at addresses in [lo, hi) */
};

static int bad(struct walk *w, const char *what, uint64_t page)
{
    return dsc_fail(w->err, w->src->file, "slide info v%u of mapping at 0x%llx: %s (page %llu)", w->fmt.version,
                    (unsigned long long)w->src->address, what, (unsigned long long)page);
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

/* Visit the chain starting at `off` of `page` (v1 slots are chains of one).
 * The page is checked once; each step only against the page's end. A
 * chain only moves forward, so it ends at the first slot at or past
 * w->hi: the rest of it is no slot of the range. Slots before w->lo (a
 * neighbour's, on a page it shares with the range) are passed over by
 * their links alone: nothing else of them is decoded. */
static int chain(struct walk *w, uint64_t page, uint64_t off)
{
    unsigned size = w->fmt.slot_size;
    uint64_t at = page * w->page_size, last = w->page_size;
    if (at >= w->src->bytes.size)
        return bad(w, "chain leaves its page or the mapping", page);
    if (last > w->src->bytes.size - at)
        last = w->src->bytes.size - at; /* a last page cut short by the mapping's end */
    if (last < size)
        return bad(w, "chain leaves its page or the mapping", page);
    last -= size; /* the last offset a slot of the page can start at */
    const uint8_t *bytes = w->src->bytes.data + at;
    uint64_t address = w->src->address + at;
    uint64_t lo = w->lo > address ? w->lo - address : 0, hi = w->hi > address ? w->hi - address : 0;
    struct dsc_slide_slot s = {.size = size};
    for (;;) {
        if (off > last)
            return bad(w, "chain leaves its page or the mapping", page);
        if (off >= hi)
            return 0;
        uint64_t raw = size == 8 ? dsc_le64(bytes + off) : dsc_le32(bytes + off), next;
        if (off < lo) {
            next = dsc_ptr_link_next(w->link, raw);
        } else {
            s.address = address + off;
            s.raw = raw;
            dsc_ptr_decode_slide(&w->fmt, raw, &s.ptr);
            int r = w->fn(w->ctx, &s);
            if (r)
                return r;
            next = s.ptr.next;
        }
        if (next == 0)
            return 0;
        off += next;
    }
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
                /* dyld slides v1 slots as 32-bit words; 64-bit caches
                 * with v1 keep the pointer in the marked 8-byte slot. */
                int r = chain(w, page, (j * 8u + k) * 4u);
                if (r)
                    return r;
            }
        }
    }
    return 0;
}

static bool page_size_ok(uint32_t size) { return size >= 1024 && size <= 65536 && !(size & (size - 1)); }

/* ---- v2 / v4: delta chains, page starts with optional extras ---- */

static int walk_v2(struct walk *w, uint64_t lo, uint64_t hi)
{
    dsc_span b = w->src->slide;
    uint32_t starts_off, starts_count, extras_off, extras_count;
    if (!span_u32(b, 4, &w->page_size) || !span_u32(b, 8, &starts_off) || !span_u32(b, 12, &starts_count) ||
        !span_u32(b, 16, &extras_off) || !span_u32(b, 20, &extras_count))
        return bad(w, "header is truncated", 0);
    if (!page_size_ok(w->page_size))
        return bad(w, "implausible page size", 0);
    bool v4 = w->fmt.version == 4;
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
            int r = chain(w, page, (uint64_t)(start & index_mask) * 4);
            if (r)
                return r;
            continue;
        }
        for (uint64_t j = start & index_mask;; j++) {
            uint16_t extra;
            if (j >= extras_count || !span_u16(b, extras_off + j * 2, &extra))
                return bad(w, "page extras are out of the blob", page);
            int r = chain(w, page, (uint64_t)(extra & index_mask) * 4);
            if (r)
                return r;
            if (extra & extra_end)
                break;
        }
    }
    return 0;
}

/* ---- v3 / v5: arm64e chains of 8-byte pointers, one start per page ---- */

static int walk_v3(struct walk *w, uint64_t lo, uint64_t hi)
{
    dsc_span b = w->src->slide;
    uint32_t starts_count;
    if (!span_u32(b, 4, &w->page_size) || !span_u32(b, 8, &starts_count))
        return bad(w, "header is truncated", 0);
    if (!page_size_ok(w->page_size))
        return bad(w, "implausible page size", 0);
    uint64_t first, end;
    page_range(w, lo, hi, starts_count, &first, &end);
    for (uint64_t page = first; page < end; page++) {
        uint16_t start;
        if (!span_u16(b, V3_HEADER + page * 2, &start))
            return bad(w, "page starts are out of the blob", page);
        if (start == V3_PAGE_NO_REBASE)
            continue;
        int r = chain(w, page, start);
        if (r)
            return r;
    }
    return 0;
}

/* Walk the pages overlapping [lo, hi); report only the slots in [lo, hi)
 * when `exact`, else every slot of those pages. */
static int walk_src(const struct dsc_slide_src *src, uint64_t lo, uint64_t hi, bool exact, dsc_slide_fn fn,
                    void *ctx, dsc_error *err)
{
    struct walk w = {.src = src, .fn = fn, .ctx = ctx, .err = err, .lo = exact ? lo : 0,
                     .hi = exact ? hi : UINT64_MAX};
    if (!span_u32(src->slide, 0, &w.fmt.version))
        return dsc_fail(err, src->file, "slide info of mapping at 0x%llx is empty", (unsigned long long)src->address);
    if (w.fmt.version < 1 || w.fmt.version > 5)
        return dsc_fail(err, src->file, "unknown slide info version %u of mapping at 0x%llx", w.fmt.version,
                        (unsigned long long)src->address);
    const char *why = dsc_slide_format_read(src->slide, src->ptr_size, &w.fmt);
    if (why)
        return bad(&w, why, 0);
    w.link = dsc_ptr_slide_link(&w.fmt);
    switch (w.fmt.version) {
    case 1:
        return walk_v1(&w, lo, hi);
    case 2:
    case 4:
        return walk_v2(&w, lo, hi);
    default:
        return walk_v3(&w, lo, hi);
    }
}

int dsc_slide_walk(const struct dsc_slide_src *src, uint64_t lo, uint64_t hi, dsc_slide_fn fn, void *ctx,
                   dsc_error *err)
{
    return walk_src(src, lo, hi, false, fn, ctx, err);
}

/* ---- many mappings, one slot ---- */

/* A range walk passes on only the slots inside its range (a page can hold
 * a neighbour's pointers), and follows no chain past the range's end. */
int dsc_slide_walk_range(const dsc_cache *c, uint64_t lo, uint64_t hi, dsc_slide_fn fn, void *ctx, dsc_error *err)
{
    for (unsigned i = 0; i < c->nmaps; i++) {
        const struct dsc_map *m = &c->maps[i];
        uint64_t map_end = m->info.address + m->info.size;
        if (!m->slide.size || m->info.address >= hi || map_end <= lo)
            continue;
        struct dsc_slide_src src = {m->slide, m->bytes, m->info.address, dsc_ptr_size(c),
                                    c->files[m->info.file].info.path};
        int rc = walk_src(&src, lo > m->info.address ? lo : m->info.address, hi < map_end ? hi : map_end, true, fn,
                          ctx, err);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t dsc_slide_slots_bound(const dsc_cache *c, uint64_t lo, uint64_t hi)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < c->nmaps; i++) {
        const struct dsc_map *m = &c->maps[i];
        uint64_t map_end = m->info.address + m->info.size;
        uint32_t version;
        if (!m->slide.size || m->info.address >= hi || map_end <= lo || !span_u32(m->slide, 0, &version))
            continue;
        uint64_t from = lo > m->info.address ? lo : m->info.address, to = hi < map_end ? hi : map_end;
        unsigned stride = version == 3 || version == 5 ? 8 : 4;
        n += (to - from + stride - 1) / stride;
    }
    return n;
}

bool dsc_vm_ptr_value(const dsc_cache *c, uint64_t addr, uint64_t *value)
{
    const struct dsc_map *m = dsc_vm_map(c, addr);
    struct dsc_slide_format f;
    if (!m)
        return false;
    if (!m->slide.size)
        return dsc_vm_ptr_raw(c, addr, value);
    uint64_t raw;
    dsc_span s;
    if (dsc_slide_format_read(m->slide, dsc_ptr_size(c), &f) || !dsc_vm_span(c, addr, f.slot_size, &s) ||
        !span_ptr(s, 0, f.slot_size, &raw))
        return false;
    struct dsc_ptr p;
    dsc_ptr_decode_slide(&f, raw, &p);
    *value = p.value;
    return true;
}

bool dsc_vm_ptr_target(const dsc_cache *c, uint64_t addr, uint64_t *target)
{
    uint64_t raw;
    if (!dsc_vm_ptr_raw(c, addr, &raw))
        return false;
    if (raw == 0) { /* a slot no chain visits: a weak import bound to nothing */
        *target = 0;
        return true;
    }
    if (!dsc_vm_ptr_value(c, addr, target))
        return false;
    if (dsc_ptr_size(c) == 8)
        *target &= DSC_TBI_MASK;
    return true;
}

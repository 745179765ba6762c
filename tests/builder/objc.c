/*
 * objc.c — Objective-C selector uniquing (dyld-940+ caches).
 *
 * Every selector string of every image (__TEXT,__objc_methname) goes into
 * one cache-wide buffer that starts with the magic selector "🤯"; every
 * pointer that targeted a selector string (selrefs, pointer method lists,
 * protocol method lists) is re-pointed at the canonical copy. libobjc's
 * __DATA_CONST,__objc_scoffs gets the buffer's start and end, as
 * objc_opt_offsets[0..1]. The buffer lives in the main file's TEXT mapping
 * after the images. Older eras keep their selectors in place.
 */
#include "bld.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

static const char magic_selector[] = "\xF0\x9F\xA4\xAF";

struct range {
    uint64_t addr, size;
};

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool enabled(const struct cache *c) { return c->opt.header_size >= 0x1c8; }

/* Calls fn(ctx, string) for each string of each __objc_methname. */
static void each_selector(const struct cache *c, void (*fn)(void *, const char *), void *ctx)
{
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct sect *x = image_sect(img, "__TEXT", "__objc_methname");
        dsc_span s;
        if (!x || !span_sub(img->file, x->in_addr - img->segs[0].in_addr, x->size, &s))
            continue;
        for (uint64_t off = 0; off < s.size;) {
            const char *str;
            size_t len;
            if (!span_cstr(s, off, s.size - off, &str, &len))
                die("%s: unterminated selector in __objc_methname", img->in_path);
            fn(ctx, str);
            off += len + 1;
        }
    }
}

static void add_selector(void *ctx, const char *s) { strpool_add(ctx, s); }

void objc_plan(struct cache *c)
{
    if (!enabled(c))
        return;
    c->selectors = xcalloc(1, sizeof *c->selectors);
    strpool_init(c->selectors);
    strpool_add(c->selectors, magic_selector);
    each_selector(c, add_selector, c->selectors);
    if (c->selectors->count == 1) {
        strpool_free(c->selectors);
        free(c->selectors);
        c->selectors = NULL;
        return;
    }
    c->selbuf_size = c->selectors->bytes.len;
}

static void push_ptr(struct image *img, uint64_t addr, uint64_t target)
{
    img->ptrs = xrealloc(img->ptrs, (img->nptrs + 1) * sizeof *img->ptrs);
    img->ptrs[img->nptrs++] = (struct ptr){addr, target, false, 0, false, 0};
}

static int cmp_ptr(const void *a, const void *b)
{
    const struct ptr *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* objc_opt_offsets[0] and [1] of libobjc's __objc_scoffs (the first image
 * that has one: scale-mode clones of libobjc keep theirs empty). */
static void fill_scoffs(struct cache *c, uint64_t start, uint64_t end)
{
    unsigned psz = c->ai->ptr_size;
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        const struct sect *x = image_sect(img, "__DATA_CONST", "__objc_scoffs");
        uint64_t at;
        if (!x || x->size < 5ULL * psz || !image_reloc(img, x->in_addr, &at))
            continue;
        push_ptr(img, at + psz, start);
        push_ptr(img, at + 2ULL * psz, end);
        qsort(img->ptrs, img->nptrs, sizeof *img->ptrs, cmp_ptr);
        return;
    }
}

void objc_unique_selectors(struct cache *c)
{
    if (!c->selectors)
        return;
    memcpy(cache_bytes(c, c->selbuf_addr, c->selbuf_size), c->selectors->bytes.data, c->selbuf_size);
    struct range *r = xcalloc(c->nimages, sizeof *r);
    size_t nr = 0;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct sect *x = image_sect(&c->images[i], "__TEXT", "__objc_methname");
        if (x && image_reloc(&c->images[i], x->in_addr, &r[nr].addr))
            r[nr++].size = x->size;
    }
    qsort(r, nr, sizeof *r, cmp_range);
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        for (size_t k = 0; k < img->nptrs; k++) {
            struct ptr *p = &img->ptrs[k];
            struct range key = {p->target, 0};
            size_t lo = 0, hi = nr;
            while (lo < hi) {   /* last range starting at or before the target */
                size_t mid = lo + (hi - lo) / 2;
                if (cmp_range(&r[mid], &key) <= 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == 0 || p->target - r[lo - 1].addr >= r[lo - 1].size)
                continue;
            uint64_t left = r[lo - 1].addr + r[lo - 1].size - p->target;
            const uint8_t *s = cache_bytes(c, p->target, left);
            if (!memchr(s, 0, left))
                die("%s: selector at 0x%llx is unterminated", img->in_path, (unsigned long long)p->target);
            p->target = c->selbuf_addr + strpool_add(c->selectors, (const char *)s);
            c->stats_selrefs++;
        }
    }
    if (c->selectors->bytes.len != c->selbuf_size)
        die("internal: a selector was missing from the planned buffer");
    fill_scoffs(c, c->selbuf_addr + 1, c->selbuf_addr + c->selbuf_size);
    free(r);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc.c — Objective-C selector and protocol uniquing (dyld-940+ caches).
 *
 * Every selector string of every image (__TEXT,__objc_methname) goes into
 * one cache-wide buffer that starts with the magic selector "🤯" (with
 * --objc-opts the IMP caches' selectors come first, in the 128-byte bags
 * objc_impcaches.c places them in, the others follow the last, as in
 * dyld-1378 estimateIMPCaches); every
 * pointer that targeted a selector string (selrefs, pointer method lists,
 * protocol method lists) is re-pointed at the canonical copy. libobjc's
 * __DATA_CONST,__objc_scoffs gets the buffer's start and end, as
 * objc_opt_offsets[0..1]. The buffer lives in the main file's TEXT mapping
 * after the images.
 *
 * Protocols: the first definition of each protocol name (in image order,
 * found through __objc_protolist) is copied into a cache-owned area after
 * the images' DATA; the copy gets isa = libobjc's Protocol class, the full
 * protocol_t size, _demangledName, and the FIXED_UP and IS_CANONICAL flags.
 * Every pointer to any definition of that name — except the
 * __objc_protolist entries, which keep the originals — points at the copy.
 * Every image's objc_image_info gets OptimizedByDyld (bit 3).
 * Older eras keep their selectors, protocols and image info as they were.
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
    objc_impcaches_place(c);
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
    img->ptrs[img->nptrs++] = (struct ptr){addr, target, false, 0, false, 0, false, false};
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

/* ---- protocols ---- */

#define PROTOCOL_FLAGS_CANONICAL 0xE0000000u /* FIXED_UP_1 | FIXED_UP_2 | IS_CANONICAL */

struct proto {
    uint64_t orig;          /* cache address of a definition */
    uint64_t canon;         /* its canonical copy */
};

static int cmp_proto(const void *a, const void *b)
{
    const struct proto *x = a, *y = b;
    return x->orig < y->orig ? -1 : x->orig > y->orig;
}

static unsigned proto_size(const struct cache *c) { return c->ai->ptr_size == 8 ? 0x60 : 0x34; }

/* Input address and name of each protocol in an image's __objc_protolist. */
static void each_protocol(const struct cache *c, const struct image *img,
                          void (*fn)(void *, const struct image *, uint64_t, const char *), void *ctx)
{
    unsigned psz = c->ai->ptr_size;
    const struct sect *x = image_sect(img, "__DATA_CONST", "__objc_protolist");
    if (!x)
        x = image_sect(img, "__DATA", "__objc_protolist");
    if (!x)
        return;
    const struct seg *sg = &img->segs[x->segi];
    for (uint64_t off = 0; off + psz <= x->size; off += psz) {
        uint64_t proto, name_addr, fo = sg->in_fileoff + (x->in_addr - sg->in_addr) + off;
        const char *name;
        dsc_span file = img->file;
        /* protocol_t lives in a segment with file contents: find its bytes. */
        const struct seg *ps = NULL;
        if (!span_ptr(file, fo, psz, &proto))
            die("%s: __objc_protolist is out of the file", img->in_path);
        for (unsigned k = 0; k < img->nsegs; k++)
            if (proto - img->segs[k].in_addr < img->segs[k].in_filesize)
                ps = &img->segs[k];
        if (!ps || !span_ptr(file, ps->in_fileoff + (proto - ps->in_addr) + psz, psz, &name_addr) ||
            name_addr - img->segs[0].in_addr >= img->segs[0].in_filesize ||
            !span_cstr(file, img->segs[0].in_fileoff + (name_addr - img->segs[0].in_addr), 4096, &name, NULL))
            die("%s: protocol at 0x%llx is unreadable", img->in_path, (unsigned long long)proto);
        fn(ctx, img, proto, name);
    }
}

struct name_set {
    struct strpool names;
};

static void count_protocol(void *ctx, const struct image *img, uint64_t proto, const char *name)
{
    (void)img;
    (void)proto;
    strpool_add(&((struct name_set *)ctx)->names, name);
}

void objc_plan_protocols(struct cache *c)
{
    if (!enabled(c))
        return;
    struct name_set set;
    strpool_init(&set.names);
    for (size_t i = 0; i < c->nimages; i++)
        each_protocol(c, &c->images[i], count_protocol, &set);
    c->proto_area_size = set.names.count * (uint64_t)dsc_align_up(proto_size(c), 8);
    strpool_free(&set.names);
}

struct proto_walk {
    struct cache *c;
    struct strpool names;       /* name -> offset, in first-seen order */
    uint64_t *canon_by_name;    /* by strpool offset of the name */
    size_t canon_cap;
    struct proto *map;
    size_t nmap, cap;
    uint64_t next;              /* next free byte of the area */
};

static void add_ptr_to(struct image *img, uint64_t addr, uint64_t target, const struct ptr *like)
{
    img->ptrs = xrealloc(img->ptrs, (img->nptrs + 1) * sizeof *img->ptrs);
    struct ptr p = like ? *like : (struct ptr){0};
    p.addr = addr;
    p.target = target;
    img->ptrs[img->nptrs++] = p;
}

/* Copy one definition into the area, with its pointers. */
static uint64_t make_canonical(struct cache *c, struct image *img, uint64_t orig)
{
    unsigned psz = c->ai->ptr_size, size = proto_size(c);
    uint64_t copy = c->proto_addr + c->proto_used;
    c->proto_used += dsc_align_up(size, 8);
    memcpy(cache_bytes(c, copy, size), cache_bytes(c, orig, size), size);
    size_t n = img->nptrs;
    uint64_t name = 0, demangled = 8ULL * psz + 8 + psz;
    for (size_t k = 0; k < n; k++) {
        struct ptr p = img->ptrs[k];    /* add_ptr_to may move the array */
        uint64_t off = p.addr - orig;
        if (off < size && off != 0 && off != demangled)
            add_ptr_to(img, copy + off, p.target, &p);
        if (off == psz)
            name = p.target;
    }
    uint8_t *b = cache_bytes(c, copy, size);
    dsc_put32(b + 8 * psz, size);
    dsc_put32(b + 8 * psz + 4, dsc_le32(b + 8 * psz + 4) | PROTOCOL_FLAGS_CANONICAL);
    if (name)
        add_ptr_to(img, copy + demangled, name, NULL);
    if (c->protocol_class)
        add_ptr_to(img, copy, c->protocol_class, NULL);
    else
        memset(b, 0, psz);
    return copy;
}

static void collect_protocol(void *ctx, const struct image *cimg, uint64_t proto, const char *name)
{
    struct proto_walk *w = ctx;
    struct image *img = (struct image *)cimg;
    uint64_t orig;
    if (!image_reloc(img, proto, &orig))
        die("%s: protocol %s is outside the image", img->in_path, name);
    size_t before = w->names.count;
    uint32_t id = strpool_add(&w->names, name);
    if (w->names.bytes.len > w->canon_cap) {
        size_t ncap = w->names.bytes.len * 2;
        w->canon_by_name = xrealloc(w->canon_by_name, ncap * sizeof *w->canon_by_name);
        memset(w->canon_by_name + w->canon_cap, 0, (ncap - w->canon_cap) * sizeof *w->canon_by_name);
        w->canon_cap = ncap;
    }
    if (w->names.count != before)
        w->canon_by_name[id] = make_canonical(w->c, img, orig);
    if (w->nmap == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->map = xrealloc(w->map, w->cap * sizeof *w->map);
    }
    w->map[w->nmap++] = (struct proto){orig, w->canon_by_name[id]};
}

static bool in_protolist(const struct image *img, uint64_t slot)
{
    for (unsigned k = 0; k < img->nsects; k++) {
        const struct sect *x = &img->sects[k];
        uint64_t a;
        if (strcmp(x->name, "__objc_protolist") == 0 && image_reloc(img, x->in_addr, &a) && slot - a < x->size)
            return true;
    }
    return false;
}

static void find_protocol_class(struct cache *c)
{
    for (size_t i = 0; i < c->nimages && !c->protocol_class; i++) {
        const struct export_sym *e = image_export(&c->images[i], "_OBJC_CLASS_$_Protocol");
        if (e && !(e->flags & 0x18))
            image_reloc(&c->images[i], c->images[i].segs[0].in_addr + e->value, &c->protocol_class);
    }
}

void objc_unique_protocols(struct cache *c)
{
    if (!c->proto_area_size)
        return;
    find_protocol_class(c);
    struct proto_walk w = {.c = c};
    strpool_init(&w.names);
    for (size_t i = 0; i < c->nimages; i++)
        each_protocol(c, &c->images[i], collect_protocol, &w);
    if (w.nmap)
        qsort(w.map, w.nmap, sizeof *w.map, cmp_proto);
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        for (size_t k = 0; k < img->nptrs; k++) {
            struct proto key = {img->ptrs[k].target, 0};
            const struct proto *hit = w.nmap ? bsearch(&key, w.map, w.nmap, sizeof key, cmp_proto) : NULL;
            if (hit && !in_protolist(img, img->ptrs[k].addr)) {
                img->ptrs[k].target = hit->canon;
                c->stats_protorefs++;
            }
        }
        qsort(img->ptrs, img->nptrs, sizeof *img->ptrs, cmp_ptr);
    }
    strpool_free(&w.names);
    free(w.canon_by_name);
    free(w.map);
}

/* ---- objc_image_info ---- */

#define OBJC_IMAGE_OPTIMIZED_BY_DYLD (1u << 3)
#define OBJC_IMAGE_DYLD_CATEGORIES_OPTIMIZED (1u << 0) /* objc4-951.1 objc-abi.h */

void objc_mark_images(struct cache *c)
{
    if (!enabled(c))
        return;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct sect *x = objc_image_info_of(img);
        uint64_t at;
        if (!x || x->size < 8 || !image_reloc(img, x->in_addr, &at))
            continue;
        uint8_t *info = cache_bytes(c, at, 8);
        uint32_t set = OBJC_IMAGE_OPTIMIZED_BY_DYLD | (c->cats_size ? OBJC_IMAGE_DYLD_CATEGORIES_OPTIMIZED : 0);
        dsc_put32(info + 4, dsc_le32(info + 4) | set);
    }
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_view.c — what the ObjC pass reads: the cache, with the image's slid
 * segments replaced by decoded copies.
 *
 * Reading the raw cache is not enough: slide chains run through the words
 * they pass (v2/v4 keep small integers on the chain, with delta bits in
 * them), so a method list's count can read as garbage. Reading the plan's
 * copy is not enough either: size plans have none. So the pass decodes its
 * own copy of each slid segment of the image, exactly as pass_pointers
 * decodes the plan's (every chain slot gets its unslid value), and full and
 * size plans read the same bytes. Everything outside those segments (text,
 * other images) comes from the cache, pointers decoded by dsc_vm_ptr_value.
 */
#include "extract/pass_objc.h"
#include "cache/slide.h"

#include <stdlib.h>
#include <string.h>

static int on_slot(void *ctx, const struct dsc_slide_slot *s)
{
    struct objc_view_seg *seg = ctx;
    if (!dsc_range_ok(seg->size, s->address - seg->vmaddr, s->size))
        return 0; /* straddles the segment's end */
    uint8_t *b = seg->bytes + (s->address - seg->vmaddr);
    if (s->size == 8)
        dsc_put64(b, s->ptr.value);
    else
        dsc_put32(b, (uint32_t)s->ptr.value);
    return 0;
}

/* Decode the chains of every slid mapping over the copy of one segment. */
static void decode_segment(const dsc_cache *c, struct objc_view_seg *seg)
{
    dsc_error ignored; /* damaged chains are pass_pointers' to report */
    (void)dsc_slide_walk_range(c, seg->vmaddr, seg->vmaddr + seg->size, on_slot, seg, &ignored);
}

static bool slid(const dsc_cache *c, uint64_t addr, uint64_t size)
{
    for (unsigned i = 0; i < c->nmaps; i++) {
        const struct dsc_map *m = &c->maps[i];
        if (m->slide.size && m->info.address < addr + size && addr < m->info.address + m->info.size)
            return true;
    }
    return false;
}

int objc_view_init(struct objc_view *v, struct dsc_plan *p)
{
    memset(v, 0, sizeof *v);
    v->cache = p->cache;
    const struct dsc_macho *mo = &p->mo;
    v->segs = calloc(mo->nsegs ? mo->nsegs : 1, sizeof *v->segs);
    if (!v->segs)
        return plan_oom(p);
    for (unsigned i = 0; i < mo->nsegs; i++) {
        const struct dsc_segment *s = &mo->segs[i];
        dsc_span src;
        if (!s->filesize || !slid(p->cache, s->vmaddr, s->filesize) ||
            !dsc_vm_span(p->cache, s->vmaddr, s->filesize, &src))
            continue; /* read from the cache as it is */
        struct objc_view_seg *seg = &v->segs[v->nsegs];
        if (!(seg->bytes = malloc(s->filesize)))
            return plan_oom(p);
        memcpy(seg->bytes, src.data, s->filesize);
        seg->vmaddr = s->vmaddr;
        seg->size = s->filesize;
        v->nsegs++;
        decode_segment(p->cache, seg);
    }
    return 0;
}

void objc_view_free(struct objc_view *v)
{
    for (unsigned i = 0; i < v->nsegs; i++)
        free(v->segs[i].bytes);
    free(v->segs);
    memset(v, 0, sizeof *v);
}

/* The decoded copy holding [addr, addr+len), or NULL. */
static const struct objc_view_seg *seg_of(const struct objc_view *v, uint64_t addr, uint64_t len)
{
    for (unsigned i = 0; i < v->nsegs; i++)
        if (addr >= v->segs[i].vmaddr && dsc_range_ok(v->segs[i].size, addr - v->segs[i].vmaddr, len))
            return &v->segs[i];
    return NULL;
}

bool objc_view_span(const struct objc_view *v, uint64_t addr, uint64_t len, dsc_span *out)
{
    const struct objc_view_seg *s = seg_of(v, addr, len);
    if (!s)
        return dsc_vm_span(v->cache, addr, len, out);
    *out = (dsc_span){s->bytes + (addr - s->vmaddr), len};
    return true;
}

static bool view_span(void *ctx, uint64_t addr, uint64_t len, dsc_span *out)
{
    return objc_view_span(ctx, addr, len, out);
}

static bool view_ptr(void *ctx, uint64_t addr, uint64_t *v)
{
    const struct objc_view *view = ctx;
    unsigned ps = dsc_ptr_size(view->cache);
    const struct objc_view_seg *s = seg_of(view, addr, ps);
    if (!s)
        return dsc_vm_ptr_value(view->cache, addr, v);
    return span_ptr((dsc_span){s->bytes, s->size}, addr - s->vmaddr, ps, v);
}

static bool view_cstr(void *ctx, uint64_t addr, uint64_t max_len, const char **str)
{
    const struct objc_view *view = ctx;
    const struct objc_view_seg *s = seg_of(view, addr, 1);
    if (!s)
        return dsc_vm_cstr(view->cache, addr, max_len, str);
    return span_cstr((dsc_span){s->bytes, s->size}, addr - s->vmaddr, max_len, str, NULL);
}

struct dsc_objc_mem objc_view_mem(struct objc_view *v)
{
    return (struct dsc_objc_mem){v, view_span, view_ptr, view_cstr};
}

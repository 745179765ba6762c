/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_layout.c — the output's segments, copied out of whichever mapping
 * (and file of the set) holds each of them.
 *
 * Segments keep their cache vmaddr/vmsize and load-command order; only
 * __LINKEDIT is left out, because pass_linkedit rebuilds a private one, and
 * libobjc's __OBJC_RO/__OBJC_RW, which the cache builder added over the
 * cache's ObjC tables (dsc_objc_cache_segment): the dylib never had them.
 * File offsets are assigned later by out_finish. In a size plan nothing is
 * copied, but every segment's bytes must still be present in the cache.
 */
#include "extract/extract.h"

#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "index/objc.h"

static int add_sections(struct dsc_plan *p, struct dsc_out_segment *out, const struct dsc_segment *in)
{
    out->sects = calloc(in->nsects ? in->nsects : 1, sizeof *out->sects);
    if (!out->sects)
        return plan_oom(p);
    for (uint32_t i = 0; i < in->nsects; i++) {
        const struct dsc_section *x = &p->mo.sects[in->first_section + i];
        struct dsc_out_section *y = &out->sects[i];
        memcpy(y->sectname, x->sectname, sizeof y->sectname);
        memcpy(y->segname, x->segname, sizeof y->segname);
        y->addr = x->addr;
        y->size = x->size;
        y->align = x->align;
        y->flags = x->flags;
        y->reserved1 = x->reserved1;
        y->reserved2 = x->reserved2;
        y->reserved3 = x->reserved3;
    }
    out->nsects = in->nsects;
    return 0;
}

/* Describe segment `index` as the next output segment and check that its
 * bytes and sections are where it says; nothing is copied yet. */
static int describe_segment(struct dsc_plan *p, unsigned index)
{
    const struct dsc_segment *in = &p->mo.segs[index];
    struct dsc_out_segment *out = &p->segs[p->nsegs];
    memset(out, 0, sizeof *out);
    memcpy(out->name, in->name, sizeof out->name);
    out->vmaddr = in->vmaddr;
    out->vmsize = in->vmsize;
    out->filesize = in->filesize < in->vmsize ? in->filesize : in->vmsize;
    out->maxprot = in->maxprot;
    out->initprot = in->initprot;
    out->flags = in->flags;
    out->source = (int)index;
    out->cmd_offset = in->cmd_offset;
    p->nsegs++;
    dsc_span src;
    if (!dsc_vm_span(p->cache, out->vmaddr, out->filesize, &src))
        return plan_fail(p, "segment %s (0x%llx bytes at 0x%llx) is not inside one mapping of the cache", in->name,
                         (unsigned long long)out->filesize, (unsigned long long)out->vmaddr);
    for (uint32_t i = 0; i < in->nsects; i++) {
        const struct dsc_section *x = &p->mo.sects[in->first_section + i];
        if (x->addr < in->vmaddr || !dsc_range_ok(in->vmsize, x->addr - in->vmaddr, x->size))
            return plan_fail(p, "section %s,%s lies outside its segment", x->segname, x->sectname);
    }
    return add_sections(p, out, in);
}

/* An address range of a segment or section, and which one it is. */
struct extent {
    uint64_t start, size;
    unsigned index;
};

static int by_start(const void *a, const void *b)
{
    const struct extent *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Two of the `n` extents that share an address (*a, *b: their indexes):
 * 1, or 0 when none do. Sorted, so that thousands of crafted commands cost
 * n log n, not n². Empty extents share nothing. */
static int find_overlap(struct extent *v, size_t n, unsigned *a, unsigned *b)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].size)
            v[k++] = v[i];
    dsc_sort(v, k, sizeof *v, by_start);
    for (size_t i = 1; i < k; i++)
        if (v[i].start - v[i - 1].start < v[i - 1].size) { /* sorted: no wrap */
            *a = v[i - 1].index;
            *b = v[i].index;
            return 1;
        }
    return 0;
}

/* No two non-empty segments of the image (LINKEDIT included) may share an
 * address: overlapping segments would make every later copy of the image's
 * bytes (here and in the ObjC view) cost more than the cache holds. Nor may
 * two non-empty sections: the passes walk the image section by section
 * (stubs, pointer tables, code, strings), so a section repeated thousands
 * of times over the same bytes would cost thousands of walks and tables. */
static int check_overlaps(struct dsc_plan *p)
{
    const struct dsc_macho *mo = &p->mo;
    size_t most = mo->nsegs > mo->nsects ? mo->nsegs : mo->nsects;
    struct extent *v = malloc((most ? most : 1) * sizeof *v);
    unsigned a, b;
    int rc = 0;
    if (!v)
        return plan_oom(p);
    for (unsigned i = 0; i < mo->nsegs; i++)
        v[i] = (struct extent){mo->segs[i].vmaddr, mo->segs[i].vmsize, i};
    if (find_overlap(v, mo->nsegs, &a, &b))
        rc = plan_fail(p, "segments %s and %s overlap", mo->segs[a].name, mo->segs[b].name);
    for (unsigned i = 0; rc == 0 && i < mo->nsects; i++)
        v[i] = (struct extent){mo->sects[i].addr, mo->sects[i].size, i};
    if (rc == 0 && find_overlap(v, mo->nsects, &a, &b))
        rc = plan_fail(p, "sections %s,%s and %s,%s overlap", mo->sects[a].segname, mo->sects[a].sectname,
                       mo->sects[b].segname, mo->sects[b].sectname);
    free(v);
    return rc;
}

/* Copy each checked segment's bytes: after check_overlaps their sum is
 * bounded by the size of the cache's mappings. */
static int copy_segments(struct dsc_plan *p)
{
    for (unsigned i = 0; i < p->nsegs; i++) {
        struct dsc_out_segment *out = &p->segs[i];
        dsc_span src;
        if (!dsc_vm_span(p->cache, out->vmaddr, out->filesize, &src) ||
            !(out->bytes = malloc(out->filesize ? out->filesize : 1)))
            return plan_fail_code(p, DSC_ERR_NOMEM, "out of memory for segment %s", out->name);
        memcpy(out->bytes, src.data, out->filesize);
    }
    return 0;
}

/* Every segment is described and checked (bounds, sections, overlaps)
 * before a single byte is copied: a crafted image fails at no cost. */
int pass_layout(struct dsc_plan *p)
{
    p->segs = calloc(p->mo.nsegs ? p->mo.nsegs : 1, sizeof *p->segs);
    if (!p->segs)
        return plan_oom(p);
    uint64_t end_of_image = 0, end_below = 0; /* below: every segment but LINKEDIT */
    for (unsigned i = 0; i < p->mo.nsegs; i++) {
        const struct dsc_segment *s = &p->mo.segs[i];
        if (dsc_objc_cache_segment(&p->mo, s))
            continue;
        uint64_t end = s->vmaddr + s->vmsize; /* no wrap: checked by macho_view.c */
        if (end > end_of_image)
            end_of_image = end;
        if (strcmp(s->name, "__LINKEDIT") == 0) {
            p->linkedit_vmaddr = s->vmaddr;
            continue;
        }
        if (end > end_below)
            end_below = end;
        if (describe_segment(p, i))
            return -1;
    }
    if (!p->nsegs || p->segs[0].vmaddr != p->base || p->segs[0].filesize < p->mo.header.size)
        return plan_fail(p, "the first segment does not start with the mach header");
    if (check_overlaps(p) || (p->copy_bytes && copy_segments(p)))
        return -1;
    p->next_free_vmaddr = end_of_image;
    p->next_free_low = end_below;
    /* Without a LINKEDIT in the cache, put the rebuilt one after the image. */
    if (!p->linkedit_vmaddr)
        p->linkedit_vmaddr = end_of_image;
    return 0;
}

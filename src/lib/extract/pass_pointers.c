/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_pointers.c — decode the slide info of every mapping that overlaps
 * one of the image's segments, write each slot back as its plain unslid
 * value, and record a fixup per real pointer:
 *   - target inside the image  → DSC_FIXUP_REBASE (keeping arm64e auth data);
 *   - target anywhere else     → DSC_FIXUP_EXTERNAL (left plain; the binds
 *                                pass may turn it into a bind).
 * A cache can hold several slid mappings (DATA, AUTH, DIRTY, CONST...), in
 * several files; each is walked only over the pages the segment covers.
 */
#include "extract/extract.h"
#include "base/ptrfmt.h"
#include "cache/slide.h"

struct walk_ctx {
    struct dsc_plan *p;
    const struct dsc_out_segment *seg; /* the segment walked */
    uint64_t hi;                       /* end of its file bytes */
    uint64_t in_lo, in_size;           /* the segment the last in-image target fell in */
};

/* plan_in_image, asking the plan only when a target leaves the segment the
 * last one fell in (most of a segment's pointers target one segment). */
static bool in_image(struct walk_ctx *w, uint64_t target)
{
    if (target >= w->in_lo && target - w->in_lo < w->in_size)
        return true;
    const struct dsc_out_segment *s = plan_segment_at(w->p, target, 1);
    if (!s)
        return false;
    w->in_lo = s->vmaddr;
    w->in_size = s->vmsize;
    return true;
}

static int on_slot(void *ctx, const struct dsc_slide_slot *s)
{
    struct walk_ctx *w = ctx;
    struct dsc_plan *p = w->p;
    if (s->address > w->hi - s->size)
        return plan_fail(p, "pointer at 0x%llx straddles the end of its segment", (unsigned long long)s->address);
    if (p->copy_bytes) {
        /* The walk reports only slots in [seg->vmaddr, hi - size], which
         * are the segment's own bytes (segments do not overlap). */
        uint8_t *b = w->seg->bytes + (s->address - w->seg->vmaddr);
        if (s->size == 8)
            dsc_put64(b, s->ptr.value);
        else
            dsc_put32(b, (uint32_t)s->ptr.value);
    }
    if (!s->ptr.is_pointer)
        return 0;
    /* Room was reserved (pass_pointers); only malformed info gets here full. */
    if (p->nfixups == p->fixups_cap && plan_reserve_fixups(p, 1))
        return -1;
    /* Each field read as itself (volatile): the walk has just stored them
     * one by one, and copied into the fixup as neighbours the compiler
     * merges the reads into wider loads, which the CPU cannot serve from
     * several pending stores: they wait for all to reach the cache (half
     * of on_slot's time on the large cache). */
    const volatile struct dsc_slide_slot *v = s;
    uint64_t target = v->ptr.value;
    p->fixups[p->nfixups++] = (struct dsc_fixup){
        .address = v->address,
        .target = target,
        .kind = in_image(w, target & DSC_TBI_MASK) ? DSC_FIXUP_REBASE : DSC_FIXUP_EXTERNAL,
        .auth = {v->ptr.auth, v->ptr.key, v->ptr.addr_div, v->ptr.diversity},
    };
    return 0;
}

static int walk_segment(struct dsc_plan *p, const struct dsc_out_segment *seg)
{
    struct walk_ctx w = {.p = p, .seg = seg, .hi = seg->vmaddr + seg->filesize};
    dsc_error walk_err = {0};
    if (dsc_slide_walk_range(p->cache, seg->vmaddr, w.hi, on_slot, &w, &walk_err))
        return walk_err.code ? plan_fail_code(p, walk_err.code, "%s", walk_err.msg) : -1; /* else on_slot set p->err */
    return 0;
}

/* The most fixups reserved before the walks: 40 MiB of records, 30 times
 * the largest image of the large cache needs. An image whose slots may
 * be more (a huge segment, or mappings overlapping, which the walk then
 * fails on as two fixups at one address) grows the table as it fills. */
#define RESERVE_MAX ((size_t)1 << 20)

/* The fixups' table is sized once, for the most slots the walks can
 * report (dsc_slide_slots_bound): growing it slot by slot copied it a dozen
 * times on a large image. The bound is the segments' own file bytes over
 * the format's slot stride, and pass_layout checked those bytes lie in the
 * cache, so hostile slide info cannot make it larger than the image; and
 * it is capped (RESERVE_MAX), so no input reserves more than that. */
int pass_pointers(struct dsc_plan *p)
{
    uint64_t bound = 0; /* each term is below 2^62: the sum cannot wrap */
    for (unsigned i = 0; i < p->nsegs && bound < RESERVE_MAX; i++) {
        const struct dsc_out_segment *s = &p->segs[i];
        if (s->source >= 0)
            bound += dsc_slide_slots_bound(p->cache, s->vmaddr, s->vmaddr + s->filesize);
    }
    if (plan_reserve_fixups(p, bound < RESERVE_MAX ? (size_t)bound : RESERVE_MAX))
        return -1;
    for (unsigned i = 0; i < p->nsegs; i++)
        if (p->segs[i].source >= 0 && walk_segment(p, &p->segs[i]))
            return -1;
    return 0;
}

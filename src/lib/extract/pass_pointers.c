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
            dsc_put64(b, s->value);
        else
            dsc_put32(b, (uint32_t)s->value);
    }
    if (!s->is_pointer)
        return 0;
    /* Room was reserved (pass_pointers); only malformed info gets here full. */
    if (p->nfixups == p->fixups_cap && plan_reserve_fixups(p, 1))
        return -1;
    p->fixups[p->nfixups++] = (struct dsc_fixup){
        .address = s->address,
        .target = s->value,
        .kind = in_image(w, s->value & DSC_TBI_MASK) ? DSC_FIXUP_REBASE : DSC_FIXUP_EXTERNAL,
        .auth = {s->auth, s->key, s->addr_div, s->diversity},
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

/* The fixups' table is sized once, for the most slots the walks can
 * report (dsc_slide_slots_bound): growing it slot by slot copied it a dozen
 * times on a large image. The bound is the segments' own file bytes over
 * the format's slot stride, and pass_layout checked those bytes lie in the
 * cache, so hostile slide info cannot make it larger than the image. */
int pass_pointers(struct dsc_plan *p)
{
    size_t bound = 0;
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct dsc_out_segment *s = &p->segs[i];
        uint64_t n = s->source >= 0 ? dsc_slide_slots_bound(p->cache, s->vmaddr, s->vmaddr + s->filesize) : 0;
        if (n > SIZE_MAX - bound)
            return plan_oom(p);
        bound += n;
    }
    if (plan_reserve_fixups(p, bound))
        return -1;
    for (unsigned i = 0; i < p->nsegs; i++)
        if (p->segs[i].source >= 0 && walk_segment(p, &p->segs[i]))
            return -1;
    return 0;
}

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
#include "cache/slide.h"

struct walk_ctx {
    struct dsc_plan *p;
    uint64_t lo, hi; /* the segment's file bytes inside this mapping */
};

/* Top-byte-ignore bits are not part of the address. */
static uint64_t strip_tbi(const struct dsc_plan *p, uint64_t v)
{
    return p->ptr_size == 8 ? v & 0x00FFFFFFFFFFFFFFull : v;
}

static int on_slot(void *ctx, const struct dsc_slide_slot *s)
{
    struct walk_ctx *w = ctx;
    struct dsc_plan *p = w->p;
    if (s->address < w->lo || s->address >= w->hi)
        return 0; /* a neighbour's pointer on a shared page */
    if (s->address > w->hi - s->size)
        return plan_fail(p, "pointer at 0x%llx straddles the end of its segment", (unsigned long long)s->address);
    if (p->copy_bytes) {
        uint8_t *b = plan_seg_bytes(p, s->address, s->size);
        if (!b)
            return plan_fail(p, "pointer at 0x%llx is outside the copied segment", (unsigned long long)s->address);
        if (s->size == 8)
            dsc_put64(b, s->value);
        else
            dsc_put32(b, (uint32_t)s->value);
    }
    if (!s->is_pointer)
        return 0;
    struct dsc_fixup f = {
        .address = s->address,
        .target = s->value,
        .auth = {.present = s->auth, .key = s->key, .addr_div = s->addr_div, .diversity = s->diversity},
    };
    f.kind = plan_in_image(p, strip_tbi(p, s->value)) ? DSC_FIXUP_REBASE : DSC_FIXUP_EXTERNAL;
    return plan_add_fixup(p, &f);
}

static int walk_segment(struct dsc_plan *p, const struct dsc_out_segment *seg)
{
    const dsc_cache *c = p->cache;
    uint64_t seg_end = seg->vmaddr + seg->filesize;
    for (unsigned i = 0; i < c->nmaps; i++) {
        const struct dsc_map *m = &c->maps[i];
        uint64_t map_end = m->info.address + m->info.size;
        if (!m->slide.size || m->info.address >= seg_end || map_end <= seg->vmaddr)
            continue;
        struct walk_ctx w = {
            .p = p,
            .lo = seg->vmaddr > m->info.address ? seg->vmaddr : m->info.address,
            .hi = seg_end < map_end ? seg_end : map_end,
        };
        struct dsc_slide_src src = {
            .slide = m->slide,
            .bytes = m->bytes,
            .address = m->info.address,
            .ptr_size = p->ptr_size,
            .file = c->files[m->info.file].info.path,
        };
        dsc_error walk_err = {{0}};
        if (dsc_slide_walk(&src, w.lo, w.hi, on_slot, &w, &walk_err))
            return walk_err.msg[0] ? plan_fail(p, "%s", walk_err.msg) : -1; /* else on_slot set p->err */
    }
    return 0;
}

int pass_pointers(struct dsc_plan *p)
{
    for (unsigned i = 0; i < p->nsegs; i++)
        if (p->segs[i].source >= 0 && walk_segment(p, &p->segs[i]))
            return -1;
    return 0;
}

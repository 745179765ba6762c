/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relrefs.c — Swift relative references out of the image, back in.
 *
 * The fields are those base/relref.h's shape proposes in the image's
 * sections. One is re-aimed only when its target (tag bits aside) is a
 * pointer slot in a non-executable mapping that no image holds — where
 * Apple's builder puts coalesced GOTs — and the caller knows the own GOT
 * slot bound to the same symbol; any other field is left as it is (random
 * bytes practically never name such a slot, and --verify counts a real
 * reference left outside). A field whose own slot is beyond its signed
 * 32 bits (an image spanning over 2 GiB) stays too, with a warning.
 */
#include "extract/relrefs.h"


#include "base/relref.h"
#include "index/symbols.h"

struct fix_ctx {
    struct dsc_plan *p;
    struct dsc_symbols *syms;
    dsc_own_slot_fn own;
    void *ctx;
};

static int fix_field(void *ctx, uint64_t field, uint64_t target)
{
    struct fix_ctx *x = ctx;
    uint64_t tag = target & DSC_RELREF_TAG_MASK, slot = target - tag, own;
    uint32_t v;
    if (plan_in_image(x->p, slot) || dsc_symbols_image_of(x->syms, slot) >= 0 || !(own = x->own(x->ctx, field, slot)))
        return 0;
    if (!dsc_relref_encode(field, own + tag, &v)) { /* left pointing outside: --verify counts it */
        plan_warn(x->p, "relative reference at 0x%llx cannot reach its own slot 0x%llx", (unsigned long long)field,
                  (unsigned long long)own);
        return 0;
    }
    uint8_t *out = plan_seg_bytes(x->p, field, 4);
    if (out)
        dsc_put32(out, v);
    x->p->stats.stubs_fixed++;
    return 0;
}

int dsc_relrefs_fix(struct dsc_plan *p, dsc_own_slot_fn own, void *ctx)
{
    struct fix_ctx x = {p, NULL, own, ctx};
    if (plan_symbols(p, &x.syms))
        return -1;
    for (unsigned i = 0; i < p->mo.nsects; i++) {
        const struct dsc_section *s = &p->mo.sects[i];
        bool symbolic;
        dsc_span bytes;
        if (dsc_relref_section(s->segname, s->sectname, &symbolic) && (s->flags & 0xFF) != S_ZEROFILL &&
            dsc_vm_span(p->cache, s->addr, s->size, &bytes))
            dsc_relref_each(bytes.data, bytes.size, s->addr, symbolic, fix_field, &x);
    }
    return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * swiftrel.c — Swift's 32-bit relative references to pointer slots, after
 * the builder moved segments apart.
 *
 * Apple's builder adjusts every DELTA_32 that ld64's split-seg info lists
 * and, when the target lies in a coalesced GOT section, aims it at the
 * cache-wide GOT entry instead (dyld-1042.1
 * cache-builder/NewAdjustDylibSegments.cpp adjustReferencesUsingInfoV2,
 * coalescedSectionData; unchanged through dyld-1378). ld64.lld writes no
 * split-seg info, so the fields are the ones base/relref.h's shape proposes
 * (__TEXT,__const, __swift5_*, 0x02 symbolic references in mangled names)
 * whose target, in the input dylib, is a pointer slot (bind or rebase) of
 * the image, tag bits aside. Such a field is rewritten to name the slot's
 * GOT twin (a bound __got slot with GOT uniquing) or the slot's cache
 * address, tag kept. Relative references to anything but a pointer slot
 * (other descriptors, strings) are within __TEXT, which moves as one
 * piece, and stay as linked.
 */
#include "bld.h"

#include <string.h>

#include "base/relref.h"

struct fix_ctx {
    struct cache *c;
    struct got_redirect *r;
    const struct image *img;
    uint64_t in_base, base; /* input and cache address of the section */
};

static int fix_field(void *ctx, uint64_t in_field, uint64_t in_target)
{
    struct fix_ctx *x = ctx;
    uint64_t tag = in_target & DSC_RELREF_TAG_MASK, slot, field;
    if (!image_reloc(x->img, in_target - tag, &slot) || !image_ptr_at(x->img, slot))
        return 0;
    field = x->base + (in_field - x->in_base);
    uint64_t twin = got_twin_at(x->r, slot);
    uint32_t v;
    if (!dsc_relref_encode(field, (twin ? twin : slot) + tag, &v))
        die("%s: relative reference at 0x%llx cannot reach 0x%llx", x->img->in_path, (unsigned long long)field,
            (unsigned long long)(twin ? twin : slot));
    dsc_put32(cache_bytes(x->c, field, 4), v);
    x->c->stats_relrefs += twin != 0;
    return 0;
}

void swiftrel_fix(struct cache *c, struct got_redirect *r, size_t image)
{
    const struct image *img = &c->images[image];
    for (unsigned k = 0; k < img->nsects; k++) {
        const struct sect *s = &img->sects[k];
        const struct seg *g = &img->segs[s->segi];
        bool symbolic;
        dsc_span bytes;
        struct fix_ctx x = {c, r, img, s->in_addr, 0};
        if (!dsc_relref_section(s->seg, s->name, &symbolic) || (s->flags & SECTION_TYPE) == S_ZEROFILL)
            continue;
        if (!image_reloc(img, s->in_addr, &x.base) ||
            !span_sub(img->file, g->in_fileoff + (s->in_addr - g->in_addr), s->size, &bytes))
            die("%s: section %s,%s is outside its segment", img->in_path, s->seg, s->name);
        dsc_relref_each(bytes.data, bytes.size, s->in_addr, symbolic, fix_field, &x);
    }
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_swiftrel.c — dsccheck: Swift's 32-bit relative references
 * (base/relref.h proposes the fields of each input) still name what they
 * named in the input dylib. A field whose input target is a pointer slot of
 * the image (tag bits aside) names, in the cache, that slot's new address
 * with the same tag, or, in the GOT-uniquing eras for a bound GOT slot, a GOT
 * twin holding the same pointer (got_twin: outside every image); every other
 * proposed field is byte for byte the input's.
 */
#include "check.h"

#include <stdio.h>

#include "base/relref.h"

struct field_ctx {
    const struct image *img;
    uint64_t in_base, base;
    const uint8_t *in_bytes;
    struct counts *n;
};

static int check_field(void *ctx, uint64_t in_field, uint64_t in_target)
{
    struct field_ctx *x = ctx;
    uint64_t tag = in_target & DSC_RELREF_TAG_MASK, slot, field = x->base + (in_field - x->in_base);
    uint32_t have = dsc_le32(vm(field, 4, "relative reference").data);
    uint32_t was = dsc_le32(x->in_bytes + (in_field - x->in_base));
    const struct ptr *p;
    if (!image_reloc(x->img, in_target - tag, &slot) || !(p = image_ptr_at(x->img, slot))) {
        if (have != was)
            die("%s: relative field at 0x%llx changed from 0x%x to 0x%x", x->img->cache_path,
                (unsigned long long)field, was, have);
        return 0;
    }
    uint64_t t = field + (uint64_t)(int64_t)(int32_t)have;
    bool twin = gots_uniqued && p->bind && p->target && got_in_section(x->img, in_target - tag);
    if (twin ? t - tag == slot || !got_twin(x->img, slot, t - tag, x->n) : t != slot + tag)
        die("%s: relative reference at 0x%llx names 0x%llx, not %s 0x%llx%+d", x->img->cache_path,
            (unsigned long long)field, (unsigned long long)t, twin ? "a GOT twin of" : "its slot",
            (unsigned long long)slot, (int)tag);
    x->n->relrefs++;
    return 0;
}

void check_swiftrel(struct counts *n)
{
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        for (unsigned k = 0; k < img->nsects; k++) {
            const struct sect *s = &img->sects[k];
            const struct seg *g = &img->segs[s->segi];
            bool symbolic;
            dsc_span in;
            struct field_ctx x = {img, s->in_addr, 0, NULL, n};
            if (!dsc_relref_section(s->seg, s->name, &symbolic) || (s->flags & SECTION_TYPE) == S_ZEROFILL)
                continue;
            if (!image_reloc(img, s->in_addr, &x.base) ||
                !span_sub(img->file, g->in_fileoff + (s->in_addr - g->in_addr), s->size, &in))
                die("%s: section %s,%s is outside its segment", img->in_path, s->seg, s->name);
            x.in_bytes = in.data;
            dsc_relref_each(in.data, in.size, s->in_addr, symbolic, check_field, &x);
        }
    }
}

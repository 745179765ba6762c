/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unwind.c — personality references of unwind information (base/unwind.h:
 * __unwind_info's personality array, __eh_frame CIE personality fields),
 * after the builder moved the image's segments apart.
 *
 * ld64 lists both in split-seg info (personality array entries as
 * DYLD_CACHE_ADJ_V2_IMAGE_OFF_32, the CIE field as DELTA_32, each to the
 * personality's __got slot), and Apple's builder adjusts each one; when the
 * slot's section is a coalesced GOT the reference names the cache-wide
 * entry instead (followed: dyld-1378 cache_builder/NewAdjustDylibSegments.cpp
 * adjustReferencesUsingInfoV2 with coalescedSectionData, adjustReference's
 * IMAGE_OFF_32 and DELTA_32 cases; the same since dyld-1042.1). In the
 * dyld-1042+ eras, whose GOT pass zeroes every own slot bound through a
 * dependency (got.c), that is how an unwinder still finds the personality.
 * ld64.lld writes no split-seg info, so the references come from the
 * sections themselves (base/unwind.c), read in the input dylib: each is
 * aimed at the slot's GOT twin (got_twin_at) or at the slot's new address.
 */
#include "bld.h"

struct each_ctx {
    const struct image *img;
    uint64_t in_base, base;   /* input and cache address of the section */
    uint64_t header;          /* cache address of the image's mach_header */
    unwind_ref_fn fn;
    void *ctx;
};

static int each_ref(void *ctx, uint64_t in_field, uint64_t in_slot, enum dsc_unwind_kind kind)
{
    struct each_ctx *x = ctx;
    uint64_t slot;
    if (!image_reloc(x->img, in_slot, &slot))
        die("%s: unwind reference at 0x%llx names 0x%llx, outside the image", x->img->in_path,
            (unsigned long long)in_field, (unsigned long long)in_slot);
    x->fn(x->ctx, x->img, (struct unwind_ref){x->base + (in_field - x->in_base), in_slot, slot, x->header, kind});
    return 0;
}

void unwind_each(const struct image *img, unwind_ref_fn fn, void *ctx)
{
    for (unsigned k = 0; k < img->nsects; k++) {
        const struct sect *s = &img->sects[k];
        dsc_span bytes;
        struct each_ctx x = {img, s->in_addr, 0, 0, fn, ctx};
        if (!dsc_unwind_section(s->seg, s->name))
            continue;
        uint64_t in_hdr = image_in_header(img);
        if (!image_reloc(img, s->in_addr, &x.base) || !image_reloc(img, in_hdr, &x.header) ||
            !image_in_bytes(img, s->in_addr, s->size, &bytes))
            die("%s: section %s,%s is outside its segment", img->in_path, s->seg, s->name);
        dsc_unwind_each(bytes.data, bytes.size, s->in_addr, s->name, in_hdr, each_ref, &x);
    }
}

struct fix_ctx {
    struct cache *c;
    struct got_redirect *r;
};

static void fix_ref(void *ctx, const struct image *img, struct unwind_ref u)
{
    struct fix_ctx *x = ctx;
    uint64_t twin = got_twin_at(x->r, u.slot);
    uint32_t v;
    if (!dsc_unwind_encode(u.kind, u.field, twin ? twin : u.slot, u.header, &v))
        die("%s: unwind reference at 0x%llx cannot reach 0x%llx", img->in_path, (unsigned long long)u.field,
            (unsigned long long)(twin ? twin : u.slot));
    dsc_put32(cache_bytes(x->c, u.field, 4), v);
}

void unwind_fix(struct cache *c, struct got_redirect *r, size_t image)
{
    struct fix_ctx x = {c, r};
    unwind_each(&c->images[image], fix_ref, &x);
}

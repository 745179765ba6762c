/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * universal.c — the stubs sub-caches of a universal cache (dyld-1042+).
 *
 * Each image's __stubs is copied into the TEXT_STUBS file that mirrors its
 * TEXT file, at the same offset. The customer copy branches straight to the
 * target (ADRP/ADD/BR), or loads the image's own pointer slot when the
 * target is beyond ADRP's reach; the development copy always loads the slot
 * (ADRP/LDR/BR). Both copies share one VM range, so every BL/B in __text to
 * the image's own stub is redirected to that address, and the original
 * __stubs stays in the image, unreferenced.
 */
#include "bld.h"
#include "base/insn.h"
#include "index/stubs.h"

#include <string.h>

#define STUB_SIZE 12
/* The TEXT_STUBS region mirroring the TEXT region holding `addr`. */
static struct region *stubs_mirror(struct cache *c, uint64_t addr)
{
    const struct region *text = region_of(c, addr);
    for (unsigned fi = 0; text && fi < c->nfiles; fi++) {
        const struct outfile *f = &c->files[fi];
        if (f->mirror_of >= 0 && &c->regions[c->files[f->mirror_of].regions[0]] == text)
            return &c->regions[f->regions[0]];
    }
    return NULL;
}

/* The stub at `pc` reaching `addr` in `form`. */
static void put_stub(uint8_t *at, uint64_t pc, uint64_t addr, enum dsc_stub_form form, const struct image *img)
{
    if (!dsc_stub_encode_form(form, pc, addr, at))
        die("%s: stub copy at 0x%llx cannot reach 0x%llx", img->in_path, (unsigned long long)pc,
            (unsigned long long)addr);
}

/* Copies of one image's stubs; returns how many were made. */
static size_t copy_stubs(struct cache *c, const struct image *img, const struct sect *stubs, uint64_t saddr)
{
    struct region *mirror = stubs_mirror(c, saddr);
    const struct region *text = region_of(c, saddr);
    if (!mirror)
        die("%s: no TEXT_STUBS file mirrors its __TEXT", img->in_path);
    size_t n = 0;
    for (uint64_t off = 0; off + STUB_SIZE <= stubs->size; off += STUB_SIZE) {
        struct dsc_stub st;
        if (!dsc_stub_decode(DSC_ARCH_ARM64, cache_bytes(c, saddr + off, STUB_SIZE), STUB_SIZE, saddr + off, false,
                             &st) || st.form != DSC_STUB_ARM64)
            die("%s: stub at 0x%llx is not ADRP/LDR/BR", img->in_path, (unsigned long long)(saddr + off));
        uint64_t slot = st.slot;
        const struct ptr *p = image_ptr_at(img, slot);
        uint64_t copy = mirror->addr + (saddr + off - text->addr), at = copy - mirror->addr;
        /* the customer copy: direct where the target is in ADRP's reach */
        if (!p || !p->target || !dsc_stub_encode_form(DSC_STUB_ARM64_DIRECT, copy, p->target, mirror->mem + at))
            put_stub(mirror->mem + at, copy, slot, DSC_STUB_ARM64, img);
        put_stub(mirror->dev_mem + at, copy, slot, DSC_STUB_ARM64, img);
        n++;
    }
    return n;
}

/* BL/B from __text into the image's __stubs go to the copies instead. */
struct stub_copies {
    uint64_t stubs, size;   /* the image's __stubs */
    uint64_t text, mirror;  /* its TEXT region and the TEXT_STUBS one mirroring it */
};

static bool to_stub_copy(void *ctx, uint64_t target, uint64_t *to)
{
    const struct stub_copies *sc = ctx;
    if (target - sc->stubs >= sc->size)
        return false;
    *to = sc->mirror + (target - sc->text);
    return true;
}

static void redirect_calls(struct cache *c, const struct image *img, const struct sect *stubs, uint64_t saddr)
{
    struct stub_copies sc = {saddr, stubs->size, region_of(c, saddr)->addr, stubs_mirror(c, saddr)->addr};
    c->stats_redirected += redirect_text_branches(c, img, to_stub_copy, &sc, true);
}

void universal_stubs(struct cache *c)
{
    if (!c->opt.universal)
        return;
    for (unsigned i = 0; i < c->nregions; i++)
        if (c->regions[i].flags & 8)    /* TEXT_STUBS */
            c->regions[i].dev_mem = xcalloc(1, c->regions[i].size);
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct sect *stubs = image_sect(img, "__TEXT", "__stubs");
        uint64_t saddr;
        if (!stubs || stubs->reserved2 != STUB_SIZE || !image_reloc(img, stubs->in_addr, &saddr))
            continue;
        c->stats_stub_copies += copy_stubs(c, img, stubs, saddr);
        redirect_calls(c, img, stubs, saddr);
    }
}

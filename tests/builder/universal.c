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

#include <string.h>

#define STUB_SIZE 12
#define BR_X16 0xD61F0200u

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

static void put_stub(uint8_t *at, uint64_t pc, uint64_t addr, bool load, const struct image *img)
{
    uint32_t adrp = 0x90000010u;    /* ADRP X16 */
    if (!arm64_set_adrp_page(&adrp, pc, addr))
        die("%s: stub copy at 0x%llx cannot reach 0x%llx", img->in_path, (unsigned long long)pc,
            (unsigned long long)addr);
    uint32_t second = load ? 0xF9400210u | (uint32_t)((addr & 0xFFF) / 8) << 10   /* LDR X16, [X16, #off] */
                           : 0x91000210u | (uint32_t)(addr & 0xFFF) << 10;         /* ADD X16, X16, #off */
    dsc_put32(at, adrp);
    dsc_put32(at + 4, second);
    dsc_put32(at + 8, BR_X16);
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
        const uint8_t *stub = cache_bytes(c, saddr + off, STUB_SIZE);
        uint32_t adrp = dsc_le32(stub), ldr = dsc_le32(stub + 4);
        if (!arm64_is_adrp(adrp) || (ldr & 0xFFC00000u) != 0xF9400000u || dsc_le32(stub + 8) != BR_X16)
            die("%s: stub at 0x%llx is not ADRP/LDR/BR", img->in_path, (unsigned long long)(saddr + off));
        uint64_t slot = arm64_adrp_page(adrp, saddr + off) + ((ldr >> 10) & 0xFFF) * 8;
        const struct ptr *p = image_ptr_at(img, slot);
        uint64_t copy = mirror->addr + (saddr + off - text->addr), at = copy - mirror->addr;
        uint32_t probe = 0x90000010u;
        bool direct = p && p->target && arm64_set_adrp_page(&probe, copy, p->target);
        put_stub(mirror->mem + at, copy, direct ? p->target : slot, !direct, img);
        put_stub(mirror->dev_mem + at, copy, slot, true, img);
        n++;
    }
    return n;
}

/* BL/B from __text into the image's __stubs go to the copies instead. */
static void redirect_calls(struct cache *c, const struct image *img, const struct sect *stubs, uint64_t saddr)
{
    const struct sect *text = image_sect(img, "__TEXT", "__text");
    uint64_t taddr;
    if (!text || !image_reloc(img, text->in_addr, &taddr))
        return;
    const struct region *tr = region_of(c, saddr);
    const struct region *mirror = stubs_mirror(c, saddr);
    uint8_t *code = cache_bytes(c, taddr, text->size);
    for (uint64_t off = 0; off + 4 <= text->size; off += 4) {
        uint32_t i = dsc_le32(code + off);
        if ((i & 0x7C000000u) != 0x14000000u)
            continue;
        uint64_t to = taddr + off + (uint64_t)((int64_t)(int32_t)((i & 0x3FFFFFFu) << 6) >> 4);
        if (to - saddr >= stubs->size)
            continue;
        int64_t rel = (int64_t)(mirror->addr + (to - tr->addr)) - (int64_t)(taddr + off);
        if (rel < -(1 << 27) || rel >= (1 << 27))
            die("%s: call at 0x%llx cannot reach its stub copy", img->in_path, (unsigned long long)(taddr + off));
        dsc_put32(code + off, (i & 0xFC000000u) | ((uint32_t)(rel >> 2) & 0x3FFFFFFu));
        c->stats_redirected++;
    }
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

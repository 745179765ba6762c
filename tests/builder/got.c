/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * got.c — GOT uniquing (dyld-940+ eras), as Apple's new builder does.
 *
 * Every bound slot of every image's non-lazy pointer sections (__got,
 * __auth_got: S_NON_LAZY_SYMBOL_POINTERS) gets one cache-wide twin per
 * distinct (target, pointer-auth data), in a cache-owned area after the
 * images of the same mapping (DATA_CONST / AUTH_CONST). Code that loads
 * from the image's own slot — ADRP+LDR where the LDR is the ADRP's only use,
 * LDR-literal (widened to ADRP+LDR beyond reach), x86_64 RIP-relative
 * operands — is redirected to
 * the twin, and so are Swift's 32-bit relative references to the slot
 * (swiftrel.c, through got_twin_at), and unwind information's personality
 * references (unwind.c). The images' own GOT sections stay,
 * retyped S_REGULAR (loadcmds.c). Apple keys by symbol and dylib; with binds resolved, the
 * target address is the same key.
 *
 * From dyld-1042.1 (our 0x200 header era; followed: dyld-1378
 * NewSharedCacheBuilder.cpp parseGOTs/calculateUniqueGOTs and
 * CacheDylib.cpp bindWithOpcodeFixups, same rule in dyld-1042.1) every
 * bound slot of __DATA_CONST,__got and __AUTH_CONST,__auth_got that binds
 * through a dependency (library ordinal > 0) without an addend gets its
 * twin whether or not code loads it, and the own slot is written 0 and
 * left out of slide info ("NULL out this entry"): only the twin is live.
 * Rebases, flat/weak lookups and missing weak imports stay as they were.
 * With --coalesce-auth-ptr (dyld-1231.3+, where calculateUniqueGOTs adds
 * UniquedGOTKind::authPtr) __AUTH_CONST,__auth_ptr is treated the same.
 */
#include "bld.h"
#include "base/insn.h"

#include <stdlib.h>
#include <string.h>

struct twin {
    struct ptr key;     /* target and auth data; addr = the twin slot */
    size_t owner;       /* image whose ptrs get the twin slot */
};

struct got_table {
    struct twin *slots; /* open addressing; key.addr == 0 means empty */
    size_t cap, count;
};

bool got_section(const struct sect *x) { return (x->flags & SECTION_TYPE) == S_NON_LAZY_SYMBOL_POINTERS; }

bool got_in_section(const struct image *img, uint64_t in_addr)
{
    for (unsigned k = 0; k < img->nsects; k++)
        if (got_section(&img->sects[k]) && in_addr - img->sects[k].in_addr < img->sects[k].size)
            return true;
    return false;
}

/* __AUTH_CONST,__auth_ptr (arm64e; S_REGULAR, no indirect-symbol entries:
 * clang's signed pointer slots), coalesced from dyld-1231.3 on. */
static bool auth_ptr_section(const struct cache *c, const struct sect *x)
{
    return c->opt.coalesce_auth_ptr && strcmp(x->seg, "__AUTH_CONST") == 0 && strcmp(x->name, "__auth_ptr") == 0;
}

/* Sections whose bound slots get twins. */
static bool coalesced_section(const struct cache *c, const struct sect *x)
{
    return got_section(x) || auth_ptr_section(c, x);
}

/* The sections dyld-1042.1+ coalesces and zeroes, by segment and name. */
static bool zeroing_section(const struct cache *c, const struct sect *x)
{
    return (strcmp(x->seg, "__DATA_CONST") == 0 && strcmp(x->name, "__got") == 0) ||
           (strcmp(x->seg, "__AUTH_CONST") == 0 && strcmp(x->name, "__auth_got") == 0) || auth_ptr_section(c, x);
}

/* The image's section holding cache address `addr`, or NULL. */
static const struct sect *sect_at(const struct image *img, uint64_t addr)
{
    for (unsigned k = 0; k < img->nsects; k++) {
        uint64_t a;
        if (image_reloc(img, img->sects[k].in_addr, &a) && addr - a < img->sects[k].size)
            return &img->sects[k];
    }
    return NULL;
}

bool got_auth_got_at(const struct image *img, uint64_t addr)
{
    const struct sect *x = sect_at(img, addr);
    return x && strcmp(x->seg, "__AUTH_CONST") == 0 && strcmp(x->name, "__auth_got") == 0;
}

bool got_zeroed(const struct cache *c, const struct image *img, const struct ptr *p)
{
    const struct sect *x;
    return c->opt.header_size >= 0x200 && p->bind && p->via_dep && p->target && (x = sect_at(img, p->addr)) &&
           zeroing_section(c, x);
}

void got_plan(struct cache *c)
{
    if (c->opt.header_size < 0x1c8)
        return;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        for (unsigned k = 0; k < img->nsects; k++)
            if (coalesced_section(c, &img->sects[k]))
                c->got_area_size[img->segs[img->sects[k].segi].kind] += dsc_align_up(img->sects[k].size, 8);
    }
    for (unsigned k = 0; k < RK_COUNT; k++)
        c->got_uniquing |= c->got_area_size[k] != 0;
}

static uint64_t hash_key(const struct ptr *p)
{
    uint64_t h = p->target * 0x9E3779B97F4A7C15ULL;
    return h ^ ((uint64_t)p->auth << 1 | (uint64_t)p->key << 2 | (uint64_t)p->addr_div << 4) ^
           (uint64_t)p->diversity << 8;
}

static bool same_key(const struct ptr *a, const struct ptr *b)
{
    return a->target == b->target && a->auth == b->auth && a->key == b->key && a->addr_div == b->addr_div &&
           a->diversity == b->diversity;
}

static void table_grow(struct got_table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 256;
    struct twin *slots = xcalloc(ncap, sizeof *slots);
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].key.addr)
            continue;
        size_t j = hash_key(&t->slots[i].key) & (ncap - 1);
        while (slots[j].key.addr)
            j = (j + 1) & (ncap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = ncap;
}

/* The twin of bound slot `p` (of image `owner`, in a `kind` mapping). Twins
 * keep the slot's auth data; address diversity then names the twin. */
static uint64_t twin_of(struct cache *c, struct got_table *t, const struct ptr *p, size_t owner,
                        enum region_kind kind)
{
    if ((t->count + 1) * 2 > t->cap)
        table_grow(t);
    struct ptr key = *p;
    key.addr = 0;
    size_t j = hash_key(&key) & (t->cap - 1);
    for (; t->slots[j].key.addr; j = (j + 1) & (t->cap - 1)) {
        struct ptr k = t->slots[j].key;
        k.addr = 0;
        if (same_key(&k, &key) && region_of(c, t->slots[j].key.addr)->kind == kind)
            return t->slots[j].key.addr;
    }
    if (c->got_used[kind] + c->ai->ptr_size > c->got_area_size[kind])
        die("internal: GOT area of mapping kind %d is full", kind);
    key.addr = c->got_addr[kind] + c->got_used[kind];
    c->got_used[kind] += c->ai->ptr_size;
    t->slots[j] = (struct twin){key, owner};
    t->count++;
    return key.addr;
}

/* A bound, non-null pointer in one of the image's GOT sections, or NULL. */
static const struct ptr *got_slot(const struct cache *c, const struct image *img, uint64_t addr,
                                  enum region_kind *kind)
{
    const struct ptr *p = image_ptr_at(img, addr);
    const struct sect *x;
    if (!p || !p->bind || !p->target || !(x = sect_at(img, addr)) || !coalesced_section(c, x))
        return NULL;
    *kind = img->segs[x->segi].kind;
    return p;
}

struct got_redirect {
    struct cache *c;
    struct got_table *t;
    size_t image;
};

uint64_t got_twin_at(struct got_redirect *r, uint64_t slot)
{
    enum region_kind kind;
    const struct ptr *p;
    if (!r->c->got_uniquing || !(p = got_slot(r->c, &r->c->images[r->image], slot, &kind)))
        return 0;
    return twin_of(r->c, r->t, p, r->image, kind);
}

/* LDR Xt|Wt literal of an own GOT slot (lld's hint form of ADRP+LDR):
 * re-aimed at the twin when in reach, else widened back into ADRP+LDR of
 * the twin over the NOP beside it. A shared-region dylib never has this
 * form: ld64-956.6 OutputFile.cpp applies no optimisation hint when it
 * writes split-seg v2, so the load stays ADRP+LDR, which dyld-1378
 * NewAdjustDylibSegments.cpp adjustReferencesUsingInfoV2 (same in
 * dyld-1042.1) re-aims at the coalesced GOT through its ARM64_ADRP and
 * ARM64_OFF12 entries; split-seg has no kind for an LDR literal, and the
 * own slot is zeroed all the same. Widening gives that ld64 form; without
 * a NOP to widen over, a load of a slot that is not zeroed stays. */
static void redirect_literal(struct got_redirect *r, const struct image *img, uint8_t *code, uint64_t size,
                             uint64_t at, uint64_t pc)
{
    struct cache *c = r->c;
    uint32_t i = dsc_le32(code + at);
    enum region_kind kind;
    const struct ptr *p = got_slot(c, img, dsc_a64_ldr_literal_target(i, pc), &kind);
    if (!p)
        return;
    uint64_t twin = twin_of(c, r->t, p, r->image, kind);
    if (dsc_a64_ldr_literal_encode(c->ai->ptr_size, dsc_a64_rd(i), pc, twin, &i))
        dsc_put32(code + at, i);
    else if (code_widen_literal(code, size, at, pc, twin))
        ;
    else if (got_zeroed(c, img, p))
        die("%s: GOT load at 0x%llx cannot reach 0x%llx and has no NOP to widen into ADRP+LDR", img->in_path,
            (unsigned long long)pc, (unsigned long long)twin);
    else
        return; /* the own slot keeps its pointer: the load stays */
    c->stats_gotloads++;
}

/* ADRP whose only use is an LDR of an own GOT slot: both re-aimed at the twin. */
static void redirect_pair(struct got_redirect *r, const struct image *img, uint8_t *code, uint64_t size,
                          uint64_t at, uint64_t pc)
{
    struct cache *c = r->c;
    uint32_t adrp = dsc_le32(code + at), ldr, off;
    unsigned rd, rt, rn, sz;
    enum region_kind kind;
    const struct ptr *p;
    long k = arm64_sole_load(code, size, at, c->ai->ptr_size);
    if (k < 0 || !dsc_a64_is_adrp(adrp, &rd) || !dsc_a64_is_ldr_imm(ldr = dsc_le32(code + k), &rt, &rn, &off, &sz) ||
        !(p = got_slot(c, img, dsc_a64_adrp_target(adrp, pc) + off, &kind)))
        return;
    uint64_t twin = twin_of(c, r->t, p, r->image, kind);
    if (!dsc_a64_adrp_encode(rd, pc, twin, &adrp) || !dsc_a64_ldr_imm_encode(sz, rt, rn, (uint32_t)(twin & 0xFFF), &ldr))
        return;
    dsc_put32(code + at, adrp);
    dsc_put32(code + k, ldr);
    c->stats_gotloads++;
}

/* ld64's arm64e stub (ADRP X17 / ADD X17, X17, #slot / LDR X16, [X17] /
 * BRAA X16, X17, ld64-956.6 stub_arm64e.hpp) of an own __auth_got slot:
 * the ADRP and ADD name the twin, which BRAA then also takes as the
 * address diversity the twin is signed with. Followed: dyld-1042.1
 * NewAdjustDylibSegments.cpp adjustReferencesUsingInfoV2, where every
 * split-seg reference (the stub's ADRP and ADD among them) into a
 * coalesced GOT goes to the cache-wide slot. */
static void redirect_auth_stub(struct got_redirect *r, const struct image *img, uint8_t *code, uint64_t size,
                               uint64_t at, uint64_t pc)
{
    struct cache *c = r->c;
    uint32_t adrp = dsc_le32(code + at), add, off;
    unsigned rd, rt, rn;
    enum region_kind kind;
    const struct ptr *p;
    if (at + 16 > size || !dsc_a64_is_adrp(adrp, &rd) || rd != A64_X17 ||
        !dsc_a64_is_add_imm(dsc_le32(code + at + 4), &rt, &rn, &off) || rt != A64_X17 || rn != A64_X17 ||
        dsc_le32(code + at + 8) != A64_LDR_X16_X17 || dsc_le32(code + at + 12) != A64_BRAA_X16_X17 ||
        !(p = got_slot(c, img, dsc_a64_adrp_target(adrp, pc) + off, &kind)))
        return;
    uint64_t twin = twin_of(c, r->t, p, r->image, kind);
    if (!dsc_a64_adrp_encode(A64_X17, pc, twin, &adrp) ||
        !dsc_a64_add_imm_encode(A64_X17, A64_X17, (uint32_t)(twin & 0xFFF), &add))
        return;
    dsc_put32(code + at, adrp);
    dsc_put32(code + at + 4, add);
    c->stats_gotloads++;
}

static void arm64_redirect(struct got_redirect *r, const struct image *img, const struct sect *x)
{
    uint64_t base;
    unsigned rt, size;
    if (!image_reloc(img, x->in_addr, &base))
        return;
    uint8_t *code = cache_bytes(r->c, base, x->size);
    for (uint64_t at = 0; at + 4 <= x->size; at += 4) {
        uint32_t i = dsc_le32(code + at);
        if (dsc_a64_is_ldr_literal(i, &rt, &size) && size == r->c->ai->ptr_size)
            redirect_literal(r, img, code, x->size, at, base + at);
        else if (dsc_a64_is_adrp(i, NULL)) {
            redirect_pair(r, img, code, x->size, at, base + at);
            redirect_auth_stub(r, img, code, x->size, at, base + at);
        }
    }
}

static bool x86_redirect(void *ctx, const struct image *img, uint64_t in_target, uint64_t target, uint64_t *to)
{
    (void)in_target;
    struct got_redirect *r = ctx;
    enum region_kind kind;
    const struct ptr *p = got_slot(r->c, img, target, &kind);
    if (!p)
        return false;
    *to = twin_of(r->c, r->t, p, r->image, kind);
    r->c->stats_gotloads++;
    return true;
}

static int cmp_ptr(const void *a, const void *b)
{
    const struct ptr *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* dyld-1042.1+: twins for every slot the era coalesces, loaded or not. */
static void twin_all(struct cache *c, struct got_table *t)
{
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        enum region_kind kind;
        for (size_t k = 0; k < img->nptrs; k++)
            if (got_zeroed(c, img, &img->ptrs[k]) && got_slot(c, img, img->ptrs[k].addr, &kind))
                twin_of(c, t, &img->ptrs[k], i, kind);
    }
}

/* ... and the own slots become 0, outside slide info. */
static void zero_own_slots(struct cache *c)
{
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        size_t n = 0;
        for (size_t k = 0; k < img->nptrs; k++) {
            if (!got_zeroed(c, img, &img->ptrs[k])) {
                img->ptrs[n++] = img->ptrs[k];
                continue;
            }
            memset(cache_bytes(c, img->ptrs[k].addr, c->ai->ptr_size), 0, c->ai->ptr_size);
            c->stats_gotzeroed++;
        }
        img->nptrs = n;
    }
}

void got_unique(struct cache *c)
{
    struct got_table t = {0};
    bool x86 = c->opt.arch == ARCH_X86_64;
    twin_all(c, &t);
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        struct got_redirect r = {c, &t, i};
        for (unsigned k = 0; k < img->nsects && c->got_uniquing; k++) {
            const struct sect *x = &img->sects[k];
            if (img->segs[x->segi].kind != RK_TEXT || !(x->flags & 0x80000400u))
                continue;
            if (x86)
                x86_each_rip(c, img, x, x86_redirect, &r);
            else
                arm64_redirect(&r, img, x);
        }
        swiftrel_fix(c, &r, i); /* every era: the references move with their segments */
        unwind_fix(c, &r, i);
    }
    if (!c->got_uniquing)
        return;
    zero_own_slots(c);
    /* Twins are pointers too: slide info must name them. */
    for (size_t j = 0; j < t.cap; j++) {
        if (!t.slots[j].key.addr)
            continue;
        struct image *img = &c->images[t.slots[j].owner];
        img->ptrs = xrealloc(img->ptrs, (img->nptrs + 1) * sizeof *img->ptrs);
        img->ptrs[img->nptrs++] = t.slots[j].key;
    }
    for (size_t i = 0; i < c->nimages; i++)
        if (c->images[i].nptrs)
            qsort(c->images[i].ptrs, c->images[i].nptrs, sizeof *c->images[i].ptrs, cmp_ptr);
    free(t.slots);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * selloads.c — selector loads become address computations of the uniqued
 * string (dyld-940+ caches, arm64/arm64e).
 *
 * Followed: dyld-1378 cache_builder/CacheDylib.cpp optimizeLoadsFromConstants
 * with forEachReferenceToASelRef. Apple's builder takes from the dylib's
 * split-seg info (v2) every ADRP and every OFF12 (LDR) instruction of
 * __TEXT,__text that refers to a selref of __DATA*,__objc_selrefs, per
 * selref; when the selref points into the selector strings chunk and each
 * of them is an ADRP or a 64-bit integer LDR Xt, [Xn, #off], every ADRP is
 * re-pointed at the string's page and every LDR becomes
 * ADD Xt, Xn, #string@PAGEOFF. All references are rewritten, wherever they
 * stand: hoisted out of loops, one ADRP feeding several loads, loads on
 * both sides of a branch.
 *
 * lld writes no split-seg info, so the ADRP/LDR pairs come from register
 * data flow over each function (libdsc's base/a64flow.c, bounded by
 * LC_FUNCTION_STARTS, skipping LC_DATA_IN_CODE). An ADRP is rewritten with
 * all its users when it does not escape (a64flow.h), every user is such an
 * LDR of a selref whose string is in the selector buffer, and their strings
 * share one page (one ADRP feeding loads of several selrefs, which only
 * hand-written code does; Apple's per-selref grouping would break that case
 * when the strings' pages differ, we leave it). Anything else stays a load
 * of the selref, which is still correct. lld's hint form, LDR Xt literal
 * of a selref, becomes ADR Xt of the string when it is in reach.
 */
#include "bld.h"
#include "base/a64flow.h"
#include "base/insn.h"

#include <stdlib.h>
#include <string.h>

static bool in_selrefs(const struct image *img, uint64_t addr)
{
    const struct sect *x = image_sect(img, "__DATA", "__objc_selrefs");
    uint64_t a;
    if (!x)
        x = image_sect(img, "__DATA_CONST", "__objc_selrefs");
    return x && image_reloc(img, x->in_addr, &a) && addr - a < x->size;
}

/* The uniqued string a selref slot (cache address) points at, or 0. */
static uint64_t selref_string(const struct cache *c, const struct image *img, uint64_t slot)
{
    const struct ptr *p = image_ptr_at(img, slot);
    if (!p || !in_selrefs(img, slot) || p->target - c->selbuf_addr >= c->selbuf_size)
        return 0;
    return p->target;
}

/* ---- ADRP + LDR, found by data flow ---- */

struct job {
    struct cache *c;
    const struct image *img;
    uint8_t *code;              /* the section's bytes in the cache */
    uint64_t addr;              /* their address */
    uint64_t *page;             /* per ADRP of the function: its strings' page, or a bad mark */
    size_t cap;
};

#define NO_PAGE UINT64_MAX      /* no user seen yet */
#define BAD_PAGE (UINT64_MAX - 1)

/* What user i of ADRP a needs: the page of its string, or BAD_PAGE. */
static uint64_t user_page(const struct job *j, const struct dsc_a64_func *f, uint32_t i)
{
    uint32_t w = dsc_le32(f->code + (uint64_t)i * 4), off;
    unsigned rt, rn, size;
    uint32_t adrp = dsc_le32(f->code + (uint64_t)f->adrp[i] * 4);
    if (!dsc_a64_is_ldr_imm(w, &rt, &rn, &off, &size) || size != 8)
        return BAD_PAGE;
    uint64_t s = selref_string(j->c, j->img, dsc_a64_adrp_target(adrp, f->pc + (uint64_t)f->adrp[i] * 4) + off);
    return s ? s & ~0xFFFull : BAD_PAGE;
}

static void rewrite_user(struct job *j, const struct dsc_a64_func *f, uint32_t i)
{
    uint8_t *p = j->code + (f->pc - j->addr) + (uint64_t)i * 4;
    uint32_t w = dsc_le32(p), adrp = dsc_le32(f->code + (uint64_t)f->adrp[i] * 4), off, add;
    unsigned rt, rn, size;
    dsc_a64_is_ldr_imm(w, &rt, &rn, &off, &size);
    uint64_t s = selref_string(j->c, j->img, dsc_a64_adrp_target(adrp, f->pc + (uint64_t)f->adrp[i] * 4) + off);
    if (!dsc_a64_add_imm_encode(rt, rn, (uint32_t)(s & 0xFFF), &add))
        die("internal: selector load at 0x%llx", (unsigned long long)(f->pc + (uint64_t)i * 4));
    dsc_put32(p, add);
    j->c->stats_selloads++;
}

static int on_function(void *ctx, const struct dsc_a64_func *f)
{
    struct job *j = ctx;
    if (f->n > j->cap) {
        j->page = xrealloc(j->page, f->n * sizeof *j->page);
        j->cap = f->n;
    }
    for (uint32_t i = 0; i < f->n; i++)
        j->page[i] = NO_PAGE;
    for (uint32_t i = 0; i < f->n; i++) {
        uint32_t a = f->adrp[i];
        if (a == DSC_A64_NO_ADRP || j->page[a] == BAD_PAGE)
            continue;
        uint64_t pg = user_page(j, f, i);
        j->page[a] = j->page[a] == NO_PAGE || j->page[a] == pg ? pg : BAD_PAGE;
    }
    /* users first: they read their ADRP's old page */
    for (uint32_t i = 0; i < f->n; i++) {
        uint32_t a = f->adrp[i];
        if (a != DSC_A64_NO_ADRP && !f->escaped[a] && j->page[a] < BAD_PAGE)
            rewrite_user(j, f, i);
    }
    for (uint32_t a = 0; a < f->n; a++) {
        if (f->escaped[a] || j->page[a] >= BAD_PAGE)
            continue;
        uint8_t *p = j->code + (f->pc - j->addr) + (uint64_t)a * 4;
        uint32_t w;
        if (!dsc_a64_adrp_encode(dsc_a64_rd(dsc_le32(p)), f->pc + (uint64_t)a * 4, j->page[a], &w))
            die("%s: ADRP at 0x%llx cannot reach its selector", j->img->in_path,
                (unsigned long long)(f->pc + (uint64_t)a * 4));
        dsc_put32(p, w);
    }
    return 0;
}

/* lld's hint form of a selref load, LDR Xt literal, becomes ADR Xt of the
 * string when it is within +-1 MiB (else it stays a load). */
static void rewrite_literal_loads(struct cache *c, const struct image *img, uint8_t *code, uint64_t base,
                                  uint64_t size)
{
    for (uint64_t at = 0; at + 4 <= size; at += 4) {
        uint32_t w = dsc_le32(code + at), adr;
        unsigned rt, lsize;
        if (!dsc_a64_is_ldr_literal(w, &rt, &lsize) || lsize != 8)
            continue;
        uint64_t s = selref_string(c, img, dsc_a64_ldr_literal_target(w, base + at));
        if (!s || !dsc_a64_adr_encode(rt, base + at, s, &adr))
            continue;
        dsc_put32(code + at, adr);
        c->stats_selloads++;
    }
}

void objc_rewrite_selector_loads(struct cache *c)
{
    if (!c->selectors || c->ai->ptr_size != 8 || strcmp(c->ai->name, "x86_64") == 0)
        return;
    struct job j = {.c = c};
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct sect *x = image_sect(img, "__TEXT", "__text");
        if (!x || !image_reloc(img, x->in_addr, &j.addr))
            continue;
        j.img = img;
        j.code = cache_bytes(c, j.addr, x->size);
        struct dsc_a64_code code = {.bytes = {j.code, x->size}, .addr = j.addr, .text_addr = img->segs[0].addr};
        if (img->fstarts_size)
            span_sub(img->file, img->fstarts_off, img->fstarts_size, &code.fstarts);
        if (img->dic_size)
            span_sub(img->file, img->dic_off, img->dic_size, &code.dic);
        if (dsc_a64_each_function(&code, on_function, &j))
            die("out of memory");
        rewrite_literal_loads(c, img, j.code, j.addr, x->size);
    }
    free(j.page);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * selloads.c — selector loads become address computations of the uniqued
 * string (dyld-940+ caches, arm64/arm64e).
 *
 * Followed: dyld-1378 cache_builder/CacheDylib.cpp optimizeLoadsFromConstants
 * with forEachReferenceToASelRef (the same in dyld-1042.1). Apple's builder
 * takes from the dylib's split-seg info (v2) every ADRP and every OFF12
 * instruction of __TEXT,__text that refers to a selref of
 * __DATA*,__objc_selrefs and files them by selref. Per selref, all or
 * none: when its string is in the selector strings chunk, at least one
 * ADRP and one LDR refer to it, every ADRP can reach the string's page and
 * every OFF12 is a 64-bit integer LDR Xt, [Xn, #off] (an ADD, a 32-bit or
 * FP load, anything else, and the selref keeps all its loads), a second
 * pass re-points every ADRP at the string's page and makes every LDR
 * ADD Xt, Xn, #string@PAGEOFF, wherever they stand: hoisted out of loops,
 * one ADRP feeding several loads, loads on both sides of a branch, ADRPs
 * on both arms of a branch meeting at one load.
 *
 * lld writes no split-seg info, so the references come from register data
 * flow over each function (libdsc's base/a64flow.c, bounded by
 * LC_FUNCTION_STARTS, skipping LC_DATA_IN_CODE): a group of ADRPs whose
 * pages meet at their users stands for the ADRPs split-seg would tie to
 * the selref those users load. A group ties its selrefs together: it is
 * rewritten only when it does not escape (a64flow.h: its page reaches
 * nothing the flow cannot see) and every user is such an LDR of a selref
 * whose string is in the chunk, all strings on one page; otherwise each
 * selref it loads is marked bad, and a bad selref is rewritten nowhere in
 * the image (Apple's all or none), which in turn stops every other group
 * loading it. Compiled code has one selref per group, so this is Apple's
 * rule exactly; a hand-written ADRP feeding loads of several selrefs
 * (split-seg would tie it to one of them only, and Apple's builder would
 * then break the others' loads) is rewritten only when their strings share
 * a page. lld's hint form of a selref load, LDR Xt literal, is no split-seg
 * kind; it becomes ADR Xt of the string when in reach, under the same all
 * or none rule (out of reach, its selref is bad).
 */
#include "bld.h"
#include "base/a64flow.h"
#include "base/insn.h"

#include <stdlib.h>
#include <string.h>

/* One instruction to rewrite, and the group it stands or falls with. */
enum ref_kind { REF_ADRP, REF_LDR, REF_LITERAL };

struct ref {
    uint64_t group;             /* image-wide group number */
    uint64_t pc;                /* cache address of the instruction */
    uint64_t slot;              /* selref it loads (REF_LDR, REF_LITERAL) */
    uint64_t string;            /* the selector (REF_ADRP: its page) */
    enum ref_kind kind;
};

struct job {
    struct cache *c;
    const struct image *img;
    uint8_t *code;              /* the section's bytes in the cache */
    uint64_t addr;              /* their address */
    uint64_t sel_addr, sel_size; /* the image's __objc_selrefs in the cache */
    uint8_t *bad;               /* per selref slot: rewritten nowhere */
    struct ref *refs;
    size_t nrefs, refs_cap;
    uint64_t next_group;        /* group numbers handed out so far */
    uint64_t *page;             /* per instruction of the function (groups): strings' page or a mark */
    size_t cap;
};

#define NO_PAGE UINT64_MAX      /* no user seen yet */
#define BAD_PAGE (UINT64_MAX - 1) /* a user that is no selref load, or the group escapes */

/* The image's __objc_selrefs (Apple: __DATA*; ours are in these two). */
static bool selrefs_sect(const struct image *img, uint64_t *addr, uint64_t *size)
{
    const struct sect *x = image_sect(img, "__DATA", "__objc_selrefs");
    if (!x)
        x = image_sect(img, "__DATA_CONST", "__objc_selrefs");
    *size = x ? x->size : 0;
    return x && image_reloc(img, x->in_addr, addr);
}

static bool is_selref(const struct job *j, uint64_t addr) { return addr - j->sel_addr < j->sel_size; }

static void mark_bad(struct job *j, uint64_t slot) { j->bad[(slot - j->sel_addr) / 8] = 1; }

static bool is_bad(const struct job *j, uint64_t slot) { return j->bad[(slot - j->sel_addr) / 8]; }

/* The uniqued string a selref slot points at, or 0 (not in the chunk). */
static uint64_t selref_string(const struct job *j, uint64_t slot)
{
    const struct ptr *p = slot % 8 == 0 ? image_ptr_at(j->img, slot) : NULL;
    if (!p || p->target - j->c->selbuf_addr >= j->c->selbuf_size)
        return 0;
    return p->target;
}

static void add_ref(struct job *j, uint64_t group, uint64_t pc, uint64_t slot, uint64_t string, enum ref_kind kind)
{
    if (j->nrefs == j->refs_cap) {
        j->refs_cap = j->refs_cap ? 2 * j->refs_cap : 64;
        j->refs = xrealloc(j->refs, j->refs_cap * sizeof *j->refs);
    }
    j->refs[j->nrefs++] = (struct ref){group, pc, slot, string, kind};
}

/* ---- groups of ADRPs and their users, found by data flow ---- */

static uint64_t insn_pc(const struct dsc_a64_func *f, uint32_t i) { return f->pc + (uint64_t)i * 4; }

/* The address user i computes (its group's page + offset) and whether it
 * is a 64-bit LDR Xt, [Xn, #off] (else an ADD, or another load or store,
 * whose offset the selector question does not need: any access at the
 * page is judged by the address it names). */
static uint64_t user_target(const struct dsc_a64_func *f, uint32_t i, bool *ldr)
{
    uint32_t w = dsc_le32(f->code + (uint64_t)i * 4), off;
    unsigned rt, rn, size;
    uint64_t page = dsc_a64_adrp_target(dsc_le32(f->code + (uint64_t)f->adrp[i] * 4), insn_pc(f, f->adrp[i]));
    *ldr = dsc_a64_is_ldr_imm(w, &rt, &rn, &off, &size) && size == 8;
    if (*ldr || dsc_a64_is_add_imm(w, &rt, &rn, &off))
        return page + off;
    return page + (w >> 10 & 0xFFF) * (1u << (w >> 30)); /* other load/store: size-scaled offset */
}

/* What user i asks of its group: the page of its selector, or BAD_PAGE;
 * *slot is the selref it refers to (0: none). */
static uint64_t user_page(const struct job *j, const struct dsc_a64_func *f, uint32_t i, uint64_t *slot)
{
    bool ldr;
    uint64_t t = user_target(f, i, &ldr), s;
    *slot = is_selref(j, t) ? t : 0;
    if (!ldr || !*slot || !(s = selref_string(j, t)))
        return BAD_PAGE;
    return s & ~0xFFFull;
}

/* A group stays only when it does not escape and every ADRP of it can
 * point at its strings' page. */
static void check_adrps(struct job *j, const struct dsc_a64_func *f)
{
    uint32_t w;
    unsigned rd;
    for (uint32_t a = 0; a < f->n; a++) {
        uint32_t g = f->group[a];
        if (j->page[g] < BAD_PAGE && dsc_a64_is_adrp(dsc_le32(f->code + (uint64_t)a * 4), &rd) &&
            (f->escaped[a] || !dsc_a64_adrp_encode(rd, insn_pc(f, a), j->page[g], &w)))
            j->page[g] = BAD_PAGE;
    }
}

/* The function's groups that can be rewritten become refs; every selref
 * another group refers to is bad. */
static int on_function(void *ctx, const struct dsc_a64_func *f)
{
    struct job *j = ctx;
    uint64_t slot;
    unsigned rd;
    if (f->n > j->cap) {
        j->page = xrealloc(j->page, f->n * sizeof *j->page);
        j->cap = f->n;
    }
    for (uint32_t i = 0; i < f->n; i++)
        j->page[i] = NO_PAGE;
    for (uint32_t i = 0; i < f->n; i++) {
        uint32_t g = f->adrp[i];
        if (g != DSC_A64_NO_ADRP && j->page[g] != BAD_PAGE) {
            uint64_t pg = user_page(j, f, i, &slot);
            j->page[g] = j->page[g] == NO_PAGE || j->page[g] == pg ? pg : BAD_PAGE;
        }
    }
    check_adrps(j, f);
    for (uint32_t i = 0; i < f->n; i++) {
        bool adrp = dsc_a64_is_adrp(dsc_le32(f->code + (uint64_t)i * 4), &rd);
        uint32_t g = adrp ? f->group[i] : f->adrp[i];
        if (g == DSC_A64_NO_ADRP || j->page[g] == NO_PAGE)
            continue; /* no users */
        slot = 0;
        if (!adrp)
            user_page(j, f, i, &slot);
        if (j->page[g] != BAD_PAGE)
            add_ref(j, j->next_group + g, insn_pc(f, i), slot, adrp ? j->page[g] : selref_string(j, slot),
                    adrp ? REF_ADRP : REF_LDR);
        else if (slot)
            mark_bad(j, slot);
    }
    j->next_group += f->n;
    return 0;
}

/* lld's hint form of a selref load, LDR Xt literal: a group of its own,
 * whose selref is bad when the string is out of ADR's reach. */
static void find_literal_loads(struct job *j, uint64_t size)
{
    for (uint64_t at = 0; at + 4 <= size; at += 4) {
        uint32_t w = dsc_le32(j->code + at), adr;
        unsigned rt, lsize;
        if (!dsc_a64_is_ldr_literal(w, &rt, &lsize) || lsize != 8)
            continue;
        uint64_t slot = dsc_a64_ldr_literal_target(w, j->addr + at), s;
        if (!is_selref(j, slot) || !(s = selref_string(j, slot)))
            continue;
        if (dsc_a64_adr_encode(rt, j->addr + at, s, &adr))
            add_ref(j, j->next_group++, j->addr + at, slot, s, REF_LITERAL);
        else
            mark_bad(j, slot);
    }
}

static int cmp_ref(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* Size of the group starting at refs[k]; *dead when it loads a bad selref. */
static size_t group_at(const struct job *j, size_t k, bool *dead)
{
    size_t n = 0;
    *dead = false;
    for (; k + n < j->nrefs && j->refs[k + n].group == j->refs[k].group; n++)
        *dead |= j->refs[k + n].kind != REF_ADRP && is_bad(j, j->refs[k + n].slot);
    return n;
}

/* All or none per selref: a group loading a bad selref is not rewritten,
 * so every selref it loads becomes bad, until nothing changes. */
static void spread_bad(struct job *j)
{
    for (bool changed = true; changed;) {
        changed = false;
        bool dead;
        for (size_t k = 0, n; k < j->nrefs; k += n) {
            n = group_at(j, k, &dead);
            for (size_t u = k; dead && u < k + n; u++)
                if (j->refs[u].kind != REF_ADRP && !is_bad(j, j->refs[u].slot)) {
                    mark_bad(j, j->refs[u].slot);
                    changed = true;
                }
        }
    }
}

static void rewrite(struct job *j, const struct ref *r)
{
    uint8_t *p = j->code + (r->pc - j->addr);
    uint32_t w = dsc_le32(p);
    bool ok = r->kind == REF_ADRP ? dsc_a64_adrp_encode(dsc_a64_rd(w), r->pc, r->string, &w)
              : r->kind == REF_LDR ? dsc_a64_add_imm_encode(dsc_a64_rd(w), dsc_a64_rn(w), (uint32_t)(r->string & 0xFFF), &w)
                                   : dsc_a64_adr_encode(dsc_a64_rd(w), r->pc, r->string, &w);
    if (!ok)
        die("internal: selector load at 0x%llx", (unsigned long long)r->pc);
    dsc_put32(p, w);
    j->c->stats_selloads += r->kind != REF_ADRP;
}

static void rewrite_image(struct job *j)
{
    if (j->nrefs > 1)
        qsort(j->refs, j->nrefs, sizeof *j->refs, cmp_ref);
    spread_bad(j);
    bool dead;
    for (size_t k = 0, n; k < j->nrefs; k += n) {
        n = group_at(j, k, &dead);
        for (size_t u = k; !dead && u < k + n; u++)
            rewrite(j, &j->refs[u]);
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
        if (!x || !image_reloc(img, x->in_addr, &j.addr) || !selrefs_sect(img, &j.sel_addr, &j.sel_size))
            continue;
        j.img = img;
        j.code = cache_bytes(c, j.addr, x->size);
        j.bad = xrealloc(j.bad, j.sel_size / 8 + 1);
        memset(j.bad, 0, j.sel_size / 8 + 1);
        j.nrefs = 0;
        j.next_group = 0;
        struct dsc_a64_code code = {.bytes = {j.code, x->size}, .addr = j.addr, .text_addr = img->segs[0].addr};
        if (img->fstarts_size)
            span_sub(img->file, img->fstarts_off, img->fstarts_size, &code.fstarts);
        if (img->dic_size)
            span_sub(img->file, img->dic_off, img->dic_size, &code.dic);
        if (dsc_a64_each_function(&code, on_function, &j))
            die("out of memory");
        find_literal_loads(&j, x->size);
        rewrite_image(&j);
    }
    free(j.page);
    free(j.refs);
    free(j.bad);
}

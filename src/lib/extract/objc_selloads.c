/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_selloads.c — undo the builder's direct selector loads (arm64,
 * arm64e). Apple's builder (dyld-1378 cache_builder/CacheDylib.cpp
 * optimizeLoadsFromConstants, driven by the dylib's split-seg info) turned
 * every reference to a selref,
 *     ADRP Xn, selref@PAGE ; ... LDR Xd, [Xn, selref@PAGEOFF]
 * into
 *     ADRP Xn, string@PAGE ; ... ADD Xd, Xn, string@PAGEOFF
 * where `string` is the canonical selector, wherever the instructions
 * stand (hoisted ADRPs, one ADRP for several loads, loads across branches,
 * ADRPs on both arms of a branch meeting at one load).
 * The cache keeps no split-seg info (the builder drops LC_SEGMENT_SPLIT_INFO
 * and its data), only LC_FUNCTION_STARTS and LC_DATA_IN_CODE, so the
 * instructions come from register data flow over each function
 * (base/a64flow.c, the analysis the test builder also uses, bounded by the
 * function starts and skipping data in code): an ADD whose base holds one
 * page on every path (from one ADRP, or a group of ADRPs of that page
 * meeting at joins) and whose page + offset is a selector this image has
 * (or gets) a selref for is a rewritten load. A group is restored with all
 * its ADRPs and users when it does not escape, every user is such an ADD,
 * and their selrefs share one page; any other ADD of a selector is counted
 * in loads_unfixed. A load the
 * static linker had already shortened to `LDR Xd, selref` (literal; its
 * ADRP became a NOP) is found as `ADR Xd, string` and becomes the LDR
 * literal again when the selref is within its +-1 MiB reach.
 *
 * Finding runs on the cache's code (identical to the plan's copy, and present
 * in size plans) so selref decisions are the same in both kinds of plan;
 * writing happens in full plans only, after the added selrefs have addresses.
 */
#include "extract/pass_objc.h"
#include "base/a64flow.h"
#include "base/grow.h"
#include "base/insn.h"

#include <stdlib.h>
#include <string.h>

/* Per function: what each ADRP group's users are. */
enum { USERS_NONE, USERS_SELECTORS, USERS_MIXED };

struct finder {
    struct objc_pass *op;
    uint8_t *users;             /* per instruction of the function (groups) */
    size_t cap;
    struct objc_addrmap pages;  /* the pages of op->sel_by_addr's strings */
};

/* Is user i an ADD of a selector string? Its selref value in *selref. */
static bool selector_add(const struct objc_pass *op, const struct dsc_a64_func *f, uint32_t i, uint64_t *selref)
{
    uint32_t w = dsc_le32(f->code + (uint64_t)i * 4), imm;
    unsigned rd, rn;
    uint64_t adrp_pc = f->pc + (uint64_t)f->adrp[i] * 4;
    return dsc_a64_is_add_imm(w, &rd, &rn, &imm) &&
           objc_addrmap_get(&op->sel_by_addr,
                            dsc_a64_adrp_target(dsc_le32(f->code + (uint64_t)f->adrp[i] * 4), adrp_pc) + imm, selref);
}

static int cmp_load(const void *a, const void *b)
{
    const struct objc_selload *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->insn < y->insn ? -1 : x->insn > y->insn;
}

/* Instruction i of a restorable group (g: the group's first ADRP). */
static int add_load(struct objc_pass *op, const struct dsc_a64_func *f, uint32_t g, uint32_t i, uint64_t selref,
                    bool is_adrp)
{
    if (!DSC_GROW(op->loads, op->nloads, op->loads_cap, 64))
        return -1;
    op->loads[op->nloads++] =
        (struct objc_selload){f->pc + (uint64_t)g * 4, f->pc + (uint64_t)i * 4, selref, is_adrp};
    return 0;
}

static int on_function(void *ctx, const struct dsc_a64_func *f)
{
    struct finder *fi = ctx;
    struct objc_pass *op = fi->op;
    uint64_t sel;
    unsigned rd;
    if (f->n > fi->cap) {
        uint8_t *g = realloc(fi->users, f->n);
        if (!g)
            return -1;
        fi->users = g;
        fi->cap = f->n;
    }
    memset(fi->users, USERS_NONE, f->n);
    for (uint32_t i = 0; i < f->n; i++)
        if (f->adrp[i] != DSC_A64_NO_ADRP)
            fi->users[f->adrp[i]] = !selector_add(op, f, i, &sel) ? USERS_MIXED
                                    : fi->users[f->adrp[i]] == USERS_NONE ? USERS_SELECTORS
                                                                          : fi->users[f->adrp[i]];
    size_t first = op->nloads;
    for (uint32_t i = 0; i < f->n; i++) {
        uint32_t g = f->adrp[i];
        if (dsc_a64_is_adrp(dsc_le32(f->code + (uint64_t)i * 4), &rd)) {
            g = f->group[i];
            if (!f->escaped[g] && fi->users[g] == USERS_SELECTORS && add_load(op, f, g, i, 0, true))
                return -1;
            continue;
        }
        if (g == DSC_A64_NO_ADRP || !selector_add(op, f, i, &sel))
            continue;
        if (f->escaped[g] || fi->users[g] != USERS_SELECTORS)
            op->loads_unfixed++;
        else if (add_load(op, f, g, i, sel, false))
            return -1;
    }
    if (op->nloads - first > 1)
        qsort(op->loads + first, op->nloads - first, sizeof *op->loads, cmp_load);
    return 0;
}

/* LC_FUNCTION_STARTS and LC_DATA_IN_CODE of the cache image, when readable
 * (without them each section is one function: still correct, less precise). */
static void code_tables(const struct dsc_macho *mo, struct dsc_a64_code *c)
{
    uint32_t off, size;
    const struct dsc_segment *text = dsc_macho_segment(mo, "__TEXT");
    c->text_addr = text ? text->vmaddr : 0;
    if (text && dsc_macho_linkedit_data(mo, LC_FUNCTION_STARTS, &off, &size) > 0)
        dsc_macho_linkedit(mo, off, size, &c->fstarts);
    if (text && dsc_macho_linkedit_data(mo, LC_DATA_IN_CODE, &off, &size) > 0)
        dsc_macho_linkedit(mo, off, size, &c->dic);
}

static int add_adr_load(struct objc_pass *op, uint64_t at, uint64_t selref)
{
    if (!DSC_GROW(op->adrs, op->nadrs, op->adrs_cap, 64))
        return plan_oom(op->p);
    op->adrs[op->nadrs++] = (struct objc_adrload){at, selref};
    return 0;
}

static bool selector_page(void *ctx, uint64_t page)
{
    const struct finder *fi = ctx;
    uint64_t v;
    return objc_addrmap_get(&fi->pages, page, &v);
}

static int scan_section(struct objc_pass *op, struct finder *fi, const struct dsc_section *s)
{
    struct dsc_a64_code c = {.addr = s->addr};
    if (s->addr % 4 || !dsc_vm_span(op->p->cache, s->addr, s->size & ~3ull, &c.bytes))
        return 0; /* unreadable code is the layout pass's business */
    for (uint64_t i = 0; i < c.bytes.size / 4; i++) {
        uint32_t w = dsc_le32(c.bytes.data + i * 4);
        uint64_t sel, pc = c.addr + i * 4;
        if (dsc_a64_is_adr(w) && objc_addrmap_get(&op->sel_by_addr, dsc_a64_adr_target(w, pc), &sel) &&
            add_adr_load(op, pc, sel))
            return -1;
    }
    code_tables(&op->p->mo, &c);
    if (fi->pages.m.count)
        c.page_wanted = selector_page;
    return dsc_a64_each_function(&c, on_function, fi) ? plan_oom(op->p) : 0;
}

/* The pages holding the selector strings: an ADD of a selector (of at
 * most 4095 to an ADRP's page) has one of them as its base, so functions
 * without an ADRP of one have nothing on_function looks for. Empty (every
 * function analysed) when a string is on page 0, which no map can key. */
static bool selector_pages(struct finder *fi)
{
    const struct objc_map *m = &fi->op->sel_by_addr.m;
    for (size_t i = 0; i < m->nslots; i++) {
        uint64_t page = m->slots[i].key & ~0xFFFull;
        if (m->slots[i].key && !page) {
            objc_addrmap_free(&fi->pages);
            return true;
        }
        if (m->slots[i].key && !objc_addrmap_put(&fi->pages, page, 1))
            return false;
    }
    return true;
}

int objc_find_selector_loads(struct objc_pass *op)
{
    const struct dsc_macho *mo = &op->p->mo;
    if (mo->cputype != CPU_TYPE_ARM64 || !op->sel_by_addr.m.count)
        return 0;
    struct finder fi = {.op = op};
    int rc = selector_pages(&fi) ? 0 : plan_oom(op->p);
    for (unsigned i = 0; rc == 0 && i < mo->nsects; i++) {
        const struct dsc_section *s = &mo->sects[i];
        if (s->flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS))
            rc = scan_section(op, &fi, s);
    }
    free(fi.users);
    objc_addrmap_free(&fi.pages);
    return rc;
}

/* LDR Xd, [Xn, selref@PAGEOFF] for the ADD at `b`, when the selref is on
 * `page` and a load can reach it. */
static bool ldr_for(const struct objc_pass *op, const struct objc_selload *l, const uint8_t *b, uint64_t page,
                    uint32_t *w)
{
    uint64_t s = objc_target_addr(op, TGT_SELREF, 0, l->selref);
    return (s & ~0xFFFull) == page && s % 8 == 0 && b &&
           dsc_a64_ldr_imm_encode(8, dsc_a64_rd(dsc_le32(b)), dsc_a64_rn(dsc_le32(b)), (uint32_t)(s & 0xFFF), w);
}

/* One group, loads[0..n): every ADRP back to the selrefs' page, each ADD
 * back to LDR Xd, [Xn, selref@PAGEOFF]; all of them or none. */
static bool write_group(struct objc_pass *op, const struct objc_selload *l, size_t n)
{
    struct dsc_plan *p = op->p;
    uint64_t page = UINT64_MAX;
    uint32_t w;
    for (size_t u = 0; u < n && page == UINT64_MAX; u++)
        if (!l[u].is_adrp)
            page = objc_target_addr(op, TGT_SELREF, 0, l[u].selref) & ~0xFFFull;
    for (size_t u = 0; u < n; u++) {
        uint8_t *b = plan_seg_bytes(p, l[u].insn, 4);
        if (l[u].is_adrp ? !b || !dsc_a64_adrp_encode(dsc_a64_rd(dsc_le32(b)), l[u].insn, page, &w)
                         : !ldr_for(op, &l[u], b, page, &w))
            return false;
    }
    for (size_t u = 0; u < n; u++) {
        uint8_t *b = plan_seg_bytes(p, l[u].insn, 4);
        if (l[u].is_adrp)
            dsc_a64_adrp_encode(dsc_a64_rd(dsc_le32(b)), l[u].insn, page, &w);
        else
            ldr_for(op, &l[u], b, page, &w);
        dsc_put32(b, w);
    }
    return true;
}

/* ADR Xd, string -> LDR Xd, selref (literal), when the selref is in reach. */
static bool write_adr(struct objc_pass *op, const struct objc_adrload *l)
{
    uint64_t selref = objc_target_addr(op, TGT_SELREF, 0, l->selref);
    uint8_t *b = plan_seg_bytes(op->p, l->insn, 4);
    uint32_t w;
    if (!b || !dsc_a64_ldr_literal_encode(8, dsc_a64_rd(dsc_le32(b)), l->insn, selref, &w))
        return false;
    dsc_put32(b, w);
    return true;
}

void objc_write_selector_loads(struct objc_pass *op)
{
    for (size_t i = 0; i < op->nadrs; i++) {
        if (!op->p->copy_bytes || write_adr(op, &op->adrs[i]))
            op->loads_fixed++;
        else
            op->loads_unfixed++;
    }
    for (size_t g = 0, n; g < op->nloads; g += n) {
        size_t users = 0;
        for (n = 0; g + n < op->nloads && op->loads[g + n].group == op->loads[g].group; n++)
            users += !op->loads[g + n].is_adrp;
        if (!op->p->copy_bytes || write_group(op, &op->loads[g], n))
            op->loads_fixed += users;
        else
            op->loads_unfixed += users;
    }
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_selloads.c — undo the builder's direct selector loads (arm64,
 * arm64e: the cache builder rewrites the selref loads that the image's
 * linker optimisation hints name, LC_LINKER_OPTIMIZATION_HINT; dyld-1042.1's
 * cache-builder/AdjustDylibSegments.cpp tracks them). The builder turned
 *     ADRP Xn, selref@PAGE ; LDR Xd, [Xn, selref@PAGEOFF]
 * into
 *     ADRP Xn, string@PAGE ; ADD Xd, Xn, string@PAGEOFF
 * where `string` is the canonical selector. We find each ADD whose ADRP+ADD
 * target is a selector this image has (or gets) a selref for, group the ADDs
 * by their ADRP, and rewrite the group when nothing else reads that ADRP's
 * register and all its selrefs share one page. A load the static linker had
 * already shortened to `LDR Xd, selref` (literal; its ADRP became a NOP) is
 * found as `ADR Xd, string` and becomes the LDR literal again when the
 * selref is within its +-1 MiB reach.
 *
 * Finding runs on the cache's code (identical to the plan's copy, and present
 * in size plans) so selref decisions are the same in both kinds of plan;
 * writing happens in full plans only, after the added selrefs have addresses.
 * The register analysis is deliberately local (a few instructions in a
 * straight line) and conservative: a group it is unsure of is left as it is
 * and counted in loads_unfixed.
 */
#include "extract/pass_objc.h"
#include "base/grow.h"
#include "base/insn.h"

#include <stdlib.h>
#include <string.h>

#define WINDOW 32u          /* instructions between an ADRP and its users */
#define MAX_USERS 8u

/* B or an indirect branch: control leaves the straight line for good. */
static bool is_uncond_branch(uint32_t w)
{
    bool link;
    return (dsc_a64_is_branch(w, &link) && !link) || dsc_a64_is_indirect_branch(w);
}

/* Does `w` (probably) write register r? Rd/Rt is bits 0-4 for almost all
 * writers; stores and branches use those bits for a source. */
static bool writes(uint32_t w, unsigned r)
{
    return dsc_a64_rd(w) == r && !dsc_a64_is_store(w) && !dsc_a64_is_any_branch(w);
}

/* Does `w` read register r through its base/first-operand field? */
static bool reads_base(uint32_t w, unsigned r) { return dsc_a64_rn_is_register(w) && dsc_a64_rn(w) == r; }

struct code {
    dsc_span bytes;
    uint64_t addr;
};

static uint32_t insn(const struct code *c, uint64_t i) { return dsc_le32(c->bytes.data + i * 4); }

/* Index of the ADRP that defines ADD i's base register, or -1. */
static int64_t defining_adrp(const struct code *c, uint64_t i)
{
    unsigned r = dsc_a64_rn(insn(c, i));
    /* Straight back over forward branches (the builder paired this ADD with
     * its ADRP through split-seg info; an ADD+ADRP page that lands exactly on
     * a selector is that pairing), but not past a return or indirect jump. */
    for (uint64_t k = 1; k <= WINDOW && k <= i; k++) {
        uint32_t w = insn(c, i - k);
        if (dsc_a64_is_indirect_branch(w))
            return -1;
        if (writes(w, r))
            return dsc_a64_is_adrp(w, NULL) ? (int64_t)(i - k) : -1;
    }
    return -1;
}

static struct objc_selload *load_for(struct objc_pass *op, uint64_t adrp)
{
    /* groups are found in address order and users follow within WINDOW */
    for (size_t i = op->nloads; i-- > 0 && op->nloads - i <= WINDOW;)
        if (op->loads[i].adrp == adrp)
            return &op->loads[i];
    if (!DSC_GROW(op->loads, op->nloads, op->loads_cap, 64))
        return NULL;
    struct objc_selload *l = &op->loads[op->nloads++];
    memset(l, 0, sizeof *l);
    l->adrp = adrp;
    return l;
}

/* Every reader of the ADRP's register up to its next definition must be one
 * of the group's ADDs. */
static bool group_is_alone(const struct code *c, const struct objc_selload *l)
{
    uint64_t a = (l->adrp - c->addr) / 4;
    unsigned r = dsc_a64_rd(insn(c, a));
    uint64_t n = c->bytes.size / 4;
    for (uint64_t i = a + 1; i < n && i <= a + WINDOW; i++) {
        uint32_t w = insn(c, i);
        bool member = false;
        for (unsigned u = 0; u < l->n; u++)
            member |= l->add[u] == c->addr + i * 4;
        if (reads_base(w, r) && !member)
            return false;
        if (writes(w, r) || is_uncond_branch(w))
            return true;
    }
    return true;
}

static int add_adr_load(struct objc_pass *op, uint64_t at, uint64_t selref)
{
    if (!DSC_GROW(op->adrs, op->nadrs, op->adrs_cap, 64))
        return plan_oom(op->p);
    op->adrs[op->nadrs++] = (struct objc_adrload){at, selref};
    return 0;
}

static int scan_section(struct objc_pass *op, const struct dsc_section *s)
{
    struct code c = {.addr = s->addr};
    if (s->addr % 4 || !dsc_vm_span(op->p->cache, s->addr, s->size & ~3ull, &c.bytes))
        return 0; /* unreadable code is the layout pass's business */
    size_t first = op->nloads;
    for (uint64_t i = 0; i < c.bytes.size / 4; i++) {
        uint32_t w = insn(&c, i), imm;
        uint64_t sel, pc = c.addr + i * 4;
        unsigned d, n;
        if (dsc_a64_is_adr(w) && objc_addrmap_get(&op->sel_by_addr, dsc_a64_adr_target(w, pc), &sel)) {
            if (add_adr_load(op, pc, sel))
                return -1;
            continue;
        }
        if (!dsc_a64_is_add_imm(w, &d, &n, &imm) || n == 31)
            continue;
        int64_t a = defining_adrp(&c, i);
        if (a < 0)
            continue;
        uint64_t target = dsc_a64_adrp_target(insn(&c, (uint64_t)a), c.addr + (uint64_t)a * 4) + imm;
        if (!objc_addrmap_get(&op->sel_by_addr, target, &sel))
            continue;
        struct objc_selload *l = load_for(op, c.addr + (uint64_t)a * 4);
        if (!l)
            return plan_oom(op->p);
        if (l->n == MAX_USERS) {
            l->n = MAX_USERS + 1; /* too many users: leave the group alone */
            continue;
        }
        if (l->n < MAX_USERS) {
            l->add[l->n] = c.addr + i * 4;
            l->selref[l->n++] = sel;
        }
    }
    for (size_t g = first; g < op->nloads; g++)
        if (op->loads[g].n > MAX_USERS || !group_is_alone(&c, &op->loads[g])) {
            op->loads_unfixed += op->loads[g].n > MAX_USERS ? MAX_USERS : op->loads[g].n;
            op->loads[g].n = 0;
        }
    return 0;
}

int objc_find_selector_loads(struct objc_pass *op)
{
    const struct dsc_macho *mo = &op->p->mo;
    if (mo->cputype != CPU_TYPE_ARM64 || !op->sel_by_addr.count)
        return 0;
    for (unsigned i = 0; i < mo->nsects; i++) {
        const struct dsc_section *s = &mo->sects[i];
        if ((s->flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS)) && scan_section(op, s))
            return -1;
    }
    return 0;
}

static bool write_group(struct objc_pass *op, const struct objc_selload *l)
{
    struct dsc_plan *p = op->p;
    uint64_t page = objc_target_addr(op, TGT_SELREF, 0, l->selref[0]) & ~0xFFFull;
    for (unsigned u = 0; u < l->n; u++) {
        uint64_t s = objc_target_addr(op, TGT_SELREF, 0, l->selref[u]);
        if ((s & ~0xFFFull) != page || s % 8)
            return false;
    }
    uint8_t *a = plan_seg_bytes(p, l->adrp, 4);
    uint32_t adrp, ldr[MAX_USERS];
    if (!a || !dsc_a64_adrp_encode(dsc_a64_rd(dsc_le32(a)), l->adrp, page, &adrp))
        return false;
    for (unsigned u = 0; u < l->n; u++) {
        uint8_t *b = plan_seg_bytes(p, l->add[u], 4);
        uint32_t off = (uint32_t)(objc_target_addr(op, TGT_SELREF, 0, l->selref[u]) & 0xFFFu);
        if (!b || !dsc_a64_ldr_imm_encode(8, dsc_a64_rd(dsc_le32(b)), dsc_a64_rn(dsc_le32(b)), off, &ldr[u]))
            return false;
    }
    dsc_put32(a, adrp);
    for (unsigned u = 0; u < l->n; u++)
        dsc_put32(plan_seg_bytes(p, l->add[u], 4), ldr[u]);
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
    for (size_t g = 0; g < op->nloads; g++) {
        const struct objc_selload *l = &op->loads[g];
        if (!l->n)
            continue;
        if (!op->p->copy_bytes || write_group(op, l))
            op->loads_fixed += l->n;
        else
            op->loads_unfixed += l->n;
    }
}

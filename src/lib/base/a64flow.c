/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * a64flow.c — ADRP pages through registers, per function (a64flow.h).
 *
 * A forward data-flow analysis over basic blocks: each of x0..x30 holds a
 * set of up to SET ADRPs whose page it may hold, plus "unknown" (it may
 * hold anything else). Sets only grow (a join is a union; an overflowing
 * set escapes its ADRPs), so the worklist ends. A block is processed again
 * whenever its entry state grows, so the users recorded by its last run
 * are those of the final states. The growth bound still lets hostile code
 * cost n x blocks (an indirect jump joins into every block, and each join
 * may re-run one), so each function gets a work budget linear in its
 * length; a function that exhausts it is treated as too long to analyse.
 * Instruction effects come from the one
 * codec (base/insn.c); calls follow the AArch64 procedure call standard:
 * x0-x7 carry arguments and results, x0-x18 and x30 are clobbered,
 * x19-x29 are preserved.
 */
#include "base/a64flow.h"

#include "base/insn.h"

#include <stdlib.h>
#include <string.h>

#define SET 4
#define NONE UINT32_MAX

struct val {
    uint8_t n;
    bool unk;
    uint32_t a[SET];
};

struct regs {
    struct val r[31];
};

struct flow {
    const uint8_t *code;
    const bool *data;           /* per instruction: data in code */
    uint64_t pc;
    uint32_t n, nblocks;
    uint32_t *block_of;         /* per instruction; NONE for data */
    uint32_t *start, *end;      /* per block: its instructions [start, end) */
    struct regs *in;            /* per block: entry state */
    size_t in_cap;
    bool *reached, *queued, *seeded;
    uint32_t *work;
    uint32_t nwork;
    struct regs br;             /* joined state at indirect jumps */
    struct regs call;           /* x19-x29 joined at calls */
    uint32_t *adrp;
    uint32_t *group;            /* per ADRP: union-find parent, the least index at the root */
    bool *escaped;
    uint64_t budget;            /* block joins and instructions run left */
};

static uint32_t insn_at(const struct flow *f, uint32_t i) { return dsc_le32(f->code + (uint64_t)i * 4); }

static void escape_val(struct flow *f, const struct val *v)
{
    for (unsigned k = 0; k < v->n; k++)
        f->escaped[v->a[k]] = true;
}

static void unknown(struct val *v) { *v = (struct val){.unk = true}; }

/* d |= s; true when d changed. An ADRP that does not fit escapes, and so
 * do those already there (the set can no longer name every value). */
static bool join_val(struct flow *f, struct val *d, const struct val *s)
{
    bool changed = s->unk && !d->unk;
    d->unk |= s->unk;
    for (unsigned k = 0; k < s->n; k++) {
        bool have = false;
        for (unsigned j = 0; j < d->n; j++)
            have |= d->a[j] == s->a[k];
        if (have)
            continue;
        if (d->n < SET) {
            d->a[d->n++] = s->a[k];
        } else {
            f->escaped[s->a[k]] = true;
            escape_val(f, d);
            d->unk = true;
        }
        changed = true;
    }
    return changed;
}

/* Take `cost` from the budget; false (and the budget 0) when it is spent. */
static bool spend(struct flow *f, uint64_t cost)
{
    if (f->budget < cost) {
        f->budget = 0;
        return false;
    }
    f->budget -= cost;
    return true;
}

static void push(struct flow *f, uint32_t b)
{
    if (!f->queued[b]) {
        f->queued[b] = true;
        f->work[f->nwork++] = b;
    }
}

/* Join `s` (registers lo..hi) into block b's entry state. */
static void join_block(struct flow *f, uint32_t b, const struct regs *s, unsigned lo, unsigned hi)
{
    if (!spend(f, 1))
        return;
    bool changed = !f->reached[b];
    if (!f->reached[b]) {
        f->reached[b] = true;
        for (unsigned r = 0; r < 31; r++)
            f->in[b].r[r] = (struct val){0};
    }
    for (unsigned r = lo; r <= hi; r++)
        changed |= join_val(f, &f->in[b].r[r], &s->r[r]);
    if (changed)
        push(f, b);
}

static void read_regs(struct flow *f, const struct regs *s, uint32_t mask)
{
    for (unsigned r = 0; r < 31; r++)
        if (mask >> r & 1)
            escape_val(f, &s->r[r]);
}

static void write_regs(struct regs *s, uint32_t mask)
{
    for (unsigned r = 0; r < 31; r++)
        if (mask >> r & 1)
            unknown(&s->r[r]);
}

/* A call: arguments escape, caller-saved registers are clobbered, and a
 * landing pad may see x19-x29 as they are here. */
static void call(struct flow *f, struct regs *s)
{
    read_regs(f, s, 0xFFu);
    write_regs(s, 0x4007FFFFu); /* x0-x18, x30 */
    bool changed = false;
    for (unsigned r = 19; r <= 29; r++)
        changed |= join_val(f, &f->call.r[r], &s->r[r]);
    for (uint32_t b = 0; changed && b < f->nblocks; b++)
        if (f->seeded[b])
            join_block(f, b, &f->call, 19, 29);
}

static uint64_t page_of(const struct flow *f, uint32_t a)
{
    return dsc_a64_adrp_target(insn_at(f, a), f->pc + (uint64_t)a * 4);
}

static uint32_t find(struct flow *f, uint32_t a)
{
    while (f->group[a] != a)
        a = f->group[a] = f->group[f->group[a]];
    return a;
}

static void unite(struct flow *f, uint32_t a, uint32_t b)
{
    a = find(f, a);
    b = find(f, b);
    if (a < b)
        f->group[b] = a;
    else
        f->group[a] = b;
}

/* User i adds an offset to base register `base`'s value: a user when the
 * register holds one page on every path (from one ADRP, or from several of
 * that page meeting at a join, which then form one group). */
static void use_base(struct flow *f, const struct regs *s, uint32_t i, unsigned base)
{
    if (base == 31)
        return; /* SP */
    const struct val *v = &s->r[base];
    bool one_page = v->n && !v->unk;
    for (unsigned k = 1; one_page && k < v->n; k++)
        one_page = page_of(f, v->a[k]) == page_of(f, v->a[0]);
    if (!one_page) {
        escape_val(f, v);
        f->adrp[i] = NONE;
        return;
    }
    for (unsigned k = 1; k < v->n; k++)
        unite(f, v->a[0], v->a[k]);
    f->adrp[i] = v->a[0];
}

static void transfer(struct flow *f, struct regs *s, uint32_t i)
{
    uint32_t w = insn_at(f, i), imm;
    unsigned rd, rn;
    bool link;
    struct dsc_a64_regs rw;
    if (dsc_a64_is_adrp(w, &rd)) {
        if (rd < 31)
            s->r[rd] = (struct val){.n = 1, .a = {i}};
        return;
    }
    if ((dsc_a64_is_branch(w, &link) && link) || dsc_a64_is_svc(w)) { /* BL, SVC */
        call(f, s);
        return;
    }
    dsc_a64_regs_of(w, &rw);
    if (dsc_a64_is_add_imm(w, &rd, &rn, &imm) || dsc_a64_is_ldst_uoff(w)) {
        use_base(f, s, i, dsc_a64_rn(w)); /* ADD imm, load/store unsigned offset */
        rw.read &= ~(dsc_a64_rn(w) < 31 ? 1u << dsc_a64_rn(w) : 0);
    }
    read_regs(f, s, rw.read);
    write_regs(s, rw.write);
    if (dsc_a64_is_indirect_branch(w) && dsc_a64_indirect_kind(w) == DSC_A64_BLR)
        call(f, s);
}

/* Successor at instruction index t (pc-relative target), or an exit. */
static void to_target(struct flow *f, const struct regs *s, uint64_t target)
{
    uint64_t off = target - f->pc;
    if (target % 4 == 0 && target >= f->pc && off / 4 < f->n && f->block_of[off / 4] != NONE)
        join_block(f, f->block_of[off / 4], s, 0, 30);
    else
        read_regs(f, s, 0xFFu); /* a tail call: arguments escape */
}

static void fall_through(struct flow *f, const struct regs *s, uint32_t next)
{
    if (next < f->n && f->block_of[next] != NONE)
        join_block(f, f->block_of[next], s, 0, 30);
    else
        read_regs(f, s, 0x7FFFFFFFu); /* into data or the next function: anything may read it */
}

static void indirect_jump(struct flow *f, const struct regs *s)
{
    read_regs(f, s, 0xFFu);
    bool changed = false;
    for (unsigned r = 0; r < 31; r++)
        changed |= join_val(f, &f->br.r[r], &s->r[r]);
    for (uint32_t b = 0; changed && b < f->nblocks; b++)
        join_block(f, b, &f->br, 0, 30); /* any block may be its target */
}

static void run_block(struct flow *f, uint32_t b)
{
    if (!spend(f, f->end[b] - f->start[b]))
        return;
    struct regs s = f->in[b];
    uint32_t last = f->end[b] - 1;
    for (uint32_t i = f->start[b]; i <= last; i++)
        transfer(f, &s, i);
    uint32_t w = insn_at(f, last);
    uint64_t pc = f->pc + (uint64_t)last * 4, target;
    bool link;
    if (dsc_a64_is_branch(w, &link) && !link) {
        to_target(f, &s, dsc_a64_branch_target(w, pc));
    } else if (dsc_a64_cond_branch(w, pc, &target)) {
        to_target(f, &s, target);
        fall_through(f, &s, last + 1);
    } else if (dsc_a64_is_indirect_branch(w) && dsc_a64_indirect_kind(w) == DSC_A64_BR) {
        indirect_jump(f, &s);
    } else if (dsc_a64_is_indirect_branch(w) && dsc_a64_indirect_kind(w) == DSC_A64_RET) {
        read_regs(f, &s, 0xFFu);
    } else {
        fall_through(f, &s, last + 1);
    }
}

/* True when instruction i ends a block (its successor starts one). */
static bool ends_block(const struct flow *f, uint32_t i, uint64_t *target, bool *has_target)
{
    uint32_t w = insn_at(f, i);
    uint64_t pc = f->pc + (uint64_t)i * 4;
    bool link;
    *has_target = false;
    if (dsc_a64_is_branch(w, &link)) {
        if (link)
            return false;
        *target = dsc_a64_branch_target(w, pc);
        *has_target = true;
        return true;
    }
    if (dsc_a64_cond_branch(w, pc, target))
        return *has_target = true;
    return dsc_a64_is_indirect_branch(w) && dsc_a64_indirect_kind(w) != DSC_A64_BLR;
}

/* Blocks: runs of instructions cut after branches, at their targets and
 * around data in code. */
static void make_blocks(struct flow *f, bool *lead)
{
    memset(lead, 0, f->n + 1);
    lead[0] = true;
    for (uint32_t i = 0; i < f->n; i++) {
        uint64_t target, off;
        bool has;
        if (f->data[i] || ends_block(f, i, &target, &has))
            lead[i + 1] = true;
        if (f->data[i] || !has)
            continue;
        off = target - f->pc;
        if (target % 4 == 0 && target >= f->pc && off / 4 < f->n)
            lead[off / 4] = true;
    }
    f->nblocks = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        f->block_of[i] = NONE;
        if (f->data[i])
            continue;
        if (lead[i] || f->block_of[i - 1] == NONE) {
            f->start[f->nblocks] = i;
            f->end[f->nblocks++] = i;
        }
        f->block_of[i] = f->nblocks - 1;
        f->end[f->nblocks - 1] = i + 1;
    }
}

static void solve(struct flow *f)
{
    struct regs entry;
    for (unsigned r = 0; r < 31; r++)
        unknown(&entry.r[r]);
    if (f->nblocks)
        join_block(f, 0, &entry, 0, 30);
    for (uint32_t next = 0;;) {
        while (f->nwork && f->budget) {
            uint32_t b = f->work[--f->nwork];
            f->queued[b] = false;
            run_block(f, b);
        }
        while (next < f->nblocks && f->reached[next])
            next++;
        if (next == f->nblocks || !f->budget)
            break;
        /* unreached: a landing pad, or dead code */
        f->seeded[next] = true;
        join_block(f, next, &entry, 0, 30);
        join_block(f, next, &f->call, 19, 29);
    }
}

/* ---- sections into functions ---- */

struct section {
    const struct dsc_a64_code *c;
    uint64_t ninsns;
    bool *data;                 /* per instruction of the section */
    uint64_t *starts;           /* function starts inside, ascending, as indices */
    size_t nstarts;
};

/* Data-in-code flags per instruction: each entry clipped to the section
 * and added as +1/-1 at its ends, then summed, so hostile entries cost
 * O(entries + instructions), however they overlap. */
static bool mark_data(struct section *sec)
{
    const struct dsc_a64_code *c = sec->c;
    if (c->dic.size < 8)
        return true;
    int32_t *edge = calloc(sec->ninsns + 1, sizeof *edge);
    sec->data = calloc(sec->ninsns, sizeof *sec->data);
    if (!edge || !sec->data) {
        free(edge);
        return false;
    }
    uint64_t lo = c->addr, hi = c->addr + sec->ninsns * 4;
    for (uint64_t at = 0; at + 8 <= c->dic.size; at += 8) {
        uint64_t a = c->text_addr + dsc_le32(c->dic.data + at), e = a + dsc_le16(c->dic.data + at + 4);
        a = a < lo ? lo : a & ~3ull;
        e = e > hi ? hi : e;
        if (a >= e)
            continue;
        edge[(a - lo) / 4]++;
        edge[(e - lo + 3) / 4]--;
    }
    int64_t depth = 0;
    for (uint64_t i = 0; i < sec->ninsns; i++)
        sec->data[i] = (depth += edge[i]) > 0;
    free(edge);
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Function starts inside the section (index 0 always one), sorted, unique. */
static bool find_starts(struct section *sec)
{
    const struct dsc_a64_code *c = sec->c;
    uint64_t off = 0, delta, a = c->text_addr;
    size_t cap = 16;
    if (!(sec->starts = malloc(cap * sizeof *sec->starts)))
        return false;
    sec->starts[sec->nstarts++] = 0;
    while (off < c->fstarts.size && span_uleb(c->fstarts, &off, &delta) && delta && dsc_add_ok(a, delta, &a)) {
        if (a < c->addr || a % 4 || (a - c->addr) / 4 >= sec->ninsns)
            continue;
        if (sec->nstarts == cap) {
            uint64_t *g = realloc(sec->starts, 2 * cap * sizeof *g);
            if (!g)
                return false;
            sec->starts = g;
            cap *= 2;
        }
        sec->starts[sec->nstarts++] = (a - c->addr) / 4;
    }
    qsort(sec->starts, sec->nstarts, sizeof *sec->starts, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < sec->nstarts; i++)
        if (!k || sec->starts[i] != sec->starts[k - 1])
            sec->starts[k++] = sec->starts[i];
    sec->nstarts = k;
    return true;
}

static void flow_free(struct flow *f)
{
    free(f->block_of);
    free(f->start);
    free(f->end);
    free(f->in);
    free(f->reached);
    free(f->queued);
    free(f->seeded);
    free(f->work);
    free(f->adrp);
    free(f->group);
    free(f->escaped);
}

/* Room for functions of up to n instructions (+1 for the block leaders). */
static bool flow_alloc(struct flow *f, uint64_t n, bool **lead)
{
    size_t m = (size_t)n + 1;
    f->block_of = malloc(m * sizeof *f->block_of);
    f->start = malloc(m * sizeof *f->start);
    f->end = malloc(m * sizeof *f->end);
    f->reached = malloc(m);
    f->queued = malloc(m);
    f->seeded = malloc(m);
    f->work = malloc(m * sizeof *f->work);
    f->adrp = malloc(m * sizeof *f->adrp);
    f->group = malloc(m * sizeof *f->group);
    f->escaped = malloc(m);
    *lead = malloc(2 * m); /* leaders, then the function's data-in-code flags */
    return f->block_of && f->start && f->end && f->reached && f->queued && f->seeded && f->work &&
           f->adrp && f->group && f->escaped && *lead;
}

/* Nothing known about the function: every ADRP escapes, no users. */
static void know_nothing(struct flow *f)
{
    memset(f->escaped, 1, f->n);
    for (uint32_t i = 0; i < f->n; i++)
        f->adrp[i] = NONE;
}

/* Each ADRP's group is named by its first ADRP, so is each user's; a group
 * escapes as a whole (rewriting one of its ADRPs means rewriting them all). */
static void settle_groups(struct flow *f)
{
    for (uint32_t a = 0; a < f->n; a++)
        if (f->escaped[a])
            f->escaped[find(f, a)] = true;
    for (uint32_t a = 0; a < f->n; a++) {
        f->group[a] = find(f, a);
        f->escaped[a] = f->escaped[f->group[a]];
    }
    for (uint32_t i = 0; i < f->n; i++)
        if (f->adrp[i] != NONE)
            f->adrp[i] = f->group[f->adrp[i]];
}

/* Analyse instructions [first, first + n) of the section into f; false
 * when out of memory. Entry states are allocated per block, so memory
 * follows the branches a function has, not its length. */
static bool analyse(struct flow *f, const struct section *sec, uint64_t first, uint32_t n, bool *lead)
{
    f->code = sec->c->bytes.data + first * 4;
    f->pc = sec->c->addr + first * 4;
    f->n = n;
    f->nwork = 0;
    memset(f->reached, 0, n);
    memset(f->queued, 0, n);
    memset(f->seeded, 0, n);
    memset(f->escaped, 0, n);
    memset(&f->br, 0, sizeof f->br);
    memset(&f->call, 0, sizeof f->call);
    for (uint32_t i = 0; i < n; i++) {
        f->adrp[i] = NONE;
        f->group[i] = i;
    }
    if (n > DSC_A64_FLOW_MAX_INSNS) { /* too big to analyse: nothing is known */
        know_nothing(f);
        return true;
    }
    bool *data = lead + n + 1; /* scratch after the leaders */
    for (uint32_t i = 0; i < n; i++)
        data[i] = sec->data && sec->data[first + i];
    f->data = data;
    make_blocks(f, lead);
    if (f->nblocks > f->in_cap) {
        free(f->in);
        f->in_cap = f->nblocks;
        if (!(f->in = malloc(f->in_cap * sizeof *f->in)))
            return false;
    }
    f->budget = (uint64_t)DSC_A64_FLOW_WORK_PER_INSN * n + 4096;
    solve(f);
    if (!f->budget)
        know_nothing(f);
    settle_groups(f);
    return true;
}

/* Does instructions [first, first + n) hold an ADRP of a page the caller
 * wants? (Data in code included: a word too many only costs an analysis.) */
static bool wanted(const struct dsc_a64_code *c, void *ctx, uint64_t first, uint32_t n)
{
    for (uint64_t i = first; i < first + n; i++) {
        uint32_t w = dsc_le32(c->bytes.data + i * 4);
        unsigned rd;
        if (dsc_a64_is_adrp(w, &rd) && c->page_wanted(ctx, dsc_a64_adrp_target(w, c->addr + i * 4)))
            return true;
    }
    return false;
}

int dsc_a64_each_function(const struct dsc_a64_code *c, dsc_a64_func_fn fn, void *ctx)
{
    struct section sec = {.c = c, .ninsns = c->bytes.size / 4};
    struct flow f = {0};
    bool *lead = NULL;
    int rc = -1;
    if (!sec.ninsns)
        return 0;
    if (!mark_data(&sec) || !find_starts(&sec))
        goto out;
    uint64_t longest = 0;
    for (size_t k = 0; k < sec.nstarts; k++) {
        uint64_t end = k + 1 < sec.nstarts ? sec.starts[k + 1] : sec.ninsns, len = end - sec.starts[k];
        longest = len > longest ? len : longest;
    }
    if (longest > DSC_A64_FLOW_MAX_INSNS)
        longest = DSC_A64_FLOW_MAX_INSNS + 1; /* analyse() gives up beyond; its arrays still fit */
    if (!flow_alloc(&f, longest, &lead))
        goto out;
    rc = 0;
    for (size_t k = 0; rc == 0 && k < sec.nstarts; k++) {
        uint64_t end = k + 1 < sec.nstarts ? sec.starts[k + 1] : sec.ninsns;
        for (uint64_t first = sec.starts[k]; rc == 0 && first < end;) {
            uint32_t n = (uint32_t)(end - first > longest ? longest : end - first);
            if (c->page_wanted && !wanted(c, ctx, first, n)) {
                first += n;
                continue;
            }
            if (!analyse(&f, &sec, first, n, lead)) {
                f.in_cap = 0;
                rc = -1;
                break;
            }
            struct dsc_a64_func fu = {f.code, f.pc, n, f.adrp, f.group, f.escaped};
            rc = fn(ctx, &fu);
            first += n;
        }
    }
out:
    flow_free(&f);
    free(lead);
    free(sec.data);
    free(sec.starts);
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_stubs.c — make every stub and call go through the image's own
 * pointer slots again, undoing the StubOptimizer of dyld-1042.1's
 * cache-builder/OptimizerBranches.cpp (stubs that branch or ADRP/ADD
 * straight to their target, calls bypassing their stubs).
 *
 *  1. Stubs: each stub of a S_SYMBOL_STUBS section is named (the bind of the
 *     slot it loads, else its indirect-table import, else the function its
 *     cache chain reaches), given the image's own slot bound to that name,
 *     and re-encoded in the normal slot-loading form when it differs
 *     (optimised direct forms, slots in other images' uniqued GOTs).
 *  2. Branches (AArch64): a B/BL in code that leaves the image — straight to
 *     another image's function, to an island, or to a stubs sub-cache copy —
 *     is followed to the function it reaches and pointed back at this
 *     image's stub for that symbol.
 *  3. GOT loads (AArch64): an ADRP+LDR pair or an LDR literal reading a
 *     pointer outside the image (a uniqued GOT chunk) is re-encoded to read
 *     the own slot bound to the same symbol; x86_64 RIP-relative operands
 *     and Swift's 32-bit relative references (relrefs.c) alike, and so
 *     are unwind information's personality references (__unwind_info's
 *     personality array, __eh_frame CIEs: base/unwind.h), which the cache
 *     aims at the coalesced GOT. Steps 2 and 3 take the references from
 *     coderefs.c, which reads the code once for them and for gotslots.c.
 *  4. The indirect symbol table names each stub and bound slot again
 *     (symbolize.c), so disassemblers show what a stub calls.
 * Runs after pass_binds (slot names come from the binds it made) and after
 * pass_linkedit (step 4 edits the rebuilt symtab). A size plan skips steps
 * 2 and 3, which only rewrite bytes in place, and runs 1 and 4 as a full
 * plan does: the stubs' names decide the symtab's size.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"
#include "extract/gotslots.h"
#include "extract/coderefs.h"
#include "index/imports.h"
#include "base/insn.h"
#include "base/sort.h"
#include "base/unwind.h"
#include "base/x86.h"
#include "cache/slide.h"
#include "index/stubs.h"
#include "extract/relrefs.h"
#include "extract/symbolize.h"
#include "index/symbols.h"

struct named {
    const char *name;
    uint64_t address;
    uint64_t slot;            /* stubs: the own slot they load */
    unsigned rank;            /* slots: 0 for lazy pointers, which stubs load first */
};

struct stub_ctx {
    struct dsc_plan *p;
    struct dsc_symbols *syms;
    struct dsc_imports im;
    struct named *slots;      /* own bound slots by name, once find_slot made them */
    size_t nslots;
    bool slots_made;
    struct named *stubs;      /* own stubs, sorted by name (full plans: fix_code) */
    size_t nstubs;
    struct dsc_stub_name *stub_addrs; /* own stubs, sorted by address */
    uint64_t unfixed;         /* stubs / branches that could not be repointed */
};

static int cmp_named(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->address < y->address ? -1 : x->address > y->address;
}

static const struct named *find_named(const struct named *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(v[lo].name, name) == 0 ? &v[lo] : NULL;
}

static const struct dsc_fixup *fixup_at(const struct stub_ctx *x, uint64_t address)
{
    return dsc_fixup_lookup(x->p, address);
}

/* Fixups in address order (the order pass_fixups encodes them in; no pass
 * after this one adds any), and room for the own slots. */
static int index_fixups(struct stub_ctx *x)
{
    struct dsc_plan *p = x->p;
    if (fixups_sort(p))
        return -1;
    x->slots = malloc((p->nfixups + p->nlazy + 1) * sizeof *x->slots);
    return x->slots ? 0 : plan_oom(p);
}

/* The own slots by name — bound by pass_binds, or lazy pointers rebased
 * to their helpers (plan->lazy) — in the room index_fixups made. */
static void make_slots(struct stub_ctx *x)
{
    struct dsc_plan *p = x->p;
    for (size_t i = 0; i < p->nfixups; i++) {
        const struct dsc_fixup *f = &p->fixups[i];
        if (f->kind != DSC_FIXUP_BIND || f->addend != 0)
            continue;
        const struct dsc_indirect *ind = dsc_imports_at(&x->im, f->address);
        x->slots[x->nslots++] = (struct named){p->imports[f->import].name, f->address, 0,
                                               ind && ind->sect_type == S_LAZY_SYMBOL_POINTERS ? 0 : 1};
    }
    for (size_t i = 0; i < p->nlazy; i++)
        x->slots[x->nslots++] = (struct named){p->imports[p->lazy[i].import].name, p->lazy[i].address, 0, 0};
    dsc_sort(x->slots, x->nslots, sizeof *x->slots, cmp_named);
}

/* The first own slot bound to `name`, in the slots sorted by name: made
 * on the first question (most stubs load a slot named by its own bind, and
 * a size plan asks nothing else of them). */
static const struct named *find_slot(struct stub_ctx *x, const char *name)
{
    if (!x->slots_made)
        make_slots(x);
    x->slots_made = true;
    return find_named(x->slots, x->nslots, name);
}

/* The name the own slot at `slot` is bound under (a lazy pointer rebased to
 * its helper: the name it binds lazily), or NULL. */
static const char *name_of_own_slot(const struct stub_ctx *x, uint64_t slot)
{
    const struct dsc_plan *p = x->p;
    const struct dsc_fixup *f = plan_in_image(p, slot) ? fixup_at(x, slot) : NULL;
    if (f && f->kind == DSC_FIXUP_BIND)
        return p->imports[f->import].name;
    size_t i = dsc_lower_bound(p->lazy, p->nlazy, sizeof *p->lazy, offsetof(struct dsc_lazy_slot, address), slot);
    return f && i < p->nlazy && p->lazy[i].address == slot ? p->imports[p->lazy[i].import].name : NULL;
}

/* The name of the function `addr` finally reaches, per its exports;
 * a chain that reaches nothing exported (a weak import bound to 0, through
 * a stub copy in a stubs sub-cache) is named by the own slot it loads. */
static const char *name_of_target(const struct stub_ctx *x, uint64_t addr)
{
    uint64_t final, slot;
    if (!dsc_stub_follow(x->p->cache, x->syms, addr, &final, &slot))
        return NULL;
    const struct dsc_export *const *at;
    size_t n = dsc_symbols_by_address(x->syms, final, &at);
    for (size_t i = 0; i < n; i++)
        if (at[i]->image == x->p->mo.image || dsc_symbols_ordinal(x->syms, x->p->mo.image, at[i]->name))
            return at[i]->name;
    return n ? at[0]->name : slot ? name_of_own_slot(x, slot) : NULL;
}

/* False when the function `addr` reaches is exported, but never as `name`. */
static bool may_be_named(const struct stub_ctx *x, uint64_t addr, const char *name)
{
    uint64_t final, slot;
    const struct dsc_export *const *at;
    if (!dsc_stub_follow(x->p->cache, x->syms, addr, &final, &slot))
        return true;
    size_t n = dsc_symbols_by_address(x->syms, final, &at);
    for (size_t i = 0; i < n; i++)
        if (strcmp(at[i]->name, name) == 0)
            return true;
    return n == 0;
}

static const char *name_of_stub(const struct stub_ctx *x, uint64_t stub, const struct dsc_stub *cur)
{
    const struct dsc_fixup *f;
    if (cur->slot && (f = fixup_at(x, cur->slot)) && f->kind == DSC_FIXUP_BIND)
        return x->p->imports[f->import].name;
    /* The indirect table, unless the stub's chain reaches a function
     * exported under other names (a zeroed table names symbol 0). */
    const struct dsc_indirect *ind = dsc_imports_at(&x->im, stub);
    if (ind && dsc_indirect_is_import(ind) && may_be_named(x, stub, ind->name))
        return ind->name;
    return name_of_target(x, stub);
}

/* The own slot for a stub named `name` that currently loads `cur_slot`: the
 * slot it loads when that is the image's own (the original layout; a call
 * to its own export may be a rebase), else one bound to `name`. */
static uint64_t own_slot(struct stub_ctx *x, const char *name, uint64_t cur_slot, bool auth)
{
    const struct dsc_fixup *f;
    if (cur_slot && plan_in_image(x->p, cur_slot) && (f = fixup_at(x, cur_slot)) &&
        (f->kind == DSC_FIXUP_REBASE ||
         (f->kind == DSC_FIXUP_BIND && strcmp(x->p->imports[f->import].name, name) == 0)))
        return cur_slot;
    const struct dsc_indirect *ind = dsc_imports_slot_for(&x->im, &x->p->mo, name, auth);
    if (ind && (f = fixup_at(x, ind->address)) && f->kind == DSC_FIXUP_BIND &&
        strcmp(x->p->imports[f->import].name, name) == 0)
        return ind->address;
    /* A lazy pointer rebased to its helper: the name its lazy bind had. */
    const struct named *n = find_slot(x, name);
    return n ? n->address : 0;
}

static int fix_stub(struct stub_ctx *x, const struct dsc_section *sec, uint64_t stub)
{
    struct dsc_plan *p = x->p;
    enum dsc_arch arch = p->cache->info.arch;
    /* arm64e images may also have plain 12-byte __stubs. */
    if (arch == DSC_ARCH_ARM64E && sec->reserved2 == 12)
        arch = DSC_ARCH_ARM64;
    dsc_span cur_bytes;
    struct dsc_stub cur = {0};
    if (dsc_vm_span(p->cache, stub, sec->reserved2, &cur_bytes))
        dsc_stub_decode(arch, cur_bytes.data, cur_bytes.size, stub, false, &cur);
    const char *name = name_of_stub(x, stub, &cur);
    uint64_t slot = name ? own_slot(x, name, cur.slot, arch == DSC_ARCH_ARM64E) : 0;
    if (!slot) {
        x->unfixed++;
        plan_warn(p, "stub at 0x%llx (%s): no own pointer slot is bound to it", (unsigned long long)stub,
                  name ? name : "unnamed");
        return 0;
    }
    x->stubs[x->nstubs++] = (struct named){name, stub, slot, 0};
    uint8_t want[16];
    if (!dsc_stub_encode(arch, stub, slot, want))
        return plan_fail(p, "stub at 0x%llx cannot reach its slot 0x%llx", (unsigned long long)stub,
                         (unsigned long long)slot);
    if (cur.form != DSC_STUB_NONE && cur.slot == slot)
        return 0;
    uint8_t *b = plan_seg_bytes(p, stub, dsc_stub_size(arch));
    if (b)
        memcpy(b, want, dsc_stub_size(arch));
    p->stats.stubs_fixed++;
    return 0;
}

static int cmp_stub_addr(const void *a, const void *b)
{
    const struct dsc_stub_name *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

/* The stubs by address, for symbolize.c (taken in the order fix_stubs
 * found them, so that both kinds of plan see the same order). */
static int index_stubs(struct stub_ctx *x)
{
    x->stub_addrs = malloc((x->nstubs ? x->nstubs : 1) * sizeof *x->stub_addrs);
    if (!x->stub_addrs)
        return plan_oom(x->p);
    for (size_t i = 0; i < x->nstubs; i++)
        x->stub_addrs[i] = (struct dsc_stub_name){x->stubs[i].name, x->stubs[i].address, x->stubs[i].slot};
    dsc_sort(x->stub_addrs, x->nstubs, sizeof *x->stub_addrs, cmp_stub_addr);
    return 0;
}

static int fix_stubs(struct stub_ctx *x)
{
    const struct dsc_macho *mo = &x->p->mo;
    size_t total = 0;
    for (unsigned i = 0; i < mo->nsects; i++)
        if ((mo->sects[i].flags & 0xFF) == S_SYMBOL_STUBS && mo->sects[i].reserved2)
            total += mo->sects[i].size / mo->sects[i].reserved2;
    x->stubs = malloc((total ? total : 1) * sizeof *x->stubs);
    if (!x->stubs)
        return plan_oom(x->p);
    for (unsigned i = 0; i < mo->nsects; i++) {
        const struct dsc_section *s = &mo->sects[i];
        if ((s->flags & 0xFF) != S_SYMBOL_STUBS || !s->reserved2)
            continue;
        if (s->reserved2 != 12 && s->reserved2 != 16 && s->reserved2 != 6)
            return plan_fail(x->p, "stub section %s has unknown stub size %u", s->sectname, s->reserved2);
        for (uint64_t a = s->addr; a + s->reserved2 <= s->addr + s->size; a += s->reserved2)
            if (fix_stub(x, s, a))
                return -1;
    }
    return index_stubs(x);
}

/* ---- code: branches and GOT loads (AArch64) ---- */

/* Code other than stubs (the stub helper's GOT load of dyld_stub_binder may
 * be uniqued too; its branches stay inside the image). */
static bool is_code(const struct dsc_section *s)
{
    return (s->flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS)) && (s->flags & 0xFF) != S_SYMBOL_STUBS;
}

static void fix_branch(struct stub_ctx *x, uint8_t *word, uint64_t pc, uint32_t insn, bool link)
{
    uint64_t target = dsc_a64_branch_target(insn, pc);
    if (plan_in_image(x->p, target))
        return;
    const char *name = name_of_target(x, target);
    const struct named *stub = name ? find_named(x->stubs, x->nstubs, name) : NULL;
    uint32_t fixed;
    if (!stub || !dsc_a64_branch_encode(pc, stub->address, link, &fixed)) {
        /* Without a stub to go through, a branch out is only evidence of
         * a tail call we cannot express: report it. */
        x->unfixed++;
        plan_warn(x->p, "%s at 0x%llx to 0x%llx (%s): no stub in this image", link ? "bl" : "b",
                  (unsigned long long)pc, (unsigned long long)target, name ? name : "unnamed");
        return;
    }
    if (word)
        dsc_put32(word, fixed);
    x->p->stats.stubs_fixed++;
}

/* The own slot for the pointer a code load reads at `slot` outside the
 * image (a uniqued GOT chunk), or 0 (after a warning when `report`). */
static uint64_t own_slot_for_load(struct stub_ctx *x, uint64_t pc, uint64_t slot, bool report)
{
    uint64_t target, coalesced = dsc_got_own_slot(x->p, slot);
    const struct dsc_map *m = dsc_vm_map(x->p->cache, slot);
    if (plan_in_image(x->p, slot) || !m || (m->info.max_prot & 4) || !dsc_vm_ptr_target(x->p->cache, slot, &target))
        return 0;
    if (coalesced)
        return coalesced;
    const char *name = name_of_target(x, target);
    const struct named *own = name ? find_slot(x, name) : NULL;
    /* Code reads a GOT, not a lazy pointer (which holds a helper until bound). */
    while (own && own->rank == 0 && own + 1 < x->slots + x->nslots && strcmp(own[1].name, name) == 0)
        own++;
    if (own && own->rank != 0)
        return own->address;
    if (!report)
        return 0;
    x->unfixed++;
    plan_warn(x->p, "GOT load at 0x%llx from 0x%llx (%s): no own slot", (unsigned long long)pc,
              (unsigned long long)slot, name ? name : "unnamed");
    return 0;
}

/* relrefs.c's question: a data reference names a GOT twin, not code, so
 * a miss is not reported (the field may be no reference at all). */
static uint64_t own_slot_for_field(void *ctx, uint64_t field, uint64_t slot)
{
    return own_slot_for_load(ctx, field, slot, false);
}

/* ADRP Xn, page ; LDR Xt, [Xn, #off] loading a pointer outside the image. */
static void fix_got_load(struct stub_ctx *x, uint8_t *words, uint64_t pc, uint32_t w0, uint32_t w1)
{
    unsigned rd, rt, rn, size;
    uint32_t off;
    if (!dsc_a64_is_adrp(w0, &rd) || !dsc_a64_is_ldr_imm(w1, &rt, &rn, &off, &size) || rn != rd ||
        size != x->p->ptr_size)
        return;
    uint64_t own = own_slot_for_load(x, pc, dsc_a64_adrp_target(w0, pc) + off, true);
    uint32_t n0, n1;
    if (!own)
        return;
    if (!dsc_a64_adrp_encode(rd, pc, own, &n0) || !dsc_a64_ldr_imm_encode(size, rt, rn, (uint32_t)(own & 0xFFF), &n1)) {
        x->unfixed++;
        plan_warn(x->p, "GOT load at 0x%llx: own slot 0x%llx is out of reach", (unsigned long long)pc,
                  (unsigned long long)own);
        return;
    }
    if (words) {
        dsc_put32(words, n0);
        dsc_put32(words + 4, n1);
    }
    x->p->stats.stubs_fixed++;
}

/* LDR Xt, literal reading a foreign GOT: re-aim it, or, out of its +-1 MiB,
 * turn the NOP before it (where ld64's ADRP was) back into the ADRP. */
static void fix_got_literal(struct stub_ctx *x, uint8_t *word, uint64_t pc, uint32_t w, uint32_t prev)
{
    unsigned rt, size;
    if (!dsc_a64_is_ldr_literal(w, &rt, &size) || size != x->p->ptr_size)
        return;
    uint64_t own = own_slot_for_load(x, pc, dsc_a64_ldr_literal_target(w, pc), true);
    uint32_t n0, n1;
    if (!own)
        return;
    if (dsc_a64_ldr_literal_encode(size, rt, pc, own, &n1)) {
        if (word)
            dsc_put32(word, n1);
    } else if (prev == A64_NOP && dsc_a64_adrp_encode(rt, pc - 4, own, &n0) &&
               dsc_a64_ldr_imm_encode(size, rt, rt, (uint32_t)(own & 0xFFF), &n1)) {
        if (word) {
            dsc_put32(word - 4, n0);
            dsc_put32(word, n1);
        }
    } else {
        x->unfixed++;
        plan_warn(x->p, "GOT load at 0x%llx: own slot 0x%llx is out of reach", (unsigned long long)pc,
                  (unsigned long long)own);
        return;
    }
    x->p->stats.stubs_fixed++;
}

/* x86_64: an instruction whose RIP-relative operand names a foreign GOT
 * chunk (MOV, CMP $imm, PUSH, CALL/JMP *, ...: base/x86.h) is re-aimed at
 * the own GOT slot (only when the address named is a GOT entry naming an
 * import this image has a slot for: stray byte patterns never are).
 * Returns the bytes it rewrote, so that refs inside them are skipped. */
static uint64_t fix_x86_operand(struct stub_ctx *x, dsc_span code, uint64_t o, uint8_t *out, uint64_t pc,
                                uint64_t slot)
{
    struct dsc_x86_insn insn;
    uint64_t own, named;
    uint8_t bytes[16];
    if (!dsc_x86_rip_operand(code.data + o, code.size - o, pc, &insn, &named) ||
        !(own = own_slot_for_load(x, pc, slot, false)))
        return 0;
    memcpy(bytes, code.data + o, insn.length);
    if (!dsc_x86_rip_encode(bytes, pc, &insn, own))
        return 0;
    if (out)
        memcpy(out + o, bytes, insn.length);
    x->p->stats.stubs_fixed++;
    return insn.length;
}

/* A personality reference of unwind information (coderefs.h, base/unwind.h)
 * naming a foreign GOT chunk: re-aimed at the own GOT slot. */
static void fix_unwind(struct stub_ctx *x, uint8_t *word, const struct dsc_code_ref *r)
{
    enum dsc_unwind_kind kind = r->kind == DSC_REF_UNWIND_OFF32 ? DSC_UNWIND_IMAGE_OFF32 : DSC_UNWIND_DELTA32;
    uint64_t own = own_slot_for_load(x, r->pc, r->to, true);
    uint32_t v;
    if (!own)
        return;
    if (!dsc_unwind_encode(kind, r->pc, own, x->p->base, &v)) {
        x->unfixed++;
        plan_warn(x->p, "unwind reference at 0x%llx: own slot 0x%llx is out of reach", (unsigned long long)r->pc,
                  (unsigned long long)own);
        return;
    }
    if (word)
        dsc_put32(word, v);
    x->p->stats.stubs_fixed++;
}

/* One reference leaving the image (coderefs.h), in code other than stubs
 * or in unwind information;
 * `code` and `out` are its section's bytes in the cache and the output
 * (NULL in a size plan). Returns bytes rewritten that hold further refs. */
static uint64_t fix_ref(struct stub_ctx *x, const struct dsc_code_ref *r, dsc_span code, uint8_t *out)
{
    uint64_t o = r->pc - x->p->mo.sects[r->sect].addr;
    uint8_t *word = out ? out + o : NULL;
    uint32_t w = dsc_le32(code.data + o);
    bool link;
    switch (r->kind) {
    case DSC_REF_BRANCH:
        dsc_a64_is_branch(w, &link);
        fix_branch(x, word, r->pc, w, link);
        return 0;
    case DSC_REF_PAIR:
        fix_got_load(x, word, r->pc, w, dsc_le32(code.data + o + 4));
        return 0;
    case DSC_REF_LITERAL:
        fix_got_literal(x, word, r->pc, w, o >= 4 ? dsc_le32(code.data + o - 4) : 0);
        return 0;
    case DSC_REF_RIP:
        return fix_x86_operand(x, code, o, out, r->pc, r->to);
    case DSC_REF_AUTH_STUB: /* only in stubs sections, which fix_stubs re-encodes */
        return 0;
    case DSC_REF_UNWIND_OFF32:
    case DSC_REF_UNWIND_DELTA32:
        fix_unwind(x, word, r);
        return 0;
    }
    return 0;
}

static int fix_code(struct stub_ctx *x)
{
    struct dsc_plan *p = x->p;
    const struct dsc_code_ref *refs;
    size_t n;
    unsigned sect = UINT_MAX;
    dsc_span code = {NULL, 0};
    uint8_t *out = NULL;
    uint64_t done = 0; /* refs before this address were rewritten over */
    if (plan_code_refs(p, &refs, &n))
        return -1;
    dsc_sort(x->stubs, x->nstubs, sizeof *x->stubs, cmp_named); /* for fix_branch */
    for (size_t i = 0; i < n; i++) {
        const struct dsc_section *s = &p->mo.sects[refs[i].sect];
        if (!is_code(s) && !dsc_unwind_section(s->segname, s->sectname))
            continue;
        if (refs[i].sect != sect) {
            sect = refs[i].sect;
            done = 0;
            if (!dsc_vm_span(p->cache, s->addr, s->size, &code))
                return plan_fail(p, "section %s is no longer readable", s->sectname);
            out = plan_seg_bytes(p, s->addr, s->size);
        }
        if (refs[i].pc >= done)
            done = refs[i].pc + fix_ref(x, &refs[i], code, out);
    }
    return 0;
}

int pass_stubs(struct dsc_plan *p)
{
    struct stub_ctx x = {.p = p};
    if (plan_symbols(p, &x.syms) || dsc_imports_load(&p->mo, &x.im, p->err))
        return -1;
    int rc = index_fixups(&x) || fix_stubs(&x) ||
                     (p->copy_bytes && (fix_code(&x) || dsc_relrefs_fix(p, own_slot_for_field, &x))) ||
                     dsc_symbolize_indirect(p, x.stub_addrs, x.nstubs)
                 ? -1
                 : 0;
    if (rc == 0 && x.unfixed)
        plan_warn(p, "%llu stubs or branches still leave the image", (unsigned long long)x.unfixed);
    free(x.slots);
    free(x.stubs);
    free(x.stub_addrs);
    dsc_imports_free(&x.im);
    return rc;
}

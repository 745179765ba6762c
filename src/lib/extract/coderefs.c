/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * coderefs.c — one walk of the image's code for the references that leave
 * the image (contract: coderefs.h).
 */
#include <stdlib.h>

#include "extract/coderefs.h"
#include "base/insn.h"
#include "base/unwind.h"
#include "base/x86.h"
#include "index/stubs.h"

struct walk {
    struct dsc_plan *p;
    unsigned sect;
    bool auth_stubs;  /* the section may hold arm64e stubs (auth_stub_slot) */
    struct dsc_code_ref *v;
    size_t n, cap;
    bool oom;
    /* The image segment and the foreign mapping that held the last
     * addresses asked about ([lo, lo + len), len 0 until then): most
     * loads read the image's own data or the one GOT chunk, so in_image
     * and foreign_slot answer them by one compare each. */
    uint64_t own_lo, own_len, far_lo, far_len;
    struct dsc_a64_match match; /* the words that may start a reference */
};

static void add(struct walk *w, enum dsc_code_ref_kind kind, uint64_t pc, uint64_t to)
{
    if (w->oom)
        return;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct dsc_code_ref *v = realloc(w->v, cap * sizeof *v);
        if (!v) {
            w->oom = true;
            return;
        }
        w->v = v;
        w->cap = cap;
    }
    w->v[w->n++] = (struct dsc_code_ref){pc, to, w->sect, kind};
}

/* In one of the image's segments; the last segment found answers first
 * (a branch or load mostly stays near the one before). */
static bool in_image(struct walk *w, uint64_t addr)
{
    const struct dsc_out_segment *s;
    if (addr - w->own_lo < w->own_len)
        return true;
    if (!(s = plan_segment_at(w->p, addr, 1)))
        return false;
    w->own_lo = s->vmaddr;
    w->own_len = s->vmsize;
    return true;
}

/* A pointer slot the code loads from another image's (or the cache's)
 * data: a uniqued GOT, never code or the image's own slots. The last
 * non-executable mapping found answers first for slots outside the image. */
static bool foreign_slot(struct walk *w, uint64_t slot)
{
    const struct dsc_map *m;
    if (in_image(w, slot))
        return false;
    if (slot - w->far_lo < w->far_len)
        return true;
    if (!(m = dsc_vm_map(w->p->cache, slot)) || (m->info.max_prot & 4))
        return false;
    w->far_lo = m->info.address;
    w->far_len = m->info.size;
    return true;
}

static void load(struct walk *w, enum dsc_code_ref_kind kind, uint64_t pc, uint64_t slot)
{
    if (foreign_slot(w, slot))
        add(w, kind, pc, slot);
}

/* An arm64e stub (ADRP X17 / ADD / LDR X16, [X17] / BRAA) of a stubs
 * section at `o`: its slot, or 0. ld64's __auth_stubs load __auth_got slots
 * this way; the cache aims them at the coalesced twins (dyld-1042+). */
static uint64_t auth_stub_slot(const struct walk *w, uint64_t pc, dsc_span code, uint64_t o)
{
    struct dsc_stub st;
    if (!w->auth_stubs || !dsc_stub_decode(DSC_ARCH_ARM64E, code.data + o, code.size - o, pc, false, &st) ||
        st.form != DSC_STUB_ARM64E)
        return 0;
    return st.slot;
}

/* The reference (if any) that the word at `o` starts. */
static void a64_word(struct walk *w, uint64_t addr, dsc_span code, uint64_t o, uint32_t x)
{
    uint32_t off;
    unsigned rd, rt, rn, size;
    bool link;
    uint64_t pc = addr + o, slot;
    if (dsc_a64_is_branch(x, &link)) {
        if (w->p->copy_bytes && !in_image(w, dsc_a64_branch_target(x, pc)))
            add(w, DSC_REF_BRANCH, pc, dsc_a64_branch_target(x, pc));
    } else if (dsc_a64_is_adrp(x, &rd)) {
        if (o + 8 <= code.size && dsc_a64_is_ldr_imm(dsc_le32(code.data + o + 4), &rt, &rn, &off, &size) &&
            rn == rd && size == w->p->ptr_size)
            load(w, DSC_REF_PAIR, pc, dsc_a64_adrp_target(x, pc) + off);
        else if ((slot = auth_stub_slot(w, pc, code, o)))
            load(w, DSC_REF_AUTH_STUB, pc, slot);
    } else if (dsc_a64_is_ldr_literal(x, &rt, &size) && size == w->p->ptr_size) {
        load(w, DSC_REF_LITERAL, pc, dsc_a64_ldr_literal_target(x, pc));
    }
}

/* The scan reads every word of the image's code once, and that memory
 * traffic is most of its cost (the code of all images is far larger than
 * any cache): asking for the line this far ahead keeps reads in flight
 * across page boundaries, where the hardware's own prefetch stops
 * (measured on the bench's large cache: a third off the scan). */
#define SCAN_AHEAD 2048

/* Only the matching words reach a64_word (about one in ten). A prefetch
 * never faults: the address ahead may lie past the code (an integer, not
 * a pointer into it, until then). */
static void walk_a64(struct walk *w, uint64_t addr, dsc_span code)
{
    uint64_t words = code.size / 4;
    for (uint64_t i = 0; i < words; i += 16) {
        unsigned n = words - i < 16 ? (unsigned)(words - i) : 16;
        __builtin_prefetch((const void *)((uintptr_t)code.data + i * 4 + SCAN_AHEAD));
        for (unsigned hits = dsc_a64_match_block(&w->match, code.data + i * 4, n); hits; hits &= hits - 1) {
            uint64_t at = (i + (unsigned)__builtin_ctz(hits)) * 4;
            a64_word(w, addr, code, at, dsc_le32(code.data + at));
        }
    }
}

/* The words that may start a reference (insn.h's patterns): ADRP, LDR
 * literal of a pointer and, when branches are listed, B/BL. */
static void match_of(struct walk *w)
{
    uint32_t ldr_size = w->p->ptr_size == 8 ? DSC_A64_LDR_X : 0;
    const uint32_t mask[3] = {DSC_A64_ADRP_MASK, DSC_A64_LDR_LITERAL_MASK | DSC_A64_LDR_X, DSC_A64_BRANCH_MASK};
    const uint32_t bits[3] = {DSC_A64_ADRP_BITS, DSC_A64_LDR_LITERAL_BITS | ldr_size, DSC_A64_BRANCH_BITS};
    dsc_a64_match_init(&w->match, mask, bits, w->p->copy_bytes ? 3 : 2);
}

static void walk_x86(struct walk *w, uint64_t addr, dsc_span code)
{
    for (uint64_t o = 0; o < code.size; o++) {
        struct dsc_x86_insn insn;
        uint64_t slot;
        if (dsc_x86_rip_operand(code.data + o, code.size - o, addr + o, &insn, &slot))
            load(w, DSC_REF_RIP, addr + o, slot);
    }
}

static int unwind_ref(void *ctx, uint64_t field, uint64_t slot, enum dsc_unwind_kind kind)
{
    load(ctx, kind == DSC_UNWIND_IMAGE_OFF32 ? DSC_REF_UNWIND_OFF32 : DSC_REF_UNWIND_DELTA32, field, slot);
    return 0;
}

/* The section's instructions, or its personality references. */
static void walk_section(struct walk *w, bool x86)
{
    const struct dsc_section *s = &w->p->mo.sects[w->sect];
    dsc_span bytes;
    if (!dsc_vm_span(w->p->cache, s->addr, s->size, &bytes))
        return;
    if (dsc_unwind_section(s->segname, s->sectname))
        dsc_unwind_each(bytes.data, bytes.size, s->addr, s->sectname, w->p->base, unwind_ref, w);
    else if (!(s->flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS)))
        return;
    else if (x86)
        walk_x86(w, s->addr, bytes);
    else {
        w->auth_stubs = w->p->cache->info.arch == DSC_ARCH_ARM64E && (s->flags & SECTION_TYPE) == S_SYMBOL_STUBS;
        walk_a64(w, s->addr, bytes);
    }
}

int plan_code_refs(struct dsc_plan *p, const struct dsc_code_ref **refs, size_t *n)
{
    enum dsc_arch arch = p->cache->info.arch;
    bool x86 = arch == DSC_ARCH_X86_64 || arch == DSC_ARCH_X86_64H;
    bool a64 = arch == DSC_ARCH_ARM64 || arch == DSC_ARCH_ARM64E || arch == DSC_ARCH_ARM64_32;
    if (!p->code_refs_read && (x86 || a64)) {
        struct walk w = {.p = p};
        if (a64)
            match_of(&w);
        for (w.sect = 0; w.sect < p->mo.nsects; w.sect++)
            walk_section(&w, x86);
        if (w.oom) {
            free(w.v);
            return plan_oom(p);
        }
        p->code_refs = w.v;
        p->ncode_refs = w.n;
    }
    p->code_refs_read = true;
    *refs = p->code_refs;
    *n = p->ncode_refs;
    return 0;
}

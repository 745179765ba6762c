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
    struct dsc_code_ref *v;
    size_t n, cap;
    bool oom;
    bool starts[256]; /* by opcode byte: a word that may start a reference */
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

/* A pointer slot the code loads from another image's (or the cache's)
 * data: a uniqued GOT, never code or the image's own slots. */
static bool foreign_slot(const struct dsc_plan *p, uint64_t slot)
{
    const struct dsc_map *m;
    return !plan_in_image(p, slot) && (m = dsc_vm_map(p->cache, slot)) && !(m->info.max_prot & 4);
}

static void load(struct walk *w, enum dsc_code_ref_kind kind, uint64_t pc, uint64_t slot)
{
    if (foreign_slot(w->p, slot))
        add(w, kind, pc, slot);
}

/* An arm64e stub (ADRP X17 / ADD / LDR X16, [X17] / BRAA) of a stubs
 * section at `o`: its slot, or 0. ld64's __auth_stubs load __auth_got slots
 * this way; the cache aims them at the coalesced twins (dyld-1042+). */
static uint64_t auth_stub_slot(const struct walk *w, uint64_t pc, dsc_span code, uint64_t o)
{
    struct dsc_stub st;
    if (w->p->cache->info.arch != DSC_ARCH_ARM64E || (w->p->mo.sects[w->sect].flags & SECTION_TYPE) != S_SYMBOL_STUBS ||
        !dsc_stub_decode(DSC_ARCH_ARM64E, code.data + o, code.size - o, pc, false, &st) || st.form != DSC_STUB_ARM64E)
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
        if (w->p->copy_bytes && !plan_in_image(w->p, dsc_a64_branch_target(x, pc)))
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

/* The words [o, o + len) of the code. */
static inline void a64_words(struct walk *w, uint64_t addr, dsc_span code, uint64_t o, unsigned len)
{
    for (unsigned k = 0; k < len; k += 4) {
        uint32_t x = dsc_le32(code.data + o + k);
        if (w->starts[x >> 24])
            a64_word(w, addr, code, o + k, x);
    }
}

/* Most words start nothing: a table by opcode byte (built from the codec's
 * own classifiers, which read no other bits: insn.h) passes only ADRP,
 * LDR literal and, when branches are listed, B/BL to a64_word. A prefetch
 * never faults: the address ahead may lie past the code (an integer, not
 * a pointer into it, until then). */
static void walk_a64(struct walk *w, uint64_t addr, dsc_span code)
{
    uint64_t o = 0, words = code.size & ~3ull;
    for (; o + 64 <= words; o += 64) {
        __builtin_prefetch((const void *)((uintptr_t)code.data + o + SCAN_AHEAD));
        a64_words(w, addr, code, o, 64);
    }
    a64_words(w, addr, code, o, (unsigned)(words - o));
}

/* Filled per walk (no state outside the plan), branch-free so that the
 * compiler can fill several entries at once. */
static void a64_starts(struct walk *w)
{
    bool branches = w->p->copy_bytes;
    unsigned psz = w->p->ptr_size;
    for (unsigned b = 0; b < 256; b++) {
        uint32_t x = (uint32_t)b << 24;
        unsigned rd, rt, size;
        bool link;
        w->starts[b] = (dsc_a64_is_branch(x, &link) & branches) | dsc_a64_is_adrp(x, &rd) |
                       (dsc_a64_is_ldr_literal(x, &rt, &size) & (size == psz));
    }
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
    else
        walk_a64(w, s->addr, bytes);
}

int plan_code_refs(struct dsc_plan *p, const struct dsc_code_ref **refs, size_t *n)
{
    enum dsc_arch arch = p->cache->info.arch;
    bool x86 = arch == DSC_ARCH_X86_64 || arch == DSC_ARCH_X86_64H;
    bool a64 = arch == DSC_ARCH_ARM64 || arch == DSC_ARCH_ARM64E || arch == DSC_ARCH_ARM64_32;
    if (!p->code_refs_read && (x86 || a64)) {
        struct walk w = {.p = p};
        if (a64)
            a64_starts(&w);
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

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * coderefs.h — the image's code and unwind information read once per
 * extraction: every reference in them that leaves the image. gotslots.c
 * (which cache-wide GOT twins the image reads) and pass_stubs.c (which
 * re-aims branches, loads and personality references at the image's own
 * stubs and slots) both work from this one list, so no pass walks the
 * code itself.
 */
#ifndef DSC_CODEREFS_H
#define DSC_CODEREFS_H

#include "extract/extract.h"

enum dsc_code_ref_kind {
    DSC_REF_BRANCH,  /* AArch64 B/BL; `to` is its target */
    DSC_REF_PAIR,    /* AArch64 ADRP + LDR (next word) of a pointer; `to` is the slot */
    DSC_REF_LITERAL, /* AArch64 LDR literal of a pointer; `to` is the slot */
    DSC_REF_RIP,     /* x86_64 RIP-relative operand; `to` is the address it names */
    DSC_REF_AUTH_STUB, /* arm64e stub of a S_SYMBOL_STUBS section (ADRP X17 / ADD /
                        * LDR X16, [X17] / BRAA); `to` is the slot; pass_stubs
                        * re-encodes stubs whole, so only gotslots.c reads these */
    DSC_REF_UNWIND_OFF32,   /* __unwind_info personality entry (base/unwind.h):
                             * 32-bit offset from the mach_header; `to` is the slot */
    DSC_REF_UNWIND_DELTA32, /* __eh_frame CIE personality, 32-bit pc-relative;
                             * `to` is the slot */
};

/* Branches whose target is outside the image; loads (pointer-sized for
 * AArch64) and personality references of a slot outside the image in a
 * mapped, non-executable range (a coalesced GOT: dyld-1042.1+
 * adjustReferencesUsingInfoV2 aims them there).
 * In section order, then address order. RIP operands are found at every
 * byte offset that decodes as one, overlapping ones included: a user that
 * rewrites an instruction skips the refs inside it. */
struct dsc_code_ref {
    uint64_t pc;     /* the instruction (the ADRP of a pair) */
    uint64_t to;
    unsigned sect;   /* index into plan->mo.sects */
    enum dsc_code_ref_kind kind;
};

/* The list, read from every section with instructions (S_SYMBOL_STUBS
 * included) and from __TEXT,__unwind_info and __eh_frame on the first call and kept in the plan; -1 only when out of
 * memory. Architectures other than AArch64 and x86_64 have none. A size
 * plan lists no branches: only the rewrites it skips (pass_stubs.c)
 * follow them; the loads decide GOT slots' binds (gotslots.c). */
int plan_code_refs(struct dsc_plan *p, const struct dsc_code_ref **refs, size_t *n);

#endif

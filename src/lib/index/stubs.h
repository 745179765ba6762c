/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stubs.h — stubs and branches (AArch64 words: base/insn.h; x86_64
 * instructions: base/x86.h): every stub form the linker writes
 * or dyld-1042.1's cache-builder/OptimizerBranches.cpp rewrites to (plain
 * and optimised arm64, arm64e auth stubs, arm64_32, x86_64) and
 * single-B branch islands; following a stub chain through the cache to the
 * function it finally reaches.
 *
 * Decoders take words or bytes that the caller has already bounds-checked;
 * encoders return false when the target is out of the instruction's range
 * or misaligned, never a wrong word. dsc_stub_follow reads the cache only
 * through dsc_vm_* and stops after DSC_STUB_MAX_HOPS hops.
 */
#ifndef DSC_STUBS_H
#define DSC_STUBS_H

#include "base/insn.h"
#include "cache/cache.h"

struct dsc_symbols;

#define DSC_STUB_MAX_HOPS 16

/* ---- stubs ---- */

enum dsc_stub_form {
    DSC_STUB_NONE = 0,
    DSC_STUB_ARM64,          /* ADRP X16; LDR X16,[X16,#o]; BR X16 */
    DSC_STUB_ARM64_DIRECT,   /* ADRP X16; ADD X16,X16,#o; BR X16 */
    DSC_STUB_ARM64E,         /* ADRP X17; ADD X17,X17,#o; LDR X16,[X17]; BRAA X16,X17 */
    DSC_STUB_ARM64E_DIRECT,  /* ADRP X16; ADD X16,X16,#o; BR X16; BRK #1 */
    DSC_STUB_ARM64_32,       /* ADRP X16; LDR W16,[X16,#o]; BR X16 */
    DSC_STUB_X86_64,         /* JMP *disp32(%rip) */
    DSC_STUB_ISLAND,         /* B target (a branch island) */
};

struct dsc_stub {
    enum dsc_stub_form form;
    unsigned size;           /* bytes the stub occupies */
    uint64_t slot;           /* the pointer it loads (slot forms), else 0 */
    uint64_t target;         /* where it branches (direct forms, islands), else 0 */
};

/* Stub size of the normal form for `arch` (0 if unsupported). */
unsigned dsc_stub_size(enum dsc_arch arch);
/* Recognise a stub of `arch` at `pc` in `len` bytes at `p`. Single-B
 * islands are recognised only when `islands` is true (any function may
 * start with a tail-call B). */
bool dsc_stub_decode(enum dsc_arch arch, const uint8_t *p, size_t len, uint64_t pc, bool islands,
                     struct dsc_stub *out);
/* Write the normal (slot-loading) stub of `arch` at `pc` for `slot` into
 * `out` (dsc_stub_size(arch) bytes). False when the slot is out of range. */
bool dsc_stub_encode(enum dsc_arch arch, uint64_t pc, uint64_t slot, uint8_t *out);
/* Write a stub of `form` at `pc` into `out` (the form's size: 16 bytes for
 * the arm64e forms, 6 for x86_64, else 12): the slot forms load `addr`,
 * the direct forms branch to it. False when `addr` is out of reach, and for
 * DSC_STUB_NONE and islands (a single B: dsc_a64_branch_encode). */
bool dsc_stub_encode_form(enum dsc_stub_form form, uint64_t pc, uint64_t addr, uint8_t *out);

/* From `addr`, follow stubs, islands and pointer slots to the function
 * finally reached. Islands are followed only outside every image (branch
 * pools, stubs sub-caches) or in a "...branch_islands" pseudo-image, as
 * `syms` tells. *first_slot gets the first
 * pointer slot met (0 if none). Returns false if the chain is unreadable
 * or longer than DSC_STUB_MAX_HOPS. */
bool dsc_stub_follow(const dsc_cache *c, struct dsc_symbols *syms, uint64_t addr, uint64_t *final,
                     uint64_t *first_slot);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stubs.h — instruction-level helpers for stubs and branches: AArch64
 * B/BL, ADRP, ADD and LDR decode/encode; every stub form the linker writes
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

#include "cache/cache.h"

struct dsc_symbols;

#define DSC_STUB_MAX_HOPS 16

/* ---- AArch64 words ---- */

#define A64_BR_X16 0xD61F0200u
#define A64_BRAA_X16_X17 0xD71F0A11u
#define A64_BRK_1 0xD4200020u
#define A64_LDR_X16_X17 0xF9400230u
#define A64_X16 16u
#define A64_X17 17u

/* B or BL: true when `insn` is one; *link tells which. */
bool dsc_a64_is_branch(uint32_t insn, bool *link);
uint64_t dsc_a64_branch_target(uint32_t insn, uint64_t pc);
/* False when target is not 4-aligned or beyond +-128 MiB of pc. */
bool dsc_a64_branch_encode(uint64_t pc, uint64_t target, bool link, uint32_t *insn);

bool dsc_a64_is_adrp(uint32_t insn, unsigned *rd);
uint64_t dsc_a64_adrp_target(uint32_t insn, uint64_t pc);   /* a 4 KiB page */
bool dsc_a64_adrp_encode(unsigned rd, uint64_t pc, uint64_t target_page, uint32_t *insn);

/* ADD Xd, Xn, #imm12 (64-bit, unshifted). */
bool dsc_a64_is_add_imm(uint32_t insn, unsigned *rd, unsigned *rn, uint32_t *imm);
bool dsc_a64_add_imm_encode(unsigned rd, unsigned rn, uint32_t imm, uint32_t *insn);

/* LDR Xt|Wt, [Xn, #off] (unsigned offset); *size is 8 or 4, *off in bytes. */
bool dsc_a64_is_ldr_imm(uint32_t insn, unsigned *rt, unsigned *rn, uint32_t *off, unsigned *size);
bool dsc_a64_ldr_imm_encode(unsigned size, unsigned rt, unsigned rn, uint32_t off, uint32_t *insn);

/* LDR Xt|Wt, label (PC-relative literal, +-1 MiB); *size 8 or 4. */
bool dsc_a64_is_ldr_literal(uint32_t insn, unsigned *rt, unsigned *size);
uint64_t dsc_a64_ldr_literal_target(uint32_t insn, uint64_t pc);
bool dsc_a64_ldr_literal_encode(unsigned size, unsigned rt, uint64_t pc, uint64_t target, uint32_t *insn);

/* ADR Xd, label (+-1 MiB). */
bool dsc_a64_is_adr(uint32_t insn);
uint64_t dsc_a64_adr_target(uint32_t insn, uint64_t pc);

#define A64_NOP 0xD503201Fu

/* x86_64 GOT loads: MOV r64, [RIP+disp32] (REX.W 8B /r, ModRM mod 00 rm
 * 101; 7 bytes), JMP/CALL [RIP+disp32] (FF 25 / FF 15; 6 bytes). True when
 * the `avail` bytes at `p` start one; *slot gets the address read, *len the
 * instruction length (its disp32 ends it). Such bytes can occur by chance
 * inside other code: callers act only on strong evidence (a GOT entry). */
bool dsc_x86_rip_load(const uint8_t *p, uint64_t avail, uint64_t pc, uint64_t *slot, unsigned *len);

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

/* The unslid target of the pointer stored at `addr`, decoded with the slide
 * info of its mapping (v1..v5; none = raw). Top-byte/PAC bits dropped. */
bool dsc_vm_pointer(const dsc_cache *c, uint64_t addr, uint64_t *target);

/* From `addr`, follow stubs, islands and pointer slots to the function
 * finally reached. Islands are followed only outside every image (branch
 * pools, stubs sub-caches) or in a "...branch_islands" pseudo-image, as
 * `syms` tells. *first_slot gets the first
 * pointer slot met (0 if none). Returns false if the chain is unreadable
 * or longer than DSC_STUB_MAX_HOPS. */
bool dsc_stub_follow(const dsc_cache *c, const struct dsc_symbols *syms, uint64_t addr, uint64_t *final,
                     uint64_t *first_slot);

#endif

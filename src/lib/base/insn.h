/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * insn.h — the one AArch64 instruction codec: fields, classes and the
 * PC-relative forms (B/BL, ADRP, ADR, ADD imm, LDR imm/literal) decoded to
 * their targets and encoded back. Encodings from the Arm A64 ISA
 * (DDI 0487, "A64 Base Instruction Descriptions").
 *
 * Decoders take a word the caller has read from checked bytes; encoders
 * return false when the target is out of the instruction's range or
 * misaligned, never a wrong word. (x86_64 decoding: base/x86.h.) The
 * classifiers the code scans call on every word are inline here; they
 * fill their out-fields whatever they answer (meaningful only on true).
 * The answers of dsc_a64_is_branch, dsc_a64_is_adrp and
 * dsc_a64_is_ldr_literal (and the latter's *size) are each one masked
 * compare of the opcode byte (bits 24-31): the patterns below, which a
 * scan may test many words at a time.
 */
#ifndef DSC_INSN_H
#define DSC_INSN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/reader.h"

#define A64_BR_X16 0xD61F0200u
#define A64_BRAA_X16_X17 0xD71F0A11u
#define A64_BRK_1 0xD4200020u
#define A64_LDR_X16_X17 0xF9400230u
#define A64_LDR_W16_LITERAL_8 0x18000050u /* ldr w16, #8: stub-helper entries */
#define A64_X16 16u
#define A64_X17 17u
#define A64_NOP 0xD503201Fu

/* Classes as patterns: a word is one when (word & MASK) == BITS. */
#define DSC_A64_BRANCH_MASK 0x7C000000u      /* B, BL */
#define DSC_A64_BRANCH_BITS 0x14000000u
#define DSC_A64_ADRP_MASK 0x9F000000u
#define DSC_A64_ADRP_BITS 0x90000000u
#define DSC_A64_LDR_LITERAL_MASK 0xBF000000u /* LDR Wt|Xt, label */
#define DSC_A64_LDR_LITERAL_BITS 0x18000000u
#define DSC_A64_LDR_X 0x40000000u            /* bit 30 of LDR: Xt (8 bytes), not Wt */

/* A scan's classes, up to three (MASK, BITS) pairs, tested sixteen words
 * at a time (GCC and clang vector extensions). The pairs are kept in the
 * code's byte order, so words are compared as the host reads them. */
typedef uint32_t dsc_a64_v4 __attribute__((vector_size(16)));
struct dsc_a64_match {
    dsc_a64_v4 mask[3], bits[3];
    unsigned n;
};
/* Pairs i < n from mask[i], bits[i]; the others match no word. */
void dsc_a64_match_init(struct dsc_a64_match *m, const uint32_t *mask, const uint32_t *bits, unsigned n);
/* Bit k set when word k of the `n` (at most 16) at `code` matches a pair. */
unsigned dsc_a64_match_block(const struct dsc_a64_match *m, const uint8_t *code, unsigned n);

/* B or BL: true when `insn` is one; *link tells which. */
static inline bool dsc_a64_is_branch(uint32_t insn, bool *link)
{
    if (link)
        *link = insn >> 31;
    return (insn & DSC_A64_BRANCH_MASK) == DSC_A64_BRANCH_BITS;
}

static inline uint64_t dsc_a64_branch_target(uint32_t insn, uint64_t pc)
{
    return pc + (uint64_t)(dsc_sext(insn & 0x3FFFFFFu, 26) * 4);
}

/* False when target is not 4-aligned or beyond +-128 MiB of pc. */
bool dsc_a64_branch_encode(uint64_t pc, uint64_t target, bool link, uint32_t *insn);

static inline bool dsc_a64_is_adrp(uint32_t insn, unsigned *rd)
{
    if (rd)
        *rd = insn & 0x1F;
    return (insn & DSC_A64_ADRP_MASK) == DSC_A64_ADRP_BITS;
}

/* A 4 KiB page. */
static inline uint64_t dsc_a64_adrp_target(uint32_t insn, uint64_t pc)
{
    uint64_t imm = ((insn >> 5) & 0x7FFFFu) << 2 | ((insn >> 29) & 3);
    return (pc & ~0xFFFull) + (uint64_t)(dsc_sext(imm, 21) * 4096);
}

bool dsc_a64_adrp_encode(unsigned rd, uint64_t pc, uint64_t target_page, uint32_t *insn);

/* ADD Xd, Xn, #imm12 (64-bit, unshifted). */
bool dsc_a64_is_add_imm(uint32_t insn, unsigned *rd, unsigned *rn, uint32_t *imm);
bool dsc_a64_add_imm_encode(unsigned rd, unsigned rn, uint32_t imm, uint32_t *insn);

/* LDR Xt|Wt, [Xn, #off] (unsigned offset); *size is 8 or 4, *off in bytes. */
static inline bool dsc_a64_is_ldr_imm(uint32_t insn, unsigned *rt, unsigned *rn, uint32_t *off, unsigned *size)
{
    *size = insn & DSC_A64_LDR_X ? 8 : 4; /* 0xF94 vs 0xB94 */
    *rt = insn & 0x1F;
    *rn = (insn >> 5) & 0x1F;
    *off = ((insn >> 10) & 0xFFF) * *size;
    return (insn & 0xBFC00000u) == 0xB9400000u;
}

bool dsc_a64_ldr_imm_encode(unsigned size, unsigned rt, unsigned rn, uint32_t off, uint32_t *insn);

/* LDR Xt|Wt, label (PC-relative literal, +-1 MiB); *size 8 or 4. */
static inline bool dsc_a64_is_ldr_literal(uint32_t insn, unsigned *rt, unsigned *size)
{
    *size = insn & DSC_A64_LDR_X ? 8 : 4; /* 0x58 vs 0x18 */
    *rt = insn & 0x1F;
    return (insn & DSC_A64_LDR_LITERAL_MASK) == DSC_A64_LDR_LITERAL_BITS;
}

static inline uint64_t dsc_a64_ldr_literal_target(uint32_t insn, uint64_t pc)
{
    return pc + (uint64_t)(dsc_sext((insn >> 5) & 0x7FFFFu, 19) * 4);
}

bool dsc_a64_ldr_literal_encode(unsigned size, unsigned rt, uint64_t pc, uint64_t target, uint32_t *insn);

/* Any load (literal): LDR Wt/Xt/St/Dt/Qt, LDRSW Xt or PRFM of a label, the
 * target of each is dsc_a64_ldr_literal_target. */
bool dsc_a64_is_load_literal(uint32_t insn);
/* Any load (literal) re-aimed at `target`, every other field kept. */
bool dsc_a64_load_literal_retarget(uint32_t *insn, uint64_t pc, uint64_t target);
/* The LDR (unsigned offset) that loads what LDR Wt|Xt / LDRSW Xt literal
 * `literal` loads, into the same Rt, from [Xn, #off] (the pair's second
 * word once an ADRP gives the page). False for other literal forms. */
bool dsc_a64_ldr_imm_of_literal(uint32_t literal, unsigned rn, uint32_t off, uint32_t *insn);

/* B.cond, CBZ/CBNZ, TBZ/TBNZ: true when `insn` is one, with its target. */
bool dsc_a64_cond_branch(uint32_t insn, uint64_t pc, uint64_t *target);

/* BR, BLR, RET, ... (dsc_a64_is_indirect_branch): which one. */
enum dsc_a64_indirect { DSC_A64_BR, DSC_A64_BLR, DSC_A64_RET };
enum dsc_a64_indirect dsc_a64_indirect_kind(uint32_t insn);

/* ADR Xd, label (+-1 MiB). */
bool dsc_a64_is_adr(uint32_t insn);
uint64_t dsc_a64_adr_target(uint32_t insn, uint64_t pc);
bool dsc_a64_adr_encode(unsigned rd, uint64_t pc, uint64_t target, uint32_t *insn);


/* Register fields: Rd/Rt (bits 0-4) and Rn (bits 5-9). */
static inline unsigned dsc_a64_rd(uint32_t insn) { return insn & 31u; }
static inline unsigned dsc_a64_rn(uint32_t insn) { return (insn >> 5) & 31u; }

/* ---- instruction classes (for local register analysis) ---- */

/* ADD/SUB (immediate), either size, with or without flags. */
static inline bool dsc_a64_is_add_sub_imm(uint32_t insn) { return (insn & 0x1F000000u) == 0x11000000u; }
/* SVC #imm (a system call: the argument registers escape). */
static inline bool dsc_a64_is_svc(uint32_t insn) { return (insn & 0xFFE0001Fu) == 0xD4000001u; }
/* Load/store register (unsigned immediate): Rn is a base address. */
static inline bool dsc_a64_is_ldst_uoff(uint32_t insn) { return (insn & 0x3B000000u) == 0x39000000u; }
/* Any load or store (the "Loads and Stores" encoding group). */
static inline bool dsc_a64_is_load_store(uint32_t insn) { return (insn & 0x0A000000u) == 0x08000000u; }
/* A store: a load/store with the L bit (22) clear. */
static inline bool dsc_a64_is_store(uint32_t insn) { return dsc_a64_is_load_store(insn) && !(insn & (1u << 22)); }
/* BR, BLR, RET and the authenticated forms: unconditional register branches. */
static inline bool dsc_a64_is_indirect_branch(uint32_t insn) { return (insn & 0xFE000000u) == 0xD6000000u; }

/* The general-purpose registers x0..x30 an instruction reads and writes, as
 * bit masks (bit r = xr; register 31, SP/XZR, is never in them). Register
 * data flow (base/a64flow.c) needs them to be safe rather than exact: a
 * register the decoder cannot rule out as a source is in `read` (an
 * unknown encoding reads and writes every register field it has), and a
 * register is in `write` only if it is overwritten, or is also in `read`.
 * Branches, calls and returns are left to the caller: here they read their
 * register operands and write nothing. */
struct dsc_a64_regs {
    uint32_t read, write;
};
void dsc_a64_regs_of(uint32_t insn, struct dsc_a64_regs *r);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * insn.c — AArch64 instruction fields, decode and encode. See insn.h.
 */
#include "base/insn.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base/reader.h"

/* x as its four little-endian bytes read in host order. */
static uint32_t code_order(uint32_t x)
{
    uint8_t b[4];
    uint32_t y;
    dsc_put32(b, x);
    memcpy(&y, b, sizeof y);
    return y;
}

void dsc_a64_match_init(struct dsc_a64_match *m, const uint32_t *mask, const uint32_t *bits, unsigned n)
{
    m->n = n;
    for (unsigned i = 0; i < 3; i++) {
        m->mask[i] = (dsc_a64_v4){0} + (i < n ? code_order(mask[i]) : 0);
        m->bits[i] = (dsc_a64_v4){0} + (i < n ? code_order(bits[i]) : ~0u); /* (w & 0) != ~0 */
    }
}

typedef int32_t v4i __attribute__((vector_size(16)));

/* Words 0-3 at `code`: bit k for word k. */
static inline unsigned match4(const struct dsc_a64_match *m, const uint8_t *code)
{
    dsc_a64_v4 v;
    memcpy(&v, code, sizeof v);
    v4i hit = ((v & m->mask[0]) == m->bits[0]) | ((v & m->mask[1]) == m->bits[1]);
    if (m->n > 2)
        hit |= (v & m->mask[2]) == m->bits[2];
#ifdef __SSE2__
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps((__m128i)hit));
#else
    return (hit[0] & 1u) | (hit[1] & 2u) | (hit[2] & 4u) | (hit[3] & 8u);
#endif
}

/* A short block is tested from a zero-padded copy, the padding masked off. */
unsigned dsc_a64_match_block(const struct dsc_a64_match *m, const uint8_t *code, unsigned n)
{
    uint8_t pad[64];
    if (n < 16) {
        memset(pad, 0, sizeof pad);
        memcpy(pad, code, n * 4u);
        code = pad;
    }
    unsigned hits = match4(m, code) | match4(m, code + 16) << 4 | match4(m, code + 32) << 8 |
                    match4(m, code + 48) << 12;
    return hits & ((1u << n) - 1);
}

bool dsc_a64_branch_encode(uint64_t pc, uint64_t target, bool link, uint32_t *insn)
{
    int64_t delta = (int64_t)(target - pc);
    if ((delta & 3) || delta < -(1ll << 27) || delta >= (1ll << 27))
        return false;
    *insn = (link ? 0x94000000u : 0x14000000u) | ((uint32_t)(delta >> 2) & 0x3FFFFFFu);
    return true;
}



bool dsc_a64_adrp_encode(unsigned rd, uint64_t pc, uint64_t target_page, uint32_t *insn)
{
    int64_t pages = (int64_t)((target_page & ~0xFFFull) - (pc & ~0xFFFull)) / 4096;
    if (rd > 31 || pages < -(1ll << 20) || pages >= (1ll << 20))
        return false;
    uint32_t imm = (uint32_t)pages & 0x1FFFFFu;
    *insn = 0x90000000u | (imm & 3) << 29 | (imm >> 2) << 5 | rd;
    return true;
}

bool dsc_a64_is_add_imm(uint32_t insn, unsigned *rd, unsigned *rn, uint32_t *imm)
{
    if ((insn & 0xFFC00000u) != 0x91000000u)
        return false;
    *rd = insn & 0x1F;
    *rn = (insn >> 5) & 0x1F;
    *imm = (insn >> 10) & 0xFFF;
    return true;
}

bool dsc_a64_add_imm_encode(unsigned rd, unsigned rn, uint32_t imm, uint32_t *insn)
{
    if (rd > 31 || rn > 31 || imm > 0xFFF)
        return false;
    *insn = 0x91000000u | imm << 10 | rn << 5 | rd;
    return true;
}


bool dsc_a64_ldr_imm_encode(unsigned size, unsigned rt, unsigned rn, uint32_t off, uint32_t *insn)
{
    if ((size != 8 && size != 4) || rt > 31 || rn > 31 || off % size || off / size > 0xFFF)
        return false;
    *insn = (size == 8 ? 0xF9400000u : 0xB9400000u) | (off / size) << 10 | rn << 5 | rt;
    return true;
}



bool dsc_a64_ldr_literal_encode(unsigned size, unsigned rt, uint64_t pc, uint64_t target, uint32_t *insn)
{
    uint32_t w = (size == 8 ? 0x58000000u : 0x18000000u) | rt;
    if ((size != 8 && size != 4) || rt > 31 || !dsc_a64_load_literal_retarget(&w, pc, target))
        return false;
    *insn = w;
    return true;
}

bool dsc_a64_is_load_literal(uint32_t insn) { return (insn & 0x3B000000u) == 0x18000000u; }

bool dsc_a64_load_literal_retarget(uint32_t *insn, uint64_t pc, uint64_t target)
{
    int64_t delta = (int64_t)(target - pc);
    if ((delta & 3) || delta < -(1ll << 20) || delta >= (1ll << 20))
        return false;
    *insn = (*insn & ~(0x7FFFFu << 5)) | ((uint32_t)(delta >> 2) & 0x7FFFFu) << 5;
    return true;
}

bool dsc_a64_ldr_imm_of_literal(uint32_t literal, unsigned rn, uint32_t off, uint32_t *insn)
{
    unsigned rt = literal & 31, size;
    switch (literal & 0xFF000000u) {
    case 0x18000000u: /* LDR Wt */
    case 0x58000000u: /* LDR Xt */
        return dsc_a64_is_ldr_literal(literal, &rt, &size) && dsc_a64_ldr_imm_encode(size, rt, rn, off, insn);
    case 0x98000000u: /* LDRSW Xt */
        if (rn > 31 || off % 4 || off / 4 > 0xFFF)
            return false;
        *insn = 0xB9800000u | (off / 4) << 10 | rn << 5 | rt;
        return true;
    default:
        return false;
    }
}

bool dsc_a64_is_adr(uint32_t insn) { return (insn & 0x9F000000u) == 0x10000000u; }

uint64_t dsc_a64_adr_target(uint32_t insn, uint64_t pc)
{
    uint64_t imm = ((insn >> 5) & 0x7FFFFu) << 2 | ((insn >> 29) & 3);
    return pc + (uint64_t)dsc_sext(imm, 21);
}

bool dsc_a64_adr_encode(unsigned rd, uint64_t pc, uint64_t target, uint32_t *insn)
{
    int64_t delta = (int64_t)(target - pc);
    if (rd > 31 || delta < -(1ll << 20) || delta >= (1ll << 20))
        return false;
    uint32_t imm = (uint32_t)delta & 0x1FFFFFu;
    *insn = 0x10000000u | (imm & 3) << 29 | (imm >> 2) << 5 | rd;
    return true;
}

bool dsc_a64_cond_branch(uint32_t insn, uint64_t pc, uint64_t *target)
{
    int64_t delta;
    if ((insn & 0xFF000010u) == 0x54000000u || (insn & 0x7E000000u) == 0x34000000u)
        delta = dsc_sext((insn >> 5) & 0x7FFFFu, 19) * 4;  /* B.cond, CBZ, CBNZ */
    else if ((insn & 0x7E000000u) == 0x36000000u)
        delta = dsc_sext((insn >> 5) & 0x3FFFu, 14) * 4;   /* TBZ, TBNZ */
    else
        return false;
    *target = pc + (uint64_t)delta;
    return true;
}

enum dsc_a64_indirect dsc_a64_indirect_kind(uint32_t insn)
{
    switch ((insn >> 21) & 0xFu) {  /* opc: 0 BR, 1 BLR, 2 RET, 4 ERET, 5 DRPS */
    case 0: return DSC_A64_BR;
    case 1: return DSC_A64_BLR;
    default: return DSC_A64_RET;
    }
}

/* ---- registers read and written (insn.h: safe, not exact) ---- */

static uint32_t reg_bit(unsigned r) { return r < 31 ? 1u << r : 0; }
#define RD(w) reg_bit((w) & 31u)
#define RN(w) reg_bit(((w) >> 5) & 31u)
#define RM(w) reg_bit(((w) >> 16) & 31u)
#define RA(w) reg_bit(((w) >> 10) & 31u) /* Ra, Rt2 */

/* Every register field read and written: for encodings not decoded. */
static void all_fields(uint32_t w, struct dsc_a64_regs *r)
{
    r->read = r->write = RD(w) | RN(w) | RM(w) | RA(w);
}

/* Data processing, immediate (op0 100x). */
static void dp_imm(uint32_t w, struct dsc_a64_regs *r)
{
    if ((w & 0x1F000000u) == 0x10000000u) {          /* ADR, ADRP */
        r->write = RD(w);
    } else if (dsc_a64_is_add_sub_imm(w) || (w & 0x1F800000u) == 0x12000000u) {
        r->read = RN(w);                            /* ADD/SUB, logical imm */
        r->write = RD(w);
    } else if ((w & 0x1F800000u) == 0x12800000u) {   /* MOVN, MOVZ, MOVK */
        r->read = (w & 0x60000000u) == 0x60000000u ? RD(w) : 0;
        r->write = RD(w);
    } else if ((w & 0x1F800000u) == 0x13000000u) {   /* SBFM, BFM, UBFM */
        r->read = RN(w) | ((w & 0x60000000u) == 0x20000000u ? RD(w) : 0);
        r->write = RD(w);
    } else if ((w & 0x1F800000u) == 0x13800000u) {   /* EXTR */
        r->read = RN(w) | RM(w);
        r->write = RD(w);
    } else {
        all_fields(w, r);
    }
}

/* Transfer register of a load/store: written by a GPR load, read by a GPR
 * store, untouched for SIMD&FP registers and prefetches. */
static void transfer_reg(uint32_t t, bool simd, bool load, bool prefetch, struct dsc_a64_regs *r)
{
    if (simd || prefetch)
        return;
    if (load)
        r->write |= t;
    else
        r->read |= t;
}

/* Single-register forms with opc at bits 22-23 (unsigned offset,
 * unscaled, pre/post-indexed, register offset). */
static void ldst_single(uint32_t w, struct dsc_a64_regs *r)
{
    unsigned size = w >> 30, opc = (w >> 22) & 3;
    bool simd = (w >> 26) & 1;
    bool load = simd ? (opc & 1) : opc != 0;
    bool prefetch = !simd && size == 3 && opc == 2;
    r->read = RN(w);
    if ((w & 0x3B200C00u) == 0x38200800u)           /* register offset */
        r->read |= RM(w);
    else if ((w & 0x3B000000u) == 0x38000000u && (w & 0x400u)) /* pre/post-index writeback */
        r->write |= RN(w);
    transfer_reg(RD(w), simd, load, prefetch, r);
}

/* Loads and stores (op0 x1x0). */
static void load_store(uint32_t w, struct dsc_a64_regs *r)
{
    bool simd = (w >> 26) & 1;
    if (dsc_a64_is_ldst_uoff(w) || (w & 0x3B200000u) == 0x38000000u ||
        (w & 0x3B200C00u) == 0x38200800u) {
        ldst_single(w, r);
    } else if ((w & 0x3A000000u) == 0x28000000u) {   /* pairs */
        bool load = (w >> 22) & 1;
        r->read = RN(w);
        if ((w >> 23) & 1)                          /* pre/post-index writeback */
            r->write |= RN(w);
        transfer_reg(RD(w) | RA(w), simd, load, false, r);
    } else if (dsc_a64_is_load_literal(w)) {          /* literal */
        transfer_reg(RD(w), simd, true, !simd && (w >> 30) == 3, r);
    } else {
        all_fields(w, r);                           /* exclusives, atomics, structures */
    }
}

/* Data processing, register (op0 x101). */
static void dp_reg(uint32_t w, struct dsc_a64_regs *r)
{
    if ((w & 0x1F000000u) == 0x1B000000u) {          /* 3-source */
        r->read = RN(w) | RM(w) | RA(w);
        r->write = RD(w);
    } else if ((w & 0x5FE00000u) == 0x5AC00000u) {   /* 1-source (PAC forms also read Rd) */
        r->read = RN(w) | RD(w);
        r->write = RD(w);
    } else if ((w & 0x1FE00000u) == 0x1A400000u) {   /* CCMP/CCMN: flags only */
        r->read = RN(w) | ((w & 0x800u) ? 0 : RM(w));
    } else {
        r->read = RN(w) | RM(w);
        r->write = RD(w);
    }
}

/* Branches, exception generation, system (op0 101x). */
static void branch_system(uint32_t w, struct dsc_a64_regs *r)
{
    if ((w & 0x7C000000u) == 0x14000000u || (w & 0xFF000010u) == 0x54000000u) {
        return;                                     /* B, BL, B.cond */
    } else if ((w & 0x7C000000u) == 0x34000000u) {   /* CBZ/CBNZ, TBZ/TBNZ */
        r->read = RD(w);
    } else if (dsc_a64_is_indirect_branch(w)) {      /* BR, BLR, RET (+ PAC forms) */
        r->read = RN(w) | RD(w);
    } else if ((w & 0xFFF00000u) == 0xD5100000u || (w & 0xFFF80000u) == 0xD5080000u) {
        r->read = RD(w);                            /* MSR (register), SYS */
    } else if ((w & 0xFFF00000u) == 0xD5300000u || (w & 0xFFF80000u) == 0xD5280000u) {
        r->write = RD(w);                           /* MRS, SYSL */
    } else if ((w & 0xFFFFF01Fu) == 0xD503201Fu || (w & 0xFF000000u) == 0xD4000000u ||
               (w & 0xFFF8F01Fu) == 0xD500401Fu || (w & 0xFFFFF01Fu) == 0xD503301Fu) {
        return;                                     /* hints, exceptions, MSR imm, barriers */
    } else {
        all_fields(w, r);
    }
}

void dsc_a64_regs_of(uint32_t insn, struct dsc_a64_regs *r)
{
    r->read = r->write = 0;
    switch ((insn >> 25) & 0xFu) {
    case 0x8: case 0x9: dp_imm(insn, r); break;
    case 0xA: case 0xB: branch_system(insn, r); break;
    case 0x4: case 0x6: case 0xC: case 0xE: load_store(insn, r); break;
    case 0x5: case 0xD: dp_reg(insn, r); break;
    default: all_fields(insn, r); break;             /* SIMD&FP (may move to/from GPRs), SVE, reserved */
    }
}

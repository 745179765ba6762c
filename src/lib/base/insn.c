/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * insn.c — AArch64 instruction fields, decode and encode. See insn.h.
 */
#include "base/insn.h"

#include "base/reader.h"

bool dsc_a64_is_branch(uint32_t insn, bool *link)
{
    if ((insn & 0x7C000000u) != 0x14000000u)
        return false;
    if (link)
        *link = insn >> 31;
    return true;
}

uint64_t dsc_a64_branch_target(uint32_t insn, uint64_t pc)
{
    return pc + (uint64_t)(dsc_sext(insn & 0x3FFFFFFu, 26) * 4);
}

bool dsc_a64_branch_encode(uint64_t pc, uint64_t target, bool link, uint32_t *insn)
{
    int64_t delta = (int64_t)(target - pc);
    if ((delta & 3) || delta < -(1ll << 27) || delta >= (1ll << 27))
        return false;
    *insn = (link ? 0x94000000u : 0x14000000u) | ((uint32_t)(delta >> 2) & 0x3FFFFFFu);
    return true;
}

bool dsc_a64_is_adrp(uint32_t insn, unsigned *rd)
{
    if ((insn & 0x9F000000u) != 0x90000000u)
        return false;
    if (rd)
        *rd = insn & 0x1F;
    return true;
}

uint64_t dsc_a64_adrp_target(uint32_t insn, uint64_t pc)
{
    uint64_t imm = ((insn >> 5) & 0x7FFFFu) << 2 | ((insn >> 29) & 3);
    return (pc & ~0xFFFull) + (uint64_t)(dsc_sext(imm, 21) * 4096);
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

bool dsc_a64_is_ldr_imm(uint32_t insn, unsigned *rt, unsigned *rn, uint32_t *off, unsigned *size)
{
    if ((insn & 0xFFC00000u) == 0xF9400000u)
        *size = 8;
    else if ((insn & 0xFFC00000u) == 0xB9400000u)
        *size = 4;
    else
        return false;
    *rt = insn & 0x1F;
    *rn = (insn >> 5) & 0x1F;
    *off = ((insn >> 10) & 0xFFF) * *size;
    return true;
}

bool dsc_a64_ldr_imm_encode(unsigned size, unsigned rt, unsigned rn, uint32_t off, uint32_t *insn)
{
    if ((size != 8 && size != 4) || rt > 31 || rn > 31 || off % size || off / size > 0xFFF)
        return false;
    *insn = (size == 8 ? 0xF9400000u : 0xB9400000u) | (off / size) << 10 | rn << 5 | rt;
    return true;
}

bool dsc_a64_is_ldr_literal(uint32_t insn, unsigned *rt, unsigned *size)
{
    if ((insn & 0xFF000000u) == 0x58000000u)
        *size = 8;
    else if ((insn & 0xFF000000u) == 0x18000000u)
        *size = 4;
    else
        return false;
    *rt = insn & 0x1F;
    return true;
}

uint64_t dsc_a64_ldr_literal_target(uint32_t insn, uint64_t pc)
{
    return pc + (uint64_t)(dsc_sext((insn >> 5) & 0x7FFFFu, 19) * 4);
}

bool dsc_a64_ldr_literal_encode(unsigned size, unsigned rt, uint64_t pc, uint64_t target, uint32_t *insn)
{
    int64_t delta = (int64_t)(target - pc);
    if ((size != 8 && size != 4) || rt > 31 || (delta & 3) || delta < -(1ll << 20) || delta >= (1ll << 20))
        return false;
    *insn = (size == 8 ? 0x58000000u : 0x18000000u) | ((uint32_t)(delta >> 2) & 0x7FFFFu) << 5 | rt;
    return true;
}

bool dsc_a64_is_adr(uint32_t insn) { return (insn & 0x9F000000u) == 0x10000000u; }

uint64_t dsc_a64_adr_target(uint32_t insn, uint64_t pc)
{
    uint64_t imm = ((insn >> 5) & 0x7FFFFu) << 2 | ((insn >> 29) & 3);
    return pc + (uint64_t)dsc_sext(imm, 21);
}

bool dsc_a64_is_any_branch(uint32_t insn)
{
    return (insn & 0x7C000000u) == 0x14000000u      /* B, BL */
        || dsc_a64_is_indirect_branch(insn)         /* BR, BLR, RET, ... */
        || (insn & 0xFF000010u) == 0x54000000u      /* B.cond */
        || (insn & 0x7E000000u) == 0x34000000u      /* CBZ, CBNZ */
        || (insn & 0x7E000000u) == 0x36000000u;     /* TBZ, TBNZ */
}

bool dsc_a64_rn_is_register(uint32_t insn)
{
    return (insn & 0x1F000000u) == 0x11000000u      /* ADD/SUB immediate */
        || dsc_a64_is_load_store(insn)
        || (insn & 0x0E000000u) == 0x0A000000u;     /* data processing, register */
}

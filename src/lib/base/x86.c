/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86.c — x86-64 instruction lengths and RIP-relative operands. See x86.h.
 * The opcode tables follow the Intel SDM vol. 2, appendix A opcode maps.
 */
#include "base/x86.h"

#include "base/reader.h"

enum { NONE, MODRM = 1, IMM8 = 2, IMM16 = 4, IMMZ = 8 /* 16 or 32 */, IMMV = 16 /* 16/32/64 */,
       REL8 = 32, RELZ = 64, MOFFS = 128, IMM16_8 = 256, GROUP3 = 512, BAD = 1024 };

static unsigned one_byte(uint8_t op)
{
    if (op < 0x40 && (op & 7) < 4)
        return MODRM;                                               /* ALU r/m forms */
    if (op < 0x40 && (op & 7) == 4)
        return IMM8;                                                /* ALU AL, imm8 */
    if (op < 0x40 && (op & 7) == 5)
        return IMMZ;                                                /* ALU eAX, imm */
    if (op >= 0x50 && op <= 0x5f)
        return NONE;                                                /* push/pop */
    if (op >= 0x70 && op <= 0x7f)
        return REL8;
    if (op >= 0x84 && op <= 0x8f)
        return MODRM;
    if (op >= 0x90 && op <= 0x99)
        return NONE;
    if (op >= 0xb0 && op <= 0xb7)
        return IMM8;
    if (op >= 0xb8 && op <= 0xbf)
        return IMMV;
    if (op >= 0xd8 && op <= 0xdf)
        return MODRM;                                               /* x87 */
    if (op >= 0xa0 && op <= 0xa3)
        return MOFFS;
    switch (op) {
    case 0x63: return MODRM;
    case 0x68: return IMMZ;
    case 0x69: return MODRM | IMMZ;
    case 0x6a: return IMM8;
    case 0x6b: return MODRM | IMM8;
    case 0x80: case 0x83: case 0xc0: case 0xc1: case 0xc6: return MODRM | IMM8;
    case 0x81: case 0xc7: return MODRM | IMMZ;
    case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f: return NONE;
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae:
    case 0xaf: return NONE;
    case 0xa8: return IMM8;
    case 0xa9: return IMMZ;
    case 0xc2: return IMM16;
    case 0xc3: case 0xc9: case 0xcc: case 0xf4: case 0xf5: case 0xf8: case 0xf9: case 0xfa: case 0xfb:
    case 0xfc: case 0xfd: return NONE;
    case 0xc8: return IMM16_8;
    case 0xcd: return IMM8;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: return MODRM;
    case 0xe8: case 0xe9: return RELZ;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xeb: return REL8;
    case 0xf6: case 0xf7: return MODRM | GROUP3;
    case 0xfe: case 0xff: return MODRM;
    default: return BAD;
    }
}

static unsigned two_byte(uint8_t op)
{
    if (op >= 0x80 && op <= 0x8f)
        return RELZ;
    if (op >= 0xc8 && op <= 0xcf)
        return NONE;                                                /* bswap */
    switch (op) {
    case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b: case 0x0e: case 0x30: case 0x31:
    case 0x32: case 0x33: case 0x34: case 0x35: case 0x37: case 0x77: case 0xa0: case 0xa1: case 0xa2:
    case 0xa8: case 0xa9: case 0xaa:
        return NONE;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0xa4: case 0xac: case 0xba: case 0xc2: case 0xc4:
    case 0xc5: case 0xc6:
        return MODRM | IMM8;
    case 0x04: case 0x0a: case 0x0c: case 0x0f: case 0x24: case 0x25: case 0x26: case 0x27: case 0x36:
    case 0x39: case 0x3b: case 0x3c: case 0x3d: case 0x3e: case 0x3f: case 0x7a: case 0x7b: case 0xff:
        return BAD;
    default:
        return MODRM;
    }
}

bool dsc_x86_decode(const uint8_t *p, size_t avail, struct dsc_x86_insn *out)
{
    size_t i = 0;
    bool opsize = false, rex_w = false;
    for (; i < avail && i < 15; i++) {
        uint8_t b = p[i];
        if (b == 0x66)
            opsize = true;
        else if (!(b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 ||
                   b == 0x64 || b == 0x65 || b == 0x67))
            break;
    }
    if (i < avail && (p[i] & 0xf0) == 0x40) {
        rex_w = p[i] & 8;
        i++;
    }
    if (i >= avail)
        return false;
    unsigned form;
    uint8_t op = p[i++];
    if (op == 0x0f) {
        if (i >= avail)
            return false;
        uint8_t op2 = p[i++];
        if (op2 == 0x38 || op2 == 0x3a) {
            if (i >= avail)
                return false;
            i++;
            form = MODRM | (op2 == 0x3a ? IMM8 : 0);
        } else {
            form = two_byte(op2);
        }
    } else {
        form = one_byte(op);
    }
    if (form & BAD)
        return false;
    out->rip_disp = 0;
    if (form & MODRM) {
        if (i >= avail)
            return false;
        uint8_t modrm = p[i++], mod = modrm >> 6, rm = modrm & 7;
        if ((form & GROUP3) && ((modrm >> 3) & 7) < 2)
            form |= op == 0xf6 ? IMM8 : IMMZ;
        if (mod != 3 && rm == 4) {
            if (i >= avail)
                return false;
            uint8_t sib = p[i++];
            if (mod == 0 && (sib & 7) == 5)
                i += 4;
        }
        if (mod == 0 && rm == 5) {
            out->rip_disp = (unsigned)i;    /* RIP-relative disp32 */
            i += 4;
        } else if (mod == 1) {
            i += 1;
        } else if (mod == 2) {
            i += 4;
        }
    }
    if (form & IMM8)
        i += 1;
    if (form & IMM16)
        i += 2;
    if (form & IMMZ)
        i += opsize ? 2 : 4;
    if (form & IMMV)
        i += rex_w ? 8 : opsize ? 2 : 4;
    if (form & REL8)
        i += 1;
    if (form & RELZ)
        i += 4;
    if (form & MOFFS)
        i += 8;
    if (form & IMM16_8)
        i += 3;
    if (i > avail || i > 15)
        return false;
    out->length = (unsigned)i;
    return true;
}

bool dsc_x86_rip_operand(const uint8_t *p, size_t avail, uint64_t pc, struct dsc_x86_insn *insn, uint64_t *addr)
{
    if (!dsc_x86_decode(p, avail, insn) || !insn->rip_disp)
        return false;
    *addr = pc + insn->length + (uint64_t)(int64_t)(int32_t)dsc_le32(p + insn->rip_disp);
    return true;
}

bool dsc_x86_rip_encode(uint8_t *p, uint64_t pc, const struct dsc_x86_insn *insn, uint64_t addr)
{
    int64_t d = (int64_t)(addr - (pc + insn->length));
    if (d < INT32_MIN || d > INT32_MAX)
        return false;
    dsc_put32(p + insn->rip_disp, (uint32_t)(int32_t)d);
    return true;
}

bool dsc_x86_is_jmp_rip(const uint8_t *p, size_t avail, uint64_t pc, uint64_t *slot)
{
    if (avail < DSC_X86_JMP_RIP_SIZE || p[0] != 0xFF || p[1] != 0x25)
        return false;
    *slot = pc + DSC_X86_JMP_RIP_SIZE + (uint64_t)(int64_t)(int32_t)dsc_le32(p + 2);
    return true;
}

bool dsc_x86_jmp_rip_encode(uint8_t *out, uint64_t pc, uint64_t slot)
{
    int64_t d = (int64_t)(slot - (pc + DSC_X86_JMP_RIP_SIZE));
    if (d < INT32_MIN || d > INT32_MAX)
        return false;
    out[0] = 0xFF;
    out[1] = 0x25;
    dsc_put32(out + 2, (uint32_t)(int32_t)d);
    return true;
}

bool dsc_x86_is_push_jmp(const uint8_t *p, size_t avail, uint64_t pc, uint32_t *imm, uint64_t *target)
{
    if (avail < 10 || p[0] != 0x68 || p[5] != 0xE9)
        return false;
    *imm = dsc_le32(p + 1);
    *target = pc + 10 + (uint64_t)(int64_t)(int32_t)dsc_le32(p + 6);
    return true;
}

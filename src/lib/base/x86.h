/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86.h — the one x86-64 instruction decoder: instruction lengths (legacy
 * prefixes, REX, the one-byte, 0F, 0F38 and 0F3A opcode maps, ModRM, SIB,
 * displacement, immediate) and RIP-relative memory operands, whose
 * displacement counts from the end of the whole instruction, immediate
 * included (Intel SDM vol. 2, 2.2.1.6 "RIP-Relative Addressing").
 *
 * Scope: the general-purpose, x87 and SSE encodings compilers emit for
 * x86_64 macOS code; VEX/EVEX (C4/C5/62) and opcodes invalid in 64-bit
 * mode are not decoded (false), never mis-measured. Any instruction can
 * name a GOT slot this way: MOV, CMP $imm (`if (&weak_sym)`), PUSH, CALL,
 * JMP, LEA, TEST, ALU ops. Reads at most `avail` bytes and 15 in all.
 * Used by extraction and verification (GOT loads) and the test builder.
 */
#ifndef DSC_X86_H
#define DSC_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dsc_x86_insn {
    unsigned length;
    unsigned rip_disp;  /* offset of a RIP-relative disp32 in the instruction, 0 if none */
};

/* Decode the instruction at p (avail bytes readable); false when it is not
 * one the decoder knows or runs past avail. */
bool dsc_x86_decode(const uint8_t *p, size_t avail, struct dsc_x86_insn *out);

/* True when the instruction at `p` (at address `pc`) has a RIP-relative
 * memory operand: *insn says where its disp32 is, *addr the address it
 * names. Such bytes can occur by chance inside other code: callers scanning
 * byte by byte act only on strong evidence (a GOT entry at *addr). */
bool dsc_x86_rip_operand(const uint8_t *p, size_t avail, uint64_t pc, struct dsc_x86_insn *insn, uint64_t *addr);

/* Re-aim the operand of `insn` at `p` (at `pc`) to `addr`; false (nothing
 * written) when beyond +-2 GiB. */
bool dsc_x86_rip_encode(uint8_t *p, uint64_t pc, const struct dsc_x86_insn *insn, uint64_t addr);

/* JMP *disp32(%rip) (FF 25), the x86_64 stub: true with the slot it jumps
 * through. */
#define DSC_X86_JMP_RIP_SIZE 6
bool dsc_x86_is_jmp_rip(const uint8_t *p, size_t avail, uint64_t pc, uint64_t *slot);
/* Write that JMP at `pc` through `slot`; false (nothing written) beyond
 * +-2 GiB. */
bool dsc_x86_jmp_rip_encode(uint8_t *out, uint64_t pc, uint64_t slot);
/* PUSH imm32 (68 id) then JMP rel32 (E9 cd), 10 bytes at `pc`: a
 * stub-helper entry; *imm is what it pushes, *target where it jumps. */
bool dsc_x86_is_push_jmp(const uint8_t *p, size_t avail, uint64_t pc, uint32_t *imm, uint64_t *target);

#endif

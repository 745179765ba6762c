/* SPDX-License-Identifier: BSD-2-Clause */
/* test_stubs.c — AArch64 word codecs against hand-assembled words, every
 * stub form decoded and re-encoded, and every stub of every real image
 * followed to an exported function of another image through its own slot. */
#include <string.h>

#include "cache/macho.h"
#include "base/insn.h"
#include "base/x86.h"
#include "index/stubs.h"
#include "suites.h"
#include "index/symbols.h"
#include "testdata.h"


START_TEST(branch_words)
{
    bool link;
    uint32_t w;
    /* bl #+8 = 0x94000002; b #-4 = 0x17ffffff (as assembled by clang). */
    ck_assert(dsc_a64_is_branch(0x94000002u, &link) && link);
    ck_assert_uint_eq(dsc_a64_branch_target(0x94000002u, 0x1000), 0x1008);
    ck_assert(dsc_a64_is_branch(0x17FFFFFFu, &link) && !link);
    ck_assert_uint_eq(dsc_a64_branch_target(0x17FFFFFFu, 0x1000), 0xFFC);
    ck_assert(dsc_a64_branch_encode(0x1000, 0x1008, true, &w));
    ck_assert_uint_eq(w, 0x94000002u);
    ck_assert(dsc_a64_branch_encode(0x1000, 0xFFC, false, &w));
    ck_assert_uint_eq(w, 0x17FFFFFFu);
    /* Range is [-128 MiB, +128 MiB). */
    uint64_t pc = 0x180000000ull;
    ck_assert(dsc_a64_branch_encode(pc, pc + (1ull << 27) - 4, false, &w));
    ck_assert_uint_eq(dsc_a64_branch_target(w, pc), pc + (1ull << 27) - 4);
    ck_assert(!dsc_a64_branch_encode(pc, pc + (1ull << 27), false, &w));
    ck_assert(dsc_a64_branch_encode(pc, pc - (1ull << 27), true, &w));
    ck_assert_uint_eq(dsc_a64_branch_target(w, pc), pc - (1ull << 27));
    ck_assert(!dsc_a64_branch_encode(pc, pc - (1ull << 27) - 4, true, &w));
    ck_assert(!dsc_a64_branch_encode(pc, pc + 2, true, &w));
    /* Not branches: BR X16, ADRP, CBZ. */
    ck_assert(!dsc_a64_is_branch(A64_BR_X16, &link));
    ck_assert(!dsc_a64_is_branch(0x90000010u, &link));
    ck_assert(!dsc_a64_is_branch(0xB4000040u, &link));
}
END_TEST

START_TEST(adrp_add_ldr_words)
{
    unsigned rd, rn, size;
    uint32_t w, imm;
    /* adrp x16, #0 at any pc = 0x90000010; adrp x17, page+0x1000 = 0xb0000011. */
    ck_assert(dsc_a64_is_adrp(0x90000010u, &rd));
    ck_assert_uint_eq(rd, 16);
    ck_assert_uint_eq(dsc_a64_adrp_target(0x90000010u, 0x180001234ull), 0x180001000ull);
    ck_assert_uint_eq(dsc_a64_adrp_target(0xB0000011u, 0x180001234ull), 0x180002000ull);
    ck_assert(dsc_a64_adrp_encode(17, 0x180001234ull, 0x180002FFFull, &w));
    ck_assert_uint_eq(w, 0xB0000011u);
    /* Round trips across +-4 GiB, and the limits. */
    uint64_t pc = 0x180004000ull;
    const int64_t deltas[] = {0, 4096, -4096, 0x12345000, -0x7654000, (1ll << 32) - 4096, -(1ll << 32)};
    for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
        ck_assert(dsc_a64_adrp_encode(16, pc, pc + (uint64_t)deltas[i], &w));
        ck_assert_uint_eq(dsc_a64_adrp_target(w, pc), pc + (uint64_t)deltas[i]);
    }
    ck_assert(!dsc_a64_adrp_encode(16, pc, pc + (1ull << 32), &w));
    ck_assert(!dsc_a64_adrp_encode(16, pc, pc - (1ull << 32) - 4096, &w));
    /* add x17, x17, #0x10 = 0x91004231; ldr x16, [x16, #8] = 0xf9400610;
     * ldr w16, [x16, #4] = 0xb9400610. */
    ck_assert(dsc_a64_is_add_imm(0x91004231u, &rd, &rn, &imm));
    ck_assert(rd == 17 && rn == 17 && imm == 0x10);
    ck_assert(dsc_a64_add_imm_encode(17, 17, 0x10, &w));
    ck_assert_uint_eq(w, 0x91004231u);
    ck_assert(!dsc_a64_add_imm_encode(17, 17, 0x1000, &w));
    ck_assert(dsc_a64_is_ldr_imm(0xF9400610u, &rd, &rn, &imm, &size));
    ck_assert(rd == 16 && rn == 16 && imm == 8 && size == 8);
    ck_assert(dsc_a64_is_ldr_imm(0xB9400610u, &rd, &rn, &imm, &size));
    ck_assert(imm == 4 && size == 4);
    ck_assert(dsc_a64_ldr_imm_encode(8, 16, 16, 8, &w));
    ck_assert_uint_eq(w, 0xF9400610u);
    ck_assert(!dsc_a64_ldr_imm_encode(8, 16, 16, 4, &w));      /* misaligned */
    ck_assert(!dsc_a64_ldr_imm_encode(8, 16, 16, 0x8000, &w)); /* too far */
    ck_assert(!dsc_a64_is_ldr_imm(A64_BR_X16, &rd, &rn, &imm, &size));
    /* ldr x8, #0x3940 = 0x5801ca08 (llvm-mc-19); ldr w16, #8 = 0x18000050
     * (stub helper); round trips and the +-1 MiB limits. */
    ck_assert(dsc_a64_is_ldr_literal(0x5801CA08u, &rd, &size));
    ck_assert(rd == 8 && size == 8);
    ck_assert_uint_eq(dsc_a64_ldr_literal_target(0x5801CA08u, 0x6c8), 0x4008);
    ck_assert(dsc_a64_ldr_literal_encode(8, 8, 0x6c8, 0x4008, &w));
    ck_assert_uint_eq(w, 0x5801CA08u);
    ck_assert_uint_eq(A64_LDR_W16_LITERAL_8, 0x18000050u);
    ck_assert(dsc_a64_is_ldr_literal(0x18000050u, &rd, &size));
    ck_assert(rd == 16 && size == 4);
    ck_assert_uint_eq(dsc_a64_ldr_literal_target(0x18000050u, 0x1000), 0x1008);
    ck_assert(dsc_a64_ldr_literal_encode(8, 3, pc, pc - (1ull << 20), &w));
    ck_assert_uint_eq(dsc_a64_ldr_literal_target(w, pc), pc - (1ull << 20));
    ck_assert(!dsc_a64_ldr_literal_encode(8, 3, pc, pc + (1ull << 20), &w));
    ck_assert(!dsc_a64_ldr_literal_encode(8, 3, pc, pc + 2, &w));
    ck_assert(!dsc_a64_is_ldr_literal(0x90000010u, &rd, &size));
    /* adr x9, #-4 = 0x10ffffe9; adr x0, #1 = 0x30000000 (llvm-mc-19). */
    ck_assert(dsc_a64_is_adr(0x10FFFFE9u));
    ck_assert_uint_eq(dsc_a64_adr_target(0x10FFFFE9u, 0x1000), 0xFFC);
    ck_assert(dsc_a64_is_adr(0x30000000u));
    ck_assert_uint_eq(dsc_a64_adr_target(0x30000000u, 0x1000), 0x1001);
    ck_assert(!dsc_a64_is_adr(0x90000010u)); /* ADRP */
}
END_TEST

/* The code scan (extract/coderefs.c) tests words against the classes'
 * (MASK, BITS) pairs, sixteen at a time: each classifier is its pair, and
 * dsc_a64_match_block answers what the classifiers answer word by word,
 * for every block length (a section's last block is short). */
START_TEST(classes_are_patterns)
{
    uint32_t x = 0x12345678u;
    for (unsigned i = 0; i < 1u << 16; i++) {
        unsigned rd, rt, size;
        bool link;
        x = x * 1664525u + 1013904223u;
        ck_assert(dsc_a64_is_branch(x, &link) == ((x & DSC_A64_BRANCH_MASK) == DSC_A64_BRANCH_BITS));
        ck_assert(dsc_a64_is_adrp(x, &rd) == ((x & DSC_A64_ADRP_MASK) == DSC_A64_ADRP_BITS));
        ck_assert(dsc_a64_is_ldr_literal(x, &rt, &size) ==
                  ((x & DSC_A64_LDR_LITERAL_MASK) == DSC_A64_LDR_LITERAL_BITS));
        ck_assert_uint_eq(size, x & DSC_A64_LDR_X ? 8 : 4);
    }
}
END_TEST

START_TEST(match_blocks)
{
    const uint32_t mask[3] = {DSC_A64_ADRP_MASK, DSC_A64_LDR_LITERAL_MASK | DSC_A64_LDR_X, DSC_A64_BRANCH_MASK};
    const uint32_t bits[3] = {DSC_A64_ADRP_BITS, DSC_A64_LDR_LITERAL_BITS | DSC_A64_LDR_X, DSC_A64_BRANCH_BITS};
    /* Planted: adrp x16, ldr x8 (literal), ldr w8 (literal), bl, b, nop, 0. */
    const uint32_t words[] = {0x90000010u, 0x58000048u, 0x18000048u, 0x94000002u, 0x14000001u, A64_NOP, 0};
    uint32_t x = 0x9E3779B9u;
    uint8_t code[64 + 4];
    for (unsigned pairs = 0; pairs <= 3; pairs++) {
        struct dsc_a64_match m;
        dsc_a64_match_init(&m, mask, bits, pairs);
        for (unsigned round = 0; round < 2000; round++) {
            unsigned n = round % 17, want = 0, rd, rt, size;
            bool link;
            for (unsigned k = 0; k < 16 + 1; k++) {
                x = x * 1664525u + 1013904223u;
                uint32_t w = x % 3 ? words[x % 7] | (x & 0x00FFFFE0u) : x; /* planted or any */
                dsc_put32(code + 4 * k, w);
                bool hit = (pairs > 0 && dsc_a64_is_adrp(w, &rd)) ||
                           (pairs > 1 && dsc_a64_is_ldr_literal(w, &rt, &size) && size == 8) ||
                           (pairs > 2 && dsc_a64_is_branch(w, &link));
                if (k < n && hit)
                    want |= 1u << k;
            }
            ck_assert_uint_eq(dsc_a64_match_block(&m, code, n), want);
        }
    }
}
END_TEST

/* Every load (literal) form, re-aimed and widened to its unsigned-offset
 * twin (the builder's and extraction's rewrites); words from llvm-mc-19. */
START_TEST(literal_words)
{
    uint32_t w;
    /* ldrsw x3, #8; ldr q0, #16; prfm pldl1keep, #8; ldr s1, #-4. */
    const uint32_t forms[] = {0x98000043u, 0x9C000080u, 0xD8000040u, 0x1CFFFFE1u, 0x5801CA08u, 0x18000050u};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        ck_assert(dsc_a64_is_load_literal(forms[i]));
        w = forms[i];
        ck_assert(dsc_a64_load_literal_retarget(&w, 0x1000, 0x1000 + 0x40));
        ck_assert_uint_eq(dsc_a64_ldr_literal_target(w, 0x1000), 0x1040);
        ck_assert_uint_eq(w & ~(0x7FFFFu << 5), forms[i] & ~(0x7FFFFu << 5)); /* all else kept */
        ck_assert(!dsc_a64_load_literal_retarget(&w, 0x1000, 0x1000 + (1ull << 20)));
        ck_assert(!dsc_a64_load_literal_retarget(&w, 0x1000, 0x1002));
        ck_assert_uint_eq(dsc_a64_ldr_literal_target(w, 0x1000), 0x1040); /* untouched when refused */
    }
    ck_assert_uint_eq(dsc_a64_ldr_literal_target(0x1CFFFFE1u, 0x1000), 0xFFC);
    ck_assert(!dsc_a64_is_load_literal(0x10FFFFE9u)); /* ADR */
    ck_assert(!dsc_a64_is_load_literal(0xF9400610u)); /* LDR (unsigned offset) */
    /* ldr x5, [x5, #24] = 0xf9400ca5; ldr w5, [x5, #24] = 0xb94018a5;
     * ldrsw x5, [x5, #24] = 0xb98018a5. */
    ck_assert(dsc_a64_ldr_imm_of_literal(0x58000005u, 5, 24, &w));
    ck_assert_uint_eq(w, 0xF9400CA5u);
    ck_assert(dsc_a64_ldr_imm_of_literal(0x18000005u, 5, 24, &w));
    ck_assert_uint_eq(w, 0xB94018A5u);
    ck_assert(dsc_a64_ldr_imm_of_literal(0x98000005u, 5, 24, &w));
    ck_assert_uint_eq(w, 0xB98018A5u);
    ck_assert(!dsc_a64_ldr_imm_of_literal(0x58000005u, 5, 20, &w)); /* misaligned for X */
    ck_assert(!dsc_a64_ldr_imm_of_literal(0x98000005u, 5, 22, &w));
    ck_assert(!dsc_a64_ldr_imm_of_literal(0x9C000080u, 0, 16, &w)); /* SIMD: no such twin here */
    ck_assert(!dsc_a64_ldr_imm_of_literal(0xD8000040u, 0, 16, &w)); /* PRFM */
    /* adds x1, x2, #4 = 0xb1001041; sub w1, w2, #4 = 0x51001041. */
    ck_assert(dsc_a64_is_add_sub_imm(0xB1001041u) && dsc_a64_is_add_sub_imm(0x51001041u));
    ck_assert(dsc_a64_is_add_sub_imm(0x91004231u) && !dsc_a64_is_add_sub_imm(0xF9400610u));
    /* svc #0x80 = 0xd4001001, brk #1; str x0, [sp, #8] = 0xf90007e0,
     * ldr x0, [x1], #8 = 0xf8408420 (post-index: not unsigned offset). */
    ck_assert(dsc_a64_is_svc(0xD4001001u) && !dsc_a64_is_svc(A64_BRK_1));
    ck_assert(dsc_a64_is_ldst_uoff(0xF90007E0u) && dsc_a64_is_ldst_uoff(0xF9400610u));
    ck_assert(!dsc_a64_is_ldst_uoff(0xF8408420u) && !dsc_a64_is_ldst_uoff(0x5801CA08u));
}
END_TEST

/* The x86_64 stub (jmpq *0x10(%rip) = ff 25 10 00 00 00, llvm-mc-19) and
 * a stub-helper entry in the long forms linkers write: pushq $42 as
 * 68 imm32, jmp as e9 rel32 (Intel SDM vol. 2: PUSH 68 id, JMP E9 cd). */
START_TEST(x86_stub_words)
{
    static const uint8_t jmp[] = {0xFF, 0x25, 0x10, 0x00, 0x00, 0x00};
    static const uint8_t entry[] = {0x68, 0x2A, 0x00, 0x00, 0x00, 0xE9, 0xF1, 0xFF, 0xFF, 0xFF};
    uint8_t out[DSC_X86_JMP_RIP_SIZE];
    uint64_t slot, to;
    uint32_t imm;
    ck_assert(dsc_x86_is_jmp_rip(jmp, sizeof jmp, 0x1000, &slot));
    ck_assert_uint_eq(slot, 0x1016);
    ck_assert(dsc_x86_jmp_rip_encode(out, 0x1000, 0x1016));
    ck_assert(memcmp(out, jmp, sizeof jmp) == 0);
    ck_assert(!dsc_x86_jmp_rip_encode(out, 0x1000, 0x1006 + (1ull << 31)));
    ck_assert(!dsc_x86_is_jmp_rip(jmp, 5, 0x1000, &slot));
    ck_assert(!dsc_x86_is_jmp_rip(entry, sizeof entry, 0x1000, &slot));
    ck_assert(dsc_x86_is_push_jmp(entry, sizeof entry, 0x2010, &imm, &to));
    ck_assert(imm == 42 && to == 0x2010 + 10 - 15);
    ck_assert(!dsc_x86_is_push_jmp(entry, 9, 0x2010, &imm, &to));
    ck_assert(!dsc_x86_is_push_jmp(jmp, sizeof jmp, 0x2010, &imm, &to));
}
END_TEST

START_TEST(x86_rip_loads)
{
    uint64_t slot;
    struct dsc_x86_insn insn;
    /* movq 0x10(%rip), %rax = 48 8b 05 10 00 00 00; movq -8(%rip), %r11 =
     * 4c 8b 1d f8 ff ff ff; jmpq *0x20(%rip) = ff 25 20 00 00 00. */
    const uint8_t mov[] = {0x48, 0x8B, 0x05, 0x10, 0, 0, 0}, mov11[] = {0x4C, 0x8B, 0x1D, 0xF8, 0xFF, 0xFF, 0xFF};
    const uint8_t jmp[] = {0xFF, 0x25, 0x20, 0, 0, 0}, mov_rbx_ind[] = {0x48, 0x8B, 0x03, 0, 0, 0, 0};
    ck_assert(dsc_x86_rip_operand(mov, 7, 0x1000, &insn, &slot));
    ck_assert(slot == 0x1017 && insn.length == 7 && insn.rip_disp == 3);
    ck_assert(dsc_x86_rip_operand(mov11, 7, 0x1000, &insn, &slot));
    ck_assert_uint_eq(slot, 0xFFF);
    ck_assert(dsc_x86_rip_operand(jmp, 6, 0x1000, &insn, &slot));
    ck_assert(slot == 0x1026 && insn.length == 6);
    ck_assert(!dsc_x86_rip_operand(mov, 6, 0x1000, &insn, &slot));         /* truncated */
    ck_assert(!dsc_x86_rip_operand(mov_rbx_ind, 7, 0x1000, &insn, &slot)); /* movq (%rbx), %rax */
}
END_TEST

/* Operands followed by an immediate: the displacement counts from the end
 * of the instruction (issue 11, item 10). Encodings from llvm-mc-19
 * -triple x86_64-apple-macos -show-encoding, each naming 16(%rip). */
START_TEST(x86_rip_operands)
{
    static const struct {
        uint8_t bytes[11];
        unsigned length;
    } ok[] = {
        {{0x48, 0x83, 0x3D, 0x10, 0, 0, 0, 0}, 8},                      /* cmpq $0, 16(%rip) */
        {{0x48, 0x81, 0x3D, 0x10, 0, 0, 0, 0x45, 0x23, 0x01, 0}, 11},   /* cmpq $0x12345, 16(%rip) */
        {{0x66, 0x81, 0x3D, 0x10, 0, 0, 0, 0x34, 0x12}, 9},             /* cmpw $0x1234, 16(%rip) */
        {{0xFF, 0x35, 0x10, 0, 0, 0}, 6},                               /* pushq 16(%rip) */
        {{0x48, 0x8D, 0x05, 0x10, 0, 0, 0}, 7},                         /* leaq 16(%rip), %rax */
        {{0xF6, 0x05, 0x10, 0, 0, 0, 0x01}, 7},                         /* testb $1, 16(%rip) */
        {{0xC7, 0x05, 0x10, 0, 0, 0, 0x05, 0, 0, 0}, 10},               /* movl $5, 16(%rip) */
        {{0x66, 0x0F, 0x3A, 0x0B, 0x05, 0x10, 0, 0, 0, 0x04}, 10},      /* roundsd $4, 16(%rip), %xmm0 */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct dsc_x86_insn insn;
        uint64_t addr;
        uint8_t b[11];
        ck_assert_msg(dsc_x86_rip_operand(ok[i].bytes, ok[i].length, 0x1000, &insn, &addr), "case %zu", i);
        ck_assert_uint_eq(insn.length, ok[i].length);
        ck_assert_uint_eq(addr, 0x1000 + ok[i].length + 0x10);
        ck_assert(!dsc_x86_rip_operand(ok[i].bytes, ok[i].length - 1, 0x1000, &insn, &addr)); /* truncated */
        /* Re-aimed at 0x2000: the disp32 changes, the immediate does not. */
        memcpy(b, ok[i].bytes, ok[i].length);
        ck_assert(dsc_x86_rip_operand(b, ok[i].length, 0x1000, &insn, &addr));
        ck_assert(dsc_x86_rip_encode(b, 0x1000, &insn, 0x2000));
        ck_assert(dsc_x86_rip_operand(b, ok[i].length, 0x1000, &insn, &addr));
        ck_assert_uint_eq(addr, 0x2000);
        ck_assert(memcmp(b + insn.rip_disp + 4, ok[i].bytes + insn.rip_disp + 4, ok[i].length - insn.rip_disp - 4) == 0);
        ck_assert(!dsc_x86_rip_encode(b, 0x1000, &insn, 0x1000 + 0x100000000ull)); /* beyond +-2 GiB */
    }
    /* vmovq 16(%rip), %xmm0 (VEX) is not decoded; cmpq $0, 16(%rax) has
     * no RIP-relative operand. */
    const uint8_t vex[] = {0xC5, 0xFA, 0x7E, 0x05, 0x10, 0, 0, 0}, rax[] = {0x48, 0x83, 0x78, 0x10, 0};
    struct dsc_x86_insn insn;
    uint64_t addr;
    ck_assert(!dsc_x86_rip_operand(vex, sizeof vex, 0x1000, &insn, &addr));
    ck_assert(dsc_x86_decode(rax, sizeof rax, &insn) && insn.length == 5 && insn.rip_disp == 0);
    ck_assert(!dsc_x86_rip_operand(rax, sizeof rax, 0x1000, &insn, &addr));
}
END_TEST

static void put_words(uint8_t *p, const uint32_t *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        dsc_put32(p + 4 * i, w[i]);
}

START_TEST(stub_forms_round_trip)
{
    const uint64_t pc = 0x180010000ull, slot = 0x182064018ull;
    const enum dsc_arch arches[] = {DSC_ARCH_ARM64, DSC_ARCH_ARM64E, DSC_ARCH_ARM64_32, DSC_ARCH_X86_64};
    const enum dsc_stub_form forms[] = {DSC_STUB_ARM64, DSC_STUB_ARM64E, DSC_STUB_ARM64_32, DSC_STUB_X86_64};
    for (unsigned i = 0; i < 4; i++) {
        uint8_t b[16] = {0};
        struct dsc_stub st;
        ck_assert(dsc_stub_encode(arches[i], pc, slot, b));
        ck_assert(dsc_stub_decode(arches[i], b, sizeof b, pc, false, &st));
        ck_assert_int_eq(st.form, forms[i]);
        ck_assert_uint_eq(st.slot, slot);
        ck_assert_uint_eq(st.size, dsc_stub_size(arches[i]));
    }
    /* The direct forms the builder writes branch to their address. */
    const enum dsc_stub_form direct[] = {DSC_STUB_ARM64_DIRECT, DSC_STUB_ARM64E_DIRECT};
    for (unsigned i = 0; i < 2; i++) {
        uint8_t b[16] = {0};
        struct dsc_stub st;
        ck_assert(dsc_stub_encode_form(direct[i], pc, slot, b));
        ck_assert(dsc_stub_decode(i ? DSC_ARCH_ARM64E : DSC_ARCH_ARM64, b, sizeof b, pc, false, &st));
        ck_assert_int_eq(st.form, direct[i]);
        ck_assert_uint_eq(st.target, slot);
        ck_assert(!dsc_stub_encode_form(direct[i], pc, pc + (1ull << 33), b));
    }
    uint8_t none[16];
    ck_assert(!dsc_stub_encode_form(DSC_STUB_ISLAND, pc, pc + 4, none));
    ck_assert(!dsc_stub_encode_form(DSC_STUB_NONE, pc, pc + 4, none));
    /* x86_64: jmp *0x10(%rip) at 0x1000 loads 0x1016. */
    const uint8_t jmp[6] = {0xFF, 0x25, 0x10, 0, 0, 0};
    struct dsc_stub st;
    ck_assert(dsc_stub_decode(DSC_ARCH_X86_64, jmp, 6, 0x1000, false, &st));
    ck_assert_uint_eq(st.slot, 0x1016);

    /* Optimised arm64: adrp x16, +1 page; add x16, x16, #0x20; br x16. */
    uint8_t b[16];
    put_words(b, (const uint32_t[]){0xB0000010u, 0x91008210u, A64_BR_X16, A64_BRK_1}, 4);
    ck_assert(dsc_stub_decode(DSC_ARCH_ARM64, b, 12, 0x1000, false, &st));
    ck_assert_int_eq(st.form, DSC_STUB_ARM64_DIRECT);
    ck_assert_uint_eq(st.target, 0x2020);
    ck_assert_uint_eq(st.slot, 0);
    ck_assert(dsc_stub_decode(DSC_ARCH_ARM64E, b, 16, 0x1000, false, &st));
    ck_assert_int_eq(st.form, DSC_STUB_ARM64E_DIRECT);
    ck_assert_uint_eq(st.size, 16);
    /* Without its BRK, it is an arm64e image's plain 12-byte stub. */
    ck_assert(dsc_stub_decode(DSC_ARCH_ARM64E, b, 12, 0x1000, false, &st));
    ck_assert_int_eq(st.form, DSC_STUB_ARM64_DIRECT);
    ck_assert_uint_eq(st.size, 12);
    /* A lone B is an island only where islands are allowed. */
    put_words(b, (const uint32_t[]){0x14000010u}, 1);
    ck_assert(!dsc_stub_decode(DSC_ARCH_ARM64, b, 4, 0x1000, false, &st));
    ck_assert(dsc_stub_decode(DSC_ARCH_ARM64, b, 4, 0x1000, true, &st));
    ck_assert_int_eq(st.form, DSC_STUB_ISLAND);
    ck_assert_uint_eq(st.target, 0x1040);
    /* Wrong registers, truncated input, LDR W on arm64, unknown arch. */
    put_words(b, (const uint32_t[]){0x90000011u, 0xF9400210u, A64_BR_X16}, 3);
    ck_assert(!dsc_stub_decode(DSC_ARCH_ARM64, b, 12, 0x1000, false, &st));
    ck_assert(dsc_stub_encode(DSC_ARCH_ARM64, 0x1000, 0x2008, b));
    ck_assert(!dsc_stub_decode(DSC_ARCH_ARM64, b, 8, 0x1000, false, &st));
    ck_assert(!dsc_stub_decode(DSC_ARCH_ARM64_32, b, 12, 0x1000, false, &st));
    ck_assert(!dsc_stub_decode(DSC_ARCH_ARMV7, b, 12, 0x1000, false, &st));
    /* Slots beyond ADRP's +-4 GiB cannot be encoded. */
    ck_assert(!dsc_stub_encode(DSC_ARCH_ARM64, pc, pc + (1ull << 33), b));
    ck_assert(!dsc_stub_encode(DSC_ARCH_X86_64, pc, pc + (1ull << 33), b));
}
END_TEST

/* Every stub of every image of a real cache: its slot is in the image and
 * the chain ends at an exported function of the image a dependency names. */
START_TEST(real_stubs_reach_exports_through_own_slots)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    dsc_error err;
    unsigned stubs = 0;
    for (uint32_t im = 0; im < dsc_cache_get_info(c)->image_count; im++) {
        struct dsc_macho mo;
        struct dsc_symbols *s;
        ck_assert_msg(dsc_symbols_open(c, im, &s, &err) == 0, "%s", err.msg);
        ck_assert_msg(dsc_macho_parse(c, im, &mo, &err) == 0, "%s", err.msg);
        for (unsigned k = 0; k < mo.nsects; k++) {
            const struct dsc_section *x = &mo.sects[k];
            if ((x->flags & 0xFF) != S_SYMBOL_STUBS)
                continue;
            ck_assert_uint_eq(x->reserved2, dsc_stub_size(dsc_cache_get_info(c)->arch));
            for (uint64_t a = x->addr; a + x->reserved2 <= x->addr + x->size; a += x->reserved2) {
                dsc_span b;
                struct dsc_stub st;
                uint64_t final, slot;
                ck_assert(dsc_vm_span(c, a, x->reserved2, &b));
                ck_assert_msg(dsc_stub_decode(dsc_cache_get_info(c)->arch, b.data, b.size, a, false, &st),
                              "%s: stub at 0x%llx", mo.path, (unsigned long long)a);
                ck_assert(dsc_stub_follow(c, s, a, &final, &slot));
                ck_assert_uint_eq(slot, st.slot);
                ck_assert_int_eq(dsc_symbols_image_of(s, slot), im);
                int64_t target = dsc_symbols_image_of(s, final);
                ck_assert_int_ge(target, 0);
                const struct dsc_export *const *at;
                ck_assert_msg(dsc_symbols_by_address(s, final, &at) > 0, "%s: stub 0x%llx -> 0x%llx unnamed",
                              mo.path, (unsigned long long)a, (unsigned long long)final);
                /* A call to its own export through a stub (libobjc's
                 * objc_release) binds to the image itself. */
                if (target == im)
                    ck_assert_ptr_eq(dsc_symbols_find(s, im, at[0]->name), at[0]);
                else
                    ck_assert_uint_gt(dsc_symbols_ordinal(s, im, at[0]->name), 0);
                stubs++;
            }
        }
        ck_assert(!dsc_symbols_failed(s));
        dsc_symbols_close(s);
        dsc_macho_free(&mo);
    }
    /* libhello's 3 or 4 and libobjc's 130, on the objc caches. */
    if (_i < 2)
        ck_assert_uint_ge(stubs, 130);
    dsc_cache_close(c);
}
END_TEST

Suite *stubs_suite(void)
{
    Suite *s = suite_create("stubs");
    TCase *words = tcase_create("words");
    tcase_add_test(words, branch_words);
    tcase_add_test(words, adrp_add_ldr_words);
    tcase_add_test(words, literal_words);
    tcase_add_test(words, classes_are_patterns);
    tcase_add_test(words, match_blocks);
    tcase_add_test(words, stub_forms_round_trip);
    tcase_add_test(words, x86_stub_words);
    tcase_add_test(words, x86_rip_loads);
    tcase_add_test(words, x86_rip_operands);
    suite_add_tcase(s, words);
    TCase *real = tcase_create("real");
    tcase_add_loop_test(real, real_stubs_reach_exports_through_own_slots, 0, 3);
    suite_add_tcase(s, real);
    return s;
}

// SPDX-License-Identifier: BSD-2-Clause
// libselloads — selector loads of every shape, for the builder's selector
// load rewriting (tests/builder/selloads.c) and extraction's restoring
// (src/lib/extract/objc_selloads.c); arm64/arm64e only. Written in
// assembly so the shapes are exactly these, whatever clang's optimiser
// does: a hoisted ADRP in a callee-saved register used across calls in a
// loop; one ADRP feeding loads of three different selrefs; loads on both
// sides of a branch; several selrefs in one function with a tail call;
// a jump table (LC_DATA_IN_CODE) whose cases load through an ADRP made
// before the indirect jump; ADRPs on both arms of a branch meeting at one
// load, and before a loop and in it meeting at the loop head; and two
// selrefs every load of which stays (all or none per selref, as Apple's
// builder decides). No .loh directives: lld keeps every ADRP+LDR.
// Each shape's count is checked by tests/integration/selloads_builder.sh.

    .section __TEXT,__text,regular,pure_instructions
    .p2align 2

// x0 = receiver, w1 = count: send dbsl_alpha count times.
    .globl _sel_hoisted
_sel_hoisted:
    stp x22, x21, [sp, #-48]!
    stp x20, x19, [sp, #16]
    stp x29, x30, [sp, #32]
    mov x19, x0
    mov w20, w1
    adrp x21, _sel_ref_alpha@PAGE
    cbz w20, 2f
1:  ldr x1, [x21, _sel_ref_alpha@PAGEOFF]
    mov x0, x19
    bl _objc_msgSend
    subs w20, w20, #1
    b.ne 1b
2:  ldp x29, x30, [sp, #32]
    ldp x20, x19, [sp, #16]
    ldp x22, x21, [sp], #48
    ret

// One ADRP, three selrefs on its page (__objc_selrefs is 64-byte aligned,
// so +8..+31 share a page, as do +64..+79 of _sel_switch): x0, x1, x2 =
// the three selectors.
    .globl _sel_shared
_sel_shared:
    adrp x8, _sel_ref_beta@PAGE
    ldr x0, [x8, _sel_ref_beta@PAGEOFF]
    ldr x1, [x8, _sel_ref_gamma@PAGEOFF]
    ldr x2, [x8, _sel_ref_delta@PAGEOFF]
    ret

// w0 = flag: the ADRP before the branch, a load on each side.
    .globl _sel_branches
_sel_branches:
    adrp x9, _sel_ref_epsilon@PAGE
    cbz w0, 1f
    ldr x0, [x9, _sel_ref_epsilon@PAGEOFF]
    ret
1:  mov x10, #1
    ldr x0, [x9, _sel_ref_epsilon@PAGEOFF]
    add x0, x0, x10
    ret

// x0 = receiver: three sends, the last a tail call.
    .globl _sel_many
_sel_many:
    stp x20, x19, [sp, #-32]!
    stp x29, x30, [sp, #16]
    mov x19, x0
    adrp x8, _sel_ref_zeta@PAGE
    ldr x1, [x8, _sel_ref_zeta@PAGEOFF]
    bl _objc_msgSend
    adrp x8, _sel_ref_eta@PAGE
    ldr x1, [x8, _sel_ref_eta@PAGEOFF]
    mov x0, x19
    bl _objc_msgSend
    mov x0, x19
    ldp x29, x30, [sp, #16]
    ldp x20, x19, [sp], #32
    adrp x8, _sel_ref_theta@PAGE
    ldr x1, [x8, _sel_ref_theta@PAGEOFF]
    b _objc_msgSend

// w0 = case 0..2: a jump table in the code, cases loading through x10.
    .globl _sel_switch
_sel_switch:
    adrp x10, _sel_ref_iota@PAGE
    cmp w0, #2
    b.hi 9f
    adr x11, Ltable
    ldrsw x12, [x11, w0, uxtw #2]
    add x11, x11, x12
    br x11
Ltable:
    .data_region jt32
    .long L0 - Ltable
    .long L1 - Ltable
    .long L2 - Ltable
    .end_data_region
L0: ldr x0, [x10, _sel_ref_iota@PAGEOFF]
    ret
L1: ldr x0, [x10, _sel_ref_kappa@PAGEOFF]
    ret
L2: mov x0, #0
    ret
9:  mov x0, #0
    ret

// w0 = flag: an ADRP on each arm of the branch, the load after the join
// (one group of two ADRPs for the flow; split-seg would tie both ADRPs
// and the LDR to _sel_ref_lambda).
    .globl _sel_join
_sel_join:
    cbz w0, 1f
    adrp x8, _sel_ref_lambda@PAGE
    mov x2, #1
    b 2f
1:  adrp x8, _sel_ref_lambda@PAGE
    mov x2, #2
2:  ldr x1, [x8, _sel_ref_lambda@PAGEOFF]
    add x0, x1, x2
    ret

// x0 = receiver, w1 = count: the ADRP made before the loop and made again
// after each call (x9 is caller-saved), meeting at the loop head's load.
    .globl _sel_join_loop
_sel_join_loop:
    stp x20, x19, [sp, #-32]!
    stp x29, x30, [sp, #16]
    mov x19, x0
    mov w20, w1
    adrp x9, _sel_ref_mu@PAGE
1:  ldr x1, [x9, _sel_ref_mu@PAGEOFF]
    mov x0, x19
    bl _objc_msgSend
    adrp x9, _sel_ref_mu@PAGE
    subs w20, w20, #1
    b.ne 1b
    ldp x29, x30, [sp, #16]
    ldp x20, x19, [sp], #32
    ret

// Left alone, all or none per selref (Apple's rule): _sel_ref_nu is
// loaded plainly here, but its address is also taken (ADRP+ADD, which
// Apple's builder refuses), so neither is rewritten.
    .globl _sel_nu_load
_sel_nu_load:
    adrp x8, _sel_ref_nu@PAGE
    ldr x0, [x8, _sel_ref_nu@PAGEOFF]
    ret

    .globl _sel_nu_address
_sel_nu_address:
    adrp x0, _sel_ref_nu@PAGE
    add x0, x0, _sel_ref_nu@PAGEOFF
    ret

// Left alone: w0 = flag, the load after the join adds its offset to the
// page of _sel_ref_xi or of _sel_other (another page), so no page is known
// there, and the load names no selref (split-seg would tie it and the
// first ADRP to _sel_ref_xi, and Apple's builder would break the other
// path); _sel_ref_xi's plain load below is rewritten.
    .globl _sel_join_mixed
_sel_join_mixed:
    cbz w0, 1f
    adrp x8, _sel_ref_xi@PAGE
    b 2f
1:  adrp x8, _sel_other@PAGE
2:  ldr x0, [x8, _sel_ref_xi@PAGEOFF]
    ret

    .globl _sel_xi_load
_sel_xi_load:
    adrp x8, _sel_ref_xi@PAGE
    ldr x0, [x8, _sel_ref_xi@PAGEOFF]
    ret

    .section __TEXT,__objc_methname,cstring_literals
Lname_alpha:   .asciz "dbsl_alpha"
Lname_beta:    .asciz "dbsl_beta:"
Lname_gamma:   .asciz "dbsl_gamma:with:"
Lname_delta:   .asciz "dbsl_delta"
Lname_epsilon: .asciz "dbsl_epsilon"
Lname_zeta:    .asciz "dbsl_zeta"
Lname_eta:     .asciz "dbsl_eta"
Lname_theta:   .asciz "dbsl_theta"
Lname_iota:    .asciz "dbsl_iota"
Lname_kappa:   .asciz "dbsl_kappa"
Lname_lambda:  .asciz "dbsl_lambda"
Lname_mu:      .asciz "dbsl_mu:"
Lname_nu:      .asciz "dbsl_nu"
Lname_xi:      .asciz "dbsl_xi"

    .section __DATA,__objc_selrefs,literal_pointers,no_dead_strip
    .p2align 6
_sel_ref_alpha:   .quad Lname_alpha
_sel_ref_beta:    .quad Lname_beta
_sel_ref_gamma:   .quad Lname_gamma
_sel_ref_delta:   .quad Lname_delta
_sel_ref_epsilon: .quad Lname_epsilon
_sel_ref_zeta:    .quad Lname_zeta
_sel_ref_eta:     .quad Lname_eta
_sel_ref_theta:   .quad Lname_theta
_sel_ref_iota:    .quad Lname_iota
_sel_ref_kappa:   .quad Lname_kappa
_sel_ref_lambda:  .quad Lname_lambda
_sel_ref_mu:      .quad Lname_mu
_sel_ref_nu:      .quad Lname_nu
_sel_ref_xi:      .quad Lname_xi

// another page, for _sel_join_mixed
    .section __DATA,__data
    .p2align 12
    .globl _sel_other
_sel_other:       .space 4096

    .section __DATA,__objc_imageinfo,regular,no_dead_strip
    .p2align 2
    .long 0
    .long 64

.subsections_via_symbols

// SPDX-License-Identifier: BSD-2-Clause
// libauthgot — arm64e only: calls into another dylib the way ld64 links
// them for arm64e (ld64-956.6 src/ld/passes/stubs/stub_arm64e.hpp
// NonLazyStubAtom / NonLazyPointerAtom): every call goes through a
// 16-byte stub in __TEXT,__auth_stubs (S_SYMBOL_STUBS)
//     ADRP X17, slot@PAGE ; ADD X17, X17, slot@PAGEOFF
//     LDR  X16, [X17]     ; BRAA X16, X17
// whose slot is in __AUTH_CONST,__auth_got (S_NON_LAZY_SYMBOL_POINTERS,
// bound non-lazily, signed IA with address diversity and discriminator 0;
// ld64 renames __DATA,__auth_got into __DATA_CONST and then __AUTH_CONST,
// Options.cpp / ld.cpp). ld64.lld-19 writes neither, and the assembler
// cannot put @GOTPAGEOFF on an ADD; so each stub is written here as a GOT
// load (ADRP X17 / LDR X16, [X17, sym@GOTPAGEOFF] / NOP / BRAA X16, X17)
// that lld links into __DATA_CONST,__got, and tests/builder/authgot.c
// turns the linked dylib into ld64's shape (it puts
// the stubs in the order lld lays out the GOT and re-aims the calls).

    .section __TEXT,__text,regular,pure_instructions
    .p2align 2

// ag_puts(s): a tail call through a stub.
    .globl _ag_puts
_ag_puts:
    b Lstub_sys_puts

// ag_roundtrip(n): sys_free(sys_alloc(n)), two calls through stubs.
    .globl _ag_roundtrip
_ag_roundtrip:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    bl Lstub_sys_alloc
    bl Lstub_sys_free
    ldp x29, x30, [sp], #16
    ret

    .section __TEXT,__auth_stubs,regular,pure_instructions
    .p2align 2
Lstub_sys_free:
    adrp x17, _sys_free@GOTPAGE
    ldr x16, [x17, _sys_free@GOTPAGEOFF]
    nop
    braa x16, x17
Lstub_sys_alloc:
    adrp x17, _sys_alloc@GOTPAGE
    ldr x16, [x17, _sys_alloc@GOTPAGEOFF]
    nop
    braa x16, x17
Lstub_sys_puts:
    adrp x17, _sys_puts@GOTPAGE
    ldr x16, [x17, _sys_puts@GOTPAGEOFF]
    nop
    braa x16, x17

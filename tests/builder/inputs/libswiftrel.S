/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libswiftrel.S — Swift-shaped metadata without a Swift compiler: 32-bit
 * relative references to GOT slots in the sections swiftc fills (64-bit
 * targets only). What clang-19 emits for swiftc's IR (a relative reference
 * to a private "got.X" pointer) is the form written here:
 *   arm64   .long _X@GOT - .        ARM64_RELOC_POINTER_TO_GOT, pc-relative
 *           (AArch64 Mach-O has no GOT form with an offset: a tagged
 *           reference, +1, goes to a private pointer in __DATA,__const)
 *   x86_64  .long _X@GOTPCREL+4     X86_64_RELOC_GOT, pc-relative; +5 for the
 *           tagged (indirect) form
 * ld64.lld-19 gives each such symbol a __got slot and writes slot - field.
 * The cache builder sends the references to a GOT slot to its cache-wide
 * twin (dyld-1042.1 AdjustDylibSegments DELTA_32 into a coalesced GOT);
 * extraction sends them back. References inside __TEXT stay as linked.
 * Every section starts with a linker-private label (l_*): x86_64 Mach-O
 * needs a symbol before a "sym - ." field to express it.
 */
#if defined(__x86_64__)
#define GOTREL(sym) sym@GOTPCREL + 4
#define GOTREL_TAGGED(sym) sym@GOTPCREL + 5
#else
#define GOTREL(sym) sym@GOT - .
#endif

    .section __TEXT,__text,regular,pure_instructions
    .globl _swr_errno
    .p2align 2
_swr_errno:             /* code loads _sys_errno's GOT slot too: one twin for both */
#if defined(__x86_64__)
    movq _sys_errno@GOTPCREL(%rip), %rax
    movl (%rax), %eax
    retq
#else
    adrp x8, _sys_errno@GOTPAGE
    ldr x8, [x8, _sys_errno@GOTPAGEOFF]
    ldr w0, [x8]
    ret
#endif

    .section __TEXT,__cstring,cstring_literals
l_name0:
    .asciz "Widget"
l_name1:
    .asciz "Gadget"
l_assocname:
    .asciz "Element"

/* Protocol conformance descriptors and type descriptors (TargetProtocol-
 * ConformanceDescriptor, TargetClassDescriptor: the leading fields). */
    .section __TEXT,__const
    .p2align 2
l_conf0:                 /* Widget : an external protocol, through its GOT slot */
    .long GOTREL(_sys_errno)
    .long l_type0 - .
    .long 0
    .long 0
l_conf1:                 /* Gadget (indirect type reference) : a protocol of liba */
    .long GOTREL(_a_counter)
    .long GOTREL(_swr_own)          /* a GOT slot of our own symbol: rebased */
    .long 0
    .long 0x8
l_type0:                 /* class Widget: superclass named by a mangled name */
    .long 0x80000050
    .long 0
    .long l_name0 - .
    .long 0
    .long 0
    .long l_super0 - .
l_type1:
    .long 0x80000050
    .long 0
    .long l_name1 - .
    .long 0
    .long 0
    .long l_super1 - .
#if !defined(__x86_64__)
    .long l_got_sys_free - . + 1     /* tagged: a private pointer, no GOT */
#else
    .long GOTREL_TAGGED(_sys_free)
#endif

/* Mangled names with symbolic references: 0x02 + a 32-bit relative
 * reference to an indirect context descriptor (unaligned). */
    .section __TEXT,__swift5_typeref,regular,no_dead_strip
l_super0:
    .byte 2
    .long GOTREL(_sys_alloc)
    .byte 0
l_super1:
    .byte 2
    .long GOTREL(_sys_errno)
    .byte 0
l_assoc0:
    .byte 2
    .long GOTREL(_a_counter)
    .byte 0

    .section __TEXT,__swift5_assocty,regular,no_dead_strip
    .p2align 2
l_assocty:
    .long l_super0 - .       /* conforming type */
    .long l_super1 - .       /* protocol */
    .long 1
    .long 8
    .long l_assocname - .
    .long l_assoc0 - .

    .section __TEXT,__swift5_proto,regular,no_dead_strip
    .p2align 2
l_proto:
    .long l_conf0 - .
    .long l_conf1 - .

    .section __TEXT,__swift5_types,regular,no_dead_strip
    .p2align 2
l_types:
    .long l_type0 - .
    .long l_type1 - .

    .section __DATA,__const
    .p2align 3
l_got_sys_free:
    .quad _sys_free

    .section __DATA,__data
    .globl _swr_own
    .p2align 3
_swr_own:
    .quad 7

.subsections_via_symbols

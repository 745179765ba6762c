/* SPDX-License-Identifier: BSD-2-Clause */
/* libb.c — calls across dylibs (liba, and libc_impl through libb's own
 * re-export), and a table of pointers into other images. */
#include "inputs.h"

int (*const b_imports[3])(int) = {a_compute, c_reexported, b_entry};
int *b_counter = &a_counter;

int b_entry(int x) { return a_compute(x) + c_reexported(x) + *b_counter; }

/* Binds into other images from an __AUTH_CONST table: authenticated
 * pointers to code (key IA) on arm64e caches. */
__attribute__((section("__AUTH_CONST,__const"), used))
int (*const b_auth_table[3])(int) = {a_compute, c_reexported, b_entry};
__attribute__((section("__AUTH,__data"), used)) int *b_auth_counter = &a_counter;

/* An __auth_ptr section as arm64e code gets one: clang emits a signed
 * pointer slot per (symbol, key, discriminator) that code loads through
 * ptrauth (LLVM's "$auth_ptr$" stubs: linker-private labels, emitted
 * sorted by label), ld64 (ld64-956.6 Options.cpp/ld.cpp) keeps them in a
 * section of their own with no indirect-symbol entries, S_REGULAR. Here
 * in __AUTH_CONST, where Apple's builder coalesces it (dyld-1231.3+).
 * b_via_auth_ptr loads both with ADRP+LDR. */
static int (*const b_auth_ptr_compute)(int) __asm__("l_a_compute$auth_ptr$ia$0")
    __attribute__((section("__AUTH_CONST,__auth_ptr"), used)) = a_compute;
static int *const b_auth_ptr_counter __asm__("l_a_counter$auth_ptr$da$0")
    __attribute__((section("__AUTH_CONST,__auth_ptr"), used)) = &a_counter;

int b_via_auth_ptr(int x)
{
    /* volatile: the slots are read, as the ptrauth loads read them */
    return (*(int (*const volatile *)(int)) & b_auth_ptr_compute)(x) + **(int *const volatile *)&b_auth_ptr_counter;
}

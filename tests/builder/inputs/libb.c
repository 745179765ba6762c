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

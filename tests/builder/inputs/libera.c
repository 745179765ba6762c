/* SPDX-License-Identifier: BSD-2-Clause */
/* libera.c — segments of the dyld-1231+ eras (header 0x208/0x228):
 * __DATA_DIRTY (first in DATA, in AUTH on arm64e), __TPRO_CONST (its own
 * TPRO_CONST mapping) and a read-only segment other than __LINKEDIT
 * (the READ_ONLY mapping; build-inputs.sh makes it r--). Each holds a
 * rebase and a bind, the read-only one a string the code loads. */
#include "inputs.h"

static int era_state = 5;
int era_add(int x) { return x + era_state; }

__attribute__((section("__DATA_DIRTY,__data"), used)) int *era_dirty_ptr = &era_state;
__attribute__((section("__DATA_DIRTY,__data"), used)) int (*era_dirty_puts)(const char *) = sys_puts;
__attribute__((section("__TPRO_CONST,__const"), used)) int (*const era_tpro_fns[2])(int) = {era_add, a_compute};
__attribute__((section("__READ_ONLY,__cstring"), used)) const char era_ro_text[] = "a read-only segment";
#if defined(__LP64__)
/* A function with variants that is not exported, its address stored in
 * data (dyld-1284+): the pointer stays a rebase to the default, era_ifv;
 * build-inputs.sh has fvfixups add the LC_FUNCTION_VARIANTS table
 * (era_ifv_fast, then era_ifv) and the LC_FUNCTION_VARIANT_FIXUPS entry
 * naming this slot, as ld64 writes them. */
__attribute__((noinline, used)) static int era_ifv(int x) { return x + 1; }
__attribute__((noinline, used)) static int era_ifv_fast(int x) { return x + 2; }
int (*const era_ifv_ptr)(int) = era_ifv;

/* A bind whose addend is beyond 32 bits: in chained fixups (arm64, x86_64)
 * the input's imports are DYLD_CHAINED_IMPORT_ADDEND64, and so must the
 * output's be. */
char *era_plus_huge = sys_big + 0x123456789;
#endif

int era_call(int x)
{
    era_dirty_puts(era_ro_text);
    sys_free(sys_alloc(8));
    return era_tpro_fns[x & 1](*era_dirty_ptr);
}

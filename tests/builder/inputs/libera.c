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

int era_call(int x)
{
    era_dirty_puts(era_ro_text);
    sys_free(sys_alloc(8));
    return era_tpro_fns[x & 1](*era_dirty_ptr);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* liba.c — C data pointers, function pointers, calls into libSystem, a
 * weak import that resolves and one that does not, static locals. */
#include "inputs.h"

int a_counter = 3;
int *a_counter_ptr = &a_counter;
const char *a_message = "hello from liba";
int (*a_hook)(const char *) = sys_puts;
int *a_errno_ptr = &sys_errno;
static int a_table_storage[4] = {1, 2, 3, 4};
int *const a_table[2] = {&a_table_storage[0], &a_table_storage[3]};

/* Pointers in an __AUTH segment: authenticated on arm64e caches. */
__attribute__((section("__AUTH,__auth_ptr"), used)) int (*a_auth_fn)(int) = a_compute;
__attribute__((section("__AUTH_CONST,__const"), used)) void *const a_auth_data = &a_counter;

/* A thread-local with initial content (__thread_data, not zero fill): its
 * descriptor's thunk binds __tlv_bootstrap; the cache sets its key. */
_Thread_local int a_tls_counter = 5;

static int a_local_helper(int x) { return x * 2 + a_table_storage[x & 3]; }

int a_compute(int x)
{
    sys_puts(a_message);
    void *p = sys_alloc(16);
    sys_free(p);
    int r = a_local_helper(x) + *a_counter_ptr;
    if (sys_optional)
        r += sys_optional();
    if (sys_absent)
        r += sys_absent();
    return r + a_hook(a_message) + a_tls_counter++;
}

/* Two pointers with large integers between them: on 32-bit v4 caches the
 * chain cannot hop over these words, so the page needs a second chain
 * (page extras). */
struct a_gap {
    int *first;
    unsigned filler[6];
    int *second;
};
struct a_gap a_gapped = {&a_counter, {0x12345678, 0x23456789, 0x3456789a, 0x456789ab, 0x56789abc, 0x6789abcd},
                         &a_table_storage[1]};

/* Binds with addends (&sym + N): small and wider than the 19 bits of an
 * arm64e chained bind, plain and (in __AUTH_CONST) authenticated, where a
 * chained output needs DYLD_CHAINED_IMPORT_ADDEND. */
char *a_plus_small = sys_big + 16;
char *a_plus_wide = sys_big + 0x40800;
__attribute__((section("__AUTH_CONST,__const"), used)) char *const a_auth_plus_small = sys_big + 24;
__attribute__((section("__AUTH_CONST,__const"), used)) char *const a_auth_plus_wide = sys_big + 0x40808;
#if defined(__LP64__)
/* An addend beyond 32 bits (64-bit targets): no DYLD_CHAINED_IMPORT_ADDEND
 * holds it, a chained output needs DYLD_CHAINED_IMPORT_ADDEND64 (for every
 * import, the authenticated ones with addends above among them). Not
 * authenticated: slide info v3 keeps an authenticated target as a 32-bit
 * offset from the cache base, which this one is beyond. */
char *a_plus_huge = sys_big + 0x123456789;
#endif

/* Uses libSystem's weak definition through a pointer: a weak bind. */
int (*a_weak_ref)(void) = sys_weak_hook;

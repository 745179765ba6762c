/* SPDX-License-Identifier: BSD-2-Clause */
/* libsystem.c — a tiny libSystem stand-in: what the other inputs import.
 * Nothing here runs; it only has to link and export the right names. */
#include "inputs.h"

int sys_errno;
static char heap[4096];
static unsigned long heap_used;

void *sys_alloc(unsigned long n)
{
    if (heap_used + n > sizeof heap)
        return 0;
    heap_used += n;
    return heap + heap_used - n;
}

void sys_free(void *p) { (void)p; }

int sys_puts(const char *s)
{
    int n = 0;
    while (s[n])
        n++;
    return n;
}

/* Weak-import target: present here, imported weakly by liba. */
int sys_optional(void) { return 7; }

/* ld64.lld needs the lazy-binding helper to exist in libSystem. */
void sys_stub_binder(void) __asm__("dyld_stub_binder");
void sys_stub_binder(void) {}

/* A weak definition: references to it get weak-bind entries (coalescing). */
__attribute__((weak)) int sys_weak_hook(void) { return 1; }
int sys_call_weak_hook(void) { return sys_weak_hook(); }

/* C++ runtime entry points (operator new/delete, pure virtual) and the
 * thread-local-variable bootstrap that libcxxuser's code and data bind to. */
void *_Znwm(unsigned long n) { return sys_alloc(n); }
void _ZdlPv(void *p) { sys_free(p); }
void _ZdlPvm(void *p, unsigned long n) { (void)n; sys_free(p); }
void __cxa_pure_virtual(void) {}
void *sys_tlv_bootstrap(void *key) __asm__("__tlv_bootstrap");
void *sys_tlv_bootstrap(void *key) { return key; }

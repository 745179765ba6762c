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

/* A function and its other implementation: dscbuild --function-variant
 * _sys_fv=_sys_fv_fast makes _sys_fv a function-variant export with this
 * default, as a linker that knows function variants (dyld-1284+) would. */
int sys_fv(void) { return 1; }
int sys_fv_fast(void) { return 2; }

/* Weak-import target: present here, imported weakly by liba. */
int sys_optional(void) { return 7; }

/* ld64.lld needs the lazy-binding helper to exist in libSystem. */
void sys_stub_binder(void) __asm__("dyld_stub_binder");
void sys_stub_binder(void) {}

/* A weak definition: references to it get weak-bind entries (coalescing). */
__attribute__((weak)) int sys_weak_hook(void) { return 1; }
int sys_call_weak_hook(void) { return sys_weak_hook(); }

/* C++ runtime entry points (operator new/delete, pure virtual). */
void *_Znwm(unsigned long n) { return sys_alloc(n); }
void _ZdlPv(void *p) { sys_free(p); }
void _ZdlPvm(void *p, unsigned long n) { (void)n; sys_free(p); }
void __cxa_pure_virtual(void) {}
/* libc++abi's and libunwind's exception entry points (libcxxuser's
 * cleanups and catch; its unwind information names the personality). */
void __gxx_personality_v0(void) {}
void _Unwind_Resume(void *e) { (void)e; }
void *__cxa_begin_catch(void *e) { return e; }
void __cxa_end_catch(void) {}
void _ZSt9terminatev(void) {}
/* libc++abi's type_info vtables: libcxxuser's RTTI objects point 16 bytes
 * in (past offset-to-top and the vtable's own type_info), binds with addend
 * 16 (authenticated on arm64e, where its __const is __AUTH_CONST). */
void *sys_class_ti_vtable[4] __asm__("__ZTVN10__cxxabiv117__class_type_infoE");
void *sys_si_class_ti_vtable[4] __asm__("__ZTVN10__cxxabiv120__si_class_type_infoE");
/* Big enough that liba's pointer 0x40800 bytes in has an addend wider than
 * a DYLD_CHAINED_PTR_ARM64E bind holds (19 bits). */
char sys_big[0x41000];

/* Thread-local variables, as libdyld lays them out (dyld-1378
 * libdyld/threadLocalHelpers.s): the descriptors' thunks bind the exported
 * __tlv_bootstrap; 8 bytes after it lies the non-exported __tlv_get_addr
 * that the cache builder points them at. dyld-1284+ builders find it there;
 * dyld-1042 ones read it from libdyld's __DATA,__dyld4 section (struct
 * LibdyldDyld4Section: apis, allImageInfos, defaultVars[5],
 * dyldLookupFuncAddr, tlv_get_addrAddr). The key range comes from
 * libsystem_pthread's __pthread_tsd_shared_cache_first/_last. This stand-in
 * is libdyld and libsystem_pthread at once. */
#if defined(__x86_64__)
__asm__(".text\n.globl __tlv_bootstrap\n.p2align 4\n__tlv_bootstrap:\n ud2\n .fill 6, 1, 0x90\n"
        ".globl __tlv_get_addr\n.private_extern __tlv_get_addr\n.alt_entry __tlv_get_addr\n"
        "__tlv_get_addr:\n ret\n");
#else
__asm__(".text\n.globl __tlv_bootstrap\n.p2align 2\n__tlv_bootstrap:\n brk #1\n nop\n"
        ".globl __tlv_get_addr\n.private_extern __tlv_get_addr\n.alt_entry __tlv_get_addr\n"
        "__tlv_get_addr:\n ret\n");
#endif
void sys_tlv_get_addr(void) __asm__("__tlv_get_addr");
static __attribute__((section("__DATA,__dyld4"), used)) void (*sys_dyld4[9])(void) = {[8] = sys_tlv_get_addr};
unsigned int sys_tsd_first __asm__("__pthread_tsd_shared_cache_first") = 90;
unsigned int sys_tsd_last __asm__("__pthread_tsd_shared_cache_last") = 169;

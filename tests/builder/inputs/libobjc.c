/* SPDX-License-Identifier: BSD-2-Clause */
/* libobjc.c — a libobjc stand-in in C: the runtime entry points and data
 * that clang's Objective-C output references. */
#include "inputs.h"

struct objc_object { void *isa; };
typedef struct objc_object *id;
typedef const void *SEL;

/* The selector the new-era builder puts first in the uniqued buffer. */
const char objc_magic_selector[] = "\xF0\x9F\xA4\xAF";

void *objc_empty_cache_storage[4] __asm__("__objc_empty_cache");
void *objc_empty_cache_storage[4];

/* The class canonical protocols get as isa. */
void *objc_protocol_class[5] __asm__("_OBJC_CLASS_$_Protocol");
void *objc_protocol_class[5];

id objc_msgSend(id self, SEL op) { (void)op; return self; }
id objc_msgSendSuper2(void *super, SEL op) { (void)op; return (id)super; }
id objc_retain(id o) { return o; }
void objc_release(id o) { (void)o; }
id objc_alloc(id cls) { sys_alloc(16); return cls; }

/* objc4-951.1 objc-sel-table.s: the objc_opt_t placeholder the cache
 * builder fills (__TEXT,__objc_opt_ro: version 16, then zeros up to
 * PAGE_MAX_SIZE, 16 KiB on arm64 by objc-vm.h and the SDK's, 4 KiB on
 * x86_64 by the SDK's vm_param.h), and the list of pointers the builder
 * reads (__DATA,__objc_opt_ptrs: the Protocol class). */
#if defined(__x86_64__)
#define OPT_RO_SIZE 4096
#else
#define OPT_RO_SIZE 16384
#endif
struct objc_opt_placeholder {
    unsigned version;
    unsigned words[9];
    unsigned char space[OPT_RO_SIZE - 40];
};
__attribute__((section("__TEXT,__objc_opt_ro"), used, aligned(8), visibility("hidden")))
const struct objc_opt_placeholder objc_opt_data __asm__("__objc_opt_data") = {16, {0}, {0}};
__attribute__((section("__DATA,__objc_opt_ptrs"), used))
void *const objc_opt_ptrs[1] = {objc_protocol_class};

/* objc_opt_preopt_caches_version and objc_opt_offsets[4]: the builder fills
 * offsets 0 and 1 with the start and end of the uniqued selector buffer. */
struct objc_scoffs {
    int version;
    const void *offsets[4];
};
__attribute__((section("__DATA_CONST,__objc_scoffs"), used))
struct objc_scoffs objc_opt_offsets_storage = {4, {0, 0, 0, 0}};

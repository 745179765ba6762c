/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * locals.h — find an image's unmapped local symbols (dyld_cache_local_symbols_info)
 * in the main cache file (localSymbolsOffset) or in the .symbols file.
 *
 * Formats: dyld_cache_local_symbols_info and dyld_cache_local_symbols_entry
 * (_64) in dyld's cache-builder/dyld_cache_format.h (dyld-1042.1). 12-byte
 * entries (u32 file offset of the mach header) in files whose header is
 * shorter than 0x190, 16-byte entries (u64 VM offset from the cache base)
 * otherwise; both then hold nlistStartIndex and nlistCount (u32). Every range is checked here;
 * n_strx of each nlist must still be checked against `strings` by the user.
 */
#ifndef DSC_LOCALS_H
#define DSC_LOCALS_H

#include "cache/cache.h"

struct dsc_locals {
    bool found;         /* false: the cache keeps this image's locals in its symtab */
    dsc_span nlists;    /* count entries of nlist (32-bit) or nlist_64 */
    uint32_t count;
    dsc_span strings;   /* the pool n_strx indexes */
    const char *file;   /* holding file, for messages */
};

/* Look up the locals of the image whose mach_header is at `image_addr`,
 * image number `image` of the cache. Apple's builders write one entry per
 * image in image order (dyld-940 OptimizerLinkedit.cpp copyLocalSymbols;
 * dyld-1378 NewSharedCacheBuilder.cpp, entries[i] from cacheDylibs[i]),
 * so entry `image` is tried first; when it is not the image's, the first
 * entry that is. */
int dsc_locals_find(const dsc_cache *c, uint64_t image_addr, uint32_t image, struct dsc_locals *out,
                    dsc_error *err);

/* The same lookup on one file's local-symbols blob (exposed for tests):
 * `info` is the dyld_cache_local_symbols_info and what follows it; entry
 * `hint` is tried first. */
int dsc_locals_in_blob(dsc_span info, bool entries64, bool is64, uint64_t dylib_offset, uint32_t hint,
                       const char *file, struct dsc_locals *out, dsc_error *err);

#endif

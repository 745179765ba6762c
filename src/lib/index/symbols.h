/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * symbols.h — the cache-wide export index: every export of every image,
 * looked up by address or by (image, name), with re-exports followed.
 *
 * Contract:
 *  - dsc_symbols_get() builds the index of a cache on first use without
 *    holding any lock (it reads mapped bytes, which may raise SIGBUS), then
 *    publishes it under the cache's lock, held only for that; afterwards it
 *    is read-only and shared by all threads. It is freed with the cache.
 *  - Memory is bounded by the input: at most one entry per trie byte and a
 *    name pool of at most DSC_SYMBOLS_POOL_RATIO x the total trie size.
 *  - Re-exports are followed through at most DSC_SYMBOLS_MAX_DEPTH images and
 *    a bounded number of steps; cycles end as "unresolved", never as a hang.
 *  - An image whose load commands or trie are malformed is left out of the
 *    index (no exports, no segments, no dependencies); the others are kept,
 *    so one damaged image does not cost every other image its binds.
 */
#ifndef DSC_SYMBOLS_H
#define DSC_SYMBOLS_H

#include "cache/macho.h"

#define DSC_SYMBOLS_MAX_DEPTH 16
#define DSC_SYMBOLS_POOL_RATIO 64

struct dsc_export {
    const char *name;         /* as this image exports it (the index's pool) */
    const char *import_name;  /* re-exports: the name in the source image */
    uint64_t address;         /* unslid target; re-exports: after following */
    uint64_t resolver;        /* stub-and-resolver: the resolver, else 0 */
    uint32_t image;           /* the image whose trie lists it */
    uint32_t flags;           /* DSC_EXPORT_* as the trie has them */
    uint32_t reexport_ordinal;/* re-exports: 1-based dylib ordinal in `image` */
    bool resolved;            /* address is known (always, unless a re-export failed) */
};

/* A dylib load command of an image, in ordinal order (ordinal = index + 1). */
struct dsc_dep {
    uint32_t cmd;             /* LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, ... */
    int64_t image;            /* the image in this cache, or -1 */
    const char *path;         /* points into the cache */
};

struct dsc_symbols;

/* The cache's shared index, built on first call. */
int dsc_symbols_get(const dsc_cache *c, const struct dsc_symbols **out, dsc_error *err);
/* For dsc_cache_close. */
void dsc_symbols_free(struct dsc_symbols *s);

size_t dsc_symbols_count(const struct dsc_symbols *s);
const struct dsc_export *dsc_symbols_at(const struct dsc_symbols *s, size_t i);

/* Every resolved export whose address is `addr` (exports of the defining
 * image first, then re-exports); returns how many, *first the first of them. */
size_t dsc_symbols_by_address(const struct dsc_symbols *s, uint64_t addr, const struct dsc_export *const **first);

/* The defining export with the greatest address <= `addr` in the same image
 * segment as `addr` (for pointers into the middle of a symbol), or NULL. */
const struct dsc_export *dsc_symbols_preceding(const struct dsc_symbols *s, uint64_t addr);

/* The entry of `image`'s own trie named `name`, or NULL. */
const struct dsc_export *dsc_symbols_find(const struct dsc_symbols *s, uint32_t image, const char *name);

/* What `name` means when a client links against `image`: its own trie, else
 * the dylibs it re-exports (LC_REEXPORT_DYLIB), depth first. Re-export
 * entries are followed to their final definition. NULL if not visible. */
const struct dsc_export *dsc_symbols_lookup(const struct dsc_symbols *s, uint32_t image, const char *name);

/* The dylib load commands of `image`. */
const struct dsc_dep *dsc_symbols_deps(const struct dsc_symbols *s, uint32_t image, uint32_t *count);

/* 1-based ordinal of the first dependency of `image` through which `name`
 * is visible, or 0 when none provides it. */
uint32_t dsc_symbols_ordinal(const struct dsc_symbols *s, uint32_t image, const char *name);

/* The image one of whose (non-LINKEDIT) segments holds `addr`, or -1. */
int64_t dsc_symbols_image_of(const struct dsc_symbols *s, uint64_t addr);

#endif

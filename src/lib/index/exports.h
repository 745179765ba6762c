/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exports.h — one image's export set: its export trie parsed into tables,
 * its dylib load commands and its segment ranges, made on first use and
 * kept in the cache's memo under a byte budget.
 *
 * Contract:
 *  - dsc_exports_get() returns image i's set pinned: it stays valid and
 *    unchanged until dsc_exports_put(). Sets are immutable once made and
 *    shared by all threads (but for the by-address order a query may add,
 *    published atomically, and then counted in the set's bytes).
 *  - A set is parsed from mapped bytes with no lock held, into memory of its
 *    own, then published under the cache's memo lock, which is held only
 *    for pointer and count updates (never while mapped bytes are read): a
 *    SIGBUS that cuts a parse short leaves no lock held and nothing
 *    half-published.
 *  - Unpinned sets are freed, least recently used first, while the sets in
 *    memory exceed the budget (DSC_EXPORTS_BUDGET bytes unless set);
 *    pinned ones never are.
 *  - Memory of one set is bounded by its input: one entry per trie byte at
 *    most, names within DSC_EXPORTS_POOL_RATIO x the trie's size.
 *  - An image whose load commands or trie are malformed gets an empty set
 *    (no exports, no segments, no dependencies), so one damaged image does
 *    not cost every other image its binds; its own extraction says why.
 */
#ifndef DSC_EXPORTS_H
#define DSC_EXPORTS_H

#include <stdatomic.h>

#include "base/hash.h"
#include "cache/macho.h"

#define DSC_EXPORTS_POOL_RATIO 64
#define DSC_EXPORTS_BUDGET (32u << 20)

struct dsc_export {
    const char *name;         /* as this image exports it */
    const char *import_name;  /* re-exports: the name in the source image */
    uint64_t address;         /* unslid target; re-exports: after following */
    uint64_t resolver;        /* stub-and-resolver: the resolver, else 0 */
    uint32_t image;           /* the image whose trie lists it */
    uint32_t flags;           /* DSC_EXPORT_* as the trie has them */
    uint32_t reexport_ordinal;/* re-exports: 1-based dylib ordinal in `image` */
    bool resolved;            /* address is known (false for a re-export in a set) */
};

/* A dylib load command of an image, in ordinal order (ordinal = index + 1). */
struct dsc_dep {
    uint32_t cmd;             /* LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, ... */
    int64_t image;            /* the image in this cache, or -1 */
    const char *path;         /* points into the cache */
};

struct dsc_exports {
    uint32_t image;
    struct dsc_export *by_name;        /* every trie entry, sorted by name */
    size_t count;
    uint32_t *addr_slots;              /* the non-re-exports hashed by address (exports.c) */
    size_t addr_mask;                  /* slots - 1 */
    size_t naddr;                      /* how many non-re-exports */
    /* The non-re-exports by (address, name): made by the first query that
     * needs that order (dsc_exports_preceding), then kept. */
    _Atomic(const struct dsc_export **) by_addr;
    const struct dsc_export **reexports; /* the re-export entries, by name */
    size_t nreexports;
    size_t nweak;                      /* entries flagged weak definitions */
    size_t nabsolute;                  /* non-re-exports of kind absolute */
    size_t nvariants;                  /* entries flagged function variants */
    struct dsc_dep *deps;
    uint32_t ndeps;
    struct { uint64_t start, end; } *segs; /* non-LINKEDIT, non-empty */
    unsigned nsegs;
    /* The memo's bookkeeping (under its lock). */
    size_t bytes;
    unsigned pins;
    struct dsc_exports *lru_prev, *lru_next;
    struct dsc_exports_chunk *pool;    /* the names (exports.c) */
};

/* Image `image`'s set, pinned; NULL only when out of memory. */
const struct dsc_exports *dsc_exports_get(const dsc_cache *c, uint32_t image);
/* Unpin a set from dsc_exports_get. */
void dsc_exports_put(const dsc_cache *c, const struct dsc_exports *e);

/* The budget is set and the memory read through dsc.h's
 * dsc_cache_set_export_budget / dsc_cache_get_export_memory. */

/* The entry of the set's trie named `name`, or NULL. */
const struct dsc_export *dsc_exports_find(const struct dsc_exports *e, const char *name);
/* The non-re-exports at `addr`, in name order, one per call: *it is 0 for
 * the first call and then kept as this function leaves it; NULL after
 * the last. Inline: every by-address lookup and every extdef checked
 * against its image's trie comes here. */
static inline const struct dsc_export *dsc_exports_next_at(const struct dsc_exports *e, uint64_t addr, size_t *it)
{
    if (!e->addr_slots)
        return NULL;
    size_t k = *it ? *it - 1 : dsc_hash_home(addr, e->addr_mask);
    for (uint32_t i; (i = e->addr_slots[k]) != 0;) {
        k = (k + 1) & e->addr_mask;
        if (e->by_name[i - 1].address == addr) {
            *it = k + 1;
            return &e->by_name[i - 1];
        }
    }
    *it = k + 1;
    return NULL;
}
/* The last non-re-export in (address, name) order whose address is at or
 * below `addr`, or NULL; NULL with *failed set when out of memory. */
const struct dsc_export *dsc_exports_preceding(const dsc_cache *c, const struct dsc_exports *e, uint64_t addr,
                                               bool *failed);
/* True when `addr` lies in one of the set's segments; *start gets its start. */
bool dsc_exports_holds(const struct dsc_exports *e, uint64_t addr, uint64_t *start);

/* The image whose mach_header is the last at or below `addr`, or -1: in a
 * dyld cache the one whose __TEXT may hold `addr` (no mapped bytes read). */
int64_t dsc_exports_header_below(const dsc_cache *c, uint64_t addr);
/* The image with a segment holding `addr`, from every image's load
 * commands (read once, on the first call, and kept): the last resort of
 * address -> image lookups. -1 when none; -2 when out of memory. */
int64_t dsc_exports_scan_image_of(const dsc_cache *c, uint64_t addr);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * symbols.h — symbol lookups for one image's extraction (a view), made
 * lazily from the export sets of the images it reaches (exports.h); no
 * lookup needs a table of the whole cache.
 *
 * Contract:
 *  - dsc_symbols_open() is cheap: nothing is parsed until a query needs it.
 *    A view belongs to one thread; it pins every export set it has used
 *    until dsc_symbols_close(), so the pointers it returns stay valid until
 *    then. dsc_thread_recover() (dsc.h) closes this thread's views after a
 *    SIGBUS cut an extraction short.
 *  - Names resolve as dyld binds them: through the image's own dylib load
 *    commands, each dependency's trie and then the dylibs it re-exports
 *    (LC_REEXPORT_DYLIB), depth first; re-export entries are followed to
 *    their definition. At most DSC_SYMBOLS_MAX_DEPTH images deep and
 *    DSC_SYMBOLS_LOOKUP_BUDGET images per lookup: cycles end as
 *    "unresolved", never as a hang.
 *  - Addresses resolve through the one image with a segment holding them:
 *    its own exports there, then the re-exports visible to the view's image
 *    (its own, and those of its dependencies and what they re-export) that
 *    end there.
 *  - Out of memory makes lookups come back empty and dsc_symbols_failed()
 *    true; the caller fails the extraction.
 */
#ifndef DSC_SYMBOLS_H
#define DSC_SYMBOLS_H

#include "index/exports.h"

#define DSC_SYMBOLS_MAX_DEPTH 16
#define DSC_SYMBOLS_LOOKUP_BUDGET 4096

struct dsc_symbols;

/* A view for the extraction of `image`; -1 only when out of memory. */
int dsc_symbols_open(const dsc_cache *c, uint32_t image, struct dsc_symbols **out, dsc_error *err);
/* Unpin what the view used and free it (NULL is allowed). */
void dsc_symbols_close(struct dsc_symbols *s);
/* True when a lookup of this view ran out of memory. */
bool dsc_symbols_failed(const struct dsc_symbols *s);

/* Every resolved export whose address is `addr`: the exports of the image
 * holding it (by name), then the visible re-exports ending there (by image,
 * then name). Returns how many, *first the first; valid until the next
 * call of this function on the view. */
size_t dsc_symbols_by_address(struct dsc_symbols *s, uint64_t addr, const struct dsc_export *const **first);

/* The export with the greatest address <= `addr` in the same image
 * segment as `addr` (for pointers into the middle of a symbol), or NULL. */
const struct dsc_export *dsc_symbols_preceding(struct dsc_symbols *s, uint64_t addr);

/* The entry of `image`'s own trie named `name`, or NULL. */
const struct dsc_export *dsc_symbols_find(struct dsc_symbols *s, uint32_t image, const char *name);

/* What `name` means when a client links against `image`: its own trie, else
 * the dylibs it re-exports, depth first, followed to the definition. NULL if
 * not visible. */
const struct dsc_export *dsc_symbols_lookup(struct dsc_symbols *s, uint32_t image, const char *name);

/* True when some image of the cache has `name` in its trie (a flat-namespace
 * lookup; reads each trie along one path, parses none). */
bool dsc_symbols_anywhere(struct dsc_symbols *s, const char *name);

/* True when `image`'s trie flags some entry a weak definition. */
bool dsc_symbols_has_weak(struct dsc_symbols *s, uint32_t image);

/* True when `image`'s trie parsed whole into a non-empty set and flags no
 * entry a function variant: dsc_trie_plain_variants (base/trie.h) would
 * walk it to change nothing. */
bool dsc_symbols_trie_plain(struct dsc_symbols *s, uint32_t image);

/* True when `image`'s trie parsed whole into a non-empty set and every
 * name it lists is one of the `n` `names` (in any order; addrs[i] is
 * where names[i] is said to be, a hint that makes a symbol table's
 * extdefs, listed in address order, cost one comparison each): a walk of
 * the trie would meet no other name. *same (when not NULL): true when
 * moreover each of the names is a different entry of the trie, so that
 * the names and the trie list the same names. */
bool dsc_symbols_trie_within(struct dsc_symbols *s, uint32_t image, const char *const *names, const uint64_t *addrs,
                             size_t n, bool *same);

/* The dylib load commands of `image`. */
const struct dsc_dep *dsc_symbols_deps(struct dsc_symbols *s, uint32_t image, uint32_t *count);

/* 1-based ordinal of the first dependency of `image` through which `name`
 * is visible, or 0 when none provides it. */
uint32_t dsc_symbols_ordinal(struct dsc_symbols *s, uint32_t image, const char *name);

/* The image one of whose (non-LINKEDIT) segments holds `addr`, or -1. */
int64_t dsc_symbols_image_of(struct dsc_symbols *s, uint64_t addr);

#endif

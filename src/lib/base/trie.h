/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trie.h — walker for Mach-O style prefix tries (export tries, the cache's
 * dylibs trie).
 *
 * Node: ULEB terminal size, terminal bytes, u8 child count, then per child a
 * NUL-terminated edge label and a ULEB node offset from the trie start.
 * The walk is iterative (depth first, in trie order: a node's terminal,
 * then its edges in the order written) and bounded: keys longer than DSC_TRIE_MAX_KEY, more
 * node visits than the trie has bytes (cycles, shared subtrees), keys
 * totalling more than DSC_TRIE_KEY_RATIO times the trie's bytes (what a
 * caller copying every key allocates) or any out-of-range offset end it
 * with an error instead of looping or exploding.
 */
#ifndef DSC_TRIE_H
#define DSC_TRIE_H

#include "base/reader.h"

#define DSC_TRIE_MAX_KEY 4096
/* Shared prefixes make a real trie's keys longer than the trie, but by far
 * less than this; a hostile one can reach 4096 bytes of key per node. */
#define DSC_TRIE_KEY_RATIO 64

/* Called for each terminal node. `terminal` is exactly its terminal bytes.
 * A non-zero return stops the walk and is returned by dsc_trie_walk. */
typedef int (*dsc_trie_fn)(void *ctx, const char *key, size_t key_len, dsc_span terminal);

/* Returns 0 when the walk completed, the callback's value when it stopped
 * it, or -1 on a malformed trie (with `err` filled, naming `file`). */
int dsc_trie_walk(dsc_span trie, dsc_trie_fn fn, void *ctx, const char *file, dsc_error *err);

/* dsc_trie_walk, and *sorted true when the walk completed and the keys
 * came in strcmp order, each once: every node's edge labels were
 * non-empty and their first bytes increasing, as linkers write tries. A
 * caller keeping the keys sorted then has no sort to make. */
int dsc_trie_walk_sorted(dsc_span trie, dsc_trie_fn fn, void *ctx, const char *file, dsc_error *err, bool *sorted);

/* The terminal bytes of `key`, found by descending one path (no walk, no
 * allocation); false when the trie has no such key or the path is
 * malformed. */
bool dsc_trie_find(dsc_span trie, const char *key, dsc_span *terminal);

/* Export terminals with EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT (dyld-1284+:
 * flags, the default implementation's offset, the index of its table in
 * LC_FUNCTION_VARIANTS) rewritten in place, in the writable `trie`, as
 * plain exports of the default implementation, what dyld before
 * function variants binds: the flag cleared and the offset stored as a
 * ULEB128 padded over the index's bytes (redundant 0x80 groups, which
 * every ULEB reader accepts), so no terminal size or node offset moves.
 * Returns how many were rewritten, or -1 on a malformed trie (`err`). */
long dsc_trie_plain_variants(uint8_t *trie, size_t size, const char *file, dsc_error *err);

#endif

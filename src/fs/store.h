/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h — an LRU store of immutable byte blobs under a byte budget.
 *
 * Contract:
 *  - Keys are 0..nkeys-1. The store knows nothing of what a blob holds: a
 *    producer callback builds it on first demand, without the store's lock,
 *    on the thread that asked first. Other threads asking for the same key
 *    meanwhile wait for that one production (single flight); different keys
 *    are produced in parallel.
 *  - store_acquire() pins the blob; its bytes stay valid and unchanged until
 *    the matching store_release(). Eviction never touches pinned blobs.
 *  - After every call, unpinned resident bytes <= budget: when the budget is
 *    exceeded, unpinned blobs are freed least recently used first. A blob
 *    larger than the budget lives exactly as long as it is pinned.
 *  - A failed production leaves the key absent; the waiters of that flight
 *    get the producer's error and the next acquire tries again.
 *  - One mutex guards everything; each key has its own condition variable.
 */
#ifndef DSCFS_STORE_H
#define DSCFS_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

typedef struct store_blob {
    void *data;   /* malloc'ed; the store frees it with free() */
    size_t size;
} store_blob;

/* Build the blob of `key` into *out. Returns 0, or a positive errno value
 * (then *out is ignored). Called without the store's lock held. */
typedef int (*store_producer)(void *ctx, uint32_t key, store_blob *out);

typedef struct store_stats {
    uint64_t budget;
    uint64_t resident;      /* bytes of all blobs held now */
    uint64_t pinned;        /* bytes of blobs with at least one reader */
    uint64_t peak_resident;
    uint64_t peak_unpinned; /* highest resident - pinned seen after any call */
    uint32_t entries;       /* blobs held now */
    uint64_t hits;          /* acquires served from a held blob */
    uint64_t misses;        /* acquires that started a production */
    uint64_t waits;         /* acquires that waited for another's production */
    uint64_t failures;      /* productions that failed */
    uint64_t evictions;
} store_stats;

enum store_state { STORE_ABSENT, STORE_BUSY, STORE_READY };

/* NULL when out of memory or nkeys is 0. */
store *store_create(uint32_t nkeys, uint64_t budget, store_producer produce, void *ctx);
/* Frees every blob; no acquire may be pending or pin outstanding. */
void store_destroy(store *s);

/* Pin key's blob, producing it if needed. 0 and *blob set, or a positive
 * errno (EINVAL for a key out of range, else the producer's error). */
int store_acquire(store *s, uint32_t key, const store_blob **blob);
/* Drop one pin taken by a successful store_acquire(). */
void store_release(store *s, uint32_t key);

void store_get_stats(store *s, store_stats *out);
enum store_state store_key_state(store *s, uint32_t key);

#endif

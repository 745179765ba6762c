/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * disk_store.h — extracted images kept on disk across mounts
 * (-o cache_dir=DIR,cache_dir_size=SIZE).
 *
 * Contract:
 *  - An entry is one file in DIR named after a digest of (cache UUID, dscfs
 *    version, extraction flags, image install path); it holds a header
 *    (that digest, the byte count and a checksum of the bytes) and the
 *    bytes. Any other cache, dscfs version or flags (-o nosign) has other
 *    names: entries are never shared across them.
 *  - disk_store_put() writes a temporary file in DIR and renames it over
 *    the entry, so a reader (this mount or another, even of the same cache
 *    at once) sees a whole entry or none.
 *  - disk_store_get() checks everything: a short, foreign or corrupt entry
 *    is a miss and is removed (the next put replaces it).
 *  - The bytes of all entries in DIR (any cache) stay near `limit`: a put
 *    that takes the running total over it removes entries least recently
 *    used first (a hit touches its entry's mtime) until 7/8 of it. Two
 *    mounts sharing DIR both evict; each counts the other's entries when
 *    it rescans.
 *  - Thread-safe. Failures to write are counted, never fatal: the store is
 *    an optimisation.
 */
#ifndef DSCFS_DISK_STORE_H
#define DSCFS_DISK_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct disk_store disk_store;

typedef struct disk_store_stats {
    uint64_t limit;
    uint64_t bytes;     /* entries in DIR at the last scan, plus puts since */
    uint64_t hits;
    uint64_t misses;
    uint64_t writes;
    uint64_t write_errors;
    uint64_t rejected;  /* short, foreign or corrupt entries removed */
    uint64_t evictions;
} disk_store_stats;

/* Open (creating) DIR for the cache whose UUID is `uuid`, extracted with
 * dsc_extract_with `flags`. NULL with errno set when DIR cannot be made or
 * is not a writable directory. */
disk_store *disk_store_open(const char *dir, uint64_t limit, const uint8_t uuid[16], unsigned flags);
void disk_store_close(disk_store *ds);

/* The bytes of `image` (an install path): 0 and *data (malloc'ed), *size
 * set, or ENOENT on a miss (ENOMEM when out of memory). */
int disk_store_get(disk_store *ds, const char *image, void **data, size_t *size);
/* Keep `size` bytes of `image`; best effort. */
void disk_store_put(disk_store *ds, const char *image, const void *data, size_t size);

void disk_store_get_stats(disk_store *ds, disk_store_stats *out);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_hash.c — the ObjC shared-cache perfect hash tables of strings
 * (dyld-1378 common/OptimizerObjC.h StringHashTable, common/PerfectHash.cpp
 * lookup8, cache_builder/PerfectHashWriter.cpp make_perfect; objc4-951.1
 * reads them). Shared by dscbuild (objc_hash_write) and dsccheck (the
 * lookup: objc_hash_index, objc_hash_checkbyte).
 *
 * Table: version u32 (Apple's writer leaves it 0), capacity, occupied,
 * shift, mask (u32), 4 bytes padding, salt u64 at 24, scramble u32[256] at
 * 32, tab u8[mask + 1] at OBJC_HASH_TAB, checkbytes u8[capacity], offsets
 * i32[capacity] (from the table's start to the string; 0 = empty slot).
 * A key's slot is (v >> shift) ^ scramble[tab[v & mask]] with v = Bob
 * Jenkins' lookup8(key, strlen, salt) (shift 64 gives 0 for the first term);
 * its check byte is (key[0] & 7) << 5 | (strlen & 31).
 * The class and protocol tables (dyld-1042.1 .. dyld-1378 OptimizerObjC.h
 * ObjectHashTable) go on after the offsets: objects u64[capacity], each
 * {isDuplicate:1 = 0, objectCacheOffset:47, dylibObjCIndex:16} from bit 0
 * (the name's one object: offset from the cache base, index in header
 * info) or {isDuplicate:1 = 1, index:47, count:16} (the name's objects are
 * duplicates[index .. index + count)), 0 for a name without objects; then
 * duplicateCount u32 and duplicates u64[duplicateCount], unaligned.
 * The chunk is sized before the strings are hashed (dyld-1378
 * NewSharedCacheBuilder.cpp hashTableSize: 10% padding, a power of two, at
 * least 4096 bytes; 5 bytes a slot for selectors, 13 for classes and
 * protocols, plus 8 per object whose name has several). Apple's make_perfect searches salts and tab values as
 * Bob Jenkins' perfect.c does; this writer makes the same kind of table by a
 * simpler search (capacity = the power of two >= the count, scramble a
 * fixed permutation, buckets largest first given the first tab value that
 * lands all their keys in free slots), retrying salts and widening tab.
 */
#include "bld.h"

#include <stdlib.h>
#include <string.h>

/* One round of Jenkins' 64-bit mix; four make mix64. */
#define MIX(x, y, z, s1, s2, s3) \
    (x -= y, x -= z, x ^= (z >> s1), y -= z, y -= x, y ^= (x << s2), z -= x, z -= y, z ^= (y >> s3))

static void mix64(uint64_t *a, uint64_t *b, uint64_t *c)
{
    MIX(*a, *b, *c, 43, 9, 8);
    MIX(*a, *b, *c, 38, 23, 5);
    MIX(*a, *b, *c, 35, 49, 11);
    MIX(*a, *b, *c, 12, 18, 22);
}

uint64_t objc_lookup8(const uint8_t *k, size_t len, uint64_t level)
{
    uint64_t w[3] = {level, level, 0x9e3779b97f4a7c13ULL};
    size_t left = len;
    for (; left >= 24; k += 24, left -= 24) {
        for (int i = 0; i < 3; i++)
            w[i] += dsc_le64(k + 8 * i);
        mix64(&w[0], &w[1], &w[2]);
    }
    w[2] += len;
    /* The tail: bytes 0..15 fill a then b from bit 0, 16..22 c from bit 8. */
    for (size_t i = 0; i < left; i++)
        w[i / 8] += (uint64_t)k[i] << (8 * (i % 8) + (i >= 16 ? 8 : 0));
    mix64(&w[0], &w[1], &w[2]);
    return w[2];
}

uint8_t objc_hash_checkbyte(const char *key, size_t len)
{
    return (uint8_t)(((key[0] & 7) << 5) | (len & 31));
}

static uint32_t slot_of(uint64_t v, uint32_t shift, uint32_t mask, const uint8_t *tab, const uint8_t *scramble)
{
    uint32_t a = shift >= 64 ? 0 : (uint32_t)(v >> shift);
    return a ^ dsc_le32(scramble + 4 * tab[v & mask]);
}

bool objc_hash_index(const uint8_t *t, size_t size, const char *key, uint32_t *slot)
{
    uint32_t cap = dsc_le32(t + 4), mask = dsc_le32(t + 16);
    if (size < OBJC_HASH_TAB || (uint64_t)mask + 1 + 5ULL * cap > size - OBJC_HASH_TAB)
        return false;
    size_t len = strlen(key);
    *slot = slot_of(objc_lookup8((const uint8_t *)key, len, dsc_le64(t + 24)), dsc_le32(t + 12), mask,
                    t + OBJC_HASH_TAB, t + 32);
    return *slot < cap;
}

uint64_t objc_hash_chunk_size(uint32_t n, unsigned per_slot)
{
    uint32_t padded = n * 11 / 10, cap = 1;
    while (cap < padded)
        cap <<= 1;
    uint64_t size = OBJC_HASH_TAB + cap / 2 + cap + (uint64_t)per_slot * cap;
    return size < 4096 ? 4096 : size;
}

/* One key: its lookup8 value and bucket. */
struct hkey {
    uint64_t v;
    uint32_t b;
};

static int by_bucket(const void *x, const void *y)
{
    const struct hkey *a = x, *b = y;
    return a->b < b->b ? -1 : a->b > b->b;
}

struct hrun {
    uint32_t b, first, n;
};

static int by_size(const void *x, const void *y)
{
    const struct hrun *a = x, *b = y;
    return a->n != b->n ? (a->n > b->n ? -1 : 1) : (a->b < b->b ? -1 : a->b > b->b);
}

/* Give each bucket (largest first) a tab value landing its keys in free
 * slots; false when some bucket has none. */
static bool assign(struct hkey *k, size_t n, uint32_t shift, uint32_t mask, uint32_t cap, uint8_t *tab,
                   const uint8_t *scr, uint8_t *used)
{
    qsort(k, n, sizeof *k, by_bucket);
    struct hrun *runs = xcalloc(n ? n : 1, sizeof *runs);
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (!nr || runs[nr - 1].b != k[i].b)
            runs[nr++] = (struct hrun){k[i].b, (uint32_t)i, 0};
        runs[nr - 1].n++;
    }
    qsort(runs, nr, sizeof *runs, by_size);
    bool ok = true;
    for (size_t r = 0; r < nr && ok; r++) {
        ok = false;
        for (uint32_t t = 0; t < 256 && !ok; t++) {
            tab[runs[r].b] = (uint8_t)t;
            uint32_t j = 0;
            for (; j < runs[r].n; j++) {
                uint32_t s = slot_of(k[runs[r].first + j].v, shift, mask, tab, scr);
                if (s >= cap || used[s])
                    break;
                used[s] = 1;
            }
            ok = j == runs[r].n;
            while (!ok && j--)
                used[slot_of(k[runs[r].first + j].v, shift, mask, tab, scr)] = 0;
        }
    }
    free(runs);
    return ok;
}

/* The table's parameters for `cap` slots, `blen` buckets and `salt`, or false. */
static bool try_hash(const char *const *keys, size_t n, uint32_t cap, uint32_t blen, uint64_t salt, uint8_t *t)
{
    unsigned logcap = 0;
    while ((1u << logcap) < cap)
        logcap++;
    uint32_t shift = 64 - logcap;
    struct hkey *k = xcalloc(n ? n : 1, sizeof *k);
    for (size_t i = 0; i < n; i++) {
        k[i].v = objc_lookup8((const uint8_t *)keys[i], strlen(keys[i]), salt);
        k[i].b = (uint32_t)(k[i].v & (blen - 1));
    }
    memset(t, 0, OBJC_HASH_TAB + blen);
    for (uint32_t i = 0; i < 256; i++)
        dsc_put32(t + 32 + 4 * i, (i * 0x9e3779b1u) & (cap - 1));
    uint8_t *used = xcalloc(cap, 1);
    bool ok = assign(k, n, shift, blen - 1, cap, t + OBJC_HASH_TAB, t + 32, used);
    free(used);
    free(k);
    if (ok) {
        dsc_put32(t + 4, cap);
        dsc_put32(t + 8, (uint32_t)n);
        dsc_put32(t + 12, shift);
        dsc_put32(t + 16, blen - 1);
        dsc_put64(t + 24, salt);
    }
    return ok;
}

uint64_t objc_hash_objects(const uint8_t *t)
{
    return OBJC_HASH_TAB + (uint64_t)dsc_le32(t + 16) + 1 + 5ULL * dsc_le32(t + 4);
}

uint64_t objc_object_entry(uint64_t cache_offset, uint32_t dylib_index)
{
    return cache_offset << 1 | (uint64_t)dylib_index << 48;
}

uint64_t objc_duplicate_entry(uint32_t index, uint32_t count)
{
    return 1 | (uint64_t)index << 1 | (uint64_t)count << 48;
}

void objc_hash_write(uint8_t *t, uint64_t room, const char *const *keys, const int32_t *offsets, size_t n,
                     uint64_t slot_extra, const char *what)
{
    uint32_t cap = 1;
    while (cap < n)
        cap <<= 1;
    if (!n) /* Apple's StringHashTable::write zeroes the header of an empty table */
        return;
    for (uint32_t blen = 1; OBJC_HASH_TAB + blen + (5ULL + slot_extra) * cap <= room; blen <<= 1)
        for (uint64_t si = 1; si <= 64; si++)
            if (try_hash(keys, n, cap, blen, si * 0x9e3779b97f4a7c13ULL, t)) {
                uint8_t *check = t + OBJC_HASH_TAB + blen;
                memset(check, 0, 5ULL * cap);
                for (size_t i = 0; i < n; i++) {
                    uint32_t s;
                    if (!objc_hash_index(t, room, keys[i], &s))
                        die("%s hash table: lost key %s", what, keys[i]);
                    check[s] = objc_hash_checkbyte(keys[i], strlen(keys[i]));
                    dsc_put32(check + cap + 4 * s, (uint32_t)offsets[i]);
                }
                return;
            }
    die("%s hash table: no perfect hash for %zu keys in %llu bytes", what, n, (unsigned long long)room);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sort.h — qsort/qsort_r that first look for a few sorted runs.
 *
 * Much of what the engine sorts arrives in order (extdef names as the
 * linker sorted them, export-trie walks of tries written in order, fixups
 * walked page by page), or as a few sorted pieces (fixups with binds
 * appended, defined then undefined symbols): one linear pass per piece
 * then replaces n log n comparisons. The merge is stable, as glibc's
 * qsort (a merge sort) is, so either way the result is what
 * qsort(3)/qsort_r(3) give.
 */
#ifndef DSC_SORT_H
#define DSC_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void dsc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void dsc_sort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg);

/* A record's sort key and its index in the table it stands for. */
struct dsc_keyed {
    uint64_t key;
    size_t index;
};

/* Sort `n` keyed records by key, stably (records with equal keys keep
 * their order): left alone when already in order, an insertion sort when
 * few, else an LSD radix sort over the key bytes that differ, no
 * comparisons. Sorting (key, index) pairs rather than pointers to the
 * records keeps every pass in one contiguous array. False, with the
 * records as they were, when out of memory. */
bool dsc_sort_keyed(struct dsc_keyed *v, size_t n);

/* Index of the first of `n` records (each `size` bytes, sorted by the
 * uint64_t at `key_offset`) whose key is >= `key`; n when there is none.
 * For tables of records keyed by a uint64_t; searches by name (strcmp) or
 * through an array of pointers or indices are written next to their table. */
size_t dsc_lower_bound(const void *base, size_t n, size_t size, size_t key_offset, uint64_t key);

#endif

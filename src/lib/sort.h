/*
 * sort.h — qsort/qsort_r that first look whether the array is sorted already.
 *
 * Much of what the engine sorts arrives in order (extdef names as the
 * linker sorted them, export-trie walks of tries written in order, fixups
 * walked page by page): one linear pass then replaces n log n comparisons.
 * Either way the result is what qsort(3)/qsort_r(3) give.
 */
#ifndef DSC_SORT_H
#define DSC_SORT_H

#include <stddef.h>

void dsc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void dsc_sort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg);

#endif

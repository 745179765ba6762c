/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * grow.h — the one growable-array step: make room for one more element by
 * doubling the capacity, with the multiplication checked.
 */
#ifndef DSC_GROW_H
#define DSC_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* With `n` of `*cap` elements of `size` bytes in use at *(void **)arrp:
 * when full, realloc to twice the capacity (`first` when 0). False when
 * the size overflows or memory runs out; the array is then unchanged. */
bool dsc_grow(void *arrp, size_t n, size_t *cap, size_t size, size_t first);

/* DSC_GROW(p->items, p->nitems, p->items_cap, 64) — `cap` a size_t. The
 * test for room is inline (arrays grown one element at a time, such as a
 * plan's fixups, call it per element); the arguments are evaluated more
 * than once, so they have no side effects. */
#define DSC_GROW(arr, n, cap, first) ((n) < (cap) || dsc_grow(&(arr), (n), &(cap), sizeof *(arr), (first)))

#endif

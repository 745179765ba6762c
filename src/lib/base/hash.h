/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hash.h — where an integer key starts its search in an open-addressing
 * table of a power-of-two size: one multiplicative (Fibonacci) hash for
 * every such table of the engine that is keyed by a number.
 */
#ifndef DSC_HASH_H
#define DSC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The home slot of `key` in a table of mask + 1 slots: the multiplier
 * spreads keys that differ only in a few middle bits (addresses, image
 * indexes) over the whole table. */
static inline size_t dsc_hash_home(uint64_t key, size_t mask)
{
    return (size_t)((key * 0x9E3779B97F4A7C15u) >> 32) & mask;
}

#endif

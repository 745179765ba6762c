/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sort.c — dsc_sort, dsc_sort_r. See sort.h.
 */
#include "base/sort.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stdlib.h>

/* qsort's comparison, or qsort_r's with its argument. */
struct order {
    int (*cmp)(const void *, const void *);
    int (*cmp_r)(const void *, const void *, void *);
    void *arg;
};

static int compare(const struct order *o, const void *a, const void *b)
{
    return o->cmp ? o->cmp(a, b) : o->cmp_r(a, b, o->arg);
}

/* Up to this many ascending runs are merged; more go to qsort. */
#define MAX_RUNS 8

/* End of the ascending run that starts at `i`. */
static size_t run_end(const char *v, size_t i, size_t n, size_t size, const struct order *o)
{
    while (i + 1 < n && compare(o, v + i * size, v + (i + 1) * size) <= 0)
        i++;
    return i + 1;
}

/* First of the left run's records [0, hi) that sorts after `key` (the
 * left run's records equal to it stay before it: stable). */
static size_t upper_bound(const char *v, size_t hi, size_t size, const struct order *o, const char *key)
{
    size_t lo = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare(o, v + mid * size, key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Merge the sorted [0, mid) and [mid, end) of v, through tmp (mid
 * records): stable, the left run first among equals, as qsort's merge.
 * A right run much shorter than the left (records appended to a sorted
 * table) is merged from the back instead: each of its records finds its
 * place by binary search, and the left records above it move up in one
 * block, so most records move once and are compared not at all. */
static void merge(char *v, size_t mid, size_t end, size_t size, const struct order *o, char *tmp)
{
    size_t k = end - mid;
    if (k * 16 < mid) {
        memcpy(tmp, v + mid * size, k * size);
        size_t a = mid, out = end;
        while (k > 0) {
            const char *rec = tmp + --k * size;
            size_t at = upper_bound(v, a, size, o, rec);
            out -= a - at;
            memmove(v + out * size, v + at * size, (a - at) * size);
            a = at;
            memcpy(v + --out * size, rec, size);
        }
        return;
    }
    memcpy(tmp, v, mid * size);
    size_t a = 0, b = mid, out = 0;
    while (a < mid && b < end) {
        bool left = compare(o, tmp + a * size, v + b * size) <= 0;
        memcpy(v + out++ * size, left ? tmp + a++ * size : v + b++ * size, size);
    }
    memcpy(v + out * size, tmp + a * size, (mid - a) * size); /* what is left of b is in place */
}

/* Sort by merging a few ascending runs (a sorted table with records
 * appended, several sorted tables concatenated): neighbours pairwise, so
 * O(n log runs). False when there are too many runs, or no memory to merge
 * them; v is then as it was. */
static bool merge_runs(void *base, size_t n, size_t size, const struct order *o)
{
    char *v = base;
    size_t ends[MAX_RUNS], nruns = 0;
    for (size_t i = 0; i < n; i = ends[nruns++]) {
        if (nruns == MAX_RUNS)
            return false;
        ends[nruns] = run_end(v, i, n, size, o);
    }
    if (nruns < 2)
        return true;
    char *tmp = malloc(n * size);
    if (!tmp)
        return false;
    while (nruns > 1) {
        size_t kept = 0, start = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            if (r + 1 < nruns)
                merge(v + start * size, ends[r] - start, ends[r + 1] - start, size, o, tmp);
            start = ends[kept++] = ends[r + 1 < nruns ? r + 1 : r];
        }
        nruns = kept;
    }
    free(tmp);
    return true;
}

void dsc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    struct order o = {.cmp = cmp};
    if (n > 1 && !merge_runs(base, n, size, &o))
        qsort(base, n, size, cmp);
}

void dsc_sort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg)
{
    struct order o = {.cmp_r = cmp, .arg = arg};
    if (n > 1 && !merge_runs(base, n, size, &o))
        qsort_r(base, n, size, cmp, arg);
}

/* Below this many records an insertion sort beats the radix passes' fixed
 * cost (a 256-entry count per pass); its cost is the records plus their
 * inversions, and what the engine sorts this way is mostly in order. */
#define SMALL_SORT 48

static void insertion_sort(struct dsc_keyed *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct dsc_keyed r = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].key > r.key; j--)
            v[j] = v[j - 1];
        v[j] = r;
    }
}

/* For each of the key bytes `shift` lists (bit shifts), the first output
 * slot of each of its values, counted in one read of the records. */
static void byte_offsets(const struct dsc_keyed *v, size_t n, const unsigned *shift, unsigned nbytes,
                         size_t (*at)[256])
{
    memset(at, 0, nbytes * sizeof *at);
    for (size_t i = 0; i < n; i++)
        for (unsigned b = 0; b < nbytes; b++)
            at[b][v[i].key >> shift[b] & 0xFF]++;
    for (unsigned b = 0; b < nbytes; b++)
        for (size_t d = 0, sum = 0; d < 256; d++) {
            size_t c = at[b][d];
            at[b][d] = sum;
            sum += c;
        }
}

bool dsc_sort_keyed(struct dsc_keyed *v, size_t n)
{
    uint64_t differ = 0;
    bool sorted = true;
    for (size_t i = 1; i < n; i++) {
        differ |= v[i].key ^ v[0].key;
        sorted &= v[i - 1].key <= v[i].key;
    }
    if (sorted)
        return true;
    if (n < SMALL_SORT) {
        insertion_sort(v, n);
        return true;
    }
    unsigned shift[8], nbytes = 0; /* the bytes that differ: a pass over any other would change nothing */
    for (unsigned b = 0; b < 8; b++)
        if (differ >> (8 * b) & 0xFF)
            shift[nbytes++] = 8 * b;
    size_t at[8][256];
    struct dsc_keyed *tmp = malloc(n * sizeof *tmp), *src = v, *dst = tmp;
    if (!tmp)
        return false;
    byte_offsets(v, n, shift, nbytes, at);
    for (unsigned b = 0; b < nbytes; b++) {
        for (size_t i = 0; i < n; i++) /* stable: records of one digit keep their order */
            dst[at[b][src[i].key >> shift[b] & 0xFF]++] = src[i];
        struct dsc_keyed *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    return true;
}

size_t dsc_lower_bound(const void *base, size_t n, size_t size, size_t key_offset, uint64_t key)
{
    const unsigned char *b = base;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k;
        memcpy(&k, b + mid * size + key_offset, sizeof k);
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

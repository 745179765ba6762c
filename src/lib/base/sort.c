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

static uint64_t key_of(const void *record, size_t key_offset)
{
    uint64_t k;
    memcpy(&k, (const char *)record + key_offset, sizeof k);
    return k;
}

/* One stable counting-sort pass of src into dst by key byte `byte`. */
static void radix_pass(const void **src, const void **dst, size_t n, size_t key_offset, unsigned byte)
{
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++)
        count[(key_of(src[i], key_offset) >> (8 * byte) & 0xFF) + 1]++;
    for (unsigned b = 1; b < 257; b++)
        count[b] += count[b - 1];
    for (size_t i = 0; i < n; i++)
        dst[count[key_of(src[i], key_offset) >> (8 * byte) & 0xFF]++] = src[i];
}

bool dsc_sort_ptrs_by_u64(const void **ptrs, size_t n, size_t key_offset)
{
    uint64_t differ = 0;
    for (size_t i = 1; i < n; i++)
        differ |= key_of(ptrs[i], key_offset) ^ key_of(ptrs[0], key_offset);
    if (!differ)
        return true;
    const void **tmp = malloc(n * sizeof *tmp), **src = ptrs, **dst = tmp;
    if (!tmp)
        return false;
    for (unsigned byte = 0; byte < 8; byte++) {
        if (!(differ >> (8 * byte) & 0xFF))
            continue; /* every key has the same byte here: the pass would change nothing */
        radix_pass(src, dst, n, key_offset, byte);
        const void **t = src;
        src = dst;
        dst = t;
    }
    if (src != ptrs)
        memcpy(ptrs, src, n * sizeof *ptrs);
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

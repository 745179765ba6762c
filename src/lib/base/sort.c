/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sort.c — dsc_sort, dsc_sort_r. See sort.h.
 */
#include "base/sort.h"

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

static int is_sorted(const void *base, size_t n, size_t size, const struct order *o)
{
    const char *v = base;
    for (size_t i = 1; i < n; i++)
        if (compare(o, v + (i - 1) * size, v + i * size) > 0)
            return 0;
    return 1;
}

void dsc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    struct order o = {.cmp = cmp};
    if (n > 1 && !is_sorted(base, n, size, &o))
        qsort(base, n, size, cmp);
}

void dsc_sort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg)
{
    struct order o = {.cmp_r = cmp, .arg = arg};
    if (n > 1 && !is_sorted(base, n, size, &o))
        qsort_r(base, n, size, cmp, arg);
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

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sort.c — dsc_sort/dsc_sort_r (sorted input left alone, sorted runs
 * merged stably, a short run appended to a long one too, anything else
 * sorted as qsort would), dsc_sort_keyed (a stable sort by a uint64_t
 * key), dsc_lower_bound, and dsc_cache_release_pages (what
 * --extract-all calls between images): the cache reads the same after it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dsc/dsc.h"
#include "base/sort.h"
#include "suites.h"
#include "testdata.h"

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Orders indices by the ints they index (a qsort_r context). */
static int cmp_index(const void *a, const void *b, void *ctx)
{
    const int *keys = ctx;
    return cmp_int(&keys[*(const size_t *)a], &keys[*(const size_t *)b]);
}

START_TEST(sorted_input_is_kept)
{
    int v[] = {1, 2, 2, 5, 9};
    int want[] = {1, 2, 2, 5, 9};
    dsc_sort(v, 5, sizeof *v, cmp_int);
    ck_assert_mem_eq(v, want, sizeof v);
    dsc_sort(v, 0, sizeof *v, cmp_int); /* empty and single arrays are sorted */
    dsc_sort(v, 1, sizeof *v, cmp_int);
    ck_assert_mem_eq(v, want, sizeof v);
}
END_TEST

START_TEST(unsorted_input_is_sorted)
{
    enum { N = 1000 };
    int v[N], want[N];
    srand(7);
    for (int i = 0; i < N; i++)
        v[i] = want[i] = rand() % 100;
    v[N - 1] = want[N - 1] = -1; /* out of order only at the very end */
    qsort(want, N, sizeof *want, cmp_int);
    dsc_sort(v, N, sizeof *v, cmp_int);
    ck_assert_mem_eq(v, want, sizeof v);
}
END_TEST

/* Orders (key, tag) pairs by key alone: equal keys keep their input order
 * in a stable sort (glibc's qsort merges, and so does dsc_sort's run merge). */
struct tagged {
    int key, tag;
};

static int cmp_key(const void *a, const void *b)
{
    return cmp_int(&((const struct tagged *)a)->key, &((const struct tagged *)b)->key);
}

/* A stable insertion sort: the reference order. */
static void stable_sort(struct tagged *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1].key > v[j].key; j--) {
            struct tagged t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* Append a sorted run of `len` records to v and want, from `key` up in
 * random steps below `step`, each tagged with its input position. */
static void append_run(struct tagged *v, struct tagged *want, size_t *n, size_t len, int key, int step)
{
    for (size_t i = 0; i < len; i++, ++*n) {
        key += rand() % step;
        v[*n] = want[*n] = (struct tagged){key, (int)*n};
    }
}

/* dsc_sort of v gives the stable sort of want. */
static void check_stable(struct tagged *v, struct tagged *want, size_t n)
{
    stable_sort(want, n);
    dsc_sort(v, n, sizeof *v, cmp_key);
    ck_assert_mem_eq(v, want, n * sizeof *v);
}

/* 1 to 12 sorted runs of random lengths (up to 8 are merged, more go to
 * qsort), keys with many repeats: the order of a stable sort every time. */
START_TEST(sorted_runs_are_merged_stably)
{
    enum { N = 600 };
    struct tagged v[N], want[N];
    srand(11);
    for (int round = 0; round < 200; round++) {
        size_t runs = 1 + (size_t)round % 12, n = 0;
        for (size_t r = 0; r < runs; r++)
            append_run(v, want, &n, (size_t)rand() % (N / 12), rand() % 20, 3);
        check_stable(v, want, n);
    }
}
END_TEST

/* A few records appended to a long sorted table (the merge that moves
 * blocks of the table instead of comparing every record), keys with
 * repeats so that stability shows: the order of a stable sort. */
START_TEST(short_run_appended_merges_stably)
{
    enum { N = 900 };
    struct tagged v[N], want[N];
    srand(13);
    for (int round = 0; round < 100; round++) {
        size_t table = 200 + (size_t)rand() % 600, n = 0;
        append_run(v, want, &n, table, 0, 2);
        append_run(v, want, &n, 1 + (size_t)rand() % (table / 17), rand() % (v[n - 1].key + 2) - 1, 3);
        check_stable(v, want, n);
    }
}
END_TEST

START_TEST(sort_r_passes_its_context)
{
    int keys[] = {30, 10, 20};
    size_t order[] = {0, 1, 2};
    size_t want[] = {1, 2, 0};
    dsc_sort_r(order, 3, sizeof *order, cmp_index, keys);
    ck_assert_mem_eq(order, want, sizeof order);
    dsc_sort_r(order, 3, sizeof *order, cmp_index, keys);
    ck_assert_mem_eq(order, want, sizeof order);
}
END_TEST

START_TEST(release_pages_keeps_the_cache_readable)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    dsc_error err;
    for (uint32_t i = 0; i < dsc_cache_get_info(c)->image_count; i++) {
        dsc_output before = {.struct_size = sizeof before}, after = {.struct_size = sizeof after};
        ck_assert_msg(dsc_extract(c, i, &before, &err) == 0, "%s", err.msg);
        dsc_cache_release_pages(c);
        ck_assert_msg(dsc_extract(c, i, &after, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(before.size, after.size);
        ck_assert_mem_eq(before.data, after.data, before.size);
        dsc_output_free(&before);
        dsc_output_free(&after);
    }
    dsc_cache_close(c);
}
END_TEST

struct keyed {
    uint32_t pad;
    uint64_t key;
};

/* dsc_sort_keyed of v (n records) gives the stable sort by key. */
static void check_keyed(struct dsc_keyed *v, size_t n)
{
    struct dsc_keyed *want = malloc(n * sizeof *want);
    ck_assert_ptr_nonnull(want);
    memcpy(want, v, n * sizeof *v);
    for (size_t i = 1; i < n; i++) /* a stable insertion sort: the reference */
        for (size_t j = i; j > 0 && want[j - 1].key > want[j].key; j--) {
            struct dsc_keyed t = want[j];
            want[j] = want[j - 1];
            want[j - 1] = t;
        }
    ck_assert(dsc_sort_keyed(v, n));
    ck_assert_mem_eq(v, want, n * sizeof *v);
    free(want);
}

START_TEST(keyed_sort_is_stable)
{
    /* Keys differing in several bytes, the top one included, and ties,
     * indexed in input order: a stable sort keeps 2 before 4. */
    struct dsc_keyed r[] = {{0x8000000000000001ull, 1}, {0x10203, 2}, {7, 3}, {0x10203, 4}, {1ull << 32, 5}, {7, 6}};
    ck_assert(dsc_sort_keyed(r, 6));
    const size_t want[] = {3, 6, 2, 4, 5, 1};
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(r[i].index, want[i]);
    ck_assert(dsc_sort_keyed(NULL, 0));
    /* Enough records for the radix passes: random keys with ties, keys
     * that differ only in some bytes, and keys mostly in order. */
    enum { N = 700 };
    static struct dsc_keyed v[N];
    srand(17);
    for (int round = 0; round < 30; round++) {
        size_t n = 1 + (size_t)rand() % N;
        for (size_t i = 0; i < n; i++) {
            uint64_t k = (uint64_t)rand() << 40 ^ (uint64_t)rand() << 8 ^ (uint64_t)rand();
            k &= round % 3 == 0 ? 0xFF00FF0000ull : round % 3 == 1 ? 0xF0000000000000FFull : ~0ull;
            v[i] = (struct dsc_keyed){round % 5 == 4 ? i * 16 + (uint64_t)rand() % 40 : k, i};
        }
        check_keyed(v, n);
    }
}
END_TEST

START_TEST(lower_bound_finds_first_not_less)
{
    static const struct keyed v[] = {{0, 2}, {0, 4}, {0, 4}, {0, 9}};
    const size_t off = offsetof(struct keyed, key), n = 4;
    ck_assert_uint_eq(dsc_lower_bound(v, n, sizeof v[0], off, 0), 0);
    ck_assert_uint_eq(dsc_lower_bound(v, n, sizeof v[0], off, 4), 1); /* first of equals */
    ck_assert_uint_eq(dsc_lower_bound(v, n, sizeof v[0], off, 5), 3);
    ck_assert_uint_eq(dsc_lower_bound(v, n, sizeof v[0], off, UINT64_MAX), n);
    ck_assert_uint_eq(dsc_lower_bound(v, 0, sizeof v[0], off, 4), 0);
}
END_TEST

Suite *sort_suite(void)
{
    Suite *s = suite_create("sort");
    TCase *tc = tcase_create("sort");
    tcase_add_test(tc, sorted_input_is_kept);
    tcase_add_test(tc, unsorted_input_is_sorted);
    tcase_add_test(tc, sorted_runs_are_merged_stably);
    tcase_add_test(tc, short_run_appended_merges_stably);
    tcase_add_test(tc, sort_r_passes_its_context);
    tcase_add_test(tc, keyed_sort_is_stable);
    tcase_add_test(tc, lower_bound_finds_first_not_less);
    tcase_add_loop_test(tc, release_pages_keeps_the_cache_readable, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* test_symbols.c — the export index on the real caches: every export finds
 * itself by name and by address, umbrella re-exports (libSystem ->
 * libdyld), dependency-ordinal selection, and one shared build under
 * concurrent first use. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "index/symbols.h"
#include "testdata.h"

enum { LIBSYSTEM = 0, LIBCXXABI = 4, LIBHELLO = 5, LIBOBJC = 6, LIBDYLD = 7 };

static const struct dsc_symbols *index_of(const dsc_cache *c)
{
    const struct dsc_symbols *s;
    dsc_error err;
    ck_assert_msg(dsc_symbols_get(c, &s, &err) == 0, "%s", err.msg);
    return s;
}

START_TEST(every_export_resolves_to_itself)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    const struct dsc_symbols *s = index_of(c);
    size_t n = dsc_symbols_count(s);
    ck_assert_uint_ge(n, 5);
    for (size_t i = 0; i < n; i++) {
        const struct dsc_export *e = dsc_symbols_at(s, i);
        ck_assert_msg(e->resolved, "%s unresolved", e->name);
        ck_assert_ptr_eq(dsc_symbols_find(s, e->image, e->name), e);
        ck_assert_ptr_eq(dsc_symbols_lookup(s, e->image, e->name), e);
        if ((e->flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) != EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE)
            ck_assert_int_eq(dsc_symbols_image_of(s, e->address), e->image);
        const struct dsc_export *const *at;
        size_t k = dsc_symbols_by_address(s, e->address, &at), found = 0;
        for (size_t j = 0; j < k; j++) {
            ck_assert_uint_eq(at[j]->address, e->address);
            found += at[j] == e;
        }
        ck_assert_uint_eq(found, 1);
    }
    /* Addresses no export has: none found, and LINKEDIT belongs to nobody. */
    const struct dsc_export *const *at;
    ck_assert_uint_eq(dsc_symbols_by_address(s, 1, &at), 0);
    ck_assert_int_eq(dsc_symbols_image_of(s, 0), -1);
    dsc_cache_close(c);
}
END_TEST

START_TEST(umbrella_reexports_and_ordinals)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    const struct dsc_symbols *s = index_of(c);
    uint32_t nd;
    const struct dsc_dep *deps = dsc_symbols_deps(s, LIBSYSTEM, &nd);
    ck_assert_uint_eq(nd, 1);
    ck_assert_uint_eq(deps[0].cmd, LC_REEXPORT_DYLIB);
    ck_assert_int_eq(deps[0].image, LIBDYLD);
    deps = dsc_symbols_deps(s, LIBOBJC, &nd);
    ck_assert_uint_eq(nd, 3);
    ck_assert_str_eq(deps[2].path, "/usr/lib/libSystem.B.dylib");

    /* Every libdyld export is visible through libSystem, not listed in it,
     * and libobjc binds it to libSystem's ordinal (3), libhello to 2. */
    size_t checked = 0;
    for (size_t i = 0; i < dsc_symbols_count(s); i++) {
        const struct dsc_export *e = dsc_symbols_at(s, i);
        if (e->image == LIBDYLD) {
            ck_assert_ptr_null(dsc_symbols_find(s, LIBSYSTEM, e->name));
            ck_assert_ptr_eq(dsc_symbols_lookup(s, LIBSYSTEM, e->name), e);
            ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBOBJC, e->name), 3);
            ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, e->name), 2);
            checked++;
        } else if (e->image == LIBCXXABI) {
            ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBOBJC, e->name), 1);
            ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, e->name), 0);
        } else if (e->image == LIBOBJC) {
            ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, e->name), 1);
        }
    }
    ck_assert_uint_ge(checked, 1);
    ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBOBJC, "_no_such_symbol"), 0);
    ck_assert_ptr_null(dsc_symbols_lookup(s, LIBSYSTEM, "_no_such_symbol"));
    /* Queries on images that do not exist are harmless. */
    ck_assert_ptr_null(dsc_symbols_find(s, 999, "_x"));
    ck_assert_ptr_null(dsc_symbols_deps(s, 999, &nd));
    ck_assert_uint_eq(nd, 0);
    dsc_cache_close(c);
}
END_TEST

struct race {
    const dsc_cache *c;
    const struct dsc_symbols *got;
};

static void *get_index(void *arg)
{
    struct race *r = arg;
    dsc_error err;
    if (dsc_symbols_get(r->c, &r->got, &err))
        r->got = NULL;
    return NULL;
}

START_TEST(index_is_built_once_under_concurrent_use)
{
    dsc_cache *c = testdata_open(testdata_caches[1]);
    if (!c)
        return;
    enum { N = 8 };
    pthread_t t[N];
    struct race r[N];
    for (int i = 0; i < N; i++) {
        r[i] = (struct race){c, NULL};
        ck_assert_int_eq(pthread_create(&t[i], NULL, get_index, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    ck_assert_ptr_nonnull(r[0].got);
    for (int i = 1; i < N; i++)
        ck_assert_ptr_eq(r[i].got, r[0].got);
    ck_assert_ptr_eq(index_of(c), r[0].got);
    dsc_cache_close(c);
}
END_TEST

/* A cache copy whose liba-1.0 mach header magic is broken (file offset
 * 0x5000): the index leaves liba out and keeps every other image. */
START_TEST(damaged_image_is_left_out)
{
    const char *path = testdata_path(testdata_caches[1]);
    if (!path)
        return;
    char copy[] = "/tmp/dsc_symbols_XXXXXX";
    int fd = mkstemp(copy);
    ck_assert_int_ge(fd, 0);
    FILE *in = fopen(path, "rb");
    ck_assert_ptr_nonnull(in);
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    ck_assert_uint_gt(n, 0x5004);
    memcpy(buf + 0x5000, "xxxx", 4);
    ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
    close(fd);
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(copy, &c, &err) == 0, "%s", err.msg);
    const struct dsc_symbols *s = index_of(c);
    size_t liba = 0, others = 0;
    for (size_t i = 0; i < dsc_symbols_count(s); i++) {
        liba += dsc_symbols_at(s, i)->image == 1;
        others += dsc_symbols_at(s, i)->image != 1;
    }
    ck_assert_uint_eq(liba, 0);
    ck_assert_uint_ge(others, 400);
    ck_assert_int_eq(dsc_symbols_image_of(s, dsc_cache_get_image(c, 1)->address), -1);
    ck_assert_ptr_nonnull(dsc_symbols_find(s, LIBOBJC, "_objc_release"));
    dsc_cache_close(c);
    unlink(copy);
}
END_TEST

Suite *symbols_suite(void)
{
    Suite *s = suite_create("symbols");
    TCase *tc = tcase_create("real");
    tcase_add_loop_test(tc, every_export_resolves_to_itself, 0, 3);
    tcase_add_loop_test(tc, umbrella_reexports_and_ordinals, 0, 2);
    tcase_add_test(tc, index_is_built_once_under_concurrent_use);
    tcase_add_test(tc, damaged_image_is_left_out);
    suite_add_tcase(s, tc);
    return s;
}

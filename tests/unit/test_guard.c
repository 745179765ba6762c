/* SPDX-License-Identifier: BSD-2-Clause */
/* test_guard.c — a SIGBUS from a truncated mapping becomes a false return
 * from guard_run, and the thread carries on. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/fs/guard.h"
#include "index/symbols.h"
#include "suites.h"
#include "testdata.h"

struct touch {
    const volatile unsigned char *p;
    size_t len;
    unsigned sum;
};

static void touch_all(void *arg)
{
    struct touch *t = arg;
    for (size_t i = 0; i < t->len; i += 4096)
        t->sum += t->p[i];
}

START_TEST(sigbus_on_truncated_mapping_is_caught)
{
    char path[] = "/tmp/dscfs-guard-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    const size_t len = 4 * 4096;
    ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(guard_install(), 0);

    struct touch t = {map, len, 0};
    ck_assert(guard_run(touch_all, &t));
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert(!guard_run(touch_all, &t));
    ck_assert(!guard_run(touch_all, &t)); /* the handler is still armed */
    ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
    ck_assert(guard_run(touch_all, &t));
    munmap(map, len);
    close(fd);
}
END_TEST

struct lookup_job {
    const dsc_cache *c;
    uint32_t ordinal;
};

/* What pass_binds does: open a view and resolve a name through the image's
 * dependencies, parsing their export sets. */
static void run_lookup(void *arg)
{
    struct lookup_job *j = arg;
    struct dsc_symbols *s;
    dsc_error err;
    if (dsc_symbols_open(j->c, 5 /* libhello */, &s, &err))
        return;
    j->ordinal = dsc_symbols_ordinal(s, 5, "_objc_release");
    dsc_symbols_close(s);
}

/* The real objc cache cut at 0x81000: its export tries start at 0x80000,
 * libhello's lies below the cut, libobjc's runs past it. Resolving a name
 * of libhello's through libobjc faults inside the parse of libobjc's set,
 * with libhello's set pinned by the view. After the guard returns nothing
 * may stay pinned or locked: every set can be evicted, and made again. */
START_TEST(sigbus_in_an_export_parse_leaves_nothing_pinned)
{
    char copy[] = "/tmp/dscfs-guard-XXXXXX";
    int fd = testdata_copy(testdata_caches[0], copy);
    if (fd < 0)
        return;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(copy, &c, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(guard_install(), 0);
    struct lookup_job j = {c, 0};
    ck_assert(guard_run(run_lookup, &j));
    ck_assert_uint_eq(j.ordinal, 1);
    dsc_exports_set_budget(c, 0); /* nothing parsed survives the cut */
    ck_assert_uint_eq(dsc_exports_memory(c), 0);

    ck_assert_int_eq(ftruncate(fd, 0x81000), 0);
    j.ordinal = 0;
    ck_assert(!guard_run(run_lookup, &j));
    ck_assert_uint_eq(dsc_exports_memory(c), 0);
    const struct dsc_exports *e = dsc_exports_get(c, 5); /* the lock is free */
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->pins, 1);
    dsc_exports_put(c, e);
    dsc_cache_close(c);
    close(fd);
    unlink(copy);
}
END_TEST

Suite *guard_suite(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("guard");
    tcase_add_test(tc, sigbus_on_truncated_mapping_is_caught);
    tcase_add_test(tc, sigbus_in_an_export_parse_leaves_nothing_pinned);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* test_guard.c — a SIGBUS from a truncated mapping becomes a false return
 * from guard_run after the guarded function ran to its end on zeros, and
 * the thread carries on. */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/fs/guard.h"
#include "dsc/dsc.h"
#include "index/symbols.h"
#include "suites.h"
#include "testdata.h"

struct touch {
    const volatile unsigned char *p;
    size_t len;
    unsigned sum;
    bool finished;
};

/* Reads every page while holding 264 KB of its own, freed at the end. */
static void touch_all(void *arg)
{
    struct touch *t = arg;
    t->finished = false;
    void *own = malloc(264 << 10);
    ck_assert_ptr_nonnull(own);
    for (size_t i = 0; i < t->len; i += 4096)
        t->sum += t->p[i];
    free(own);
    t->finished = true;
}

static void *map_file(int fd, size_t len)
{
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    return map;
}

/* Issue 14 item 6: the guarded function runs to its end (so it frees what
 * it allocated) on zeros where the file was cut, and guard_run says so. */
START_TEST(sigbus_on_truncated_mapping_is_caught)
{
    char path[] = "/tmp/dscfs-guard-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    const size_t len = 4 * 4096;
    ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
    ck_assert_int_eq(pwrite(fd, "\1", 1, 3 * 4096), 1);
    void *map = map_file(fd, len);
    ck_assert_int_eq(guard_install(), 0);

    struct touch t = {map, len, 0, false};
    ck_assert(guard_run(touch_all, &t) && t.finished && t.sum == 1);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    t.sum = 0;
    ck_assert(!guard_run(touch_all, &t));
    ck_assert_msg(t.finished, "cut short: what it allocated is lost");
    ck_assert_uint_eq(t.sum, 0); /* the cut pages read as zeros */
    ck_assert(guard_run(touch_all, &t) && t.finished); /* and stay mapped */
    munmap(map, len);
    void *again = map_file(fd, len); /* a fresh mapping faults again */
    struct touch u = {again, len, 0, false};
    ck_assert(!guard_run(touch_all, &u) && u.finished);
    munmap(again, len);
    close(fd);
}
END_TEST

struct extract_job {
    const dsc_cache *cache;
    uint32_t image;
    int rc;
    dsc_output out;
};

static void run_extract(void *arg)
{
    struct extract_job *j = arg;
    dsc_error err;
    j->rc = dsc_extract(j->cache, j->image, &j->out, &err);
}

/* Bytes malloc has handed out: arena chunks and mmapped ones. */
static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* An extraction of libobjc from a cache truncated under it keeps nothing
 * allocated once its (garbage) result is freed: heap in use afterwards is
 * what it was before (it used to leak about 264 KB per extraction). */
START_TEST(interrupted_extraction_frees_what_it_allocated)
{
    const char *src = testdata_path(testdata_caches[0]);
    if (!src)
        return;
    char path[] = "/tmp/dscfs-guard-cache-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat '%s' > '%s'", src, path);
    ck_assert_int_eq(system(cmd), 0);
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(guard_install(), 0);
    struct extract_job j = {c, (uint32_t)dsc_cache_find_image(c, "/usr/lib/libobjc.A.dylib"), 0, {0}};
    ck_assert(guard_run(run_extract, &j) && j.rc == 0); /* builds what the cache keeps */
    dsc_output_free(&j.out);
    dsc_cache_release_pages(c);
    /* Cut at LINKEDIT: the segments are copied by then, the symbols not. */
    const dsc_mapping_info *le = dsc_cache_get_mapping(c, dsc_cache_get_info(c)->mapping_count - 1);
    ck_assert_str_eq(le->name, "__LINKEDIT");
    ck_assert_int_eq(ftruncate(fd, (off_t)le->file_offset), 0);
    size_t before = heap_in_use();
    ck_assert(!guard_run(run_extract, &j));
    if (j.rc == 0)
        dsc_output_free(&j.out);
    size_t after = heap_in_use();
    ck_assert_msg(after <= before + 4096, "%zu bytes still allocated", after - before);
    dsc_cache_close(c);
    close(fd);
    unlink(path);
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
    tcase_add_test(tc, interrupted_extraction_frees_what_it_allocated);
    tcase_add_test(tc, sigbus_in_an_export_parse_leaves_nothing_pinned);
    suite_add_tcase(s, tc);
    return s;
}

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
    unsigned long replaced = guard_replaced();
    ck_assert(!guard_run(touch_all, &t));
    ck_assert_msg(t.finished, "cut short: what it allocated is lost");
    ck_assert_uint_eq(t.sum, 0); /* the cut pages read as zeros */
    ck_assert_uint_eq(guard_replaced(), replaced + 3); /* one per page cut */
    ck_assert(guard_run(touch_all, &t) && t.finished); /* and stay mapped */
    ck_assert_uint_eq(guard_replaced(), replaced + 3);
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
    j->out = (dsc_output){.struct_size = sizeof j->out};
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

Suite *guard_suite(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("guard");
    tcase_add_test(tc, sigbus_on_truncated_mapping_is_caught);
    tcase_add_test(tc, interrupted_extraction_frees_what_it_allocated);
    suite_add_tcase(s, tc);
    return s;
}

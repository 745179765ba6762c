/* SPDX-License-Identifier: BSD-2-Clause */
/* test_guard.c — a SIGBUS from a truncated mapping becomes a false return
 * from guard_run, and the thread carries on. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/fs/guard.h"
#include "suites.h"

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

Suite *guard_suite(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("guard");
    tcase_add_test(tc, sigbus_on_truncated_mapping_is_caught);
    suite_add_tcase(s, tc);
    return s;
}

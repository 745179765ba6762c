/* SPDX-License-Identifier: BSD-2-Clause */
/* test_outdir.c — src/cli/outdir.c: untrusted install paths never write
 * outside the output directory, not through "..", odd components, nor a
 * symlink planted in the tree; links are made only at safe paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/cli/outdir.h"
#include "dsc/dsc.h"
#include "suites.h"

START_TEST(path_validation)
{
    const char *good[][2] = {{"/usr/lib/libobjc.A.dylib", "/usr/lib/libobjc.A.dylib"}, {"/a", "/a"},
                             {"/a/..b/.c", "/a/..b/.c"}, {"//usr//x", "/usr/x"}, {"/usr/lib/", "/usr/lib"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *n = outdir_normalize(good[i][0]);
        ck_assert_msg(n && strcmp(n, good[i][1]) == 0, "'%s' -> '%s'", good[i][0], n ? n : "(refused)");
        free(n);
    }
    const char *bad[] = {"", "/", "//", "usr/lib/x", "/usr/../x", "/..", "/./x", "/a/.", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!outdir_normalize(bad[i]) && errno == EINVAL, "accepted '%s'", bad[i]);
    /* The mount's limit: a 255-byte component is written, 256 is not. */
    char name[DSC_NAME_MAX + 3];
    memset(name, 'a', sizeof name - 1);
    name[0] = '/';
    name[sizeof name - 1] = 0;
    ck_assert(!outdir_normalize(name));
    name[sizeof name - 2] = 0;
    char *n = outdir_normalize(name);
    ck_assert_ptr_nonnull(n);
    free(n);
}
END_TEST

START_TEST(writes_stay_inside_and_refuse_planted_symlinks)
{
    char root_path[] = "/tmp/dsc_outdir_XXXXXX", outside[] = "/tmp/dsc_outside_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root_path));
    ck_assert_ptr_nonnull(mkdtemp(outside));
    int root = open(root_path, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(root, 0);
    ck_assert_int_eq(outdir_write(root, "/usr/lib/x.dylib", "abc", 3), 0);
    struct stat st;
    ck_assert_int_eq(fstatat(root, "usr/lib/x.dylib", &st, 0), 0);
    ck_assert_int_eq(st.st_size, 3);
    errno = 0;
    ck_assert_int_eq(outdir_write(root, "/usr/../../escape", "x", 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* A symlink inside the tree pointing outside must not be followed. */
    ck_assert_int_eq(symlinkat(outside, root, "evil"), 0);
    ck_assert_int_eq(outdir_write(root, "/evil/x.dylib", "x", 1), -1);
    ck_assert_int_eq(symlinkat("/etc/hostname-not-ours", root, "usr/lib/leaf"), 0);
    ck_assert_int_eq(outdir_write(root, "/usr/lib/leaf", "x", 1), -1);
    char probe[64];
    snprintf(probe, sizeof probe, "%s/x.dylib", outside);
    ck_assert_int_ne(access(probe, F_OK), 0);
    /* Links: replacing an old link but not a file; only at a safe path. */
    ck_assert_int_eq(outdir_link(root, "/usr/lib/alias.dylib", "x.dylib"), 0);
    ck_assert_int_eq(outdir_link(root, "/usr/lib/alias.dylib", "x.dylib"), 0);
    char link[64] = {0};
    ck_assert_int_gt(readlinkat(root, "usr/lib/alias.dylib", link, sizeof link - 1), 0);
    ck_assert_str_eq(link, "x.dylib");
    ck_assert_int_eq(outdir_link(root, "/usr/lib/x.dylib", "alias.dylib"), -1);
    ck_assert_int_eq(outdir_link(root, "/../etc/a2", "x"), -1);
    ck_assert_int_eq(outdir_link(root, "/evil/a3", "x"), -1); /* through the planted link */
    close(root);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root_path, outside);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *outdir_suite(void)
{
    Suite *s = suite_create("outdir");
    TCase *tc = tcase_create("paths");
    tcase_add_test(tc, path_validation);
    tcase_add_test(tc, writes_stay_inside_and_refuse_planted_symlinks);
    suite_add_tcase(s, tc);
    return s;
}

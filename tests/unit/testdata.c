/* SPDX-License-Identifier: BSD-2-Clause */
/* testdata.c — see testdata.h. */
#include "testdata.h"

#include <check.h>

#include "dsc/dsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *const testdata_caches[3] = {
    "caches/dyld_shared_cache_arm64-macOS-objc",
    "caches/dyld_shared_cache_arm64e-macOS-objc",
    "caches/dyld_shared_cache_arm64-macOS-1042.1",
};

const char *testdata_path(const char *rel)
{
    static _Thread_local char buf[4096];
    const char *dir = getenv("DSC_TESTDATA");
    if (!dir)
        dir = "../shared/testdata";
    snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "SKIP: %s is absent (shared test data not available)\n", buf);
        return NULL;
    }
    return buf;
}

dsc_cache *testdata_open(const char *rel)
{
    const char *path = testdata_path(rel);
    if (!path)
        return NULL;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    return c;
}

int testdata_copy(const char *rel, char *tmpl)
{
    const char *path = testdata_path(rel);
    if (!path)
        return -1;
    int fd = mkstemp(tmpl);
    ck_assert_int_ge(fd, 0);
    FILE *in = fopen(path, "rb");
    ck_assert_ptr_nonnull(in);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
    fclose(in);
    return fd;
}

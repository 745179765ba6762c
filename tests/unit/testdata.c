/* SPDX-License-Identifier: BSD-2-Clause */
/* testdata.c — see testdata.h. */
#include "testdata.h"

#include <check.h>

#include "dsc/dsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

unsigned builder_caches_each(void (*fn)(const char *name, const char *path, void *ctx), void *ctx)
{
    const char *list = getenv("DSC_BUILDER_LIST");
    if (!list)
        return 0;
    FILE *f = fopen(list, "r");
    ck_assert_msg(f != NULL, "%s: cannot open", list);
    char line[4096];
    unsigned n = 0;
    while (fgets(line, sizeof line, f)) {
        char *name = strtok(line, "\t"), *path = strtok(NULL, "\t");
        ck_assert_msg(name && path, "%s: malformed line", list);
        fn(name, path, ctx);
        n++;
    }
    fclose(f);
    return n;
}

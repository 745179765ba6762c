/* SPDX-License-Identifier: BSD-2-Clause */
/* testdata.c — see testdata.h. */
#include "testdata.h"

#include <check.h>

#include "dsc/dsc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const testdata_caches[3] = {
    "caches/dyld_shared_cache_arm64-macOS-objc",
    "caches/dyld_shared_cache_arm64e-macOS-objc",
    "caches/dyld_shared_cache_arm64-macOS-1042.1",
};

void *sized_newer(size_t size)
{
    uint8_t *s = malloc(size + SIZED_NEWER + 8);
    ck_assert_ptr_nonnull(s);
    memset(s, 0xA5, size + SIZED_NEWER + 8);
    uint32_t field = (uint32_t)(size + SIZED_NEWER);
    memcpy(s, &field, sizeof field);
    return s;
}

bool sized_newer_ok(const void *s, size_t size)
{
    const uint8_t *b = s;
    uint32_t field;
    memcpy(&field, b, sizeof field);
    bool ok = field == size + SIZED_NEWER;
    for (size_t i = size; i < size + SIZED_NEWER + 8; i++)
        ok = ok && b[i] == (i < size + SIZED_NEWER ? 0 : 0xA5);
    return ok;
}

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

static void extract_child(int fd, const char *path, const char *image_path, const char *warning)
{
    struct rusage before, after;
    dsc_cache *c;
    dsc_error err = {0};
    dsc_output o = {.struct_size = sizeof o};
    getrusage(RUSAGE_SELF, &before);
    int rc = dsc_cache_open(path, &c, &err);
    if (rc == 0) {
        rc = dsc_extract(c, (uint32_t)dsc_cache_find_image(c, image_path), &o, &err);
        dsc_cache_close(c);
    }
    getrusage(RUSAGE_SELF, &after);
    const char *w = rc == 0 && o.warnings ? strstr(o.warnings, warning) : NULL;
    const char *say = rc ? err.msg : w ? w : "-";
    dprintf(fd, "%d %ld %.*s", rc, after.ru_maxrss - before.ru_maxrss, (int)strcspn(say, "\n"), say);
    _exit(0);
}

void testdata_extract_in_child(const char *path, const char *image_path, const char *warning,
                               struct testdata_child *out)
{
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        extract_child(pipefd[1], path, image_path, warning);
    close(pipefd[1]);
    char text[sizeof out->msg + 64] = "";
    ssize_t got = read(pipefd[0], text, sizeof text - 1);
    close(pipefd[0]);
    int status, used = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(got > 0 && WIFEXITED(status));
    text[got] = 0;
    ck_assert_int_eq(sscanf(text, "%d %ld %n", &out->rc, &out->grew_kb, &used), 2);
    snprintf(out->msg, sizeof out->msg, "%s", text + used);
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

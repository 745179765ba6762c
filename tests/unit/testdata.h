/* SPDX-License-Identifier: BSD-2-Clause */
/* testdata.h — locating the shared real caches for unit tests, and the
 * other fixtures more than one suite uses. */
#ifndef DSC_TESTDATA_H
#define DSC_TESTDATA_H

#include <stdbool.h>
#include <stddef.h>

/* Path of ../shared/testdata/<rel> (or $DSC_TESTDATA/<rel>) in a static
 * buffer, or NULL — after printing why the caller skips — when absent. */
const char *testdata_path(const char *rel);

/* Open the cache at testdata_path(rel); NULL (skip) when it is absent, a
 * failed Check assertion when it does not open. */
struct dsc_cache *testdata_open(const char *rel);

/* A writable copy of testdata_path(rel) in a new file named by `tmpl`
 * (a mkstemp template, filled in): its descriptor, or -1 (skip) when the
 * cache is absent. The caller closes and unlinks it. */
int testdata_copy(const char *rel, char *tmpl);

/* What testdata_extract_in_child saw. */
struct testdata_child {
    int rc;       /* dsc_cache_open's, then dsc_extract's */
    long grew_kb; /* growth of the child's peak resident size */
    char msg[1088]; /* the error when rc != 0, else the first warning line
                     * holding the asked text, else "-" */
};

/* Open the cache at `path` and extract the image at `image_path` in a child
 * process, so that its peak resident size can be judged alone. */
void testdata_extract_in_child(const char *path, const char *image_path, const char *warning,
                               struct testdata_child *out);

/* Calls fn(name, main cache path, ctx) for each line of the builder
 * caches' list in $DSC_BUILDER_LIST (make-caches.sh's caches.list, set by
 * the integration tests) and returns how many; 0 without the variable. */
unsigned builder_caches_each(void (*fn)(const char *name, const char *path, void *ctx), void *ctx);

/* dsc.h's caller-sized structs (dsc_output, dsc_verify_report) as a
 * caller built against a newer header has them: `size` bytes of this
 * version, SIZED_NEWER more that the library does not know, 8 guard bytes;
 * all 0xA5 but the size field (a uint32_t, first), which says
 * size + SIZED_NEWER. Released with free(). */
#define SIZED_NEWER 8
void *sized_newer(size_t size);
/* After the library filled or freed it: the size field as it was, the
 * newer bytes zeroed, the guard untouched. */
bool sized_newer_ok(const void *s, size_t size);

/* The three real caches, relative to the testdata folder. */
extern const char *const testdata_caches[3];

#endif

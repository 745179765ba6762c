/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_cache.c — libFuzzer target: one input is one single-file cache,
 * opened from a memfd and driven through every reader (exercise.c).
 * A refusal must be one line naming the file; crashes, leaks, UB and
 * hangs are findings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exercise.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        if ((fd = memfd_create("dsc-fuzz", MFD_CLOEXEC)) < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    dsc_cache *c;
    dsc_error err;
    if (dsc_cache_open(path, &c, &err)) {
        fuzz_check_refusal(&err, path);
        return 0;
    }
    exercise_cache(c);
    dsc_cache_close(c);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
    return fuzz_mutate_part(data, size, max, seed, 0, size);
}

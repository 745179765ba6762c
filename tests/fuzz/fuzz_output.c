/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_output.c — libFuzzer target for the output reader: arbitrary bytes
 * verified (dsc_verify_output) as if they were the extraction of an image
 * of a fixed, good cache ($DSC_FUZZ_CACHE). The first input byte picks the
 * image (mod the image count); the rest is the Mach-O file. Seeds are the
 * cache's real extractions (tests/fuzz/run.sh).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"

static dsc_cache *cache;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("DSC_FUZZ_CACHE");
    dsc_error err;
    if (!path || dsc_cache_open(path, &cache, &err)) {
        fprintf(stderr, "fuzz_output: set DSC_FUZZ_CACHE to a cache that opens (%s)\n", path ? err.msg : "unset");
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t n = dsc_cache_get_info(cache)->image_count;
    if (size < 1 || n == 0)
        return 0;
    dsc_verify_report rep = {.size = sizeof rep};
    dsc_error err;
    if (dsc_verify_output(cache, data[0] % n, data + 1, size - 1, &rep, &err))
        fuzz_check_refusal(&err, dsc_cache_get_file(cache, 0)->path);
    return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_common.c — see fuzz_common.h.
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "structure.h"

void fuzz_check_refusal(const dsc_error *err, const char *path)
{
    if (!err->msg[0] || strchr(err->msg, '\n') || !strstr(err->msg, path)) {
        fprintf(stderr, "refusal not one line naming %s: '%s'\n", path, err->msg);
        abort();
    }
}

static uint64_t xorshift(void *state)
{
    uint64_t *s = state;
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

size_t fuzz_mutate_part(uint8_t *data, size_t size, size_t max, unsigned seed, size_t from, size_t len)
{
    uint64_t state = seed | 1ull << 32;
    if (from > size || len > size - from)
        return LLVMFuzzerMutate(data, size, max);
    if (xorshift(&state) & 1) {
        if (from == 0 && len == size)
            return LLVMFuzzerMutate(data, size, max);
        /* A part keeps its length: the packing around it stays valid. */
        LLVMFuzzerMutate(data + from, len, len);
        return size;
    }
    size_t n = fuzz_damage(data + from, len, xorshift, &state);
    if (from == 0 && len == size)
        return n;
    return size;
}

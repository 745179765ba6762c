/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * grow.c — see grow.h.
 */
#include "base/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool dsc_grow(void *arrp, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return true;
    size_t ncap = first;
    if (*cap && __builtin_mul_overflow(*cap, 2, &ncap))
        return false;
    if (size && ncap > SIZE_MAX / size)
        return false;
    void *old;
    memcpy(&old, arrp, sizeof old); /* arrp is a T **: any object pointer */
    void *grown = realloc(old, ncap * size);
    if (!grown)
        return false;
    memcpy(arrp, &grown, sizeof grown);
    *cap = ncap;
    return true;
}

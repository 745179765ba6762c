/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sized.c — see sized.h.
 */
#include "base/sized.h"

#include <stdint.h>
#include <string.h>

/* The size field: a uint32_t first in every such struct. */
static uint32_t size_of(const void *s)
{
    uint32_t size;
    memcpy(&size, s, sizeof size);
    return size;
}

int dsc_sized_check(const void *s, size_t first_size, const char *type, const char *field, const char *file,
                    dsc_error *err)
{
    uint32_t size = s ? size_of(s) : 0;
    if (size >= first_size)
        return 0;
    return dsc_fail_code(err, DSC_ERR_ARGUMENT, file, "%s.%s is %u, not sizeof (%s)", type, field, size, type);
}

void dsc_sized_out(void *s, const void *full, size_t full_size, size_t first_size)
{
    if (!s)
        return;
    uint32_t size = size_of(s);
    size_t room = size < first_size ? first_size : size;
    size_t n = room < full_size ? room : full_size;
    memcpy(s, full, n);
    memset((uint8_t *)s + n, 0, room - n);
    memcpy(s, &size, sizeof size);
}

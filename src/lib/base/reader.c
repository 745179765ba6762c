/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reader.c — bounds-checked little-endian reads over a dsc_span.
 * See reader.h for the contract.
 */
#include "base/reader.h"

#include <stdio.h>
#include <string.h>

bool span_sub(dsc_span s, uint64_t off, uint64_t len, dsc_span *out)
{
    if (!dsc_range_ok(s.size, off, len))
        return false;
    out->data = s.data + off;
    out->size = len;
    return true;
}

bool span_ptr(dsc_span s, uint64_t off, unsigned ptr_size, uint64_t *v)
{
    if (ptr_size == 8)
        return span_u64(s, off, v);
    uint32_t w;
    if (ptr_size != 4 || !span_u32(s, off, &w))
        return false;
    *v = w;
    return true;
}

bool span_copy(dsc_span s, uint64_t off, void *dst, uint64_t len)
{
    if (!dsc_range_ok(s.size, off, len))
        return false;
    if (len)
        memcpy(dst, s.data + off, len);
    return true;
}

bool span_uleb_long(dsc_span s, uint64_t *off, uint64_t *v)
{
    uint64_t result = 0;
    unsigned shift = 0;
    uint64_t o = *off;
    for (;;) {
        uint8_t b;
        if (!span_u8(s, o++, &b))
            return false;
        uint64_t bits = b & 0x7f;
        if (shift >= 64 || (shift == 63 && bits > 1))
            return false;
        result |= bits << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    *off = o;
    *v = result;
    return true;
}

bool span_sleb(dsc_span s, uint64_t *off, int64_t *v)
{
    uint64_t result = 0;
    unsigned shift = 0;
    uint64_t o = *off;
    uint8_t b;
    do {
        if (!span_u8(s, o++, &b) || shift >= 64)
            return false;
        result |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        result |= ~(uint64_t)0 << shift;
    *off = o;
    *v = (int64_t)result;
    return true;
}

int dsc_vfail(dsc_error *err, enum dsc_errcode code, const char *file, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->code = code;
    int n = snprintf(err->msg, sizeof err->msg, "%s: ", file ? file : "dscfs");
    if (n < 0 || (size_t)n >= sizeof err->msg)
        n = 0;
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    /* One line, always: input-derived text must not break it. */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return -1;
}

int dsc_fail(dsc_error *err, const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dsc_vfail(err, DSC_ERR_INPUT, file, fmt, ap);
    va_end(ap);
    return -1;
}

int dsc_fail_oom(dsc_error *err, const char *file) { return dsc_fail_code(err, DSC_ERR_NOMEM, file, "out of memory"); }

int dsc_fail_code(dsc_error *err, enum dsc_errcode code, const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dsc_vfail(err, code, file, fmt, ap);
    va_end(ap);
    return -1;
}

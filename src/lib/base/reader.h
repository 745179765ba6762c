/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reader.h — the one bounds-checked reader every cache byte goes through.
 *
 * A dsc_span is a byte range whose bounds we trust (a mapped file, or a
 * checked sub-range of one). Every read names an offset and a length inside
 * a span and fails, returning false, when it would leave it — including when
 * offset + length overflows. Reads are little-endian and alignment-free.
 *
 * The functions here report failure only by their return value; callers turn
 * that into a message with dsc_fail(), which knows which file they read.
 * The fixed-size reads and one-byte LEB128s are inline: the trie, slide and
 * symbol walks make millions of them per cache.
 */
#ifndef DSC_READER_H
#define DSC_READER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dsc/dsc.h"

typedef struct dsc_span {
    const uint8_t *data;
    uint64_t size;
} dsc_span;

/* True when [off, off+len) lies inside a span of `size` bytes. */
static inline bool dsc_range_ok(uint64_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* Unchecked little-endian loads for bytes already proven to be in range
 * (e.g. inside a span returned by span_sub). */
static inline uint16_t dsc_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t dsc_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t dsc_le64(const uint8_t *p)
{
    return (uint64_t)dsc_le32(p) | (uint64_t)dsc_le32(p + 4) << 32;
}

bool span_sub(dsc_span s, uint64_t off, uint64_t len, dsc_span *out);

static inline bool span_u8(dsc_span s, uint64_t off, uint8_t *v)
{
    if (!dsc_range_ok(s.size, off, 1))
        return false;
    *v = s.data[off];
    return true;
}

static inline bool span_u16(dsc_span s, uint64_t off, uint16_t *v)
{
    if (!dsc_range_ok(s.size, off, 2))
        return false;
    *v = dsc_le16(s.data + off);
    return true;
}

static inline bool span_u32(dsc_span s, uint64_t off, uint32_t *v)
{
    if (!dsc_range_ok(s.size, off, 4))
        return false;
    *v = dsc_le32(s.data + off);
    return true;
}

static inline bool span_u64(dsc_span s, uint64_t off, uint64_t *v)
{
    if (!dsc_range_ok(s.size, off, 8))
        return false;
    *v = dsc_le64(s.data + off);
    return true;
}

/* Pointer-sized read: 4 or 8 bytes, zero-extended. */
bool span_ptr(dsc_span s, uint64_t off, unsigned ptr_size, uint64_t *v);
/* Copy `len` bytes out; on failure `dst` is left untouched. */
bool span_copy(dsc_span s, uint64_t off, void *dst, uint64_t len);
/* A NUL-terminated string starting at `off` whose NUL is inside the span
 * and within `max_len` bytes. `len` (optional) gets strlen. Inline: the
 * symbol table rebuild asks it for every name of every image. */
static inline bool span_cstr(dsc_span s, uint64_t off, uint64_t max_len, const char **str, size_t *len)
{
    if (off >= s.size)
        return false;
    uint64_t avail = s.size - off;
    if (avail > max_len + 1)
        avail = max_len + 1;
    const uint8_t *p = s.data + off;
    /* A span that ends in a NUL (a string table does) bounds strlen, which
     * is cheaper than memchr over the rest of a large table. */
    const uint8_t *nul = avail == s.size - off && s.data[s.size - 1] == 0 ? p + strlen((const char *)p)
                                                                           : memchr(p, 0, avail);
    if (!nul)
        return false;
    *str = (const char *)p;
    if (len)
        *len = (size_t)(nul - p);
    return true;
}
/* LEB128 at *off; advances *off. Fails on overlong (> 64 bits) values.
 * Inline for the one- to three-byte values that most are (trie terminals,
 * flags, trie node offsets, export offsets in an image under 2 MB). */
bool span_uleb_long(dsc_span s, uint64_t *off, uint64_t *v);
static inline bool span_uleb(dsc_span s, uint64_t *off, uint64_t *v)
{
    if (*off >= s.size)
        return false;
    const uint8_t *p = s.data + *off;
    uint64_t left = s.size - *off;
    if (!(p[0] & 0x80)) {
        *v = p[0];
        *off += 1;
        return true;
    }
    if (left > 1 && !(p[1] & 0x80)) {
        *v = (p[0] & 0x7Fu) | (uint64_t)p[1] << 7;
        *off += 2;
        return true;
    }
    if (left > 2 && !(p[2] & 0x80)) {
        *v = (p[0] & 0x7Fu) | (uint64_t)(p[1] & 0x7Fu) << 7 | (uint64_t)p[2] << 14;
        *off += 3;
        return true;
    }
    return span_uleb_long(s, off, v);
}

bool span_sleb(dsc_span s, uint64_t *off, int64_t *v);

static inline void dsc_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void dsc_put64(uint8_t *p, uint64_t v)
{
    dsc_put32(p, (uint32_t)v);
    dsc_put32(p + 4, (uint32_t)(v >> 32));
}

/* Checked arithmetic for sizes read from the input. */
static inline bool dsc_add_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_add_overflow(a, b, r); }
static inline bool dsc_mul_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }
/* `v` rounded up to a multiple of `a`, a power of two. */
static inline uint64_t dsc_align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
/* The low `bits` bits of v as a two's-complement number (1 <= bits <= 64). */
static inline int64_t dsc_sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= bits < 64 ? (1ull << bits) - 1 : ~0ull;
    return (int64_t)((v ^ m) - m);
}

/* The library's one error idiom: a failing function fills `err` (if
 * non-NULL) with a code and "<file>: <message>" on one line and returns -1,
 * so callers write `return dsc_fail(err, path, "...")`. dsc_fail is for
 * malformed or unsupported input (DSC_ERR_INPUT), the common case; the
 * other codes name theirs. Wrappers (dsc_image_fail, plan_fail) add context
 * and keep the code. */
int dsc_fail(dsc_error *err, const char *file, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int dsc_fail_code(dsc_error *err, enum dsc_errcode code, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int dsc_vfail(dsc_error *err, enum dsc_errcode code, const char *file, const char *fmt, va_list ap);
/* DSC_ERR_NOMEM, "<file>: out of memory". */
int dsc_fail_oom(dsc_error *err, const char *file);

#endif

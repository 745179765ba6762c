/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * util.c — dscbuild helpers: fatal errors, allocation, the growable byte
 * buffer, the architecture table and content-derived UUIDs.
 */
#include "bld.h"
#include "strpool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program_invocation_short_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        die("out of memory");
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die("out of memory");
    return d;
}

void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
    if (!n)
        return;     /* p may be NULL (an empty buffer) */
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_zero(struct buf *b, size_t n)
{
    if (!n)
        return;
    buf_reserve(b, n);
    memset(b->data + b->len, 0, n);
    b->len += n;
}

void buf_align(struct buf *b, size_t a) { buf_zero(b, dsc_align_up(b->len, a) - b->len); }
void buf_u8(struct buf *b, uint8_t v) { buf_put(b, &v, 1); }

void buf_u16(struct buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    buf_put(b, p, 2);
}

void buf_u32(struct buf *b, uint32_t v)
{
    uint8_t p[4];
    dsc_put32(p, v);
    buf_put(b, p, 4);
}

void buf_u64(struct buf *b, uint64_t v)
{
    uint8_t p[8];
    dsc_put64(p, v);
    buf_put(b, p, 8);
}

void buf_uleb(struct buf *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        buf_u8(b, byte | (v ? 0x80 : 0));
    } while (v);
}

void buf_str(struct buf *b, const char *s) { buf_put(b, s, strlen(s) + 1); }

void buf_free(struct buf *b)
{
    free(b->data);
    *b = (struct buf){0};
}

void buf_read_file(struct buf *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: cannot open", path);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(b, chunk, n);
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
}

/* ---- architectures ---- */

static const struct arch_info arches[] = {
    [ARCH_ARM64] = {"arm64", "dyld_v1   arm64", 0x0100000c, 0, 8, 0x180000000ULL},
    [ARCH_ARM64E] = {"arm64e", "dyld_v1  arm64e", 0x0100000c, 2, 8, 0x180000000ULL},
    [ARCH_ARM64_32] = {"arm64_32", "dyld_v1arm64_32", 0x0200000c, 1, 4, 0x1a000000ULL},
    [ARCH_X86_64] = {"x86_64", "dyld_v1  x86_64", 0x01000007, 3, 8, 0x7ff800000000ULL},
};

const struct arch_info *arch_get(enum bld_arch a) { return &arches[a]; }

bool arch_parse(const char *name, enum bld_arch *a)
{
    for (unsigned i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (strcmp(name, arches[i].name) == 0) {
            *a = (enum bld_arch)i;
            return true;
        }
    return false;
}

/* A stable 128-bit digest (two FNV-1a lanes) shaped as a version-4 UUID:
 * the same inputs always give the same cache, and different files differ. */
void hasher_init(struct hasher *h)
{
    h->h1 = 0xcbf29ce484222325ULL;
    h->h2 = 0x84222325cbf29ce4ULL;
    h->n = 0;
}

void hasher_update(struct hasher *h, const uint8_t *p, size_t n)
{
    uint64_t h1 = h->h1, h2 = h->h2;
    /* Eight bytes per step keeps hashing a 1 GB cache near a second. */
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = dsc_le64(p + i);
        h1 = (h1 ^ w) * 0x100000001b3ULL;
        h2 = (h2 ^ (w >> 7) ^ i) * 0x100000001b3ULL;
    }
    for (; i < n; i++) {
        h1 = (h1 ^ p[i]) * 0x100000001b3ULL;
        h2 = (h2 ^ p[i]) * 0x100000001b3ULL;
    }
    h->h1 = h1;
    h->h2 = h2;
    h->n += n;
}

void hasher_final(struct hasher *h, uint8_t out[16])
{
    dsc_put64(out, h->h1 ^ (h->h2 >> 29));
    dsc_put64(out + 8, h->h2 ^ h->n);
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

void cache_free(struct cache *c)
{
    for (size_t i = 0; i < c->nimages; i++)
        image_free(&c->images[i]);
    free(c->images);
    free(c->by_name);
    for (unsigned i = 0; i < c->nregions; i++) {
        free(c->regions[i].mem);
        free(c->regions[i].dev_mem);
        buf_free(&c->regions[i].slide);
    }
    for (unsigned i = 0; i < c->nfiles; i++)
        buf_free(&c->files[i].tail);
    buf_free(&c->local_syms);
    buf_free(&c->dylibs_trie);
    if (c->selectors) {
        strpool_free(c->selectors);
        free(c->selectors);
    }
    if (c->types) {
        strpool_free(c->types);
        free(c->types);
    }
    objc_impcaches_free(c);
    free(c->opt.alias_specs);
}

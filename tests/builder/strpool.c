/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strpool.c — a deduplicating string pool (the merged LINKEDIT's one
 * symbol-string table, and the moved local symbols' strings; the ObjC
 * selector buffer, whose IMP-cache selectors are put at chosen offsets).
 */
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
    return h;
}

void strpool_init(struct strpool *p)
{
    memset(p, 0, sizeof *p);
    buf_u8(&p->bytes, 0);   /* offset 0 is the empty name */
}

static void grow(struct strpool *p)
{
    size_t ncap = p->cap ? p->cap * 2 : 1024;
    uint32_t *slots = xcalloc(ncap, sizeof *slots);
    for (size_t i = 0; i < p->cap; i++) {
        if (!p->slots[i])
            continue;
        size_t j = hash_str((const char *)p->bytes.data + p->slots[i]) & (ncap - 1);
        while (slots[j])
            j = (j + 1) & (ncap - 1);
        slots[j] = p->slots[i];
    }
    free(p->slots);
    p->slots = slots;
    p->cap = ncap;
}

/* The hash slot holding `s`, or the empty slot where it would go. */
static size_t slot_of(struct strpool *p, const char *s)
{
    if ((p->count + 1) * 2 > p->cap)
        grow(p);
    size_t j = hash_str(s) & (p->cap - 1);
    while (p->slots[j] && strcmp((const char *)p->bytes.data + p->slots[j], s) != 0)
        j = (j + 1) & (p->cap - 1);
    return j;
}

bool strpool_find(struct strpool *p, const char *s, uint32_t *off)
{
    size_t j = slot_of(p, s);
    *off = p->slots[j];
    return *s && *off;
}

uint32_t strpool_add(struct strpool *p, const char *s)
{
    uint32_t off;
    if (!*s)
        return 0;
    if (strpool_find(p, s, &off))
        return off;
    if (p->bytes.len > UINT32_MAX - strlen(s) - 1)
        die("string pool exceeds 4 GiB");
    off = (uint32_t)p->bytes.len;
    strpool_put(p, s, off);
    return off;
}

/* Only into free bytes (zeros after a NUL): a hole or the end. */
static bool is_free(const struct strpool *p, uint32_t off, size_t len)
{
    if (off - 1 < p->bytes.len && p->bytes.data[off - 1] != 0)
        return false;
    for (size_t i = off; i < off + len && i < p->bytes.len; i++)
        if (p->bytes.data[i])
            return false;
    return true;
}

void strpool_put(struct strpool *p, const char *s, uint32_t off)
{
    size_t j = slot_of(p, s), len = strlen(s) + 1;
    if (!*s || p->slots[j] || off == 0 || (uint64_t)off + len > UINT32_MAX ||
        !is_free(p, off, len))
        die("internal: no room for \"%s\" at offset %u of a string pool", s, off);
    while (p->bytes.len < off + len)
        buf_u8(&p->bytes, 0);
    memcpy(p->bytes.data + off, s, len);
    p->slots[j] = off;
    p->count++;
}

void strpool_free(struct strpool *p)
{
    free(p->slots);
    buf_free(&p->bytes);
}

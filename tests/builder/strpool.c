/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strpool.c — a deduplicating string pool (the merged LINKEDIT's one
 * symbol-string table, and the moved local symbols' strings).
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

uint32_t strpool_add(struct strpool *p, const char *s)
{
    if (!*s)
        return 0;
    if ((p->count + 1) * 2 > p->cap)
        grow(p);
    size_t j = hash_str(s) & (p->cap - 1);
    while (p->slots[j]) {
        if (strcmp((const char *)p->bytes.data + p->slots[j], s) == 0)
            return p->slots[j];
        j = (j + 1) & (p->cap - 1);
    }
    if (p->bytes.len > UINT32_MAX - strlen(s) - 1)
        die("string pool exceeds 4 GiB");
    uint32_t off = (uint32_t)p->bytes.len;
    buf_str(&p->bytes, s);
    p->slots[j] = off;
    p->count++;
    return off;
}

void strpool_free(struct strpool *p)
{
    free(p->slots);
    buf_free(&p->bytes);
}

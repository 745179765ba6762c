/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strpool.h — deduplicating string pool: equal strings share one offset.
 */
#ifndef DSCBUILD_STRPOOL_H
#define DSCBUILD_STRPOOL_H

#include "bld.h"

struct strpool {
    struct buf bytes;   /* starts with one NUL: offset 0 is "" */
    uint32_t *slots;    /* open addressing: string offsets, 0 = empty */
    size_t cap, count;
};

void strpool_init(struct strpool *p);
uint32_t strpool_add(struct strpool *p, const char *s);
/* Whether `s` (not "") is in the pool; its offset in *off. */
bool strpool_find(struct strpool *p, const char *s, uint32_t *off);
/* `s`, not yet in the pool, at `off`: free bytes after a NUL, or past
 * the pool's end (zeros fill the gap). */
void strpool_put(struct strpool *p, const char *s, uint32_t off);
void strpool_free(struct strpool *p);

#endif

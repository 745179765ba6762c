/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_strings.c — the small hash tables of the ObjC pass: name -> value,
 * address -> value, and interned string sections. Open addressing with
 * linear probing, grown at half load; sizes follow the image's own metadata
 * (every insert is one walked item), so they stay bounded by the walker's caps;
 * the interned strings are bounded by the cache's bytes (pass_objc.c
 * over_budget).
 */
#include "extract/pass_objc.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_u64(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    return v ^ (v >> 33);
}

/* Double `*nslots` (from 64) into fresh zeroed storage when at half load. */
static bool need_grow(size_t count, size_t nslots) { return (count + 1) * 2 > nslots; }

bool objc_namemap_get(const struct objc_namemap *m, const char *name, uint64_t *value)
{
    if (!m->nslots)
        return false;
    for (size_t i = hash_str(name) & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
        if (!m->slots[i].name)
            return false;
        if (strcmp(m->slots[i].name, name) == 0) {
            *value = m->slots[i].value;
            return true;
        }
    }
}

static void namemap_insert(struct objc_namemap *m, const char *name, uint64_t value)
{
    size_t i = hash_str(name) & (m->nslots - 1);
    while (m->slots[i].name)
        i = (i + 1) & (m->nslots - 1);
    m->slots[i].name = name;
    m->slots[i].value = value;
    m->count++;
}

bool objc_namemap_set(struct objc_namemap *m, const char *name, uint64_t value)
{
    for (size_t i = m->nslots ? hash_str(name) & (m->nslots - 1) : 0; m->nslots && m->slots[i].name;
         i = (i + 1) & (m->nslots - 1))
        if (strcmp(m->slots[i].name, name) == 0) {
            m->slots[i].value = value;
            return true;
        }
    return objc_namemap_put(m, name, value);
}

bool objc_namemap_put(struct objc_namemap *m, const char *name, uint64_t value)
{
    uint64_t old;
    if (objc_namemap_get(m, name, &old))
        return true;
    if (need_grow(m->count, m->nslots)) {
        struct objc_namemap g = {.nslots = m->nslots ? m->nslots * 2 : 64};
        if (!(g.slots = calloc(g.nslots, sizeof *g.slots)))
            return false;
        for (size_t i = 0; i < m->nslots; i++)
            if (m->slots[i].name)
                namemap_insert(&g, m->slots[i].name, m->slots[i].value);
        free(m->slots);
        *m = g;
    }
    namemap_insert(m, name, value);
    return true;
}

void objc_namemap_free(struct objc_namemap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Keys are addresses; 0 marks an empty slot, so key 0 is never stored. */
bool objc_addrmap_get(const struct objc_addrmap *m, uint64_t key, uint64_t *value)
{
    if (!m->nslots || !key)
        return false;
    for (size_t i = hash_u64(key) & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
        if (!m->slots[i].key)
            return false;
        if (m->slots[i].key == key) {
            *value = m->slots[i].value;
            return true;
        }
    }
}

static void addrmap_insert(struct objc_addrmap *m, uint64_t key, uint64_t value)
{
    size_t i = hash_u64(key) & (m->nslots - 1);
    while (m->slots[i].key)
        i = (i + 1) & (m->nslots - 1);
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->count++;
}

bool objc_addrmap_put(struct objc_addrmap *m, uint64_t key, uint64_t value)
{
    uint64_t old;
    if (!key || objc_addrmap_get(m, key, &old))
        return true;
    if (need_grow(m->count, m->nslots)) {
        struct objc_addrmap g = {.nslots = m->nslots ? m->nslots * 2 : 64};
        if (!(g.slots = calloc(g.nslots, sizeof *g.slots)))
            return false;
        for (size_t i = 0; i < m->nslots; i++)
            if (m->slots[i].key)
                addrmap_insert(&g, m->slots[i].key, m->slots[i].value);
        free(m->slots);
        *m = g;
    }
    addrmap_insert(m, key, value);
    return true;
}

void objc_addrmap_free(struct objc_addrmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

bool objc_strtab_add(struct objc_strtab *tab, const char *s, uint64_t *off)
{
    if (objc_namemap_get(&tab->offsets, s, off))
        return true;
    *off = tab->bytes.size;
    return blob_add(&tab->bytes, s, strlen(s) + 1) && objc_namemap_put(&tab->offsets, s, *off);
}

void objc_strtab_free(struct objc_strtab *tab)
{
    blob_free(&tab->bytes);
    objc_namemap_free(&tab->offsets);
}

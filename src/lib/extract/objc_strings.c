/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_strings.c — the small hash tables of the ObjC pass: name -> value,
 * address -> value (one table, struct objc_map, behind both), and interned
 * string sections. Open addressing with linear probing, grown at half
 * load; sizes follow the image's own metadata (every insert is one walked
 * item), so they stay bounded by the walker's caps; the interned strings
 * are bounded by the cache's bytes (pass_objc.c over_budget).
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

/* ---- the table: a slot is empty when it has neither name nor key ---- */

static bool empty(const struct objc_map_slot *s) { return !s->name && !s->key; }

static bool same(const struct objc_map_slot *s, const struct objc_map_slot *k)
{
    return k->name ? s->name && strcmp(s->name, k->name) == 0 : s->key == k->key;
}

/* The slot holding `k`, or the empty one where it goes (linear probing). */
static struct objc_map_slot *probe(const struct objc_map *m, const struct objc_map_slot *k)
{
    size_t i = (k->name ? hash_str(k->name) : hash_u64(k->key)) & (m->nslots - 1);
    while (!empty(&m->slots[i]) && !same(&m->slots[i], k))
        i = (i + 1) & (m->nslots - 1);
    return &m->slots[i];
}

static bool map_get(const struct objc_map *m, const struct objc_map_slot *k, uint64_t *value)
{
    const struct objc_map_slot *s = m->nslots ? probe(m, k) : NULL;
    if (!s || empty(s))
        return false;
    *value = s->value;
    return true;
}

/* Double the slots (from 64) when at half load; false on out of memory. */
static bool grow(struct objc_map *m)
{
    if ((m->count + 1) * 2 <= m->nslots)
        return true;
    struct objc_map g = {.nslots = m->nslots ? m->nslots * 2 : 64, .count = m->count};
    if (!(g.slots = calloc(g.nslots, sizeof *g.slots)))
        return false;
    for (size_t i = 0; i < m->nslots; i++)
        if (!empty(&m->slots[i]))
            *probe(&g, &m->slots[i]) = m->slots[i];
    free(m->slots);
    *m = g;
    return true;
}

/* Insert `k` with its value, or (when `replace`) overwrite the value it has. */
static bool map_put(struct objc_map *m, struct objc_map_slot k, bool replace)
{
    struct objc_map_slot *s = m->nslots ? probe(m, &k) : NULL;
    if (s && !empty(s)) {
        if (replace)
            s->value = k.value;
        return true;
    }
    if (!grow(m))
        return false;
    *probe(m, &k) = k;
    m->count++;
    return true;
}

static void map_free(struct objc_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- the maps ---- */

bool objc_namemap_get(const struct objc_namemap *m, const char *name, uint64_t *value)
{
    return map_get(&m->m, &(struct objc_map_slot){.name = name}, value);
}

bool objc_namemap_put(struct objc_namemap *m, const char *name, uint64_t value)
{
    return map_put(&m->m, (struct objc_map_slot){.name = name, .value = value}, false);
}

bool objc_namemap_set(struct objc_namemap *m, const char *name, uint64_t value)
{
    return map_put(&m->m, (struct objc_map_slot){.name = name, .value = value}, true);
}

void objc_namemap_free(struct objc_namemap *m) { map_free(&m->m); }

/* Keys are addresses; 0 marks an empty slot, so key 0 is never stored. */
bool objc_addrmap_get(const struct objc_addrmap *m, uint64_t key, uint64_t *value)
{
    return key && map_get(&m->m, &(struct objc_map_slot){.key = key}, value);
}

bool objc_addrmap_put(struct objc_addrmap *m, uint64_t key, uint64_t value)
{
    return !key || map_put(&m->m, (struct objc_map_slot){.key = key, .value = value}, false);
}

void objc_addrmap_free(struct objc_addrmap *m) { map_free(&m->m); }

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

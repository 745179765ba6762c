/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_clsopt.c — the ObjC class and protocol hash tables of a cache with an
 * ObjCOptimizationHeader, as Apple's builder writes them (dyld-1042.1,
 * dyld-1231.3 and dyld-1378 NewSharedCacheBuilder.cpp
 * findCanonicalObjCClassNames, findCanonicalObjCProtocolNames,
 * findObjCClasses, findObjCProtocols, estimateObjCHashTableSizes,
 * emitObjCClassNameStrings, emitObjCProtocolNameStrings,
 * emitCanonicalObjCProtocols, emitObjCHashTables; common/OptimizerObjC.h
 * ObjectHashTable; format: objc_hash.c).
 *
 * Names: every class and metaclass name (class_ro_t name) of every image,
 * and every __objc_protolist protocol's name, each once, first seen first,
 * NUL-terminated, in a strings chunk of its own (class names, then protocol
 * names, right after the selector and type strings: Chunk.h puts all
 * objcStrings chunks before the hash tables). Apple's Swift demangled
 * protocol names chunk (for "_TtP" protocols without one) follows them;
 * this builder's inputs have no such protocol, so it is empty.
 * Objects: each class of each ObjC image's __objc_classlist, with the image's
 * index in header info (dylibObjCIndex); each protocol of each ObjC image's
 * __objc_protolist, pointing (as emitCanonicalObjCProtocols redirects every
 * entry of the name) at the name's canonical copy (objc.c), with the index of
 * the image that defines it. A name with several objects gets a duplicates
 * run of them, in image order (Apple's order is its unordered_multimap's).
 * Chunk size (estimateObjCHashTableSizes): hashTableSize(objects, 13) plus 8
 * bytes per object whose name has several (Apple counts the objects of
 * multimap buckets holding more than one, which are such names unless two
 * names share a bucket). The tables follow the selector table, each 8-aligned.
 */
#include "bld.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

struct objc_obj {
    const struct image *img;
    uint64_t in_addr;       /* input address of the class (classes) */
    uint32_t name;          /* pool offset of its name */
    uint32_t index;         /* the image's index in header info */
};

struct objc_objs {
    struct strpool names;   /* every name, first seen first (the chunk: bytes + 1) */
    struct objc_obj *v;
    size_t n;
    uint32_t *count;        /* objects per name, by pool offset */
};

static void add_obj(struct objc_objs *o, const struct image *img, uint64_t in_addr, const char *name, uint32_t index)
{
    o->v = xrealloc(o->v, (o->n + 1) * sizeof *o->v);
    o->v[o->n++] = (struct objc_obj){img, in_addr, strpool_add(&o->names, name), index};
}

struct walk {
    struct objc_objs *o;
    int index;              /* header info index, -1: names only */
};

static void on_class(void *ctx, const struct image *img, struct objc_in_class k)
{
    struct walk *w = ctx;
    const char *name = objc_in_class_name(img, k.cls);
    strpool_add(&w->o->names, name);
    if (w->index >= 0 && !k.meta)
        add_obj(w->o, img, k.cls, name, (uint32_t)w->index);
}

static void on_protocol(void *ctx, const struct image *img, uint64_t in_addr, const char *name)
{
    struct walk *w = ctx;
    strpool_add(&w->o->names, name);
    if (w->index >= 0)
        add_obj(w->o, img, in_addr, name, (uint32_t)w->index);
}

/* Names of every image, objects of the ObjC ones; the chunk's size. */
static void plan_one(struct cache *c, struct objc_table *t, bool protocols)
{
    struct objc_objs *o = t->objs = xcalloc(1, sizeof *o);
    strpool_init(&o->names);
    int index = 0;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        struct walk w = {o, objc_image_info_of(img) ? index++ : -1};
        if (protocols)
            objc_each_protocol(c, img, on_protocol, &w);
        else
            objc_each_input_class(img, on_class, &w);
    }
    o->count = xcalloc(o->names.bytes.len, sizeof *o->count);
    for (size_t i = 0; i < o->n; i++)
        o->count[o->v[i].name]++;
    uint64_t dups = 0;
    for (size_t i = 0; i < o->n; i++)
        dups += o->count[o->v[i].name] > 1;
    t->names_size = o->names.bytes.len - 1;
    t->size = objc_hash_chunk_size((uint32_t)o->n, 13) + 8 * dups;
}

void objc_tables_plan(struct cache *c)
{
    plan_one(c, &c->clsopt, false);
    plan_one(c, &c->protoopt, true);
}

/* The object's cache address: the class, or its name's canonical protocol
 * (the k-th name, k from canon_k). */
static uint64_t object_addr(const struct cache *c, const struct objc_obj *ob, const uint32_t *canon_k)
{
    uint64_t at;
    if (canon_k)
        return objc_protocol_copy(c, canon_k[ob->name]);
    if (!image_reloc(ob->img, ob->in_addr, &at))
        die("%s: class at 0x%llx is outside the image", ob->img->in_path, (unsigned long long)ob->in_addr);
    return at;
}

/* Objects into the table t (its strings written): each name's one object,
 * or its duplicates run, filled when its first object comes. */
static void write_objects(struct cache *c, struct objc_table *tb, uint8_t *t, const uint32_t *canon_k)
{
    struct objc_objs *o = tb->objs;
    uint32_t cap = dsc_le32(t + 4), ndup = 0;
    uint64_t objs = objc_hash_objects(t), base = c->ai->base;
    for (size_t i = 0; i < o->n; i++) {
        const struct objc_obj *ob = &o->v[i];
        const char *name = (const char *)o->names.bytes.data + ob->name;
        uint32_t slot, n = o->count[ob->name];
        if (!objc_hash_index(t, tb->size, name, &slot))
            die("%s hash table: lost %s", canon_k ? "protocol" : "class", name);
        uint8_t *e = t + objs + 8ULL * slot;
        if (n == 1) {
            dsc_put64(e, objc_object_entry(object_addr(c, ob, canon_k) - base, ob->index));
            continue;
        }
        if (dsc_le64(e))
            continue;
        if (objs + 8ULL * cap + 4 + 8ULL * (ndup + n) > tb->size)
            die("internal: %s hash table: no room for duplicates", canon_k ? "protocol" : "class");
        dsc_put64(e, objc_duplicate_entry(ndup, n));
        for (size_t j = i; j < o->n; j++)
            if (o->v[j].name == ob->name)
                dsc_put64(t + objs + 8ULL * cap + 4 + 8ULL * ndup++,
                          objc_object_entry(object_addr(c, &o->v[j], canon_k) - base, o->v[j].index));
    }
    if (cap && o->n)
        dsc_put32(t + objs + 8ULL * cap, ndup);
}

/* The names chunk, then the table over it; canon_k maps protocol names to
 * their canonical copies (NULL for classes). */
static void write_one(struct cache *c, struct objc_table *tb, const char *what, const uint32_t *canon_k)
{
    struct objc_objs *o = tb->objs;
    const char *b = (const char *)o->names.bytes.data;
    size_t n = o->names.count, k = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof *keys);
    int32_t *offs = xcalloc(n ? n : 1, sizeof *offs);
    if (tb->names_size)
        memcpy(cache_bytes(c, tb->names_addr, tb->names_size), b + 1, tb->names_size);
    for (size_t at = 1; at < o->names.bytes.len; at += strlen(b + at) + 1, k++) {
        keys[k] = b + at;
        offs[k] = (int32_t)(tb->names_addr + at - 1 - tb->addr);
    }
    uint8_t *t = cache_bytes(c, tb->addr, tb->size);
    objc_hash_write(t, tb->size, keys, offs, n, 8, what);
    if (n)
        write_objects(c, tb, t, canon_k);
    free(keys);
    free(offs);
}

void objc_tables_write(struct cache *c)
{
    write_one(c, &c->clsopt, "class", NULL);
    /* protocol names are the canonical copies' order (objc.c) */
    struct objc_objs *o = c->protoopt.objs;
    uint32_t *canon_k = xcalloc(o->names.bytes.len, sizeof *canon_k), k = 0;
    for (size_t at = 1; at < o->names.bytes.len; at += strlen((char *)o->names.bytes.data + at) + 1)
        canon_k[at] = k++;
    write_one(c, &c->protoopt, "protocol", canon_k);
    free(canon_k);
}

static void free_one(struct objc_table *t)
{
    if (!t->objs)
        return;
    strpool_free(&t->objs->names);
    free(t->objs->v);
    free(t->objs->count);
    free(t->objs);
    t->objs = NULL;
}

void objc_tables_free(struct cache *c)
{
    free_one(&c->clsopt);
    free_one(&c->protoopt);
}

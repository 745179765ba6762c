/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_objcobjs.c — the class and protocol hash tables the ObjC opts
 * header names (classHashTableCacheOffset at 0x20,
 * protocolHashTableCacheOffset at 0x28; format: dyld-1042.1 .. dyld-1378
 * common/OptimizerObjC.h ObjectHashTable, objc_hash.c), checked against
 * the inputs, not against the builder's plan:
 *  - names: every class and metaclass name of every image (class names)
 *    and every __objc_protolist protocol's name (protocol names), each once,
 *    first seen first, are the bytes right after the selector and type
 *    strings, class names first, from dyld-1231 (addReadOnlyChunk appends);
 *    before it (dyld-1042.1 .. 1165.3 addObjCReadOnlyChunk inserts at the
 *    front) protocol names, then class names, right before the selector
 *    buffer (all objcStrings chunks precede the hash tables in Chunk.h's
 *    order); each is found through its table at its own address, and
 *    occupied = names = the slots that name a string;
 *  - objects, looked up as dyld does for objc4's getPreoptimizedClass/
 *    Protocol (objc4-951.1 objc-opt.mm calls _dyld_for_each_objc_class/
 *    protocol; dyld-1378 DyldAPIs.cpp: ClassHashTable::forEachClass, then
 *    cache base + objectCacheOffset, loaded if header info RW says
 *    dylibObjCIndex is): hash, check byte, offset, name, then the slot's
 *    object or its duplicates run. Every class of every
 *    ObjC image's __objc_classlist is there exactly once with its cache
 *    offset and its image's header-info index (check_objc_opts proves the
 *    index names the image); every protocol of every ObjC image's
 *    __objc_protolist with its image's index and the canonical copy of its
 *    name (a protocol_t outside every image, of that name, IS_CANONICAL),
 *    the same for all of the name's entries; a name has a duplicates run
 *    exactly when it has several objects, runs cover duplicateCount, and a
 *    name without objects has a 0 entry;
 *  - placement: the class table right after the selector table's chunk, the
 *    protocol table 8-aligned after the class table's; each chunk of
 *    Apple's size (hashTableSize(objects, 13) + 8 per object whose name has
 *    several) holds its table.
 */
#include "check.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

struct want_obj {
    uint32_t name;      /* pool offset */
    uint64_t addr;      /* classes: cache address; protocols: 0 */
    uint32_t index;     /* header info index */
};

struct want {
    struct strpool names;
    struct want_obj *v;
    size_t n;
    uint32_t *count;    /* by pool offset */
    uint64_t dups;      /* objects whose name has several */
};

static struct want want[2];     /* classes, protocols */
static uint64_t names_len[2], chunk[2];
static const char *const what[2] = {"class", "protocol"};

struct walk {
    struct want *w;
    int index;
};

static void add(struct walk *k, const char *name, uint64_t addr)
{
    uint32_t off = strpool_add(&k->w->names, name);
    if (k->index < 0)
        return;
    k->w->v = xrealloc(k->w->v, (k->w->n + 1) * sizeof *k->w->v);
    k->w->v[k->w->n++] = (struct want_obj){off, addr, (uint32_t)k->index};
}

static void on_class(void *ctx, const struct image *img, struct objc_in_class c)
{
    struct walk *k = ctx;
    uint64_t at = 0;
    if (!c.meta && k->index >= 0 && !image_reloc(img, c.cls, &at))
        die("%s: class 0x%llx is outside the image", img->cache_path, (unsigned long long)c.cls);
    struct walk names_only = {k->w, -1};
    add(c.meta ? &names_only : k, objc_in_class_name(img, c.cls), at);
}

static void on_protocol(void *ctx, const struct image *img, uint64_t in_addr, const char *name)
{
    (void)img;
    (void)in_addr;
    add(ctx, name, 0);
}

static void collect(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    for (int which = 0; which < 2; which++) {
        struct want *w = &want[which];
        strpool_init(&w->names);
        int k = 0;
        for (size_t i = 0; i < bc.nimages; i++) {
            const struct image *img = &bc.images[i];
            const struct sect *x = objc_image_info_of(img);
            uint64_t info;
            struct walk wk = {w, x && image_reloc(img, x->in_addr, &info) ? k++ : -1};
            if (which)
                objc_each_protocol(&bc, img, on_protocol, &wk);
            else
                objc_each_input_class(img, on_class, &wk);
        }
        w->count = xcalloc(w->names.bytes.len, sizeof *w->count);
        for (size_t i = 0; i < w->n; i++)
            w->count[w->v[i].name]++;
        for (size_t i = 0; i < w->n; i++)
            w->dups += w->count[w->v[i].name] > 1;
        names_len[which] = w->names.bytes.len - 1;
        chunk[which] = objc_hash_chunk_size((uint32_t)w->n, 13) + 8 * w->dups;
    }
}

static bool have_tables(void) { return opts_header() && bc.ai->ptr_size == 8 && sb.slots; }

/* Where the era's builder puts the names of table `which` (see the top);
 * the selector buffer's chunk starts with a NUL before sb.start. */
static uint64_t names_at(int which)
{
    if (objc_era_m >= 1231)
        return sb.end + types_size + (which ? names_len[0] : 0);
    return sb.start - 1 - names_len[0] - names_len[1] + (which ? 0 : names_len[1]);
}

uint64_t objc_names_end(void)
{
    if (!have_tables())
        return sb.end + types_size;
    collect();
    return sb.end + types_size + (objc_era_m >= 1231 ? names_len[0] + names_len[1] : 0);
}

uint64_t objc_tables_end(void)
{
    uint64_t end = selopt_addr + selopt_size;
    if (!have_tables())
        return end;
    collect();
    return dsc_align_up(end, 8) + dsc_align_up(chunk[0], 8) + dsc_align_up(chunk[1], 8);
}

/* The table at `at`: header checks, and its extent inside its chunk. */
static dsc_span table(int which, uint64_t at)
{
    dsc_span head = vm(at, OBJC_HASH_TAB, what[which]);
    uint32_t cap = dsc_le32(head.data + 4), occupied = dsc_le32(head.data + 8), mask = dsc_le32(head.data + 16);
    uint64_t size = chunk[which], objs = objc_hash_objects(head.data);
    if (dsc_le32(head.data) || (cap & (cap - 1)) || occupied > cap || ((mask + 1) & mask) ||
        objs + 8ULL * cap + 4 > size)
        die("%s hash table at 0x%llx: version %u, capacity %u, occupied %u, mask 0x%x (chunk 0x%llx bytes)",
            what[which], (unsigned long long)at, dsc_le32(head.data), cap, occupied, mask, (unsigned long long)size);
    uint32_t ndup = dsc_le32(vm(at + objs + 8ULL * cap, 4, what[which]).data);
    if (objs + 8ULL * cap + 4 + 8ULL * ndup > size || ndup != want[which].dups)
        die("%s hash table: %u duplicates (%llu expected) in a chunk of 0x%llx bytes", what[which], ndup,
            (unsigned long long)want[which].dups, (unsigned long long)size);
    return vm(at, size, what[which]);
}

/* The names chunk holds the expected names; each is found at its place. */
static void check_names(int which, dsc_span t, uint64_t at, uint64_t start)
{
    const struct strpool *p = &want[which].names;
    size_t len = p->bytes.len - 1;
    if (len && memcmp(vm(start, len, "ObjC names").data, p->bytes.data + 1, len) != 0)
        die("%s names at 0x%llx are not the inputs' %zu names", what[which], (unsigned long long)start, p->count);
    for (size_t o = 1; o < p->bytes.len; o += strlen((const char *)p->bytes.data + o) + 1) {
        uint32_t slot;
        if (hash_lookup(t, at, (const char *)p->bytes.data + o, &slot) != start + o - 1)
            die("%s hash table: %s is not found at 0x%llx", what[which], (const char *)p->bytes.data + o,
                (unsigned long long)(start + o - 1));
        if (!want[which].count[o] && dsc_le64(t.data + objc_hash_objects(t.data) + 8ULL * slot))
            die("%s hash table: %s has an object, the inputs none", what[which], (const char *)p->bytes.data + o);
    }
    uint32_t used = hash_used_slots(t), occupied = dsc_le32(t.data + 8);
    if (occupied != p->count || used != p->count)
        die("%s hash table: %u occupied, %u slots used, %zu names", what[which], occupied, used, p->count);
}

/* A protocol table object: a canonical copy of protocol `name`. */
static void check_canonical(uint64_t addr, const char *name)
{
    const struct decoded_ptr *np = decoded_at(&dec, addr + 8);
    const char *have;
    uint32_t flags;
    for (size_t i = 0; i < bc.nimages; i++)
        for (unsigned s = 0; s < bc.images[i].nsegs; s++)
            if (addr - bc.images[i].segs[s].addr < bc.images[i].segs[s].size)
                die("protocol hash table: %s names 0x%llx inside %s, not a canonical copy", name,
                    (unsigned long long)addr, bc.images[i].cache_path);
    if (!np || !dsc_vm_cstr(cache, np->value, 4096, &have) || strcmp(have, name) != 0 ||
        !dsc_vm_u32(cache, addr + 8 * 8 + 4, &flags) || !(flags & 0x20000000u))
        die("protocol hash table: %s names 0x%llx, not its canonical protocol", name, (unsigned long long)addr);
}

/* Object `o` found through the slot's entry, or its duplicates run. */
static void check_object(int which, dsc_span t, uint32_t slot, const struct want_obj *o, uint64_t *canon)
{
    const char *name = (const char *)want[which].names.bytes.data + o->name;
    uint32_t cap = dsc_le32(t.data + 4), n = want[which].count[o->name];
    uint64_t objs = objc_hash_objects(t.data), e = dsc_le64(t.data + objs + 8ULL * slot), base;
    uint64_t first = slot, count = 1, found = 0;
    base = dsc_cache_get_info(cache)->base_address;
    const uint8_t *list = t.data + objs;
    if (e & 1) {
        list = t.data + objs + 8ULL * cap + 4;
        first = (e >> 1) & ((1ULL << 47) - 1);
        count = e >> 48;
        if (n < 2 || count != n || (first + count) * 8 > t.size - (objs + 8ULL * cap + 4))
            die("%s hash table: %s has a duplicates run of %llu at %llu, the inputs %u objects", what[which], name,
                (unsigned long long)count, (unsigned long long)first, n);
    } else if (n != 1) {
        die("%s hash table: %s has one object, the inputs %u", what[which], name, n);
    }
    for (uint64_t i = first; i < first + count; i++) {
        uint64_t v = dsc_le64(list + 8 * i), addr = base + ((v >> 1) & ((1ULL << 47) - 1));
        if (v & 1)
            die("%s hash table: %s's duplicates run holds a run", what[which], name);
        if (which == 1 && !*canon)
            check_canonical(*canon = addr, name);
        else if (which == 1 && addr != *canon)
            die("protocol hash table: %s names 0x%llx and 0x%llx", name, (unsigned long long)*canon,
                (unsigned long long)addr);
        found += (uint32_t)(v >> 48) == o->index && (which == 1 || addr == o->addr);
    }
    if (found != 1)
        die("%s hash table: %s of header info %u is found %llu times", what[which], name, o->index,
            (unsigned long long)found);
}

static void check_table(int which, uint64_t at, uint64_t chunk_at, struct counts *n)
{
    if (at != chunk_at)
        die("%s hash table at 0x%llx, its chunk at 0x%llx", what[which], (unsigned long long)at,
            (unsigned long long)chunk_at);
    dsc_span t = table(which, at);
    check_names(which, t, at, names_at(which));
    struct want *w = &want[which];
    uint64_t *canon = xcalloc(w->names.bytes.len, sizeof *canon);
    for (size_t i = 0; i < w->n; i++) {
        uint32_t slot;
        const char *name = (const char *)w->names.bytes.data + w->v[i].name;
        if (!hash_lookup(t, at, name, &slot))
            die("%s hash table: %s is not found", what[which], name);
        check_object(which, t, slot, &w->v[i], &canon[w->v[i].name]);
        *(which ? &n->hashed_protocols : &n->hashed_classes) += 1;
    }
    free(canon);
}

static void check_tables(uint64_t opts, struct counts *n)
{
    dsc_span h = vm(opts, 0x38, "ObjC optimisation header");
    uint64_t base = dsc_cache_get_info(cache)->base_address;
    uint64_t cls = base + dsc_le64(h.data + 0x20), proto = base + dsc_le64(h.data + 0x28);
    check_table(0, cls, dsc_align_up(selopt_addr + selopt_size, 8), n);
    check_table(1, proto, dsc_align_up(cls + chunk[0], 8), n);
}

void check_object_tables(struct counts *n)
{
    if (!have_tables())
        return;
    collect();
    check_tables(opts_header(), n);
    for (int which = 0; which < 2; which++) {
        strpool_free(&want[which].names);
        free(want[which].v);
        free(want[which].count);
    }
}

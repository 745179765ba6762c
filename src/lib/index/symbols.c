/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * symbols.c — per-extraction symbol views over the lazily made export sets.
 * See symbols.h.
 *
 * A view keeps the sets it has pinned, found by image through a small hash
 * table sized to what it pinned (not to the cache: a view of an image that
 * reaches a few dylibs must not clear a slot per image); the re-exports visible to
 * its image, resolved and sorted by address (made on the first address
 * query); and the answer buffer of dsc_symbols_by_address. The views open
 * on a thread are linked from a thread-local list, which
 * dsc_thread_recover() closes after a longjmp left them behind.
 */
#include "index/symbols.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dsc/dsc.h"
#include "base/grow.h"
#include "base/sort.h"
#include "base/trie.h"

struct pin {
    uint32_t image;
    const struct dsc_exports *set;
};

#define FIRST_SLOTS 64

struct dsc_symbols {
    const dsc_cache *cache;
    uint32_t image;
    struct pin *pins;                /* the sets pinned by this view, as pinned */
    size_t npinned, pins_cap;
    uint32_t *slots;                 /* by hash of image: 1 + index into pins, 0 free */
    size_t nslots;                   /* a power of 2, at least twice npinned */
    bool failed;
    struct dsc_export *extras;       /* visible absolute symbols and resolved re-exports, */
    size_t nextras;                  /* by address, then cmp_same_address */
    bool have_extras;
    const struct dsc_export **hits;  /* dsc_symbols_by_address's answer */
    size_t nhits, hits_cap;
    struct dsc_symbols *prev, *next; /* this thread's open views */
};

static _Thread_local struct dsc_symbols *open_views;

int dsc_symbols_open(const dsc_cache *c, uint32_t image, struct dsc_symbols **out, dsc_error *err)
{
    struct dsc_symbols *s = calloc(1, sizeof *s);
    if (!s || !(s->slots = calloc(FIRST_SLOTS, sizeof *s->slots))) {
        free(s);
        return dsc_fail_oom(err, c->path);
    }
    s->cache = c;
    s->image = image;
    s->nslots = FIRST_SLOTS;
    s->next = open_views;
    if (open_views)
        open_views->prev = s;
    open_views = s;
    *out = s;
    return 0;
}

void dsc_symbols_close(struct dsc_symbols *s)
{
    if (!s)
        return;
    *(s->prev ? &s->prev->next : &open_views) = s->next;
    if (s->next)
        s->next->prev = s->prev;
    for (size_t i = 0; i < s->npinned; i++)
        dsc_exports_put(s->cache, s->pins[i].set);
    free(s->pins);
    free(s->slots);
    free(s->extras);
    free(s->hits);
    free(s);
}

void dsc_thread_recover(void)
{
    while (open_views)
        dsc_symbols_close(open_views);
}

bool dsc_symbols_failed(const struct dsc_symbols *s) { return s->failed; }

/* The slot of `image` in a table of `nslots`: its own, or the free one
 * where it would go (linear probing; the table is never full). */
static uint32_t *slot_of(uint32_t *slots, size_t nslots, const struct pin *pins, uint32_t image)
{
    size_t i = dsc_hash_home(image, nslots - 1);
    while (slots[i] && pins[slots[i] - 1].image != image)
        i = (i + 1) & (nslots - 1);
    return &slots[i];
}

/* Make room for one more pin, keeping the table at most half full. */
static bool pin_room(struct dsc_symbols *s)
{
    if (!DSC_GROW(s->pins, s->npinned, s->pins_cap, 16))
        return false;
    if (2 * (s->npinned + 1) <= s->nslots)
        return true;
    size_t n = 2 * s->nslots;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < s->npinned; i++)
        *slot_of(slots, n, s->pins, s->pins[i].image) = (uint32_t)i + 1;
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
    return true;
}

/* Image `image`'s set, pinned for the view's life; NULL when out of range
 * or out of memory. */
static const struct dsc_exports *set_of(struct dsc_symbols *s, uint32_t image)
{
    if (image >= s->cache->nimages)
        return NULL;
    uint32_t *slot = slot_of(s->slots, s->nslots, s->pins, image);
    if (*slot)
        return s->pins[*slot - 1].set;
    const struct dsc_exports *e = pin_room(s) ? dsc_exports_get(s->cache, image) : NULL;
    if (!e) {
        s->failed = true;
        return NULL;
    }
    slot = slot_of(s->slots, s->nslots, s->pins, image); /* pin_room may have rehashed */
    s->pins[s->npinned] = (struct pin){image, e};
    *slot = (uint32_t)++s->npinned;
    return e;
}

/* ---- names ---- */

static const struct dsc_export *visible(struct dsc_symbols *s, uint32_t image, const char *name, unsigned depth,
                                        unsigned *budget);

/* Follow re-export `x` to its definition, or NULL. */
static const struct dsc_export *resolve(struct dsc_symbols *s, const struct dsc_export *x, unsigned depth,
                                        unsigned *budget)
{
    if (!(x->flags & EXPORT_SYMBOL_FLAGS_REEXPORT))
        return x;
    const struct dsc_exports *e = set_of(s, x->image);
    uint32_t ord = x->reexport_ordinal;
    if (!e || depth >= DSC_SYMBOLS_MAX_DEPTH || ord > e->ndeps || e->deps[ord - 1].image < 0)
        return NULL;
    return visible(s, (uint32_t)e->deps[ord - 1].image, x->import_name, depth + 1, budget);
}

static const struct dsc_export *visible(struct dsc_symbols *s, uint32_t image, const char *name, unsigned depth,
                                        unsigned *budget)
{
    if (depth > DSC_SYMBOLS_MAX_DEPTH || *budget == 0)
        return NULL;
    --*budget;
    const struct dsc_exports *e = set_of(s, image);
    if (!e)
        return NULL;
    const struct dsc_export *x = dsc_exports_find(e, name);
    if (x)
        return resolve(s, x, depth, budget); /* NULL when it cannot be resolved */
    for (uint32_t i = 0; i < e->ndeps; i++) {
        if (e->deps[i].cmd != LC_REEXPORT_DYLIB || e->deps[i].image < 0)
            continue;
        const struct dsc_export *r = visible(s, (uint32_t)e->deps[i].image, name, depth + 1, budget);
        if (r)
            return r;
    }
    return NULL;
}

const struct dsc_export *dsc_symbols_lookup(struct dsc_symbols *s, uint32_t image, const char *name)
{
    unsigned budget = DSC_SYMBOLS_LOOKUP_BUDGET;
    return visible(s, image, name, 0, &budget);
}

const struct dsc_export *dsc_symbols_find(struct dsc_symbols *s, uint32_t image, const char *name)
{
    const struct dsc_exports *e = set_of(s, image);
    return e ? dsc_exports_find(e, name) : NULL;
}

const struct dsc_dep *dsc_symbols_deps(struct dsc_symbols *s, uint32_t image, uint32_t *count)
{
    const struct dsc_exports *e = set_of(s, image);
    *count = e ? e->ndeps : 0;
    return e ? e->deps : NULL;
}

bool dsc_symbols_has_weak(struct dsc_symbols *s, uint32_t image)
{
    const struct dsc_exports *e = set_of(s, image);
    return e && e->nweak;
}

bool dsc_symbols_trie_plain(struct dsc_symbols *s, uint32_t image)
{
    const struct dsc_exports *e = set_of(s, image);
    return e && e->count && !e->nvariants;
}

/* The entry of `e` named `name`: the one after *last in name order when
 * it is at `addr` and so named (a symbol table listing its extdefs by
 * name, as linkers write them, costs one comparison each), else found
 * among the non-re-exports at `addr`, else searched for by name. */
static const struct dsc_export *find_near(const struct dsc_exports *e, const char *name, uint64_t addr,
                                          const struct dsc_export **last)
{
    const struct dsc_export *x = *last ? *last + 1 : e->by_name;
    if (x < e->by_name + e->count && x->address == addr && strcmp(x->name, name) == 0)
        return *last = x;
    size_t it = 0;
    while ((x = dsc_exports_next_at(e, addr, &it)) != NULL)
        if (strcmp(x->name, name) == 0)
            return *last = x;
    return (x = dsc_exports_find(e, name)) != NULL ? *last = x : NULL;
}

bool dsc_symbols_trie_within(struct dsc_symbols *s, uint32_t image, const char *const *names, const uint64_t *addrs,
                             size_t n, bool *same)
{
    const struct dsc_exports *e = set_of(s, image);
    if (same)
        *same = false;
    if (!e || !e->count)
        return false;
    uint8_t *seen = calloc(e->count, 1);
    if (!seen) {
        s->failed = true;
        return false;
    }
    size_t left = e->count;
    const struct dsc_export *last = NULL;
    for (size_t j = 0; j < n && left; j++) {
        const struct dsc_export *x = find_near(e, names[j], addrs[j], &last);
        if (x) {
            left -= !seen[x - e->by_name];
            seen[x - e->by_name] = 1;
        }
    }
    free(seen);
    /* left reaches 0 only once `count` names each matched a different
     * entry: with n == count, that is every name. */
    if (same)
        *same = left == 0 && n == e->count;
    return left == 0;
}

uint32_t dsc_symbols_ordinal(struct dsc_symbols *s, uint32_t image, const char *name)
{
    uint32_t n;
    const struct dsc_dep *deps = dsc_symbols_deps(s, image, &n);
    for (uint32_t i = 0; i < n; i++)
        if (deps[i].image >= 0 && dsc_symbols_lookup(s, (uint32_t)deps[i].image, name))
            return i + 1;
    return 0;
}

bool dsc_symbols_anywhere(struct dsc_symbols *s, const char *name)
{
    const dsc_cache *c = s->cache;
    for (uint32_t i = 0; i < c->nimages; i++) {
        struct dsc_macho mo;
        dsc_span trie, term;
        uint32_t off = 0, size = 0;
        if (dsc_macho_parse(c, i, &mo, NULL))
            continue;
        bool found = dsc_macho_export_trie(&mo, &off, &size) >= 0 && dsc_macho_linkedit(&mo, off, size, &trie) &&
                     dsc_trie_find(trie, name, &term);
        dsc_macho_free(&mo);
        if (found)
            return true;
    }
    return false;
}

/* ---- addresses ---- */

int64_t dsc_symbols_image_of(struct dsc_symbols *s, uint64_t addr)
{
    uint64_t start;
    const struct dsc_exports *e;
    /* In a dyld cache an image's __TEXT starts at its mach_header: the
     * image whose header is the last below addr holds it, if any does. */
    int64_t image = dsc_exports_header_below(s->cache, addr);
    if (image >= 0 && (e = set_of(s, (uint32_t)image)) && dsc_exports_holds(e, addr, &start))
        return image;
    /* Other segments: the view's own image, the images it reached, ... */
    if ((e = set_of(s, s->image)) && dsc_exports_holds(e, addr, &start))
        return s->image;
    for (size_t i = 0; i < s->npinned; i++)
        if (dsc_exports_holds(s->pins[i].set, addr, &start))
            return s->pins[i].image;
    /* ... and, outside code (__TEXT is the only executable segment of a
     * cache dylib; stub and island pools belong to no image), a scan of
     * every image's load commands, made once per cache. */
    const struct dsc_map *m = dsc_vm_map(s->cache, addr);
    if (!m || (m->info.max_prot & 4))
        return -1;
    image = dsc_exports_scan_image_of(s->cache, addr);
    if (image == -2)
        s->failed = true;
    return image >= 0 && (e = set_of(s, (uint32_t)image)) && dsc_exports_holds(e, addr, &start) ? image : -1;
}

static bool is_reexport(const struct dsc_export *x) { return x->flags & EXPORT_SYMBOL_FLAGS_REEXPORT; }

static bool is_absolute(const struct dsc_export *x)
{
    return !is_reexport(x) && (x->flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE;
}

/* The order of exports at one address: definitions, then re-exports; each
 * by image, then name. */
static int cmp_same_address(const struct dsc_export *x, const struct dsc_export *y)
{
    if (is_reexport(x) != is_reexport(y))
        return is_reexport(x) ? 1 : -1;
    if (x->image != y->image)
        return x->image < y->image ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_extra(const void *a, const void *b)
{
    const struct dsc_export *x = a, *y = b;
    if (x->address != y->address)
        return x->address < y->address ? -1 : 1;
    return cmp_same_address(x, y);
}

static int cmp_hit(const void *a, const void *b)
{
    return cmp_same_address(*(const struct dsc_export *const *)a, *(const struct dsc_export *const *)b);
}

/* The images a client of the view's image sees through, each once. */
struct reach {
    uint8_t *seen;                 /* by image */
    uint32_t *list;                /* the images seen, as found */
    size_t n, cap;
};

/* Add `image` and the dylibs it re-exports (depth first, bounded). */
static bool mark_reexported(struct dsc_symbols *s, uint32_t image, struct reach *r, unsigned depth)
{
    const struct dsc_exports *e;
    if (depth > DSC_SYMBOLS_MAX_DEPTH || r->seen[image] || !(e = set_of(s, image)))
        return true;
    r->seen[image] = 1;
    if (!DSC_GROW(r->list, r->n, r->cap, 16))
        return false;
    r->list[r->n++] = image;
    for (uint32_t i = 0; i < e->ndeps; i++)
        if (e->deps[i].cmd == LC_REEXPORT_DYLIB && e->deps[i].image >= 0 &&
            !mark_reexported(s, (uint32_t)e->deps[i].image, r, depth + 1))
            return false;
    return true;
}

static bool add_extra(struct dsc_symbols *s, const struct dsc_export *x, const struct dsc_export *def, size_t *cap)
{
    if (!DSC_GROW(s->extras, s->nextras, *cap, 64))
        return false;
    struct dsc_export *y = &s->extras[s->nextras++];
    *y = *x;
    y->address = def->address;
    y->resolver = def->resolver;
    y->resolved = true;
    return true;
}

/* `image`'s exports that are not at an address of its own: its absolute
 * symbols and its re-exports, resolved. */
static bool add_extras(struct dsc_symbols *s, uint32_t image, size_t *cap)
{
    const struct dsc_exports *e = set_of(s, image);
    for (size_t i = 0; e && e->nabsolute && i < e->count; i++)
        if (is_absolute(&e->by_name[i]) && !add_extra(s, &e->by_name[i], &e->by_name[i], cap))
            return false;
    for (size_t i = 0; e && i < e->nreexports; i++) {
        unsigned budget = DSC_SYMBOLS_LOOKUP_BUDGET;
        const struct dsc_export *def = resolve(s, e->reexports[i], 0, &budget);
        if (def && !add_extra(s, e->reexports[i], def, cap))
            return false;
    }
    return true;
}

/* The extras a client of the view's image can see: its own and those of
 * its dependencies and of what they re-export. Their order is made by the
 * sort alone (cmp_extra is total: an image lists a name once), not by the
 * order the images were found in. */
static void load_extras(struct dsc_symbols *s)
{
    uint32_t n, nimages = s->cache->nimages;
    struct reach r = {.seen = calloc(nimages ? nimages : 1, 1)};
    size_t cap = 0;
    bool ok = r.seen != NULL;
    s->have_extras = true;
    const struct dsc_dep *deps = ok ? dsc_symbols_deps(s, s->image, &n) : NULL;
    if (ok && s->image < nimages)
        r.seen[s->image] = 1;
    for (uint32_t i = 0; ok && deps && i < n; i++)
        if (deps[i].image >= 0)
            ok = mark_reexported(s, (uint32_t)deps[i].image, &r, 1);
    if (ok && s->image < nimages)
        ok = add_extras(s, s->image, &cap);
    for (size_t i = 0; ok && i < r.n; i++)
        ok = add_extras(s, r.list[i], &cap);
    if (!ok)
        s->failed = true;
    free(r.seen);
    free(r.list);
    dsc_sort(s->extras, s->nextras, sizeof *s->extras, cmp_extra);
}

static bool add_hit(struct dsc_symbols *s, const struct dsc_export *x)
{
    if (!DSC_GROW(s->hits, s->nhits, s->hits_cap, 16)) {
        s->failed = true;
        return false;
    }
    s->hits[s->nhits++] = x;
    return true;
}

size_t dsc_symbols_by_address(struct dsc_symbols *s, uint64_t addr, const struct dsc_export *const **first)
{
    s->nhits = 0;
    *first = s->hits;
    int64_t image = dsc_symbols_image_of(s, addr);
    const struct dsc_exports *e = image >= 0 ? set_of(s, (uint32_t)image) : NULL;
    size_t it = 0;
    for (const struct dsc_export *x; e && (x = dsc_exports_next_at(e, addr, &it)) != NULL;)
        if (!add_hit(s, x))
            return 0;
    if (!s->have_extras)
        load_extras(s);
    size_t i = dsc_lower_bound(s->extras, s->nextras, sizeof *s->extras, offsetof(struct dsc_export, address), addr);
    for (; i < s->nextras && s->extras[i].address == addr; i++)
        if ((is_reexport(&s->extras[i]) || s->extras[i].image != image) && !add_hit(s, &s->extras[i]))
            return 0;
    dsc_sort(s->hits, s->nhits, sizeof *s->hits, cmp_hit);
    *first = s->hits;
    return s->nhits;
}

const struct dsc_export *dsc_symbols_preceding(struct dsc_symbols *s, uint64_t addr)
{
    uint64_t start;
    int64_t image = dsc_symbols_image_of(s, addr);
    const struct dsc_exports *e = image >= 0 ? set_of(s, (uint32_t)image) : NULL;
    if (!e || !dsc_exports_holds(e, addr, &start))
        return NULL;
    const struct dsc_export *x = dsc_exports_preceding(s->cache, e, addr, &s->failed);
    return x && x->address >= start ? x : NULL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * symbols.c — build and query the cache-wide export index. See symbols.h.
 *
 * Build: for each image, its segments (for address -> image), its dylib
 * load commands and its export trie; then every re-export is followed once,
 * and two orders are sorted: (image, name) for name lookups and address for
 * reverse lookups.
 */
#include "index/symbols.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/trie.h"
#include "base/sort.h"
#include "base/grow.h"

/* Visits allowed to one lookup through re-exported dylibs (fan-out bound). */
#define LOOKUP_BUDGET 4096

enum resolve_state { UNRESOLVED = 0, RESOLVING, DONE };

struct entry {
    struct dsc_export pub;
    const struct dsc_export *definition; /* the non-re-export it ends at, or NULL */
    size_t name_off;                     /* into the pool, during the build */
    uint8_t state;
};

struct seg_range {
    uint64_t start, end;
    uint32_t image;
};

struct image_syms {
    size_t first, count;          /* its slice of `entries`, sorted by name */
    struct dsc_dep *deps;
    uint32_t ndeps;
};

struct dsc_symbols {
    const dsc_cache *cache;
    struct entry *entries;
    size_t nentries;
    const struct dsc_export **by_addr;
    size_t naddr;
    struct image_syms *images;
    struct seg_range *ranges;
    size_t nranges;
    char *pool;
    size_t pool_used, pool_cap, pool_limit;
};

/* ---- build: per image ---- */

static int add_range(struct dsc_symbols *s, const struct dsc_segment *seg, uint32_t image, size_t *cap)
{
    if (seg->vmsize == 0 || strcmp(seg->name, "__LINKEDIT") == 0)
        return 0;
    if (!DSC_GROW(s->ranges, s->nranges, *cap, 64))
        return -1;
    s->ranges[s->nranges++] = (struct seg_range){seg->vmaddr, seg->vmaddr + seg->vmsize, image};
    return 0;
}

static bool is_dylib_cmd(uint32_t cmd)
{
    return cmd == LC_LOAD_DYLIB || cmd == LC_LOAD_WEAK_DYLIB || cmd == LC_REEXPORT_DYLIB ||
           cmd == LC_LOAD_UPWARD_DYLIB || cmd == LC_LAZY_LOAD_DYLIB;
}

static int read_deps(struct dsc_symbols *s, const struct dsc_macho *mo, dsc_error *err)
{
    struct image_syms *is = &s->images[mo->image];
    uint64_t cur = 0;
    struct dsc_lc lc;
    is->deps = calloc(mo->ncmds ? mo->ncmds : 1, sizeof *is->deps);
    if (!is->deps)
        return dsc_image_fail_code(err, DSC_ERR_NOMEM, s->cache, mo->image, "out of memory");
    while (dsc_lc_next(mo, &cur, &lc)) {
        if (!is_dylib_cmd(lc.cmd))
            continue;
        const char *name;
        if (!dsc_macho_dylib_name(&lc, &name))
            return dsc_image_fail(err, s->cache, mo->image, "dylib load command name is out of its command");
        is->deps[is->ndeps++] = (struct dsc_dep){lc.cmd, dsc_cache_find_image(s->cache, name), name};
    }
    return 0;
}

/* The image's export trie, as cache bytes. */
static int find_trie(const struct dsc_macho *mo, dsc_span *trie, dsc_error *err)
{
    uint32_t off = 0, size = 0;
    *trie = (dsc_span){NULL, 0};
    if (dsc_macho_export_trie(mo, &off, &size) < 0)
        return dsc_image_fail(err, mo->cache, mo->image, "export trie command is too short");
    if (!dsc_macho_linkedit(mo, off, size, trie))
        return dsc_image_fail(err, mo->cache, mo->image, "export trie (0x%x bytes at 0x%x) is outside its LINKEDIT",
                              size, off);
    return 0;
}

struct trie_ctx {
    struct dsc_symbols *s;
    const struct dsc_macho *mo;
    size_t *entry_cap;
    dsc_error *err;
};

static int pool_add(struct dsc_symbols *s, const char *key, size_t len, size_t *off)
{
    if (s->pool_used + len + 1 > s->pool_limit)
        return -1;
    if (s->pool_used + len + 1 > s->pool_cap) {
        size_t ncap = s->pool_cap ? s->pool_cap : 4096;
        while (ncap < s->pool_used + len + 1)
            ncap *= 2;
        char *g = realloc(s->pool, ncap);
        if (!g)
            return -1;
        s->pool = g;
        s->pool_cap = ncap;
    }
    memcpy(s->pool + s->pool_used, key, len + 1);
    *off = s->pool_used;
    s->pool_used += len + 1;
    return 0;
}

static int parse_terminal(struct trie_ctx *t, const char *key, dsc_span term, struct dsc_export *e)
{
    uint64_t off = 0, flags, value;
    const dsc_cache *c = t->s->cache;
    if (!span_uleb(term, &off, &flags) || !span_uleb(term, &off, &value))
        return dsc_image_fail(t->err, c, t->mo->image, "export '%.200s': truncated trie terminal", key);
    e->flags = (uint32_t)flags;
    e->image = t->mo->image;
    if (flags & EXPORT_SYMBOL_FLAGS_REEXPORT) {
        if (value == 0 || value > UINT32_MAX ||
            !span_cstr(term, off, term.size - off, &e->import_name, NULL))
            return dsc_image_fail(t->err, c, t->mo->image, "re-export '%.200s': bad ordinal or name", key);
        e->reexport_ordinal = (uint32_t)value;
        return 0;
    }
    bool absolute = (flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE;
    uint64_t base = absolute ? 0 : dsc_cache_get_image(c, t->mo->image)->address;
    if (!dsc_add_ok(base, value, &e->address))
        return dsc_image_fail(t->err, c, t->mo->image, "export '%.200s': address overflows", key);
    if (flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER) {
        uint64_t r;
        if (!span_uleb(term, &off, &r) || !dsc_add_ok(base, r, &e->resolver))
            return dsc_image_fail(t->err, c, t->mo->image, "export '%.200s': bad resolver", key);
    }
    e->resolved = true;
    return 0;
}

static int on_export(void *vctx, const char *key, size_t key_len, dsc_span term)
{
    struct trie_ctx *t = vctx;
    struct dsc_symbols *s = t->s;
    if (!DSC_GROW(s->entries, s->nentries, *t->entry_cap, 256))
        return dsc_image_fail_code(t->err, DSC_ERR_NOMEM, s->cache, t->mo->image, "out of memory");
    struct entry *e = &s->entries[s->nentries];
    memset(e, 0, sizeof *e);
    if (parse_terminal(t, key, term, &e->pub))
        return -1;
    if (pool_add(s, key, key_len, &e->name_off))
        return dsc_image_fail(t->err, s->cache, t->mo->image,
                              "export names exceed %zu bytes (out of memory or a hostile trie)", s->pool_limit);
    s->nentries++;
    return 0;
}

static int index_image(struct dsc_symbols *s, uint32_t image, size_t *entry_cap, size_t *range_cap, dsc_error *err)
{
    struct dsc_macho mo;
    s->images[image].first = s->nentries;
    if (dsc_macho_parse(s->cache, image, &mo, err))
        return -1;
    int rc = read_deps(s, &mo, err);
    for (unsigned i = 0; rc == 0 && i < mo.nsegs; i++)
        if (add_range(s, &mo.segs[i], image, range_cap))
            rc = dsc_image_fail_code(err, DSC_ERR_NOMEM, s->cache, image, "out of memory");
    dsc_span trie;
    if (rc == 0)
        rc = find_trie(&mo, &trie, err);
    if (rc == 0 && trie.size) {
        struct trie_ctx t = {s, &mo, entry_cap, err};
        const char *file = s->cache->path;
        if (dsc_trie_walk(trie, on_export, &t, file, err))
            rc = -1;
    }
    s->images[image].count = s->nentries - s->images[image].first;
    dsc_macho_free(&mo);
    return rc;
}

/* ---- build: whole cache ---- */

static int cmp_entry_name(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return strcmp(x->pub.name, y->pub.name);
}

static int cmp_by_addr(const void *a, const void *b)
{
    const struct dsc_export *x = *(const struct dsc_export *const *)a, *y = *(const struct dsc_export *const *)b;
    if (x->address != y->address)
        return x->address < y->address ? -1 : 1;
    bool rx = x->flags & EXPORT_SYMBOL_FLAGS_REEXPORT, ry = y->flags & EXPORT_SYMBOL_FLAGS_REEXPORT;
    if (rx != ry)
        return rx ? 1 : -1;
    if (x->image != y->image)
        return x->image < y->image ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_range(const void *a, const void *b)
{
    const struct seg_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static struct entry *find_entry(const struct dsc_symbols *s, uint32_t image, const char *name)
{
    if (image >= s->cache->nimages)
        return NULL;
    size_t lo = s->images[image].first, hi = lo + s->images[image].count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(name, s->entries[mid].pub.name);
        if (r == 0)
            return &s->entries[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const struct dsc_export *visible(const struct dsc_symbols *s, struct dsc_symbols *building, uint32_t image,
                                        const char *name, unsigned depth, unsigned *budget);

/* Follow re-export `e` to its definition (build time only: memoised in the
 * entry; a cycle leaves it unresolved). */
static void resolve(struct dsc_symbols *s, struct entry *e, unsigned depth)
{
    if (e->state != UNRESOLVED)
        return;
    if (!(e->pub.flags & EXPORT_SYMBOL_FLAGS_REEXPORT)) {
        e->definition = &e->pub;
        e->state = DONE;
        return;
    }
    e->state = RESOLVING;
    const struct image_syms *is = &s->images[e->pub.image];
    uint32_t ord = e->pub.reexport_ordinal;
    if (depth < DSC_SYMBOLS_MAX_DEPTH && ord <= is->ndeps && is->deps[ord - 1].image >= 0) {
        const char *want = e->pub.import_name[0] ? e->pub.import_name : e->pub.name;
        unsigned budget = LOOKUP_BUDGET;
        uint32_t src = (uint32_t)is->deps[ord - 1].image;
        const struct dsc_export *def = visible(s, s, src, want, depth + 1, &budget);
        if (def) {
            e->definition = def;
            e->pub.address = def->address;
            e->pub.resolver = def->resolver;
            e->pub.resolved = true;
        }
    }
    e->state = DONE;
}

/* `building` is the index while it is being built (entries met are resolved
 * on the way), NULL afterwards (every entry is resolved already). */
static const struct dsc_export *visible(const struct dsc_symbols *s, struct dsc_symbols *building, uint32_t image,
                                        const char *name, unsigned depth, unsigned *budget)
{
    if (depth > DSC_SYMBOLS_MAX_DEPTH || *budget == 0 || image >= s->cache->nimages)
        return NULL;
    --*budget;
    struct entry *e = find_entry(s, image, name);
    if (e && building)
        resolve(building, e, depth);
    if (e)
        return e->definition; /* NULL when it could not be resolved */
    const struct image_syms *is = &s->images[image];
    for (uint32_t i = 0; i < is->ndeps; i++) {
        if (is->deps[i].cmd != LC_REEXPORT_DYLIB || is->deps[i].image < 0)
            continue;
        const struct dsc_export *r = visible(s, building, (uint32_t)is->deps[i].image, name, depth + 1, budget);
        if (r)
            return r;
    }
    return NULL;
}

static int finish(struct dsc_symbols *s, dsc_error *err)
{
    for (size_t i = 0; i < s->nentries; i++) {
        s->entries[i].pub.name = s->pool + s->entries[i].name_off;
        if (!s->entries[i].pub.import_name)
            s->entries[i].pub.import_name = s->entries[i].pub.name;
    }
    for (uint32_t i = 0; i < s->cache->nimages; i++)
        if (s->images[i].count)
            dsc_sort(s->entries + s->images[i].first, s->images[i].count, sizeof *s->entries, cmp_entry_name);
    for (size_t i = 0; i < s->nentries; i++)
        resolve(s, &s->entries[i], 0);
    s->by_addr = malloc((s->nentries ? s->nentries : 1) * sizeof *s->by_addr);
    if (!s->by_addr)
        return dsc_fail_oom(err, s->cache->path);
    for (size_t i = 0; i < s->nentries; i++)
        if (s->entries[i].pub.resolved)
            s->by_addr[s->naddr++] = &s->entries[i].pub;
    dsc_sort(s->by_addr, s->naddr, sizeof *s->by_addr, cmp_by_addr);
    dsc_sort(s->ranges, s->nranges, sizeof *s->ranges, cmp_range); /* NULL when no image has a segment */
    return 0;
}

/* Total bytes of every image's trie, to bound the name pool. */
static uint64_t total_trie_bytes(const dsc_cache *c)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < c->nimages; i++) {
        struct dsc_macho mo;
        dsc_span trie;
        if (dsc_macho_parse(c, i, &mo, NULL))
            continue;
        if (find_trie(&mo, &trie, NULL) == 0)
            total += trie.size;
        dsc_macho_free(&mo);
    }
    return total;
}

static int build(const dsc_cache *c, struct dsc_symbols **out, dsc_error *err)
{
    *out = NULL;
    struct dsc_symbols *s = calloc(1, sizeof *s);
    if (!s || !(s->images = calloc(c->nimages ? c->nimages : 1, sizeof *s->images))) {
        free(s);
        return dsc_fail_oom(err, c->path);
    }
    s->cache = c;
    s->pool_limit = (size_t)(total_trie_bytes(c) * DSC_SYMBOLS_POOL_RATIO + 4096);
    size_t entry_cap = 0, range_cap = 0;
    for (uint32_t i = 0; i < c->nimages; i++) {
        /* A damaged image must not cost every other image its binds: it
         * is left out of the index (its own extraction reports why). */
        size_t nranges = s->nranges;
        if (index_image(s, i, &entry_cap, &range_cap, NULL)) {
            s->nentries = s->images[i].first;
            s->images[i].count = 0;
            s->nranges = nranges;
            free(s->images[i].deps);
            s->images[i].deps = NULL;
            s->images[i].ndeps = 0;
        }
    }
    if (finish(s, err)) {
        dsc_symbols_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void dsc_symbols_free(struct dsc_symbols *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; s->images && i < s->cache->nimages; i++)
        free(s->images[i].deps);
    free(s->images);
    free(s->entries);
    free(s->by_addr);
    free(s->ranges);
    free(s->pool);
    free(s);
}

static void memo_free(void *memo) { dsc_symbols_free(memo); }

int dsc_symbols_get(const dsc_cache *c, const struct dsc_symbols **out, dsc_error *err)
{
    /* The index is a cache of derived data: the cache stays logically const. */
    dsc_cache *mc = (dsc_cache *)c;
    struct dsc_symbols *s = __atomic_load_n(&mc->memo, __ATOMIC_ACQUIRE), *mine = NULL;
    if (!s) {
        /* Built without the lock: the build reads mapped bytes, and a SIGBUS
         * jumping out of it must not leave the lock held (fs/guard.h). Two
         * first users may both build; the first to publish wins. */
        if (build(c, &mine, err))
            return -1;
        pthread_mutex_lock(&mc->memo_lock);
        if (!mc->memo) {
            mc->memo_free = memo_free;
            __atomic_store_n(&mc->memo, mine, __ATOMIC_RELEASE);
            mine = NULL;
        }
        s = mc->memo;
        pthread_mutex_unlock(&mc->memo_lock);
        dsc_symbols_free(mine);
    }
    *out = s;
    return 0;
}

/* ---- queries ---- */

size_t dsc_symbols_count(const struct dsc_symbols *s) { return s->nentries; }

const struct dsc_export *dsc_symbols_at(const struct dsc_symbols *s, size_t i)
{
    return i < s->nentries ? &s->entries[i].pub : NULL;
}

size_t dsc_symbols_by_address(const struct dsc_symbols *s, uint64_t addr, const struct dsc_export *const **first)
{
    size_t lo = 0, hi = s->naddr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->by_addr[mid]->address < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < s->naddr && s->by_addr[end]->address == addr)
        end++;
    *first = s->by_addr + lo;
    return end - lo;
}

/* Index of the segment range holding addr, or nranges. */
static size_t range_of(const struct dsc_symbols *s, uint64_t addr)
{
    size_t lo = 0, hi = s->nranges;
    while (lo < hi) { /* first range starting above addr */
        size_t mid = lo + (hi - lo) / 2;
        if (s->ranges[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && addr < s->ranges[lo - 1].end ? lo - 1 : s->nranges;
}

const struct dsc_export *dsc_symbols_preceding(const struct dsc_symbols *s, uint64_t addr)
{
    size_t r = range_of(s, addr);
    if (r == s->nranges)
        return NULL;
    const struct dsc_export *const *at;
    dsc_symbols_by_address(s, addr + 1, &at); /* first entry above addr */
    for (size_t i = (size_t)(at - s->by_addr); i-- > 0;) {
        const struct dsc_export *e = s->by_addr[i];
        if (e->address < s->ranges[r].start)
            return NULL;
        if (!(e->flags & EXPORT_SYMBOL_FLAGS_REEXPORT) && e->image == s->ranges[r].image)
            return e;
    }
    return NULL;
}

const struct dsc_export *dsc_symbols_find(const struct dsc_symbols *s, uint32_t image, const char *name)
{
    const struct entry *e = find_entry(s, image, name);
    return e ? &e->pub : NULL;
}

const struct dsc_export *dsc_symbols_lookup(const struct dsc_symbols *s, uint32_t image, const char *name)
{
    unsigned budget = LOOKUP_BUDGET;
    return visible(s, NULL, image, name, 0, &budget);
}

const struct dsc_dep *dsc_symbols_deps(const struct dsc_symbols *s, uint32_t image, uint32_t *count)
{
    if (image >= s->cache->nimages) {
        *count = 0;
        return NULL;
    }
    *count = s->images[image].ndeps;
    return s->images[image].deps;
}

uint32_t dsc_symbols_ordinal(const struct dsc_symbols *s, uint32_t image, const char *name)
{
    uint32_t n;
    const struct dsc_dep *deps = dsc_symbols_deps(s, image, &n);
    for (uint32_t i = 0; i < n; i++)
        if (deps[i].image >= 0 && dsc_symbols_lookup(s, (uint32_t)deps[i].image, name))
            return i + 1;
    return 0;
}

int64_t dsc_symbols_image_of(const struct dsc_symbols *s, uint64_t addr)
{
    size_t r = range_of(s, addr);
    return r < s->nranges ? (int64_t)s->ranges[r].image : -1;
}

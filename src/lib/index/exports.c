/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exports.c — per-image export sets and the memo that keeps them. See
 * exports.h.
 *
 * The memo (cache->memo, created on first use) holds one slot per image,
 * the byte count of the sets in memory, an LRU list of the unpinned ones,
 * the images ordered by header address, and the segment ranges of every
 * image once a lookup has needed them. Everything under cache->memo_lock is
 * heap memory: parses happen before the lock is taken.
 */
#include "index/exports.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/sort.h"
#include "base/trie.h"

struct range {
    uint64_t start, end;
    uint32_t image;
};

struct memo {
    struct dsc_exports **sets;     /* by image; NULL until made, or evicted */
    size_t bytes;                  /* of every set in `sets` */
    size_t budget;                 /* unpinned sets are evicted above it */
    struct dsc_exports *lru_head, *lru_tail; /* unpinned sets, most recent first */
    uint64_t *hdr_addr;            /* header addresses, sorted */
    uint32_t *hdr_image;           /* the image of each */
    uint32_t nimages;
    struct range *ranges;          /* every image's segments, sorted; once built */
    size_t nranges;
    bool have_ranges;
};

/* ---- parsing one image (no lock held) ---- */

/* Names are copied into chunks that never move (no realloc, so entries
 * point at them as they are made); the first is sized from the trie. */
struct dsc_exports_chunk {
    struct dsc_exports_chunk *next;
    size_t used, cap;
    char bytes[];
};

struct parse {
    const dsc_cache *c;
    const struct dsc_macho *mo;
    struct dsc_exports *e;
    uint64_t image_base;           /* the image's address: exports' offsets are from it */
    size_t cap;                    /* of e->by_name */
    size_t pool_bytes, pool_limit, next_chunk;
};

static bool is_dylib_cmd(uint32_t cmd)
{
    return cmd == LC_LOAD_DYLIB || cmd == LC_LOAD_WEAK_DYLIB || cmd == LC_REEXPORT_DYLIB ||
           cmd == LC_LOAD_UPWARD_DYLIB || cmd == LC_LAZY_LOAD_DYLIB;
}

static bool read_deps(struct parse *ps)
{
    struct dsc_exports *e = ps->e;
    uint64_t cur = 0;
    struct dsc_lc lc;
    e->deps = calloc(ps->mo->ncmds ? ps->mo->ncmds : 1, sizeof *e->deps);
    if (!e->deps)
        return false;
    while (dsc_lc_next(ps->mo, &cur, &lc)) {
        const char *name;
        if (!is_dylib_cmd(lc.cmd))
            continue;
        if (!dsc_macho_dylib_name(&lc, &name))
            return false;
        e->deps[e->ndeps++] = (struct dsc_dep){lc.cmd, dsc_cache_find_image(ps->c, name), name};
    }
    return true;
}

static bool read_segs(struct parse *ps)
{
    struct dsc_exports *e = ps->e;
    e->segs = calloc(ps->mo->nsegs ? ps->mo->nsegs : 1, sizeof *e->segs);
    if (!e->segs)
        return false;
    for (unsigned i = 0; i < ps->mo->nsegs; i++) {
        const struct dsc_segment *s = &ps->mo->segs[i];
        if (s->vmsize && strcmp(s->name, "__LINKEDIT") != 0 && dsc_add_ok(s->vmaddr, s->vmsize, &e->segs[e->nsegs].end))
            e->segs[e->nsegs++].start = s->vmaddr;
    }
    return true;
}

/* The image's export trie, as cache bytes; false when it is malformed. */
static bool find_trie(const struct dsc_macho *mo, dsc_span *trie)
{
    uint32_t off = 0, size = 0;
    *trie = (dsc_span){NULL, 0};
    return dsc_macho_export_trie(mo, &off, &size) >= 0 && dsc_macho_linkedit(mo, off, size, trie);
}

/* A new chunk for at least `need` bytes, twice the last one's size but
 * within the set's bound (the chunks' bytes, names and what chunk ends
 * leave unused, stay below pool_limit); NULL when out of memory or bound. */
static struct dsc_exports_chunk *pool_chunk(struct parse *ps, size_t need)
{
    struct dsc_exports_chunk *k;
    size_t cap = ps->next_chunk > need ? ps->next_chunk : need;
    size_t room = ps->pool_limit > ps->pool_bytes + sizeof *k ? ps->pool_limit - ps->pool_bytes - sizeof *k : 0;
    if (room < need)
        return NULL;
    if (cap > room)
        cap = room;
    if (!(k = malloc(sizeof *k + cap)))
        return NULL;
    *k = (struct dsc_exports_chunk){ps->e->pool, 0, cap};
    ps->e->pool = k;
    ps->pool_bytes += sizeof *k + cap;
    ps->next_chunk = 2 * cap;
    return k;
}

/* A copy of the NUL-terminated `key` (len bytes, then its NUL: the walk's
 * key buffer, or a name in a terminal) in the set's chunks; NULL when out
 * of memory or beyond the set's bound. Inline: one call per export. */
static inline const char *pool_add(struct parse *ps, const char *key, size_t len)
{
    struct dsc_exports_chunk *k = ps->e->pool;
    if ((!k || k->cap - k->used <= len) && !(k = pool_chunk(ps, len + 1)))
        return NULL;
    char *copy = memcpy(k->bytes + k->used, key, len + 1);
    k->used += len + 1;
    return copy;
}

/* A terminal's fields into x, whose name is set. */
static bool parse_terminal(struct parse *ps, dsc_span term, struct dsc_export *x)
{
    uint64_t off = 0, flags, value;
    if (!span_uleb(term, &off, &flags) || !span_uleb(term, &off, &value))
        return false;
    x->flags = (uint32_t)flags;
    x->image = ps->mo->image;
    if (flags & EXPORT_SYMBOL_FLAGS_REEXPORT) {
        const char *name;
        size_t len;
        if (value == 0 || value > UINT32_MAX || !span_cstr(term, off, term.size - off, &name, &len))
            return false;
        x->reexport_ordinal = (uint32_t)value;
        x->import_name = len ? pool_add(ps, name, len) : x->name;
        ps->e->nreexports++;
        return x->import_name != NULL;
    }
    bool absolute = (flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE;
    uint64_t base = absolute ? 0 : ps->image_base;
    if (!dsc_add_ok(base, value, &x->address))
        return false;
    if (flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER) {
        uint64_t r;
        if (!span_uleb(term, &off, &r) || !dsc_add_ok(base, r, &x->resolver))
            return false;
    }
    x->import_name = x->name;
    x->resolved = true;
    return true;
}

static int on_export(void *vctx, const char *key, size_t key_len, dsc_span term)
{
    struct parse *ps = vctx;
    struct dsc_exports *e = ps->e;
    if (!DSC_GROW(e->by_name, e->count, ps->cap, 16))
        return 1;
    struct dsc_export *x = &e->by_name[e->count];
    *x = (struct dsc_export){.name = pool_add(ps, key, key_len)};
    if (!x->name || !parse_terminal(ps, term, x))
        return 1;
    e->count++;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct dsc_export *)a)->name, ((const struct dsc_export *)b)->name);
}

/* The non-re-exports by address: an open-addressing table of 1 + their
 * index in by_name, at least twice as many slots as entries (so never
 * full), filled in name order, so a probe meets the entries at one
 * address in name order. No sort: a set is made for every image a
 * listing sizes, and most are asked for a few addresses or none. */
static bool alloc_addresses(struct dsc_exports *e)
{
    size_t n = 2;
    e->naddr = e->count - e->nreexports;
    while (n < 2 * e->naddr)
        n *= 2;
    e->addr_mask = n - 1;
    return (e->addr_slots = calloc(n, sizeof *e->addr_slots)) != NULL;
}

static void add_address(struct dsc_exports *e, size_t i)
{
    size_t k = dsc_hash_home(e->by_name[i].address, e->addr_mask);
    while (e->addr_slots[k])
        k = (k + 1) & e->addr_mask;
    e->addr_slots[k] = (uint32_t)i + 1;
}

/* By name (the walk's order when the trie was written sorted, as linkers
 * write it), then in one pass: the counts, the re-exports listed, the
 * addresses hashed. */
static bool index_entries(struct dsc_exports *e, bool sorted)
{
    if (!sorted)
        dsc_sort(e->by_name, e->count, sizeof *e->by_name, cmp_name);
    if (e->count >= UINT32_MAX || !alloc_addresses(e) ||
        (e->nreexports && !(e->reexports = malloc(e->nreexports * sizeof *e->reexports))))
        return false;
    size_t nre = 0, weak = 0, variants = 0, absolute = 0;
    for (size_t i = 0; i < e->count; i++) {
        uint32_t flags = e->by_name[i].flags;
        weak += (flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION) != 0;
        variants += (flags & EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT) != 0;
        if (flags & EXPORT_SYMBOL_FLAGS_REEXPORT) {
            e->reexports[nre++] = &e->by_name[i];
            continue;
        }
        absolute += (flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE;
        add_address(e, i);
    }
    e->nweak = weak;
    e->nvariants = variants;
    e->nabsolute = absolute;
    return true;
}

static void free_tables(struct dsc_exports *e)
{
    free(e->by_name);
    free(e->reexports);
    free(e->addr_slots);
    free((void *)atomic_load_explicit(&e->by_addr, memory_order_acquire));
    free(e->deps);
    free(e->segs);
    for (struct dsc_exports_chunk *k = e->pool, *next; k; k = next) {
        next = k->next;
        free(k);
    }
}

static void set_free(struct dsc_exports *e)
{
    if (e)
        free_tables(e);
    free(e);
}

/* Empty the set of a malformed image (it keeps only its slot). */
static void set_clear(struct dsc_exports *e)
{
    uint32_t image = e->image;
    free_tables(e);
    memset(e, 0, sizeof *e);
    e->image = image;
    e->bytes = sizeof *e;
}

/* Parse the trie and load commands; false when out of memory or malformed
 * (the caller tells them apart by what the set kept). */
static bool parse_image(struct parse *ps, dsc_span trie)
{
    if (!read_deps(ps) || !read_segs(ps))
        return false;
    ps->pool_limit = (size_t)trie.size * DSC_EXPORTS_POOL_RATIO + 4096;
    /* Real tries hold about as many name bytes as trie bytes (shared
     * prefixes against the terminals' and edges' own bytes), and each
     * entry takes some 10 trie bytes: a first guess, grown when short. */
    ps->next_chunk = (size_t)trie.size + trie.size / 2 + 64;
    ps->image_base = dsc_cache_get_image(ps->c, ps->mo->image)->address;
    if (trie.size && !dsc_grow(&ps->e->by_name, 0, &ps->cap, sizeof *ps->e->by_name, trie.size / 8 + 4))
        return false;
    bool sorted;
    return dsc_trie_walk_sorted(trie, on_export, ps, ps->c->path, NULL, &sorted) == 0 && index_entries(ps->e, sorted);
}

/* A new set for `image`, made from mapped bytes with no lock held; NULL
 * only when out of memory. */
static struct dsc_exports *make_set(const dsc_cache *c, uint32_t image)
{
    struct dsc_exports *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->image = image;
    struct dsc_macho mo;
    if (dsc_macho_parse(c, image, &mo, NULL)) {
        set_clear(e); /* malformed: empty */
        return e;
    }
    struct parse ps = {.c = c, .mo = &mo, .e = e};
    dsc_span trie;
    if (find_trie(&mo, &trie) && parse_image(&ps, trie))
        e->bytes = sizeof *e + ps.cap * sizeof *e->by_name + e->nreexports * sizeof *e->reexports +
                   (e->addr_mask + 1) * sizeof *e->addr_slots + mo.ncmds * sizeof *e->deps +
                   mo.nsegs * sizeof *e->segs + ps.pool_bytes;
    else
        set_clear(e); /* malformed, or out of memory: no exports */
    dsc_macho_free(&mo);
    return e;
}

/* ---- the memo ---- */

static void memo_free(struct memo *m)
{
    for (uint32_t i = 0; m->sets && i < m->nimages; i++)
        set_free(m->sets[i]);
    free(m->sets);
    free(m->hdr_addr);
    free(m->hdr_image);
    free(m->ranges);
    free(m);
}

/* dsc_cache_close's destructor: no other thread uses the cache then. */
static void cache_memo_free(void *m) { memo_free(m); }

static int cmp_hdr(const void *a, const void *b, void *vc)
{
    uint64_t x = dsc_cache_get_image(vc, *(const uint32_t *)a)->address, y = dsc_cache_get_image(vc, *(const uint32_t *)b)->address;
    return x < y ? -1 : x > y;
}

static struct memo *memo_new(const dsc_cache *c)
{
    struct memo *m = calloc(1, sizeof *m);
    size_t n = c->nimages ? c->nimages : 1;
    if (!m)
        return NULL;
    m->nimages = c->nimages;
    m->budget = DSC_EXPORTS_BUDGET;
    if (!(m->sets = calloc(n, sizeof *m->sets)) || !(m->hdr_addr = malloc(n * sizeof *m->hdr_addr)) ||
        !(m->hdr_image = malloc(n * sizeof *m->hdr_image))) {
        memo_free(m);
        return NULL;
    }
    for (uint32_t i = 0; i < c->nimages; i++)
        m->hdr_image[i] = i;
    dsc_sort_r(m->hdr_image, c->nimages, sizeof *m->hdr_image, cmp_hdr, (void *)c);
    for (uint32_t i = 0; i < c->nimages; i++)
        m->hdr_addr[i] = dsc_cache_get_image(c, m->hdr_image[i])->address;
    return m;
}

/* The cache's memo, made on first use (heap only: the image table was read
 * at open), with the lock held on return; NULL (unlocked) when out of memory. */
static struct memo *memo_lock(const dsc_cache *c)
{
    /* The memo is derived data: the cache stays logically const. */
    dsc_cache *mc = (dsc_cache *)c;
    pthread_mutex_lock(&mc->memo_lock);
    if (!mc->memo && (mc->memo = memo_new(c)) != NULL)
        mc->memo_free = cache_memo_free;
    if (!mc->memo)
        pthread_mutex_unlock(&mc->memo_lock);
    return mc->memo;
}

static void memo_unlock(const dsc_cache *c) { pthread_mutex_unlock(&((dsc_cache *)c)->memo_lock); }

static void lru_unlink(struct memo *m, struct dsc_exports *e)
{
    *(e->lru_prev ? &e->lru_prev->lru_next : &m->lru_head) = e->lru_next;
    *(e->lru_next ? &e->lru_next->lru_prev : &m->lru_tail) = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct memo *m, struct dsc_exports *e)
{
    e->lru_prev = NULL;
    e->lru_next = m->lru_head;
    *(m->lru_head ? &m->lru_head->lru_prev : &m->lru_tail) = e;
    m->lru_head = e;
}

/* Unpinned sets beyond the budget, least recently used first, moved to
 * `*dead` (freed by the caller once the lock is released). */
static void evict(struct memo *m, struct dsc_exports **dead)
{
    while (m->bytes > m->budget && m->lru_tail) {
        struct dsc_exports *e = m->lru_tail;
        lru_unlink(m, e);
        m->sets[e->image] = NULL;
        m->bytes -= e->bytes;
        e->lru_next = *dead;
        *dead = e;
    }
}

static void free_dead(struct dsc_exports *dead)
{
    for (struct dsc_exports *next; dead; dead = next) {
        next = dead->lru_next;
        set_free(dead);
    }
}

/* Pin the published set of `image`, or else publish `*mine` (NULLed then).
 * Returns the set now pinned, or NULL when there is none yet. */
static struct dsc_exports *pin(struct memo *m, uint32_t image, struct dsc_exports **mine, struct dsc_exports **dead)
{
    struct dsc_exports *e = m->sets[image];
    if (!e && *mine) {
        e = m->sets[image] = *mine;
        *mine = NULL;
        m->bytes += e->bytes;
    } else if (e && e->pins == 0) {
        lru_unlink(m, e);
    }
    if (e)
        e->pins++;
    evict(m, dead);
    return e;
}

const struct dsc_exports *dsc_exports_get(const dsc_cache *c, uint32_t image)
{
    struct dsc_exports *mine = NULL, *dead = NULL, *e;
    if (image >= c->nimages)
        return NULL;
    for (;;) {
        struct memo *m = memo_lock(c);
        if (!m)
            return NULL;
        e = pin(m, image, &mine, &dead);
        memo_unlock(c);
        /* Parsed outside the lock; a set another thread published
         * meanwhile wins and ours is dropped. */
        if (e || !(mine = make_set(c, image)))
            break;
    }
    set_free(mine);
    free_dead(dead);
    return e;
}

void dsc_exports_put(const dsc_cache *c, const struct dsc_exports *ce)
{
    struct dsc_exports *e = (struct dsc_exports *)ce, *dead = NULL;
    if (!e)
        return;
    struct memo *m = memo_lock(c); /* exists: it gave out `e` */
    if (--e->pins == 0)
        lru_push(m, e);
    evict(m, &dead);
    memo_unlock(c);
    free_dead(dead);
}

void dsc_cache_set_export_budget(const dsc_cache *c, size_t bytes)
{
    struct dsc_exports *dead = NULL;
    struct memo *m = memo_lock(c);
    if (!m)
        return;
    m->budget = bytes;
    evict(m, &dead);
    memo_unlock(c);
    free_dead(dead);
}

size_t dsc_cache_get_export_memory(const dsc_cache *c)
{
    struct memo *m = memo_lock(c);
    if (!m)
        return 0;
    size_t bytes = m->bytes;
    memo_unlock(c);
    return bytes;
}

/* ---- queries on one set ---- */

const struct dsc_export *dsc_exports_find(const struct dsc_exports *e, const char *name)
{
    size_t lo = 0, hi = e->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(name, e->by_name[mid].name);
        if (r == 0)
            return &e->by_name[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The non-re-exports by (address, name), made by the first query that
 * needs the order (heap memory only: no mapped bytes, no lock); one made
 * by another thread meanwhile wins. Counted in the set's bytes once made,
 * under the memo's lock (the set is published: its caller has it from
 * dsc_exports_get). NULL when out of memory. */
static const struct dsc_export *const *by_addr(const dsc_cache *c, const struct dsc_exports *ce)
{
    struct dsc_exports *e = (struct dsc_exports *)ce; /* the array is derived data */
    const struct dsc_export **v = atomic_load_explicit(&e->by_addr, memory_order_acquire), **none = NULL;
    if (v)
        return v;
    struct dsc_keyed *k = malloc((e->naddr ? e->naddr : 1) * sizeof *k);
    if (!k || !(v = malloc((e->naddr ? e->naddr : 1) * sizeof *v))) {
        free(k);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < e->count; i++)
        if (!(e->by_name[i].flags & EXPORT_SYMBOL_FLAGS_REEXPORT))
            k[n++] = (struct dsc_keyed){e->by_name[i].address, i};
    bool ok = dsc_sort_keyed(k, n); /* stable: by name among equal addresses */
    for (size_t i = 0; ok && i < n; i++)
        v[i] = &e->by_name[k[i].index];
    free(k);
    if (!ok) {
        free(v);
        return NULL;
    }
    if (!atomic_compare_exchange_strong_explicit(&e->by_addr, &none, v, memory_order_acq_rel, memory_order_acquire)) {
        free(v);
        return none;
    }
    struct memo *m = memo_lock(c);
    if (m) {
        e->bytes += e->naddr * sizeof *v;
        m->bytes += e->naddr * sizeof *v;
        memo_unlock(c);
    }
    return v;
}

const struct dsc_export *dsc_exports_preceding(const dsc_cache *c, const struct dsc_exports *e, uint64_t addr,
                                               bool *failed)
{
    if (!e->naddr)
        return NULL;
    const struct dsc_export *const *v = by_addr(c, e);
    if (!v) {
        *failed = true;
        return NULL;
    }
    size_t lo = 0, hi = e->naddr; /* the first above addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid]->address <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? v[lo - 1] : NULL;
}

bool dsc_exports_holds(const struct dsc_exports *e, uint64_t addr, uint64_t *start)
{
    for (unsigned i = 0; i < e->nsegs; i++)
        if (addr >= e->segs[i].start && addr < e->segs[i].end) {
            *start = e->segs[i].start;
            return true;
        }
    return false;
}

/* ---- address -> image ---- */

/* How many of `n` records keyed by a uint64_t at offset 0 have key <= addr. */
static size_t count_at_or_below(const void *base, size_t n, size_t size, uint64_t addr)
{
    return addr == UINT64_MAX ? n : dsc_lower_bound(base, n, size, 0, addr + 1);
}

int64_t dsc_exports_header_below(const dsc_cache *c, uint64_t addr)
{
    struct memo *m = memo_lock(c);
    if (!m)
        return -1;
    size_t i = count_at_or_below(m->hdr_addr, m->nimages, sizeof *m->hdr_addr, addr);
    int64_t image = i > 0 ? (int64_t)m->hdr_image[i - 1] : -1;
    memo_unlock(c);
    return image;
}

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Every image's segments, sorted (mapped bytes: no lock held); NULL when
 * out of memory. */
static struct range *scan_ranges(const dsc_cache *c, size_t *n)
{
    struct range *r = NULL;
    size_t cap = 0;
    *n = 0;
    for (uint32_t i = 0; i < c->nimages; i++) {
        struct dsc_macho mo;
        if (dsc_macho_parse(c, i, &mo, NULL))
            continue;
        for (unsigned k = 0; k < mo.nsegs; k++) {
            const struct dsc_segment *s = &mo.segs[k];
            uint64_t end;
            if (!s->vmsize || strcmp(s->name, "__LINKEDIT") == 0 || !dsc_add_ok(s->vmaddr, s->vmsize, &end))
                continue;
            if (!DSC_GROW(r, *n, cap, 256)) {
                dsc_macho_free(&mo);
                free(r);
                return NULL;
            }
            r[(*n)++] = (struct range){s->vmaddr, end, i};
        }
        dsc_macho_free(&mo);
    }
    dsc_sort(r, *n, sizeof *r, cmp_range);
    return r ? r : malloc(1);
}

int64_t dsc_exports_scan_image_of(const dsc_cache *c, uint64_t addr)
{
    struct memo *m = memo_lock(c);
    if (!m)
        return -2;
    if (!m->have_ranges) {
        memo_unlock(c);
        size_t n;
        struct range *r = scan_ranges(c, &n);
        if (!r || !(m = memo_lock(c))) {
            free(r);
            return -2;
        }
        if (!m->have_ranges) {
            m->ranges = r;
            m->nranges = n;
            m->have_ranges = true;
            r = NULL;
        }
        free(r);
    }
    /* The last range starting at or below addr. */
    size_t i = count_at_or_below(m->ranges, m->nranges, sizeof *m->ranges, addr);
    int64_t image = i > 0 && addr < m->ranges[i - 1].end ? (int64_t)m->ranges[i - 1].image : -1;
    memo_unlock(c);
    return image;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_impcaches.c — prebuilt IMP caches (--objc-opts FILE: Apple's ObjC
 * optimizations file; 64-bit arm64/arm64e, 0x200 header), placed and
 * emitted as Apple's builder does in dyld-1378. The classes and their
 * methods come from objc_impc_model.c.
 *
 * Facts relied on, read in dyld-1378 cache_builder/IMPCaches.cpp and
 * IMPCaches.hpp, NewSharedCacheBuilder.cpp (estimateIMPCaches),
 * CacheDylib.cpp (emitObjCIMPCaches), common/OptimizerObjC.h
 * (ImpCacheHeader_v2, ImpCacheEntry_v2) and objc4-951.1
 * runtime/objc-runtime-new.h (preopt_cache_t):
 *  - findShiftsAndMasks: the chosen classes with methods, by their
 *    neededClasses number (fillAllClasses); each tries its attempts, bits b
 *    = ceil(log2 n) and b + 1, every shift with shift + bits <= 17, sorted
 *    by (bits, bits still to fix, shift) (ClassData::attempts); an attempt
 *    (applyAttempt) takes the selectors by bits still to fix (std::sort),
 *    gives each a slot: its fixed bits' slot, or the first free one that a
 *    Fisher-Yates walk of 0..2^bits-1 offers (forEachRandomNumber, "copied
 *    from std::shuffle": the last element is never offered), drawing with
 *    std::uniform_int_distribution<ptrdiff_t> from one std::minstd_rand
 *    seeded with 0 (libc++: w = ceil(log2 range) bits of one engine call
 *    minus 1, redrawn at or above (2^31 - 2) rounded down to 2^w, then until
 *    inside the range); the selectors in libc++'s std::sort order
 *    (objc_impc_sort.c); a class that fails every attempt backtracks 1, 2,
 *    4.. classes (up to 1024), and after 10 failures goes back to the best
 *    snapshot and drops the class (BacktrackingState, dropClass,
 *    resetToSnapshot); duplicates and classes dropped before are dropped
 *    again, and with them every class of their flattening hierarchy;
 *  - solveGivenShiftsAndMasks: the selectors by (fixed bits, classes,
 *    name), greatest first, each into its 128-byte bag if there is more
 *    room than it needs (bag 0 holds 128 - 5 bytes after the magic
 *    selector; a selector over 64 bytes may run into empty bags after it),
 *    else where its classes' merged constraint allows (objc_impc_cons.c),
 *    else its classes are dropped;
 *  - computeLowBits: bag by bag, each selector at the next offset, a bag
 *    starting at its own offset unless the one before ran past it; the
 *    other selectors follow the last (estimateIMPCaches: "The selectors
 *    after this point need to start where the IMP caches ended");
 *  - a selector offset past 16 MB drops its classes; a mask over 0x7FF
 *    gets no cache (getIMPCache); a cache with a bucket whose offset does
 *    not hash to it is discarded (rdar://147219191);
 *  - each cache, in image order and class-then-metaclass order, is a
 *    16-byte header {i64 fallback_class_offset = fallback - class; u32
 *    shift:5 = shift + 7, mask:11, occupied:14, has_inlines:1 (0: only
 *    selectors inlined outside flattening set it), padding:1; u32 unused:31,
 *    bit_one:1} and 2^bits buckets {i64 imp_offset:38 = (class - IMP) >> 2;
 *    sel_offset:26 from the magic selector}; empty {0, 0x3FFFFFF}; the
 *    fallback is the flattening root's superclass, else the superclass;
 *  - the class_t *vtable* (+24) gets the cache's address, signed DA with
 *    address diversity and 0x9cff on arm64e (libobjcImpCachesVersion
 *    defaults to 4); a class whose vtable is set keeps it, its cache's
 *    space stays zero. `cache` (+16) keeps the input's bind to libobjc's
 *    __objc_empty_cache.
 * So, given the same classes and selectors, the offsets, shifts and masks
 * are those dyld-1378's IMPCaches.cpp computes when built against libc++
 * (LLVM 16 or later): tests/builder/impc-apple.sh compiles Apple's file
 * and compares on random inputs. Not modelled: the selector budget (75% of
 * 16 MB). The caches lie in one
 * read-only chunk with the other ObjC tables (layout.c).
 */
#include "impc.h"
#include "strpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPC_HEADER 16u
#define IMPC_EMPTY_SEL 0x3FFFFFFu
#define IMPC_DIVERSITY 0x9cff
#define BAG_SHIFT 7
#define BAG_SIZE (1 << BAG_SHIFT)
#define INDEX_BITS 17
#define MAX_INDEX ((1 << INDEX_BITS) - 1)   /* AddressSpace::maximumIndex */
#define MAGIC_SIZE 5                        /* the magic selector and its NUL */
#define MAX_MASK 0x7FF
#define SELECTOR_LIMIT (1 << 24)            /* buildImpCaches' selectorSizeLimit */

struct impc_plan {
    struct impc_model m;
    long *all;                  /* fillAllClasses: impc_data indices */
    size_t nall;
    int *bag_used;              /* AddressSpace::sizes */
    uint32_t gen;               /* solveGivenShiftsAndMasks' default_random_engine */
    bool *bag_key;              /* a bag that ever held a selector */
    bool *cache_of;             /* per impc_data: emitted (getIMPCache, not discarded) */
};

/* ---- libc++'s std::minstd_rand and uniform_int_distribution ---- */

static uint32_t minstd(uint32_t *x)
{
    *x = (uint32_t)((uint64_t)*x * 48271u % 2147483647u);
    return *x;
}

/* uniform_int_distribution<ptrdiff_t>(0, d) as libc++ draws it: w =
 * ceil(log2(d + 1)) bits from __independent_bits_engine (one engine call,
 * minus min() = 1, redrawn at or above (2^31 - 2) rounded down to 2^w,
 * masked to w bits), redrawn until <= d. */
static uint32_t uniform(uint32_t *x, uint32_t d)
{
    uint64_t rp = (uint64_t)d + 1, u;
    if (rp == 1)
        return 0;
    unsigned w = 63 - (unsigned)__builtin_clzll(rp);
    if (rp & ((1ULL << w) - 1))
        w++;
    if (w > 30)
        die("internal: IMP caches: a draw over 30 bits");
    uint64_t y0 = (2147483646ULL >> w) << w, e;
    do {
        do
            e = minstd(x) - 1u;
        while (e >= y0);
        u = e & ((1ULL << w) - 1);
    } while (u >= rp);
    return (uint32_t)u;
}

/* ---- findShiftsAndMasks ---- */

struct attempt {
    int bits, to_set, shift;
};

struct prev {
    uint32_t sel;
    int idx, fixed;
};

struct state {                  /* BacktrackingState */
    size_t cur;
    struct attempt *att;
    size_t natt;
    bool has_result;
    int old_bits, old_shift;    /* the result's previous state */
    struct prev *p;
    uint32_t np;
    uint32_t rng;
};

struct stack {
    struct state *v;
    size_t n;
};

static int to_set(const struct impc_sel *s, int shift, int mask)
{
    return __builtin_popcount(mask) - __builtin_popcount((s->fixed >> shift) & mask);
}

static int cmp_attempt(const void *a, const void *b)
{
    const struct attempt *x = a, *y = b;
    if (x->bits != y->bits)
        return x->bits < y->bits ? -1 : 1;
    if (x->to_set != y->to_set)
        return x->to_set < y->to_set ? -1 : 1;
    return x->shift < y->shift ? -1 : x->shift > y->shift;
}

/* ClassData::attempts */
static struct attempt *attempts(const struct impc_model *m, const struct impc_data *x, size_t *n)
{
    struct attempt *v = xcalloc(2 * (INDEX_BITS + 1), sizeof *v);
    *n = 0;
    for (int bits = x->bits; bits <= x->bits + 1; bits++)
        for (int shift = 0; shift <= INDEX_BITS - bits; shift++) {
            int sum = 0;
            for (uint32_t i = 0; i < x->n; i++)
                sum += to_set(&m->sel[x->m[i].sel], shift, (1 << bits) - 1);
            v[(*n)++] = (struct attempt){bits, sum, shift};
        }
    qsort(v, *n, sizeof *v, cmp_attempt);
    return v;
}

/* forEachRandomNumber's walk: the value offered next, or -1 when done. */
static int next_offer(int *vals, int max, int *first, uint32_t *rng)
{
    if (max <= 1)
        return *first == 0 && max == 1 ? vals[(*first)++] : -1;
    if (*first >= max - 1)
        return -1;
    int i = (int)uniform(rng, (uint32_t)(max - 1 - *first)), t = vals[*first];
    vals[*first] = vals[*first + i];
    vals[*first + i] = t;
    return vals[(*first)++];
}

/* One selector's slot in an attempt (-1: none); marks it used. */
static int pick_slot(const struct impc_sel *s, const struct attempt *a, bool *used, uint32_t *rng)
{
    int mask = (1 << a->bits) - 1, shifted = mask << a->shift;
    if ((s->fixed & shifted) == shifted) {
        int slot = (s->idx >> a->shift) & mask;
        if (used[slot])
            return -1;
        used[slot] = true;
        return slot;
    }
    int max = 1 << a->bits, first = 0, *vals = xcalloc((size_t)max, sizeof *vals), v;
    for (int i = 0; i < max; i++)
        vals[i] = i;
    while ((v = next_offer(vals, max, &first, rng)) >= 0) {
        int fut = s->idx | (v << a->shift), slot = (fut >> a->shift) & mask;
        if ((fut & s->fixed) == (s->idx & s->fixed) && !used[slot]) {
            used[slot] = true;
            break;
        }
    }
    free(vals);
    return v;
}

/* ClassData::applyAttempt; on success the state records what it changed. */
static bool apply(struct impc_model *m, struct impc_data *x, const struct attempt *a, uint32_t *rng,
                  struct state *st)
{
    int mask = (1 << a->bits) - 1;
    uint32_t *order = xcalloc(x->n + 1, sizeof *order);
    int *addr = xcalloc(x->n + 1, sizeof *addr);
    bool *used = xcalloc((size_t)1 << a->bits, sizeof *used), ok = true;
    struct impc_key *keys = xcalloc(x->n + 1, sizeof *keys);
    for (uint32_t i = 0; i < x->n; i++)     /* std::sort by bits to set */
        keys[i] = (struct impc_key){to_set(&m->sel[x->m[i].sel], a->shift, mask), x->m[i].sel};
    impc_libcxx_sort(keys, x->n);
    for (uint32_t i = 0; i < x->n; i++)
        order[i] = keys[i].sel;
    free(keys);
    for (uint32_t i = 0; i < x->n && ok; i++)
        ok = (addr[i] = pick_slot(&m->sel[order[i]], a, used, rng)) >= 0;
    if (ok) {
        st->has_result = true;
        st->old_bits = x->bits;
        st->old_shift = x->shift;
        st->p = xcalloc(x->n + 1, sizeof *st->p);
        st->np = x->n;
        for (uint32_t i = 0; i < x->n; i++) {
            struct impc_sel *s = &m->sel[order[i]];
            st->p[i] = (struct prev){order[i], s->idx, s->fixed};
            s->idx |= addr[i] << a->shift;
            s->fixed |= mask << a->shift;
        }
        x->bits = a->bits;
        x->shift = a->shift;
    }
    free(order);
    free(addr);
    free(used);
    return ok;
}

static void state_free(struct state *st)
{
    free(st->att);
    free(st->p);
}

static struct state state_copy(const struct state *st)
{
    struct state c = *st;
    c.att = xcalloc(st->natt + 1, sizeof *c.att);
    memcpy(c.att, st->att, st->natt * sizeof *c.att);
    c.p = NULL;
    if (st->p) {
        c.p = xcalloc(st->np + 1, sizeof *c.p);
        memcpy(c.p, st->p, st->np * sizeof *c.p);
    }
    return c;
}

static void push(struct stack *s, struct state st)
{
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = st;
}

struct search {
    struct impc_plan *pl;
    struct stack stack, best;
    size_t cur;
    int dropped;
    uint32_t rng;
};

/* backtrack(): undo the top state. */
static void back(struct search *se)
{
    struct impc_model *m = &se->pl->m;
    struct state *st = &se->stack.v[se->stack.n - 1];
    if (!st->has_result) {
        se->dropped--;
    } else {
        struct impc_data *x = &m->d[se->pl->all[se->stack.n - 1]];
        for (uint32_t i = 0; i < st->np; i++) {
            m->sel[st->p[i].sel].idx = st->p[i].idx;
            m->sel[st->p[i].sel].fixed = st->p[i].fixed;
        }
        x->shift = st->old_shift;
        x->bits = st->old_bits;
    }
    state_free(st);
    se->stack.n--;
}

static bool has_name(const struct impc_data *x, const char *name)
{
    for (size_t i = 0; i < x->nflat; i++)
        if (strcmp(x->flat_names[i], name) == 0)
            return true;
    return false;
}

/* forEachClassInFlatteningHierarchy: classes below `d` in its hierarchy
 * (the same root and root superclass); returns how many were dropped. */
static int drop_below(struct impc_plan *pl, long d)
{
    struct impc_model *m = &pl->m;
    const struct impc_data *p = &m->d[d];
    int n = 0;
    for (size_t i = 0; p->flat && i < pl->nall; i++) {
        struct impc_data *x = &m->d[pl->all[i]];
        if (pl->all[i] == d || !x->flat || x->root_super != p->root_super || strcmp(x->root_name, p->root_name) ||
            !has_name(x, m->k[p->cls].name) || !x->should_gen)
            continue;
        x->should_gen = false;
        x->dropped_by_flat = true;
        n++;
    }
    return n;
}

/* dropClass */
static void drop(struct search *se)
{
    long d = se->pl->all[se->cur];
    se->pl->m.d[d].should_gen = false;
    se->dropped += drop_below(se->pl, d);
    se->cur++;
    se->dropped++;
    push(&se->stack, (struct state){.rng = se->rng});
}

static bool same_state(const struct state *a, const struct state *b) { return a->cur == b->cur && a->rng == b->rng; }

/* resetToSnapshot */
static void reset_to_best(struct search *se)
{
    size_t first = SIZE_MAX, n = se->stack.n < se->best.n ? se->stack.n : se->best.n;
    for (size_t i = 0; i < n && first == SIZE_MAX; i++)
        if (!same_state(&se->stack.v[i], &se->best.v[i]))
            first = i;
    if (first == SIZE_MAX)
        first = n;
    while (se->stack.n > first)
        back(se);
    for (size_t i = se->stack.n; first < se->best.n && i < se->best.n; i++) {
        struct state st = state_copy(&se->best.v[i]);
        struct impc_data *x = &se->pl->m.d[se->pl->all[i]];
        if (st.has_result) {
            uint32_t rng = st.rng;
            free(st.p);
            st.p = NULL;
            if (!apply(&se->pl->m, x, &st.att[st.cur], &rng, &st))
                die("internal: IMP caches: a snapshot does not apply again");
            if (!x->dropped_by_flat)
                x->should_gen = true;
        } else {
            se->dropped++;
        }
        push(&se->stack, st);
    }
}

static void free_stack(struct stack *s)
{
    for (size_t i = 0; i < s->n; i++)
        state_free(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* Tries class se->cur's attempts from its state's; true when placed. */
static bool try_class(struct search *se, struct impc_data *x)
{
    struct state *st = &se->stack.v[se->cur];
    for (size_t op = st->cur; op < st->natt; op++) {
        uint32_t saved = se->rng;
        if (apply(&se->pl->m, x, &st->att[op], &se->rng, st)) {
            st->cur = op;
            st->rng = saved;
            return true;
        }
    }
    return false;
}

/* A class failed every attempt: back off, or give up on it. */
static void failed(struct search *se, size_t *len, unsigned *tries)
{
    state_free(&se->stack.v[--se->stack.n]);
    if (++*tries > 10) {
        reset_to_best(se);
        se->cur = se->stack.n;
        drop(se);
        *len = 1;
        *tries = 0;
        return;
    }
    if (se->cur > se->best.n) {
        free_stack(&se->best);
        for (size_t i = 0; i < se->stack.n; i++)
            push(&se->best, state_copy(&se->stack.v[i]));
        *len = 1;
    }
    if (se->cur == 0)
        die("IMP caches: backtracked to the first class without a solution");
    for (size_t j = 0; j < *len; j++) {
        back(se);
        se->cur--;
    }
    size_t twice = *len * 2 < se->cur ? *len * 2 : se->cur;
    *len = twice < 1 ? 1 : twice > 1024 ? 1024 : twice;
}

static int find_shifts_and_masks(struct impc_plan *pl)
{
    struct search se = {pl, {0}, {0}, 0, 0, 1};   /* minstd_rand(0): state 1 */
    size_t len = 1;
    unsigned tries = 0;
    while (se.cur < pl->nall) {
        struct impc_data *x = &pl->m.d[pl->all[se.cur]];
        if (!x->should_gen || x->dup_set) {
            drop(&se);
            continue;
        }
        if (se.cur >= se.stack.n) {
            struct state st = {.rng = se.rng};
            st.att = attempts(&pl->m, x, &st.natt);
            push(&se.stack, st);
        } else {
            se.stack.v[se.cur].cur++;
        }
        if (try_class(&se, x))
            se.cur++;
        else
            failed(&se, &len, &tries);
    }
    free_stack(&se.stack);
    free_stack(&se.best);
    return se.dropped;
}

static int prio(const struct impc_model *m, long d)
{
    const struct impc_class *k = &m->k[m->d[d].cls];
    return impc_names_find(&m->cf.needed, k->name, k->meta);
}

/* fillAllClasses: live, chosen, with methods, by neededClasses number. */
static void fill_all(struct impc_plan *pl)
{
    pl->nall = 0;
    for (size_t d = 0; d < pl->m.nd; d++) {
        if (!pl->m.d[d].live || !pl->m.d[d].should_gen || !pl->m.d[d].n)
            continue;
        size_t j = pl->nall++;
        for (; j > 0 && prio(&pl->m, pl->all[j - 1]) > prio(&pl->m, (long)d); j--)
            pl->all[j] = pl->all[j - 1];
        pl->all[j] = (long)d;
    }
}

/* ---- solveGivenShiftsAndMasks (AddressSpace) ---- */

static int bag_size(int idx) { return idx ? BAG_SIZE : BAG_SIZE - MAGIC_SIZE; }

/* sizeAvailableAtOrAfterIndex */
static int room_from(const struct impc_plan *pl, int idx)
{
    int room = bag_size(idx) - pl->bag_used[idx];
    if (room == 0)
        return 0;
    for (int j = idx + 1; j < MAX_INDEX && pl->bag_used[j] == 0; j++)
        room += bag_size(j);
    return room;
}

/* canPlaceMethodAtIndex */
static bool can_place(const struct impc_plan *pl, const struct impc_sel *s, int idx)
{
    int room = bag_size(idx) - pl->bag_used[idx], size = (int)strlen(s->name) + 1;
    if (room == 0)
        return false;
    return room > size || (size > 64 && room_from(pl, idx) >= size);
}

/* placeMethodAtIndex: a long selector runs into the empty bags after. */
static void place(struct impc_plan *pl, struct impc_sel *s, int idx, uint32_t seq)
{
    int left = (int)strlen(s->name) + 1, room = bag_size(idx) - pl->bag_used[idx];
    s->idx = idx;
    s->placed = true;
    s->seq = seq;
    pl->bag_key[idx] = true;
    if (room >= left) {
        pl->bag_used[idx] += left;
        return;
    }
    pl->bag_used[idx] = bag_size(idx);
    for (left -= room; left > 0; left -= pl->bag_used[idx]) {
        if (++idx > MAX_INDEX || pl->bag_used[idx])
            die("internal: IMP caches: a selector overflows into a used bag");
        pl->bag_used[idx] = left < bag_size(idx) ? left : bag_size(idx);
    }
}

/* dropClassesWithThisMethod */
static int drop_users(struct impc_plan *pl, const struct impc_sel *s)
{
    int n = 0;
    for (size_t i = 0; i < s->ncl; i++) {
        pl->m.d[s->classes[i]].should_gen = false;
        n++;
        drop_below(pl, s->classes[i]);
    }
    return n;
}

/* The first bucket index, in Apple's order, where `s` fits. */
static bool try_indices(struct impc_plan *pl, struct impc_sel *s, const struct impc_allowed *al, uint32_t seq)
{
    int modulo = al->mask + 1, mult = 1 << al->shift, count = ((MAX_INDEX + 1) >> al->shift) / modulo;
    if (count < 1)
        count = 1;
    int *addr = xcalloc((size_t)count, sizeof *addr);
    for (int i = 0; i < count; i++)
        addr[i] = i;
    bool found = false;
    for (int i = 0; i < count && !found; i++) {
        int rd = i + (int)uniform(&pl->gen, (uint32_t)(count - 1 - i)), base = addr[rd];
        addr[rd] = addr[i];
        addr[i] = base;
        for (size_t j = 0; j < al->n && !found; j++)
            for (int k = 0; k < mult && !found; k++) {
                int b = ((base * modulo + al->v[j]) << al->shift) | k;
                if (b < MAX_INDEX && can_place(pl, s, b)) {
                    place(pl, s, b, seq);
                    found = true;
                }
            }
    }
    free(addr);
    return found;
}

/* A selector whose bag is full: another index its classes' merged
 * constraint allows (objc_impc_cons.c), or its classes are dropped; the
 * manifest's "impc-moved" counts the moves. */
static int move_selector(struct impc_plan *pl, struct impc_sel *s, uint32_t seq)
{
    struct impc_allowed al;
    if (!impc_merged(&pl->m, (uint32_t)(s - pl->m.sel), &al))
        return 0;       /* only in classes just dropped */
    bool found = al.n && try_indices(pl, s, &al, seq);
    free(al.v);
    if (found) {
        pl->m.moved++;
        return 0;
    }
    return drop_users(pl, s);
}

static int cmp_sel(const struct impc_sel *a, const struct impc_sel *b)
{
    int fa = __builtin_popcount((unsigned)a->fixed), fb = __builtin_popcount((unsigned)b->fixed);
    if (fa != fb)
        return fa > fb ? -1 : 1;
    if (a->ncl != b->ncl)
        return a->ncl > b->ncl ? -1 : 1;
    return -strcmp(a->name, b->name);
}

static struct impc_model *sort_model;   /* qsort has no context in C11 */

static int cmp_sel_index(const void *a, const void *b)
{
    return cmp_sel(&sort_model->sel[*(const uint32_t *)a], &sort_model->sel[*(const uint32_t *)b]);
}

static int solve(struct impc_plan *pl)
{
    struct impc_model *m = &pl->m;
    uint32_t *v = xcalloc(m->nsel + 1, sizeof *v), n = 0;
    int dropped = 0;
    pl->gen = 1;        /* default_random_engine (libc++: minstd_rand), seed 1 */
    for (uint32_t i = 0; i < m->nsel; i++)
        if (m->sel[i].live && m->sel[i].ncl)
            v[n++] = i;
    sort_model = m;
    qsort(v, n, sizeof *v, cmp_sel_index);
    for (uint32_t i = 0; i < n; i++) {
        struct impc_sel *s = &m->sel[v[i]];
        if (can_place(pl, s, s->idx))
            place(pl, s, s->idx, i);
        else
            dropped += move_selector(pl, s, i);
    }
    free(v);
    return dropped;
}

static int cmp_bag(const void *a, const void *b)
{
    const struct impc_sel *x = &sort_model->sel[*(const uint32_t *)a], *y = &sort_model->sel[*(const uint32_t *)b];
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_offset(const void *a, const void *b)
{
    const struct impc_sel *x = &sort_model->sel[*(const uint32_t *)a], *y = &sort_model->sel[*(const uint32_t *)b];
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The placed selectors still used, sorted by `cmp` (malloc'd). */
static uint32_t *placed_sorted(struct impc_model *m, int (*cmp)(const void *, const void *), uint32_t *n)
{
    uint32_t *v = xcalloc(m->nsel + 1, sizeof *v);
    *n = 0;
    for (uint32_t i = 0; i < m->nsel; i++)
        if (m->sel[i].live && m->sel[i].placed)
            v[(*n)++] = i;
    sort_model = m;
    qsort(v, *n, sizeof *v, cmp);
    return v;
}

/* computeLowBits: offsets from the magic selector, bag by bag (a bag
 * whose selectors were all removed still moves the end to its start). */
static void low_bits(struct impc_plan *pl)
{
    struct impc_model *m = &pl->m;
    uint32_t n, *v = placed_sorted(m, cmp_bag, &n);
    int end = MAGIC_SIZE, bag = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct impc_sel *s = &m->sel[v[i]];
        for (; bag <= s->idx; bag++)
            if (pl->bag_key[bag] && (bag << BAG_SHIFT) > end)
                end = bag << BAG_SHIFT;
        s->offset = end;
        end += (int)strlen(s->name) + 1;
    }
    free(v);
}

/* buildPerfectHashes, then the selectors past the limit. */
static void build(struct impc_plan *pl)
{
    struct impc_model *m = &pl->m;
    pl->all = xcalloc(m->nd + 1, sizeof *pl->all);
    pl->bag_used = xcalloc(MAX_INDEX + 2, sizeof *pl->bag_used);
    pl->bag_key = xcalloc(MAX_INDEX + 2, sizeof *pl->bag_key);
    fill_all(pl);
    if (find_shifts_and_masks(pl) > 0)
        impc_remove_uninteresting(m);
    fill_all(pl);
    if (solve(pl) > 0)
        impc_remove_uninteresting(m);
    low_bits(pl);
    bool dropped = false;
    for (size_t i = 0; i < m->nsel; i++)
        for (size_t j = 0; m->sel[i].live && m->sel[i].offset >= SELECTOR_LIMIT && j < m->sel[i].ncl; j++) {
            dropped |= m->d[m->sel[i].classes[j]].should_gen;
            m->d[m->sel[i].classes[j]].should_gen = false;
        }
    if (dropped)
        impc_remove_uninteresting(m);
}

/* ---- the plan and the emission ---- */

bool impc_enabled(const struct cache *c) { return c->opt.objc_opts != NULL; }

/* estimateIMPCaches: 64-bit, libobjc (if any) with __objc_scoffs. */
static bool eligible(struct cache *c)
{
    const struct image *objc = objc_libobjc(c);
    return c->selectors && c->ai->ptr_size == 8 && c->opt.header_size >= 0x200 &&
           (!objc || image_sect(objc, "__DATA_CONST", "__objc_scoffs"));
}

/* Builder::forEachSelector: the caches' selectors at their offsets from
 * the magic selector (pool offset 1), the others to follow the last. */
static void put_selectors(struct impc_plan *pl, struct strpool *pool)
{
    struct impc_model *m = &pl->m;
    uint32_t n, *v = placed_sorted(m, cmp_offset, &n);
    for (uint32_t i = 0; i < n; i++)
        strpool_put(pool, m->sel[v[i]].name, 1 + (uint32_t)m->sel[v[i]].offset);
    free(v);
}

/* getIMPCache and the rdar://147219191 check: whether data `d` gets a
 * cache. */
static bool gets_cache(struct impc_plan *pl, long d)
{
    const struct impc_data *x = &pl->m.d[d];
    int mask = (1 << x->bits) - 1;
    if (!x->live || mask > MAX_MASK)
        return false;
    for (uint32_t i = 0; i < x->n; i++) {
        const struct impc_sel *s = &pl->m.sel[x->m[i].sel];
        if (((s->idx >> x->shift) & mask) != ((s->offset >> (x->shift + BAG_SHIFT)) & mask)) {
            pl->m.discarded++;
            return false;
        }
    }
    return true;
}

void objc_impcaches_place(struct cache *c)
{
    if (!impc_enabled(c) || !eligible(c))
        return;
    struct impc_plan *pl = xcalloc(1, sizeof *pl);
    c->impc = pl;
    impc_model_build(&pl->m, c, c->opt.objc_opts);
    build(pl);
    put_selectors(pl, c->selectors);
    pl->cache_of = xcalloc(pl->m.nd + 1, sizeof *pl->cache_of);
    for (size_t k = 0; k < pl->m.nk; k++)
        if (pl->m.data_of && pl->m.data_of[k] >= 0)
            pl->cache_of[pl->m.data_of[k]] = gets_cache(pl, pl->m.data_of[k]);
    if (pl->m.discarded)
        fprintf(stderr, "dscbuild: [ERROR] discarded IMP caches: %llu\n", (unsigned long long)pl->m.discarded);
}

void objc_impcaches_plan(struct cache *c)
{
    struct impc_plan *pl = c->impc;
    if (!impc_enabled(c))
        return;
    if (!c->objc_ro_size || !pl)
        die("--objc-opts needs a 64-bit cache with an ObjC optimisation header (0x200)");
    for (size_t d = 0; d < pl->m.nd; d++)
        if (pl->cache_of[d])
            c->impc_size += IMPC_HEADER + 8ULL * (1u << pl->m.d[d].bits);
}

/* The vtable slot gets the cache; DA, address-diversified, 0x9cff on
 * arm64e (libobjcImpCachesVersion 4: our libobjc exports no
 * _objc_opt_preopt_caches_version, and 4 is Apple's default). */
static void set_vtable(struct cache *c, struct image *img, uint64_t field, uint64_t target)
{
    if (image_ptr_at(img, field))
        die("%s: class vtable at 0x%llx already holds a pointer", img->in_path, (unsigned long long)field);
    bool auth = c->opt.arch == ARCH_ARM64E;
    img->ptrs = xrealloc(img->ptrs, (img->nptrs + 1) * sizeof *img->ptrs);
    img->ptrs[img->nptrs++] = (struct ptr){field, target, auth, auth ? 2 : 0, auth, auth ? IMPC_DIVERSITY : 0, false, false};
}

static uint64_t cache_addr(struct cache *c, const struct impc_class *k)
{
    uint64_t a;
    if (!image_reloc(&c->images[k->img], k->addr, &a))
        die("%s: class 0x%llx is outside the image", c->images[k->img].in_path, (unsigned long long)k->addr);
    return a;
}

/* The fallback class: the flattening root's superclass, else the
 * superclass as the cache has it (0 if none). */
static uint64_t fallback(struct cache *c, const struct impc_model *m, const struct impc_data *x, uint64_t cls)
{
    if (x->flat)
        return cache_addr(c, &m->k[x->root_super]);
    const struct ptr *super = image_ptr_at(&c->images[m->k[x->cls].img], cls + 8);
    return super ? super->target : 0;
}

/* emitObjCIMPCaches: header and buckets of data `d`'s cache at `at`. */
static void emit_class(struct cache *c, const struct impc_model *m, const struct impc_data *x, uint64_t at)
{
    const struct impc_class *k = &m->k[x->cls];
    uint64_t cls = cache_addr(c, k), base = objc_selector_base(c);
    uint32_t size = 1u << x->bits, mask = size - 1;
    uint8_t *h = cache_bytes(c, at, IMPC_HEADER + 8ULL * size);
    dsc_put64(h, fallback(c, m, x, cls) - cls);
    dsc_put32(h + 8, (uint32_t)(x->shift + BAG_SHIFT) | mask << 5 | x->n << 16);
    dsc_put32(h + 12, 1u << 31);                        /* bit_one */
    for (uint32_t b = 0; b < size; b++)
        dsc_put64(h + IMPC_HEADER + 8ULL * b, (uint64_t)IMPC_EMPTY_SEL << 38);
    for (uint32_t i = 0; i < x->n; i++) {
        const struct impc_sel *s = &m->sel[x->m[i].sel];
        uint32_t off;
        uint64_t imp;
        if (!strpool_find(c->selectors, s->name, &off) || c->selbuf_addr + off - base != (uint64_t)s->offset ||
            !image_reloc(&c->images[x->m[i].img], impc_method_imp(m, &x->m[i], k->meta), &imp))
            die("%s: IMP cache method %s is not placed", c->images[k->img].in_path, s->name);
        uint8_t *e = h + IMPC_HEADER + 8ULL * (((uint32_t)s->idx >> x->shift) & mask);
        if (dsc_le64(e) >> 38 != IMPC_EMPTY_SEL)
            die("internal: IMP cache slot taken twice");
        dsc_put64(e, (uint64_t)s->offset << 38 | ((uint64_t)((int64_t)(cls - imp) >> 2) & ((1ULL << 38) - 1)));
    }
    set_vtable(c, &c->images[k->img], cls + 24, at);
}

void objc_impcaches_emit(struct cache *c)
{
    struct impc_plan *pl = c->impc;
    if (!c->impc_size)
        return;
    uint64_t cursor = c->impc_addr;
    for (size_t k = 0; k < pl->m.nk; k++) {
        long d = pl->m.data_of[k];
        if (d < 0 || !pl->cache_of[d])
            continue;
        if (!pl->m.k[k].list.vtable) {  /* a vtable already set: the space stays zero */
            emit_class(c, &pl->m, &pl->m.d[d], cursor);
            c->stats_impcaches++;
        }
        cursor += IMPC_HEADER + 8ULL * (1u << pl->m.d[d].bits);
    }
    for (size_t i = 0; i < c->nimages; i++)
        image_sort_ptrs(&c->images[i]);
    if (cursor != c->impc_addr + c->impc_size)
        die("internal: IMP caches outgrew their plan");
}

uint64_t objc_impcaches_moved(const struct cache *c) { return c->impc ? c->impc->m.moved : 0; }

void objc_impcaches_free(struct cache *c)
{
    struct impc_plan *pl = c->impc;
    if (!pl)
        return;
    impc_model_free(&pl->m);
    free(pl->all);
    free(pl->bag_used);
    free(pl->bag_key);
    free(pl->cache_of);
    free(pl);
    c->impc = NULL;
}

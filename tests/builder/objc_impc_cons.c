/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_impc_cons.c — where a selector goes when its 128-byte bag is full,
 * as dyld-1378 IMPCaches.cpp solveGivenShiftsAndMasks decides it.
 *
 * Facts relied on (dyld-1378 IMPCaches.cpp, IMPCaches.hpp):
 *  - each class of the selector that still gets a cache, in the order the
 *    selector met them (Selector::classes), gives a Constraint: its mask,
 *    its shift and the slots its other methods leave free
 *    (constraintForMethod); a ConstraintSet skips one equal to one it has
 *    and intersects the rest into one (Constraint::intersecting, four
 *    cases by where the two bit ranges lie); none allowed drops the
 *    classes;
 *  - the bucket indices tried are ((base * modulo + j) << shift) | k: base
 *    from a Fisher-Yates walk of 0..count-1 drawn with a
 *    std::default_random_engine made once per pass
 *    (uniform_int_distribution<int>(i, count - 1)), j over the allowed
 *    values, k from 0 up; the first index below 2^17 - 1 with room wins.
 * The allowed values are a std::unordered_set<int>, so "over the allowed
 * values" means in the order libc++'s hash table keeps them. That order is
 * reproduced here (LLVM libc++ __hash_table, unchanged in this respect
 * across the versions Apple ships): std::hash<int> is the identity; a
 * bucket is h & (n - 1) for a power of two n, else h % n; buckets grow to
 * max(2n + !(n > 2 && n power of two), size + 1), rounded up to a prime
 * unless a power of two, from 2 for the first node; a node for an empty
 * bucket goes to the front of the list, else right after its bucket's
 * predecessor; a rehash keeps runs and moves each node whose bucket
 * already exists behind that bucket's predecessor; a copy rehashes to the
 * source's bucket count and inserts in its order; a move keeps the order.
 * Apple's results use its default engine, minstd_rand (libc++).
 */
#include "impc.h"

#include <stdlib.h>
#include <string.h>

/* ---- libc++ std::unordered_set<int> (values >= 0) ---- */

struct uset {
    int *val;
    long *next;                 /* node 0 is the list's anchor; -1 ends */
    size_t n, cap;              /* nodes, anchor included */
    size_t bc;
    long *bucket;               /* the node before each bucket's first, -1 */
};

static void uset_init(struct uset *u)
{
    memset(u, 0, sizeof *u);
    u->cap = 8;
    u->val = xcalloc(u->cap, sizeof *u->val);
    u->next = xcalloc(u->cap, sizeof *u->next);
    u->n = 1;
    u->next[0] = -1;
}

static void uset_free(struct uset *u)
{
    free(u->val);
    free(u->next);
    free(u->bucket);
    memset(u, 0, sizeof *u);
}

static size_t uset_size(const struct uset *u) { return u->n - 1; }

static size_t constrain(size_t h, size_t bc) { return !(bc & (bc - 1)) ? h & (bc - 1) : h < bc ? h : h % bc; }

static size_t next_prime(size_t n)
{
    for (;; n++) {
        bool prime = n >= 2;
        for (size_t d = 2; prime && d * d <= n; d++)
            prime = n % d != 0;
        if (prime)
            return n;
    }
}

/* __do_rehash<true> */
static void do_rehash(struct uset *u, size_t nbc)
{
    free(u->bucket);
    u->bucket = xmalloc(nbc * sizeof *u->bucket);
    u->bc = nbc;
    for (size_t i = 0; i < nbc; i++)
        u->bucket[i] = -1;
    long pp = 0, cp = u->next[0];
    if (cp < 0)
        return;
    size_t phash = constrain((size_t)u->val[cp], nbc);
    u->bucket[phash] = pp;
    for (pp = cp, cp = u->next[cp]; cp >= 0; cp = u->next[pp]) {
        size_t ch = constrain((size_t)u->val[cp], nbc);
        if (ch == phash) {
            pp = cp;
        } else if (u->bucket[ch] < 0) {
            u->bucket[ch] = pp;
            pp = cp;
            phash = ch;
        } else {
            u->next[pp] = u->next[cp];
            u->next[cp] = u->next[u->bucket[ch]];
            u->next[u->bucket[ch]] = cp;
        }
    }
}

/* __rehash_unique(n), growing only (all our tables grow) */
static void rehash(struct uset *u, size_t n)
{
    if (n == 1)
        n = 2;
    else if (n & (n - 1))
        n = next_prime(n);
    if (n > u->bc)
        do_rehash(u, n);
}

static bool uset_has(const struct uset *u, int v)
{
    if (!u->bc)
        return false;
    size_t ch = constrain((size_t)v, u->bc);
    long nd = u->bucket[ch];
    if (nd < 0)
        return false;
    for (nd = u->next[nd]; nd >= 0 && constrain((size_t)u->val[nd], u->bc) == ch; nd = u->next[nd])
        if (u->val[nd] == v)
            return true;
    return false;
}

/* __emplace_unique_key_args */
static void uset_insert(struct uset *u, int v)
{
    if (uset_has(u, v))
        return;
    size_t size = uset_size(u), bc = u->bc;
    if ((float)(size + 1) > (float)bc || bc == 0) {
        size_t grow = 2 * bc + !(bc > 2 && !(bc & (bc - 1)));
        rehash(u, grow > size + 1 ? grow : size + 1);
    }
    if (u->n == u->cap) {
        u->cap *= 2;
        u->val = xrealloc(u->val, u->cap * sizeof *u->val);
        u->next = xrealloc(u->next, u->cap * sizeof *u->next);
    }
    long h = (long)u->n++;
    size_t ch = constrain((size_t)v, u->bc);
    u->val[h] = v;
    long pn = u->bucket[ch];
    if (pn < 0) {
        u->next[h] = u->next[0];
        u->next[0] = h;
        u->bucket[ch] = 0;
        if (u->next[h] >= 0)
            u->bucket[constrain((size_t)u->val[u->next[h]], u->bc)] = h;
    } else {
        u->next[h] = u->next[pn];
        u->next[pn] = h;
    }
}

/* The copy constructor. */
static void uset_copy(struct uset *to, const struct uset *from)
{
    uset_init(to);
    rehash(to, from->bc);
    for (long i = from->next[0]; i >= 0; i = from->next[i])
        uset_insert(to, from->val[i]);
}

/* ---- Constraint ---- */

struct cons {
    int mask, shift;
    struct uset v;
};

/* A Constraint returned from a local set: copied into place. */
static struct cons made(int mask, int shift, struct uset *tmp)
{
    struct cons c = {mask, shift, {0}};
    uset_copy(&c.v, tmp);
    uset_free(tmp);
    return c;
}

static struct cons copied(const struct cons *a)
{
    struct cons c = {a->mask, a->shift, {0}};
    uset_copy(&c.v, &a->v);
    return c;
}

static int fls_int(int x) { return x ? 32 - __builtin_clz((unsigned)x) : 0; }

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

/* A std::set<int>: sorted, unique, in place; returns the count. */
static size_t ordered(int *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_int);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (!o || v[o - 1] != v[i])
            v[o++] = v[i];
    return o;
}

/* Constraint::intersecting, the [self]....[other] case. */
static struct cons apart(const struct cons *a, const struct cons *b)
{
    int sm = a->mask << a->shift, osm = b->mask << b->shift;
    int oh = fls_int(osm) - 1, olen = fls_int(b->mask + 1) - 1, nun = a->shift - oh - 1, maxun = nun > 0 ? 1 << nun : 1;
    int *s = xcalloc(uset_size(&a->v) * (size_t)maxun + 1, sizeof *s);
    size_t n = 0;
    for (long i = a->v.next[0]; i >= 0; i = a->v.next[i])
        for (int un = 0; un < maxun; un++)
            s[n++] = nun > 0 ? ((a->v.val[i] << nun) | un) << olen : a->v.val[i] << olen;
    n = ordered(s, n);
    struct uset tmp;
    uset_init(&tmp);
    for (size_t i = 0; i < n; i++)
        for (long j = b->v.next[0]; j >= 0; j = b->v.next[j])
            uset_insert(&tmp, s[i] | b->v.val[j]);
    free(s);
    return made(((1 << fls_int(sm)) - 1) >> b->shift, b->shift, &tmp);
}

/* The bits of each value of `c` inside `imask`, as a sorted set. */
static size_t bits_in(const struct cons *c, int imask, int shift, int *out)
{
    size_t n = 0;
    for (long i = c->v.next[0]; i >= 0; i = c->v.next[i])
        out[n++] = ((c->v.val[i] << c->shift) & imask) >> shift;
    return ordered(out, n);
}

/* Constraint::intersecting, the overlapping case. */
static struct cons overlap(const struct cons *a, const struct cons *b)
{
    int sm = a->mask << a->shift, osm = b->mask << b->shift, imask = sm & osm;
    int *x = xcalloc(uset_size(&a->v) + 1, sizeof *x), *y = xcalloc(uset_size(&b->v) + 1, sizeof *y);
    size_t nx = bits_in(a, imask, a->shift, x), ny = bits_in(b, imask, a->shift, y), ni = 0;
    for (size_t i = 0, j = 0; i < nx && j < ny;)   /* std::set_intersection */
        if (x[i] < y[j])
            i++;
        else if (y[j] < x[i])
            j++;
        else
            x[ni++] = x[i++], j++;
    struct uset tmp;
    uset_init(&tmp);
    for (size_t t = 0; t < ni; t++) {
        int ish = x[t] << a->shift;
        for (long i = a->v.next[0]; i >= 0; i = a->v.next[i])
            for (long j = b->v.next[0]; ((a->v.val[i] << a->shift) & imask) == ish && j >= 0; j = b->v.next[j])
                if (((b->v.val[j] << b->shift) & imask) == ish)
                    uset_insert(&tmp, (a->v.val[i] << (a->shift - b->shift)) | b->v.val[j]);
    }
    free(x);
    free(y);
    return made((sm | osm) >> b->shift, b->shift, &tmp);
}

static bool trivial(const struct cons *c)
{
    return c->mask == 0 && uset_size(&c->v) == 1 && c->v.val[c->v.next[0]] == 0;
}

/* Constraint::intersecting */
static struct cons intersect(const struct cons *a, const struct cons *b)
{
    struct uset tmp;
    int sm = a->mask << a->shift, osm = b->mask << b->shift;
    if (a->mask == b->mask && a->shift == b->shift) {
        uset_init(&tmp);
        for (long i = a->v.next[0]; i >= 0; i = a->v.next[i])
            if (uset_has(&b->v, a->v.val[i]))
                uset_insert(&tmp, a->v.val[i]);
        return made(a->mask, a->shift, &tmp);
    }
    if (sm < osm)
        return intersect(b, a);
    if (trivial(a))
        return copied(b);
    if (trivial(b))
        return copied(a);
    if (b->shift >= a->shift) {
        uset_init(&tmp);
        for (long i = a->v.next[0]; i >= 0; i = a->v.next[i])
            if (uset_has(&b->v, (a->v.val[i] >> (b->shift - a->shift)) & b->mask))
                uset_insert(&tmp, a->v.val[i]);
        return made(a->mask, a->shift, &tmp);
    }
    return osm < (1 << a->shift) ? apart(a, b) : overlap(a, b);
}

static bool same_cons(const struct cons *a, const struct cons *b)
{
    if (a->mask != b->mask || a->shift != b->shift || uset_size(&a->v) != uset_size(&b->v))
        return false;
    for (long i = a->v.next[0]; i >= 0; i = a->v.next[i])
        if (!uset_has(&b->v, a->v.val[i]))
            return false;
    return true;
}

/* ClassData::constraintForMethod */
static struct cons for_method(const struct impc_model *m, const struct impc_data *x, uint32_t sel)
{
    int size = 1 << x->bits, mask = size - 1;
    bool *used = xcalloc((size_t)size, sizeof *used);
    for (uint32_t i = 0; i < x->n; i++)
        if (x->m[i].sel != sel)
            used[(m->sel[x->m[i].sel].idx >> x->shift) & mask] = true;
    struct uset tmp;
    uset_init(&tmp);
    for (int i = 0; i < size; i++)
        if (!used[i])
            uset_insert(&tmp, i);
    free(used);
    return made(mask, x->shift, &tmp);
}

/* ConstraintSet over the selector's classes: false if none constrains it
 * (only in classes already dropped); else the merged constraint. */
bool impc_merged(const struct impc_model *m, uint32_t sel, struct impc_allowed *out)
{
    const struct impc_sel *s = &m->sel[sel];
    struct cons *seen = xcalloc(s->ncl + 1, sizeof *seen), merged = {0, 0, {0}};
    size_t nseen = 0;
    for (size_t i = 0; i < s->ncl; i++) {
        const struct impc_data *x = &m->d[s->classes[i]];
        if (!x->should_gen)
            continue;
        struct cons c = for_method(m, x, sel);
        bool dup = false;
        for (size_t j = 0; j < nseen && !dup; j++)
            dup = same_cons(&seen[j], &c);
        if (dup) {
            uset_free(&c.v);
            continue;
        }
        if (!nseen) {
            merged = copied(&c);
        } else {
            struct cons next = intersect(&merged, &c);
            uset_free(&merged.v);
            merged = next;
        }
        seen[nseen++] = c;
    }
    for (size_t j = 0; j < nseen; j++)
        uset_free(&seen[j].v);
    free(seen);
    if (!nseen)
        return false;
    out->mask = merged.mask;
    out->shift = merged.shift;
    out->n = uset_size(&merged.v);
    out->v = xcalloc(out->n + 1, sizeof *out->v);
    size_t k = 0;
    for (long i = merged.v.next[0]; i >= 0; i = merged.v.next[i])
        out->v[k++] = merged.v.val[i];
    uset_free(&merged.v);
    return true;
}

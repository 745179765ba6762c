/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_impc_sort.c — the order std::sort leaves, under libc++ (LLVM 16 and
 * later, as Apple's toolchains ship it), a range of items with equal keys:
 * dyld-1378 applyAttempt sorts a class's selectors with std::sort by bits
 * still to fix, and which selector draws which random slot follows from it.
 *
 * Facts relied on (libc++ <__algorithm/sort.h>, LLVM 16..19, for a
 * comparator that is not std::less on an arithmetic type): ranges of 2..5
 * items use fixed compare-and-swap sequences (three items: the median
 * network; four and five: those, then the last inserted), under 24 items an
 * insertion sort (unguarded when not leftmost); otherwise, with a depth
 * budget of 2 floor(log2 n), the pivot is the median of three (first +
 * n/2, first, last - 1, the median moved to first) or, over 128 items,
 * Tukey's ninther; a range whose left neighbour is not less than its pivot
 * is partitioned with equals on the left and only the right part goes on;
 * else with equals on the right, an already partitioned range first trying
 * an insertion sort that gives up after 8 moves on each side; the left part
 * recurses, the right part loops; a range past its depth budget is heap
 * sorted (make_heap by sift-down from (n - 2) / 2 down, then pop_heap by
 * Floyd's sift-down to a leaf, the last item put in the hole and sifted
 * up).
 */
#include "impc.h"

static bool lt(const struct impc_key *a, const struct impc_key *b) { return a->key < b->key; }

static void swap_at(struct impc_key *a, struct impc_key *b)
{
    struct impc_key t = *a;
    *a = *b;
    *b = t;
}

static void sort3(struct impc_key *x, struct impc_key *y, struct impc_key *z)
{
    if (!lt(y, x)) {
        if (!lt(z, y))
            return;
        swap_at(y, z);
        if (lt(y, x))
            swap_at(x, y);
        return;
    }
    if (lt(z, y)) {
        swap_at(x, z);
        return;
    }
    swap_at(x, y);
    if (lt(z, y))
        swap_at(y, z);
}

/* After sorting v[0..k), v[k] goes down while less than its left. */
static void sink(struct impc_key *v, size_t k)
{
    for (; k > 0 && lt(&v[k], &v[k - 1]); k--)
        swap_at(&v[k], &v[k - 1]);
}

static bool small(struct impc_key *v, size_t n)
{
    if (n > 5)
        return false;
    if (n == 2 && lt(&v[1], &v[0]))
        swap_at(&v[0], &v[1]);
    if (n >= 3)
        sort3(&v[0], &v[1], &v[2]);
    for (size_t k = 3; k < n; k++)  /* __sort4, __sort5: insert the next */
        sink(v, k);
    return true;
}

/* Insertion sort; moving an item stops at equal ones, so it keeps order. */
static void insertion(struct impc_key *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        sink(v, i);
}

/* __insertion_sort_incomplete: false once 8 items moved before the end. */
static bool insertion_incomplete(struct impc_key *v, size_t n)
{
    if (small(v, n) || n < 2)
        return true;
    sort3(&v[0], &v[1], &v[2]);
    unsigned moved = 0;
    for (size_t i = 3; i < n; i++) {
        if (!lt(&v[i], &v[i - 1]))
            continue;
        sink(v, i);
        if (++moved == 8)
            return i + 1 == n;
    }
    return true;
}

/* Equals to the right of the pivot v[0]; returns the pivot's place. */
static size_t part_right(struct impc_key *v, size_t n, bool *done)
{
    struct impc_key p = v[0];
    size_t f = 0, l = n;
    while (lt(&v[++f], &p))
        ;
    if (f == 1)
        while (f < l && !lt(&v[--l], &p))
            ;
    else
        while (!lt(&v[--l], &p))
            ;
    *done = f >= l;
    while (f < l) {
        swap_at(&v[f], &v[l]);
        while (lt(&v[++f], &p))
            ;
        while (!lt(&v[--l], &p))
            ;
    }
    v[0] = v[f - 1];
    v[f - 1] = p;
    return f - 1;
}

/* Equals to the left of the pivot v[0]; returns the first index after. */
static size_t part_left(struct impc_key *v, size_t n)
{
    struct impc_key p = v[0];
    size_t f = 0, l = n;
    if (lt(&p, &v[n - 1]))
        while (!lt(&p, &v[++f]))
            ;
    else
        while (++f < l && !lt(&p, &v[f]))
            ;
    if (f < l)
        while (lt(&p, &v[--l]))
            ;
    while (f < l) {
        swap_at(&v[f], &v[l]);
        while (!lt(&p, &v[++f]))
            ;
        while (lt(&p, &v[--l]))
            ;
    }
    v[0] = v[f - 1];
    v[f - 1] = p;
    return f;
}

/* __sift_down of v[start] in the heap v[0..n) */
static void sift_down(struct impc_key *v, size_t n, size_t start)
{
    if (n < 2 || (n - 2) / 2 < start)
        return;
    size_t c = 2 * start + 1;
    if (c + 1 < n && lt(&v[c], &v[c + 1]))
        c++;
    if (lt(&v[c], &v[start]))
        return;
    struct impc_key top = v[start];
    do {
        v[start] = v[c];
        start = c;
        if ((n - 2) / 2 < c)
            break;
        c = 2 * c + 1;
        if (c + 1 < n && lt(&v[c], &v[c + 1]))
            c++;
    } while (!lt(&v[c], &top));
    v[start] = top;
}

/* __pop_heap of v[0..n) (n > 1): Floyd's sift-down, then sift-up. */
static void pop_heap(struct impc_key *v, size_t n)
{
    struct impc_key top = v[0];
    size_t hole = 0, c = 0;
    do {                        /* __floyd_sift_down */
        c = 2 * c + 1;
        if (c + 1 < n && lt(&v[c], &v[c + 1]))
            c++;
        v[hole] = v[c];
        hole = c;
    } while (c <= (n - 2) / 2);
    if (hole == n - 1) {
        v[hole] = top;
        return;
    }
    v[hole] = v[n - 1];
    v[n - 1] = top;
    size_t len = hole + 1, last = hole;  /* __sift_up over v[0..hole] */
    if (len < 2)
        return;
    len = (len - 2) / 2;
    if (!lt(&v[len], &v[last]))
        return;
    struct impc_key t = v[last];
    for (;;) {
        v[last] = v[len];
        last = len;
        if (len == 0)
            break;
        len = (len - 1) / 2;
        if (!lt(&v[len], &t))
            break;
    }
    v[last] = t;
}

/* __partial_sort(first, last, last): make_heap, then sort_heap. */
static void heap_sort(struct impc_key *v, size_t n)
{
    for (size_t s = n > 1 ? (n - 2) / 2 + 1 : 0; s-- > 0;)
        sift_down(v, n, s);
    for (; n > 1; n--)
        pop_heap(v, n);
}

static void pivot(struct impc_key *v, size_t n)
{
    size_t h = n / 2;
    if (n <= 128) {
        sort3(&v[h], &v[0], &v[n - 1]);
        return;
    }
    sort3(&v[0], &v[h], &v[n - 1]);
    sort3(&v[1], &v[h - 1], &v[n - 2]);
    sort3(&v[2], &v[h + 1], &v[n - 3]);
    sort3(&v[h - 1], &v[h], &v[h + 1]);
    swap_at(&v[0], &v[h]);
}

/* __introsort over v[0..n); v[-1] exists unless leftmost. */
static void introsort(struct impc_key *v, size_t n, unsigned depth, bool leftmost)
{
    for (;;) {
        if (small(v, n) || n < 2)
            return;
        if (n < 24) {
            insertion(v, n);    /* guarded or not, the same moves */
            return;
        }
        if (depth-- == 0) {
            heap_sort(v, n);
            return;
        }
        pivot(v, n);
        if (!leftmost && !lt(&v[-1], &v[0])) {
            size_t f = part_left(v, n);
            v += f;
            n -= f;
            continue;
        }
        bool done;
        size_t i = part_right(v, n, &done);
        if (done) {
            bool left = insertion_incomplete(v, i);
            if (insertion_incomplete(v + i + 1, n - i - 1)) {
                if (left)
                    return;
                n = i;
                continue;
            }
            if (left) {
                v += i + 1;
                n -= i + 1;
                continue;
            }
        }
        introsort(v, i, depth, leftmost);
        leftmost = false;
        v += i + 1;
        n -= i + 1;
    }
}

void impc_libcxx_sort(struct impc_key *v, size_t n)
{
    unsigned depth = 0;
    for (size_t k = n; k > 1; k >>= 1)
        depth++;
    introsort(v, n, 2 * depth, true);
}

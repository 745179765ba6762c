/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trie_write.c — emit a Mach-O prefix trie (export tries and the cache's
 * dylibs trie) from (key, terminal payload) pairs.
 *
 * Nodes are built from the sorted keys (each edge carries the longest
 * prefix its keys share), laid out in pre-order, and their child offsets are
 * re-sized until no ULEB changes length: offsets only grow, so this ends.
 */
#include "bld.h"

#include <stdlib.h>
#include <string.h>

struct tnode {
    const struct buf *payload;   /* NULL: not terminal */
    struct tchild *kids;
    unsigned nkids;
    uint64_t offset;
};

struct tchild {
    const char *label;
    size_t label_len;
    struct tnode *node;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct trie_entry *)a)->key, ((const struct trie_entry *)b)->key);
}

/* Node for keys e[lo, hi), all sharing their first `depth` bytes. */
static struct tnode *build(const struct trie_entry *e, size_t lo, size_t hi, size_t depth)
{
    struct tnode *n = xcalloc(1, sizeof *n);
    if (lo < hi && strlen(e[lo].key) == depth)
        n->payload = &e[lo++].payload;
    while (lo < hi) {
        size_t end = lo + 1;
        while (end < hi && e[end].key[depth] == e[lo].key[depth])
            end++;
        /* Common prefix of the group beyond `depth`. */
        size_t len = strlen(e[lo].key + depth);
        for (size_t i = lo + 1; i < end; i++) {
            size_t k = 0;
            while (k < len && e[i].key[depth + k] == e[lo].key[depth + k])
                k++;
            len = k;
        }
        n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
        n->kids[n->nkids++] = (struct tchild){e[lo].key + depth, len, build(e, lo, end, depth + len)};
        lo = end;
    }
    if (n->nkids > 255)
        die("trie: more than 255 edges leave one node");
    return n;
}

static unsigned uleb_len(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t node_size(const struct tnode *n)
{
    uint64_t t = n->payload ? n->payload->len : 0;
    uint64_t s = uleb_len(t) + t + 1;
    for (unsigned i = 0; i < n->nkids; i++)
        s += n->kids[i].label_len + 1 + uleb_len(n->kids[i].node->offset);
    return s;
}

/* Assign pre-order offsets; returns true when any offset changed. */
static bool place(struct tnode *n, uint64_t *cursor)
{
    bool changed = n->offset != *cursor;
    n->offset = *cursor;
    *cursor += node_size(n);
    for (unsigned i = 0; i < n->nkids; i++)
        changed |= place(n->kids[i].node, cursor);
    return changed;
}

static void emit(const struct tnode *n, struct buf *out)
{
    uint64_t t = n->payload ? n->payload->len : 0;
    buf_uleb(out, t);
    if (t)
        buf_put(out, n->payload->data, t);
    buf_u8(out, (uint8_t)n->nkids);
    for (unsigned i = 0; i < n->nkids; i++) {
        buf_put(out, n->kids[i].label, n->kids[i].label_len);
        buf_u8(out, 0);
        buf_uleb(out, n->kids[i].node->offset);
    }
    for (unsigned i = 0; i < n->nkids; i++)
        emit(n->kids[i].node, out);
}

static void free_node(struct tnode *n)
{
    for (unsigned i = 0; i < n->nkids; i++)
        free_node(n->kids[i].node);
    free(n->kids);
    free(n);
}

void trie_write(struct trie_entry *e, size_t n, struct buf *out)
{
    qsort(e, n, sizeof *e, cmp_entry);
    for (size_t i = 1; i < n; i++)
        if (strcmp(e[i - 1].key, e[i].key) == 0)
            die("trie: duplicate key '%s'", e[i].key);
    struct tnode *root = build(e, 0, n, 0);
    uint64_t cursor;
    do
        cursor = 0;
    while (place(root, &cursor));
    emit(root, out);
    buf_align(out, 8);
    free_node(root);
}

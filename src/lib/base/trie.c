/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trie.c — bounded, iterative walk of a prefix trie. See trie.h.
 */
#include "base/trie.h"

#include <stdlib.h>
#include <string.h>

/* A node whose edges are being followed: where its next edge starts, how
 * many are left, its key's length, and (for the order test) the edge
 * followed last, `last` UINT64_MAX before the first. */
struct trie_frame {
    uint64_t next;
    uint64_t node;
    uint64_t last, last_child;     /* the edge followed last: its label, its node */
    size_t key_len;
    unsigned left;
};

/* Frames on the C stack before the walk needs the heap: one per level of
 * the node being visited, and most tries are shallow. */
#define LOCAL_FRAMES 64

/* One walk's state: the path of nodes whose edges are being followed, the
 * key buffer (the current node's key; a frame's prefix is intact in DFS
 * order) and the bounds. The buffer holds a key of DSC_TRIE_MAX_KEY bytes
 * and then a whole label scan (DSC_TRIE_MAX_KEY + 1 bytes), so a label is
 * copied as it is scanned and checked once it ends. */
struct trie_walk {
    struct trie_frame *stack, local[LOCAL_FRAMES];
    size_t depth, cap;
    uint64_t budget, key_bytes;    /* visits (each edge taken is one) and key bytes left */
    uint64_t node;                 /* the node visited, for errors */
    const char *file;
    dsc_error *err;
    bool sorted;                   /* every label after its elder sibling's (label_after) */
    char key[2 * DSC_TRIE_MAX_KEY + 2];
};

static int walk_fail(struct trie_walk *w, const char *what)
{
    return dsc_fail(w->err, w->file, "trie node at 0x%llx: %s", (unsigned long long)w->node, what);
}

/* Room for one more frame; false when out of memory. */
static bool stack_room(struct trie_walk *w)
{
    if (w->depth < w->cap)
        return true;
    bool local = w->stack == w->local;
    struct trie_frame *grown = local ? malloc(2 * w->cap * sizeof *grown) : realloc(w->stack, 2 * w->cap * sizeof *grown);
    if (!grown)
        return false;
    if (local)
        memcpy(grown, w->local, sizeof w->local);
    w->stack = grown;
    w->cap *= 2;
    return true;
}

/* Visit the node at `node`, whose key is the first `key_len` bytes of the
 * buffer: its terminal (to fn), then a frame for its edges, if any. */
static int visit(dsc_span trie, uint64_t node, size_t key_len, dsc_trie_fn fn, void *ctx, struct trie_walk *w)
{
    w->node = node;
    if (w->budget-- == 0)
        return walk_fail(w, "more nodes than the trie has bytes (cycle?)");
    w->key[key_len] = 0;
    uint64_t off = node, term_size;
    uint8_t nchild;
    if (!span_uleb(trie, &off, &term_size) || !dsc_range_ok(trie.size, off, term_size))
        return walk_fail(w, "terminal out of range");
    if (term_size) {
        if (w->key_bytes < key_len + 1)
            return walk_fail(w, "keys longer in total than the trie allows");
        w->key_bytes -= key_len + 1;
        int rc = fn(ctx, w->key, key_len, (dsc_span){trie.data + off, term_size});
        if (rc)
            return rc;
    }
    off += term_size;
    if (!span_u8(trie, off, &nchild))
        return walk_fail(w, "truncated");
    if (!nchild)
        return 0;
    if (!stack_room(w))
        return dsc_fail_code(w->err, DSC_ERR_NOMEM, w->file, "out of memory walking a trie");
    w->stack[w->depth++] = (struct trie_frame){off + 1, node, UINT64_MAX, 0, key_len, nchild};
    return 0;
}

/* True when the node at `node` (visited already: well formed) has edges. */
static bool has_edges(dsc_span trie, uint64_t node)
{
    uint64_t off = node, term_size;
    uint8_t nchild;
    return span_uleb(trie, &off, &term_size) && span_u8(trie, off + term_size, &nchild) && nchild;
}

/* True when every key through the NUL-terminated label at `b` sorts
 * (strcmp) after every key through the elder sibling edge `f` followed
 * last (none before the first): b is not empty, and the labels differ at
 * a byte both have, b's the greater, or the elder's key is its subtree's
 * only one and a proper prefix of b's. Then children make keys after
 * their parent's (a prefix sorts first) and subtrees after their elder
 * siblings', and the whole walk comes in order. In a linker's trie no two
 * sibling labels share a first byte: one comparison. */
static bool label_after(dsc_span trie, const struct trie_frame *f, uint64_t b)
{
    const uint8_t *d = trie.data;
    uint64_t a = f->last;
    if (a == UINT64_MAX)
        return d[b] != 0;
    while (d[a] && d[a] == d[b])
        a++, b++;
    return d[a] ? d[a] < d[b] : d[b] && !has_edges(trie, f->last_child);
}

/* Take the next edge of the top frame: its label appended to the key
 * (copied while looking for its NUL, at most DSC_TRIE_MAX_KEY + 1 bytes);
 * *child and *key_len get the node it leads to and that node's key
 * length. A frame with no edge left is popped. */
static int next_edge(dsc_span trie, struct trie_walk *w, uint64_t *child, size_t *key_len)
{
    struct trie_frame *f = &w->stack[w->depth - 1];
    uint64_t off = f->next, i = off;
    uint64_t end = trie.size - off > DSC_TRIE_MAX_KEY ? off + DSC_TRIE_MAX_KEY + 1 : trie.size; /* off <= size */
    char *dst = w->key + f->key_len;
    w->node = f->node;
    while (i < end && trie.data[i])
        *dst++ = (char)trie.data[i++];
    if (i >= end)
        return walk_fail(w, "edge label unterminated");
    *key_len = f->key_len + (size_t)(i - off);
    f->next = i + 1;
    if (!span_uleb(trie, &f->next, child) || *child >= trie.size || *key_len > DSC_TRIE_MAX_KEY)
        return walk_fail(w, "edge out of range");
    if (w->sorted && !label_after(trie, f, off))
        w->sorted = false;
    f->last = off;
    f->last_child = *child;
    if (--f->left == 0)
        w->depth--; /* done with: the child's frame may take its place */
    return 0;
}

int dsc_trie_walk_sorted(dsc_span trie, dsc_trie_fn fn, void *ctx, const char *file, dsc_error *err, bool *sorted)
{
    if (sorted)
        *sorted = true;
    if (trie.size == 0)
        return 0;
    /* A real trie visits each node once and a node takes at least two
     * bytes, so more visits than bytes means cycles or shared subtrees. */
    struct trie_walk w; /* field by field: the key buffer needs no clearing */
    w.stack = w.local;
    w.depth = 0;
    w.cap = LOCAL_FRAMES;
    w.budget = trie.size;
    w.key_bytes = trie.size * DSC_TRIE_KEY_RATIO + DSC_TRIE_MAX_KEY;
    w.file = file;
    w.err = err;
    w.sorted = true;
    uint64_t node = 0;
    size_t key_len = 0;
    int rc;
    while ((rc = visit(trie, node, key_len, fn, ctx, &w)) == 0 && w.depth &&
           (rc = next_edge(trie, &w, &node, &key_len)) == 0)
        ;
    if (w.stack != w.local)
        free(w.stack);
    if (sorted)
        *sorted = w.sorted && rc == 0;
    return rc;
}

int dsc_trie_walk(dsc_span trie, dsc_trie_fn fn, void *ctx, const char *file, dsc_error *err)
{
    return dsc_trie_walk_sorted(trie, fn, ctx, file, err, NULL);
}

/* The child of the node whose children start at `off` whose label is a
 * non-empty prefix of `rest`: *node gets it, *used the label's length. */
static bool find_child(dsc_span trie, uint64_t off, const char *rest, uint64_t *node, size_t *used)
{
    uint8_t nchild;
    if (!span_u8(trie, off++, &nchild))
        return false;
    for (unsigned i = 0; i < nchild; i++) {
        const char *label;
        size_t len;
        uint64_t child;
        if (!span_cstr(trie, off, DSC_TRIE_MAX_KEY, &label, &len))
            return false;
        off += len + 1;
        if (!span_uleb(trie, &off, &child) || child >= trie.size)
            return false;
        if (len && strncmp(rest, label, len) == 0) {
            *node = child;
            *used = len;
            return true;
        }
    }
    return false;
}

bool dsc_trie_find(dsc_span trie, const char *key, dsc_span *terminal)
{
    uint64_t node = 0;
    size_t matched = 0, len = strlen(key);
    if (trie.size == 0)
        return false;
    for (;;) { /* each step matches a non-empty label: at most len steps */
        uint64_t off = node, term_size;
        size_t used;
        if (!span_uleb(trie, &off, &term_size) || !dsc_range_ok(trie.size, off, term_size))
            return false;
        if (matched == len) {
            *terminal = (dsc_span){trie.data + off, term_size};
            return term_size != 0;
        }
        if (!find_child(trie, off + term_size, key + matched, &node, &used))
            return false;
        matched += used;
    }
}

/* ---- function-variant exports made plain ---- */

#define FLAG_FUNCTION_VARIANT 0x20u /* EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT */

struct plain_ctx {
    const uint8_t *base;
    uint8_t *trie;
    long count;
};

/* `v` as a ULEB128 of exactly `len` bytes; false when it needs more. */
static bool uleb_padded(uint8_t *at, size_t len, uint64_t v)
{
    for (size_t i = 0; i < len; i++, v >>= 7)
        at[i] = (uint8_t)((v & 0x7F) | (i + 1 < len ? 0x80 : 0));
    return v == 0;
}

static int plain_variant(void *vctx, const char *key, size_t key_len, dsc_span term)
{
    struct plain_ctx *c = vctx;
    (void)key;
    (void)key_len;
    uint64_t off = 0, flags, value, index;
    if (!span_uleb(term, &off, &flags) || !(flags & FLAG_FUNCTION_VARIANT))
        return 0;
    uint64_t flags_len = off;
    if (flags_len != 1 || !span_uleb(term, &off, &value) || !span_uleb(term, &off, &index))
        return 1;
    uint8_t *t = c->trie + (term.data - c->base);
    t[0] = (uint8_t)(flags & ~FLAG_FUNCTION_VARIANT);
    if (!uleb_padded(t + 1, off - 1, value))
        return 1;
    c->count++;
    return 0;
}

long dsc_trie_plain_variants(uint8_t *trie, size_t size, const char *file, dsc_error *err)
{
    struct plain_ctx c = {trie, trie, 0};
    int rc = dsc_trie_walk((dsc_span){trie, size}, plain_variant, &c, file, err);
    if (rc > 0)
        return dsc_fail(err, file, "a function-variant export terminal is malformed");
    return rc < 0 ? -1 : c.count;
}

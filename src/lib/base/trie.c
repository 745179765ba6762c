/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trie.c — bounded, iterative walk of a prefix trie. See trie.h.
 */
#include "base/trie.h"

#include <stdlib.h>
#include <string.h>

/* A node still to visit. Its key is the parent's key (the first
 * `prefix_len` bytes of the shared key buffer, intact in DFS order) plus the
 * edge label at `label_off`. */
struct trie_frame {
    uint64_t node;
    uint64_t label_off;
    size_t prefix_len;
    size_t label_len;
};

/* Frames on the C stack before the walk needs the heap: most tries are
 * shallow and narrow, and every export set is made by a walk. */
#define LOCAL_FRAMES 64

/* One walk's state: the frames to visit, the key buffer (the current
 * node's key; a frame's prefix is intact in DFS order) and the bounds. */
struct trie_walk {
    struct trie_frame *stack, local[LOCAL_FRAMES];
    size_t depth, cap;
    uint64_t budget, pushes, key_bytes;
    uint64_t node;                 /* the node visited, for errors */
    const char *file;
    dsc_error *err;
    char key[DSC_TRIE_MAX_KEY + 1];
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

/* The length of the NUL-terminated edge label at `off` (at most
 * DSC_TRIE_MAX_KEY bytes); false when it runs off the trie or past that.
 * Labels are a few bytes: a loop beats span_cstr's memchr call. */
static bool label_len_at(dsc_span trie, uint64_t off, size_t *len)
{
    uint64_t end = off < trie.size && trie.size - off > DSC_TRIE_MAX_KEY ? off + DSC_TRIE_MAX_KEY + 1 : trie.size;
    for (uint64_t i = off; i < end; i++)
        if (!trie.data[i]) {
            *len = (size_t)(i - off);
            return true;
        }
    return false;
}

/* Push the children of the node whose child count is at `off` (key
 * `key_len` bytes long so far), the first edge on top: visited in trie
 * order. */
static int push_children(dsc_span trie, uint64_t off, size_t key_len, struct trie_walk *w)
{
    uint8_t nchild;
    if (!span_u8(trie, off++, &nchild))
        return walk_fail(w, "truncated");
    size_t first = w->depth;
    for (unsigned i = 0; i < nchild; i++) {
        size_t label_len;
        uint64_t label_off = off, child;
        if (!label_len_at(trie, off, &label_len))
            return walk_fail(w, "edge label unterminated");
        off += label_len + 1;
        if (!span_uleb(trie, &off, &child) || child >= trie.size || key_len + label_len > DSC_TRIE_MAX_KEY)
            return walk_fail(w, "edge out of range");
        if (w->pushes-- == 0)
            return walk_fail(w, "more edges than the trie has bytes");
        if (!stack_room(w))
            return dsc_fail_code(w->err, DSC_ERR_NOMEM, w->file, "out of memory walking a trie");
        w->stack[w->depth++] = (struct trie_frame){child, label_off, key_len, label_len};
    }
    for (size_t a = first, b = w->depth; a + 1 < b; a++, b--) {
        struct trie_frame t = w->stack[a];
        w->stack[a] = w->stack[b - 1];
        w->stack[b - 1] = t;
    }
    return 0;
}

/* Visit the frame's node: its key, its terminal (to fn), its children. */
static int visit(dsc_span trie, struct trie_frame fr, dsc_trie_fn fn, void *ctx, struct trie_walk *w)
{
    w->node = fr.node;
    if (w->budget-- == 0)
        return walk_fail(w, "more nodes than the trie has bytes (cycle?)");
    memcpy(w->key + fr.prefix_len, trie.data + fr.label_off, fr.label_len);
    size_t key_len = fr.prefix_len + fr.label_len;
    w->key[key_len] = 0;
    uint64_t off = fr.node, term_size;
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
    return push_children(trie, off + term_size, key_len, w);
}

int dsc_trie_walk(dsc_span trie, dsc_trie_fn fn, void *ctx, const char *file, dsc_error *err)
{
    if (trie.size == 0)
        return 0;
    /* A real trie visits each node once and a node takes at least two
     * bytes, so more visits than bytes means cycles or shared subtrees. */
    struct trie_walk w = {.stack = w.local, .cap = LOCAL_FRAMES, .budget = trie.size, .pushes = trie.size,
                          .key_bytes = trie.size * DSC_TRIE_KEY_RATIO + DSC_TRIE_MAX_KEY, .file = file, .err = err};
    int rc = 0;
    w.stack[w.depth++] = (struct trie_frame){0, 0, 0, 0};
    while (w.depth && rc == 0)
        rc = visit(trie, w.stack[--w.depth], fn, ctx, &w);
    if (w.stack != w.local)
        free(w.stack);
    return rc;
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

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

static int walk_fail(dsc_error *err, const char *file, const char *what, uint64_t node)
{
    return dsc_fail(err, file, "trie node at 0x%llx: %s", (unsigned long long)node, what);
}

int dsc_trie_walk(dsc_span trie, dsc_trie_fn fn, void *ctx, const char *file, dsc_error *err)
{
    if (trie.size == 0)
        return 0;
    char *key = malloc(DSC_TRIE_MAX_KEY + 1);
    size_t cap = 256, depth = 0;
    struct trie_frame *stack = malloc(cap * sizeof *stack);
    int rc = 0;
    if (!key || !stack) {
        rc = dsc_fail_code(err, DSC_ERR_NOMEM, file, "out of memory walking a trie");
        goto out;
    }
    /* A real trie visits each node once and a node takes at least two
     * bytes, so more visits than bytes means cycles or shared subtrees. */
    uint64_t budget = trie.size, pushes = trie.size;
    uint64_t key_bytes = trie.size * DSC_TRIE_KEY_RATIO + DSC_TRIE_MAX_KEY;
    stack[depth++] = (struct trie_frame){0, 0, 0, 0};

    while (depth) {
        struct trie_frame fr = stack[--depth];
        if (budget-- == 0) {
            rc = walk_fail(err, file, "more nodes than the trie has bytes (cycle?)", fr.node);
            goto out;
        }
        memcpy(key + fr.prefix_len, trie.data + fr.label_off, fr.label_len);
        size_t key_len = fr.prefix_len + fr.label_len;
        key[key_len] = 0;

        uint64_t off = fr.node, term_size;
        if (!span_uleb(trie, &off, &term_size) || !dsc_range_ok(trie.size, off, term_size)) {
            rc = walk_fail(err, file, "terminal out of range", fr.node);
            goto out;
        }
        if (term_size) {
            if (key_bytes < key_len + 1) {
                rc = walk_fail(err, file, "keys longer in total than the trie allows", fr.node);
                goto out;
            }
            key_bytes -= key_len + 1;
            rc = fn(ctx, key, key_len, (dsc_span){trie.data + off, term_size});
            if (rc)
                goto out;
        }
        off += term_size;
        uint8_t nchild;
        if (!span_u8(trie, off++, &nchild)) {
            rc = walk_fail(err, file, "truncated", fr.node);
            goto out;
        }
        size_t first = depth;
        for (unsigned i = 0; i < nchild; i++) {
            const char *label;
            size_t label_len;
            uint64_t label_off = off, child;
            if (!span_cstr(trie, off, DSC_TRIE_MAX_KEY, &label, &label_len)) {
                rc = walk_fail(err, file, "edge label unterminated", fr.node);
                goto out;
            }
            off += label_len + 1;
            if (!span_uleb(trie, &off, &child) || child >= trie.size ||
                key_len + label_len > DSC_TRIE_MAX_KEY) {
                rc = walk_fail(err, file, "edge out of range", fr.node);
                goto out;
            }
            if (pushes-- == 0) {
                rc = walk_fail(err, file, "more edges than the trie has bytes", fr.node);
                goto out;
            }
            if (depth == cap) {
                struct trie_frame *grown = realloc(stack, 2 * cap * sizeof *stack);
                if (!grown) {
                    rc = dsc_fail_code(err, DSC_ERR_NOMEM, file, "out of memory walking a trie");
                    goto out;
                }
                stack = grown;
                cap *= 2;
            }
            stack[depth++] = (struct trie_frame){child, label_off, key_len, label_len};
        }
        /* Pop the first edge first: visit children in trie order. */
        for (size_t a = first, b = depth; a + 1 < b; a++, b--) {
            struct trie_frame t = stack[a];
            stack[a] = stack[b - 1];
            stack[b - 1] = t;
        }
    }
out:
    free(key);
    free(stack);
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

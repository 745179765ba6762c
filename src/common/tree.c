/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tree.c — see tree.h. Nodes sit in one growing array; a hash table keyed by
 * (parent id, name) finds a child in O(1), so lookups cost one probe per
 * path component.
 */
#include "tree.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tree {
    tree_node *nodes;
    uint32_t n, cap;
    uint32_t *slots;   /* node ids, TREE_NONE = empty; size hcap (power of 2) */
    uint32_t hcap;
};

/* ---- path components ---- */

/* Next meaningful component of *p: skips '/', "" , "." and "..". */
static bool next_comp(const char **p, const char **comp, size_t *len)
{
    const char *s = *p;
    for (;;) {
        while (*s == '/')
            s++;
        if (!*s) {
            *p = s;
            return false;
        }
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t l = (size_t)(e - s);
        if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.')) {
            s = e;
            continue;
        }
        *comp = s;
        *len = l;
        *p = e;
        return true;
    }
}

/* Components of a path, in a malloc'ed array of (start, len) pairs. */
struct comps {
    const char **start;
    size_t *len;
    size_t n;
};

static bool split(const char *path, struct comps *c)
{
    size_t max = strlen(path) / 2 + 1;
    c->start = malloc(max * sizeof *c->start);
    c->len = malloc(max * sizeof *c->len);
    c->n = 0;
    if (!c->start || !c->len) {
        free(c->start);
        free(c->len);
        return false;
    }
    const char *p = path, *s;
    size_t l;
    while (next_comp(&p, &s, &l)) {
        c->start[c->n] = s;
        c->len[c->n++] = l;
    }
    return true;
}

static void comps_free(struct comps *c)
{
    free(c->start);
    free(c->len);
}

/* ---- hash of (parent, name) -> child ---- */

static uint64_t hash_key(uint32_t parent, const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ parent;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint32_t find_child(const tree *t, uint32_t parent, const char *name, size_t len)
{
    uint32_t mask = t->hcap - 1;
    for (uint32_t i = (uint32_t)hash_key(parent, name, len) & mask;; i = (i + 1) & mask) {
        uint32_t id = t->slots[i];
        if (id == TREE_NONE)
            return TREE_NONE;
        const tree_node *nd = &t->nodes[id];
        if (nd->parent == parent && strlen(nd->name) == len && !memcmp(nd->name, name, len))
            return id;
    }
}

static void slot_insert(tree *t, uint32_t id)
{
    const tree_node *nd = &t->nodes[id];
    uint32_t mask = t->hcap - 1;
    uint32_t i = (uint32_t)hash_key(nd->parent, nd->name, strlen(nd->name)) & mask;
    while (t->slots[i] != TREE_NONE)
        i = (i + 1) & mask;
    t->slots[i] = id;
}

static bool rehash(tree *t, uint32_t hcap)
{
    uint32_t *slots = malloc((size_t)hcap * sizeof *slots);
    if (!slots)
        return false;
    memset(slots, 0xff, (size_t)hcap * sizeof *slots);
    free(t->slots);
    t->slots = slots;
    t->hcap = hcap;
    for (uint32_t id = 1; id < t->n; id++) /* the root has no parent */
        slot_insert(t, id);
    return true;
}

/* ---- nodes ---- */

static uint32_t new_node(tree *t, uint32_t parent, const char *name, size_t len, enum tree_kind kind)
{
    if (t->n >= TREE_NONE - 1)
        return TREE_NONE;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        tree_node *nodes = realloc(t->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return TREE_NONE;
        t->nodes = nodes;
        t->cap = cap;
    }
    if ((uint64_t)(t->n + 1) * 2 > t->hcap && !rehash(t, t->hcap * 2))
        return TREE_NONE;
    char *copy = strndup(name, len);
    if (!copy)
        return TREE_NONE;
    uint32_t id = t->n++;
    t->nodes[id] = (tree_node){
        .kind = kind, .name = copy, .parent = parent, .first_child = TREE_NONE,
        .last_child = TREE_NONE, .next_sibling = TREE_NONE, .payload = 0, .target = NULL,
    };
    if (id == TREE_ROOT)
        return id;
    tree_node *p = &t->nodes[parent];
    if (p->last_child == TREE_NONE)
        p->first_child = id;
    else
        t->nodes[p->last_child].next_sibling = id;
    p->last_child = id;
    if (kind == TREE_DIR)
        p->subdirs++;
    slot_insert(t, id);
    return id;
}

tree *tree_new(void)
{
    tree *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (!rehash(t, 128) || new_node(t, TREE_NONE, "", 0, TREE_DIR) != TREE_ROOT) {
        tree_free(t);
        return NULL;
    }
    return t;
}

void tree_free(tree *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->n; i++) {
        free(t->nodes[i].name);
        free(t->nodes[i].target);
    }
    free(t->nodes);
    free(t->slots);
    free(t);
}

/* Walk `c` from the root making directories, and add the last component as
 * a `kind` node. Checks everything that can fail before changing anything. */
static enum tree_add_err add_path(tree *t, const struct comps *c, enum tree_kind kind, uint32_t *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->len[i] > NAME_MAX)
            return TREE_BAD_PATH;
    if (c->n == 0) {
        *id = TREE_ROOT;
        return kind == TREE_DIR ? TREE_OK : TREE_BAD_PATH;
    }
    uint32_t cur = TREE_ROOT;
    for (size_t i = 0; i < c->n; i++) {
        uint32_t child = find_child(t, cur, c->start[i], c->len[i]);
        bool last = i + 1 == c->n;
        if (child != TREE_NONE) {
            if (last) {
                *id = child;
                return kind == TREE_DIR && t->nodes[child].kind == TREE_DIR ? TREE_OK : TREE_EXISTS;
            }
            if (t->nodes[child].kind != TREE_DIR)
                return TREE_NOT_DIR;
        } else {
            child = new_node(t, cur, c->start[i], c->len[i], last ? kind : TREE_DIR);
            if (child == TREE_NONE)
                return TREE_NOMEM;
        }
        cur = child;
    }
    *id = cur;
    return TREE_OK;
}

static enum tree_add_err add_one(tree *t, const char *path, enum tree_kind kind, uint32_t *id)
{
    struct comps c;
    if (!dsc_path_servable(path))
        return TREE_BAD_PATH;
    if (!split(path, &c))
        return TREE_NOMEM;
    enum tree_add_err e = add_path(t, &c, kind, id);
    comps_free(&c);
    return e;
}

enum tree_add_err tree_add_dir(tree *t, const char *path, uint32_t *id)
{
    return add_one(t, path, TREE_DIR, id);
}

enum tree_add_err tree_add_file(tree *t, const char *path, uint32_t payload, uint32_t *id)
{
    enum tree_add_err e = add_one(t, path, TREE_FILE, id);
    if (e == TREE_OK)
        t->nodes[*id].payload = payload;
    return e;
}

/* "../" once per directory of `from` below the common prefix, then the rest
 * of `to`; `from` holds the link's own name as its last component. */
static char *relative_target(const struct comps *from, const struct comps *to)
{
    size_t dirs = from->n - 1, common = 0;
    while (common < dirs && common < to->n && from->len[common] == to->len[common] &&
           !memcmp(from->start[common], to->start[common], to->len[common]))
        common++;
    size_t size = 3 * (dirs - common) + 2;
    for (size_t i = common; i < to->n; i++)
        size += to->len[i] + 1;
    char *out = malloc(size), *w = out;
    if (!out)
        return NULL;
    for (size_t i = common; i < dirs; i++) {
        memcpy(w, "../", 3);
        w += 3;
    }
    for (size_t i = common; i < to->n; i++) {
        memcpy(w, to->start[i], to->len[i]);
        w += to->len[i];
        *w++ = '/';
    }
    if (w == out) { /* the target is the link's own directory */
        *w++ = '.';
        *w++ = '/';
    }
    w[-1] = '\0';
    return out;
}

static bool same_comps(const struct comps *a, const struct comps *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->len[i] != b->len[i] || memcmp(a->start[i], b->start[i], a->len[i]))
            return false;
    return true;
}

enum tree_add_err tree_add_link(tree *t, const char *path, const char *target, uint32_t *id)
{
    struct comps from, to;
    if (!dsc_path_servable(path) || !dsc_path_servable(target))
        return TREE_BAD_PATH;
    if (!split(path, &from))
        return TREE_NOMEM;
    if (!split(target, &to)) {
        comps_free(&from);
        return TREE_NOMEM;
    }
    enum tree_add_err e = TREE_BAD_PATH;
    char *rel = NULL;
    if (from.n > 0 && !same_comps(&from, &to)) {
        rel = relative_target(&from, &to);
        e = rel ? add_path(t, &from, TREE_LINK, id) : TREE_NOMEM;
    }
    if (e == TREE_OK)
        t->nodes[*id].target = rel;
    else
        free(rel);
    comps_free(&from);
    comps_free(&to);
    return e;
}

/* ---- framework links ---- */

/* For ".../X.framework/Versions/V/X" set *fw_len to the length of
 * ".../X.framework", *ver and *ver_len to V; false for any other path. */
static bool framework_parts(const char *path, size_t *fw_len, const char **ver, size_t *ver_len)
{
    const char *leaf = strrchr(path, '/');
    if (!leaf || leaf == path)
        return false;
    size_t name_len = strlen(leaf + 1);
    const char *v_end = leaf, *v = v_end;
    while (v > path && v[-1] != '/')
        v--;
    static const char versions[] = "/Versions/";
    size_t vs = sizeof versions - 1;
    if (v == v_end || (size_t)(v - path) < vs || memcmp(v - vs, versions, vs))
        return false;
    const char *fw_end = v - vs;
    static const char suffix[] = ".framework";
    size_t ss = sizeof suffix - 1;
    if ((size_t)(fw_end - path) < name_len + ss + 1 || memcmp(fw_end - ss, suffix, ss) ||
        memcmp(fw_end - ss - name_len, leaf + 1, name_len) || fw_end[-(long)(ss + name_len) - 1] != '/')
        return false;
    *fw_len = (size_t)(fw_end - path);
    *ver = v;
    *ver_len = (size_t)(v_end - v);
    return true;
}

void tree_add_framework_links(tree *t, const char *path)
{
    size_t fw_len, ver_len;
    const char *ver;
    if (!framework_parts(path, &fw_len, &ver, &ver_len))
        return;
    const char *name = strrchr(path, '/') + 1;
    size_t size = fw_len + strlen(name) + 32 + ver_len;
    char *link = malloc(size), *target = malloc(size);
    uint32_t id;
    if (link && target) {
        snprintf(link, size, "%.*s/Versions/Current", (int)fw_len, path);
        snprintf(target, size, "%.*s/Versions/%.*s", (int)fw_len, path, (int)ver_len, ver);
        tree_add_link(t, link, target, &id);
        snprintf(link, size, "%.*s/%s", (int)fw_len, path, name);
        snprintf(target, size, "%.*s/Versions/Current/%s", (int)fw_len, path, name);
        tree_add_link(t, link, target, &id);
    }
    free(link);
    free(target);
}

/* ---- queries ---- */

uint32_t tree_lookup(const tree *t, const char *path)
{
    uint32_t cur = TREE_ROOT;
    const char *p = path, *s;
    size_t l;
    while (next_comp(&p, &s, &l)) {
        if (t->nodes[cur].kind != TREE_DIR)
            return TREE_NONE;
        cur = find_child(t, cur, s, l);
        if (cur == TREE_NONE)
            return TREE_NONE;
    }
    return cur;
}

const tree_node *tree_node_at(const tree *t, uint32_t id)
{
    return id < t->n ? &t->nodes[id] : NULL;
}

uint32_t tree_count(const tree *t) { return t->n; }

char *tree_path(const tree *t, uint32_t id)
{
    if (id >= t->n)
        return NULL;
    size_t size = 2;
    for (uint32_t i = id; i != TREE_ROOT; i = t->nodes[i].parent)
        size += strlen(t->nodes[i].name) + 1;
    char *out = malloc(size);
    if (!out)
        return NULL;
    char *w = out + size - 1;
    *w = '\0';
    for (uint32_t i = id; i != TREE_ROOT; i = t->nodes[i].parent) {
        size_t l = strlen(t->nodes[i].name);
        w -= l;
        memcpy(w, t->nodes[i].name, l);
        *--w = '/';
    }
    if (id == TREE_ROOT)
        *--w = '/';
    memmove(out, w, strlen(w) + 1);
    return out;
}

const char *tree_add_err_str(enum tree_add_err e)
{
    switch (e) {
    case TREE_OK: return "ok";
    case TREE_EXISTS: return "path already exists";
    case TREE_NOT_DIR: return "a parent of the path is a file or a link";
    case TREE_BAD_PATH: return "unusable path";
    case TREE_NOMEM: return "out of memory";
    }
    return "?";
}

/* ---- a cache's images and aliases ---- */

int tree_add_images(tree *t, const struct tree_images *in)
{
    bool *placed = calloc(in->count ? in->count : 1, sizeof *placed);
    if (!placed)
        return -1;
    uint32_t id;
    for (uint32_t i = 0; i < in->count; i++) {
        enum tree_add_err e = tree_add_file(t, in->paths[i], i, &id);
        if (e == TREE_OK)
            placed[i] = true;
        else
            in->refused(in->ctx, "image", in->paths[i], e);
    }
    for (uint32_t i = 0; i < in->count; i++)
        if (placed[i])
            tree_add_framework_links(t, in->paths[i]);
    for (uint32_t i = 0; i < in->naliases; i++) {
        const dsc_alias *a = &in->aliases[i];
        if (a->image >= in->count || !placed[a->image])
            continue;
        /* Reachable already, e.g. through a framework link: nothing to add. */
        enum tree_add_err e = tree_add_link(t, a->path, in->paths[a->image], &id);
        if (e != TREE_OK && tree_lookup(t, a->path) == TREE_NONE)
            in->refused(in->ctx, "alias", a->path, e);
    }
    free(placed);
    return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tree.h — the directory tree of a mount, synthesized from untrusted paths.
 *
 * Contract:
 *  - A path is added only under the rule --extract-all applies too,
 *    dsc_path_servable: absolute, no "." or ".." component, none longer
 *    than 255 bytes; empty components ("//") are ignored, so no path can
 *    climb out of the tree or name the same node two ways. Lookups split
 *    on '/' and skip empty, "." and ".." components.
 *  - Nodes are never removed: a node's id (0 = root) is stable for the life
 *    of the tree, which makes `id + 1` a stable inode number.
 *  - Adding a path that already exists, or that would need a file or link as
 *    a directory, fails and changes nothing.
 *  - Building is single-threaded; once built, lookups are read-only and safe
 *    from any number of threads.
 */
#ifndef DSCFS_TREE_H
#define DSCFS_TREE_H

#include <stdint.h>

#include "dsc/dsc.h"

#define TREE_NONE UINT32_MAX
#define TREE_ROOT 0u

enum tree_kind { TREE_DIR, TREE_FILE, TREE_LINK };

typedef struct tree_node {
    enum tree_kind kind;
    char *name;            /* one component; "" for the root */
    uint32_t parent;
    uint32_t first_child;  /* TREE_NONE-terminated sibling chain */
    uint32_t last_child;
    uint32_t next_sibling;
    uint32_t subdirs;      /* TREE_DIR: how many children are directories */
    uint32_t payload;      /* TREE_FILE: the caller's value */
    char *target;          /* TREE_LINK: relative target */
} tree_node;

typedef struct tree tree;

/* Outcome of an add: the node id, or why not. */
enum tree_add_err { TREE_OK, TREE_EXISTS, TREE_NOT_DIR, TREE_BAD_PATH, TREE_NOMEM };

tree *tree_new(void);
void tree_free(tree *t);

/* A regular file at `path` (directories made as needed). */
enum tree_add_err tree_add_file(tree *t, const char *path, uint32_t payload, uint32_t *id);
/* A symlink at `path` whose relative target leads to `target` (an absolute
 * path in the same tree). Fails with TREE_BAD_PATH when both are the same. */
enum tree_add_err tree_add_link(tree *t, const char *path, const char *target, uint32_t *id);
/* The directory at `path`, made as needed. */
enum tree_add_err tree_add_dir(tree *t, const char *path, uint32_t *id);

/* For a framework image ".../X.framework/Versions/V/X", the links a real
 * system has: X.framework/Versions/Current -> V and X.framework/X ->
 * Versions/Current/X. Nodes that exist win (the first version added becomes
 * Current); any other path is left alone. */
void tree_add_framework_links(tree *t, const char *image_path);

/* What a mount shows of a cache: every image at its install path
 * (`paths[i]`, payload i), the framework links of those placed, then each
 * alias of a placed image as a relative link. A path the tree refuses is
 * passed to `refused` (what is "image" or "alias") and left out; the rest
 * is unaffected. The same call builds a mount's tree and the fuzz target's
 * (tests/fuzz/fuzz_tree.c). -1 only when out of memory. */
struct tree_images {
    const char *const *paths;
    uint32_t count;
    const dsc_alias *aliases;   /* .image < count */
    uint32_t naliases;
    void (*refused)(void *ctx, const char *what, const char *path, enum tree_add_err e);
    void *ctx;
};
int tree_add_images(tree *t, const struct tree_images *in);

/* Node id of `path` (links are not followed), or TREE_NONE. */
uint32_t tree_lookup(const tree *t, const char *path);
/* NULL when id is out of range. */
const tree_node *tree_node_at(const tree *t, uint32_t id);
uint32_t tree_count(const tree *t);
/* Absolute path of a node (normalized), malloc'ed; NULL when out of memory. */
char *tree_path(const tree *t, uint32_t id);

const char *tree_add_err_str(enum tree_add_err e);

#endif

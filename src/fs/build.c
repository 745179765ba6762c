/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * build.c — the tree of a mounted cache: /.dscfs first (so no image can take
 * its place), every image at its install path, framework `Versions/Current`
 * links, then the aliases as relative symlinks. A path the tree refuses
 * (clash, path through a file, nothing left after dropping `.`/`..`) is
 * logged and skipped; the rest of the mount is unaffected.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fsys.h"

static void refused(struct fsys *fs, const char *what, const char *path, enum tree_add_err e)
{
    fs->skipped_paths++;
    fsys_log(fs, LOG_WARNING, "%s: %s %s skipped: %s", fs->cache_path, what, path, tree_add_err_str(e));
}

tree *build_tree(struct fsys *fs)
{
    tree *t = tree_new();
    uint32_t id;
    if (!t || tree_add_file(t, "/.dscfs/info", FSYS_INFO, &id) != TREE_OK ||
        tree_add_file(t, "/.dscfs/status", FSYS_STATUS, &id) != TREE_OK) {
        tree_free(t);
        return NULL;
    }
    const dsc_cache_info *in = dsc_cache_get_info(fs->cache);
    bool *placed = calloc(in->image_count ? in->image_count : 1, sizeof *placed);
    if (!placed) {
        tree_free(t);
        return NULL;
    }
    for (uint32_t i = 0; i < in->image_count; i++) {
        const char *path = fs->img[i].path;
        enum tree_add_err e = tree_add_file(t, path, i, &id);
        if (e == TREE_OK)
            placed[i] = true;
        else
            refused(fs, "image", path, e);
    }
    for (uint32_t i = 0; i < in->image_count; i++)
        if (placed[i])
            tree_add_framework_links(t, fs->img[i].path);
    for (uint32_t i = 0; i < in->alias_count; i++) {
        const dsc_alias *a = dsc_cache_get_alias(fs->cache, i);
        if (a->image >= in->image_count || !placed[a->image])
            continue;
        const char *target = fs->img[a->image].path;
        /* Reachable already, e.g. through a framework link: nothing to add. */
        enum tree_add_err e = tree_add_link(t, a->path, target, &id);
        if (e != TREE_OK && tree_lookup(t, a->path) == TREE_NONE)
            refused(fs, "alias", a->path, e);
    }
    free(placed);
    return t;
}

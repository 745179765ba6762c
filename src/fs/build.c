/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * build.c — the tree of a mounted cache: /.dscfs first (so no image can take
 * its place), every image at its install path, framework `Versions/Current`
 * links, then the aliases as relative symlinks (tree_add_images). A path
 * the tree refuses (clash, path through a file, a path dsc_path_servable
 * refuses) is logged and skipped; the rest of the mount is unaffected.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fsys.h"

static void refused(void *ctx, const char *what, const char *path, enum tree_add_err e)
{
    struct fsys *fs = ctx;
    char esc[DSC_ERROR_MAX];
    fs->skipped_paths++;
    fsys_log(fs, LOG_WARNING, "%s: %s %s skipped: %s", fs->cache_path, what, dsc_path_escape(esc, sizeof esc, path),
             tree_add_err_str(e));
}

tree *build_tree(struct fsys *fs)
{
    tree *t = tree_new();
    uint32_t id;
    const dsc_cache_info *in = dsc_cache_get_info(fs->cache);
    const char **paths = malloc((in->image_count ? in->image_count : 1) * sizeof *paths);
    dsc_alias *aliases = malloc((in->alias_count ? in->alias_count : 1) * sizeof *aliases);
    for (uint32_t i = 0; paths && i < in->image_count; i++)
        paths[i] = fs->img[i].path;
    for (uint32_t i = 0; aliases && i < in->alias_count; i++)
        aliases[i] = *dsc_cache_get_alias(fs->cache, i);
    struct tree_images images = {paths, in->image_count, aliases, in->alias_count, refused, fs};
    if (!t || !paths || !aliases || tree_add_file(t, "/.dscfs/info", FSYS_INFO, &id) != TREE_OK ||
        tree_add_file(t, "/.dscfs/status", FSYS_STATUS, &id) != TREE_OK || tree_add_images(t, &images)) {
        tree_free(t);
        t = NULL;
    }
    if (t)
        fs->control = tree_lookup(t, "/.dscfs");
    free(paths);
    free(aliases);
    return t;
}

/*
 * build.c — the tree of a mounted cache: /.dscfs first (so no image can take
 * its place), every image at its install path, framework `Versions/Current`
 * links, then the aliases as relative symlinks. A path the tree refuses
 * (clash, path through a file, nothing left after dropping `.`/`..`) is
 * logged and skipped; the rest of the mount is unaffected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fsys.h"

static void refused(struct fsys *fs, const char *what, const char *path, enum tree_add_err e)
{
    fs->skipped_paths++;
    fsys_log(fs, LOG_WARNING, "%s: %s %s skipped: %s", fs->cache_path, what, path, tree_add_err_str(e));
}

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

/* X.framework/Versions/Current -> V and X.framework/X -> Versions/Current/X,
 * as on a real system. Existing nodes win (the first version seen is
 * Current); failures here are not worth a warning. */
static void add_framework_links(tree *t, const char *path)
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
            add_framework_links(t, fs->img[i].path);
    for (uint32_t i = 0; i < in->alias_count; i++) {
        const dsc_alias *a = dsc_alias_at(fs->cache, i);
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

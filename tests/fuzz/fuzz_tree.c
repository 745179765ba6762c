/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_tree.c — libFuzzer target for the mount's tree builder
 * (tree_add_images, what build.c runs at mount time). One input is a list
 * of NUL-terminated entries; an entry's first byte says what it is: even,
 * an image's install path; odd, an alias of image (byte >> 1) mod the
 * image count. Afterwards every node must be found again at its own path,
 * no name may be empty, "." or ".." or longer than DSC_NAME_MAX, and every
 * file node must name an image.
 */
#include <stdlib.h>
#include <string.h>

#include "dsc/dsc.h"
#include "tree.h"

static void ignore(void *ctx, const char *what, const char *path, enum tree_add_err e)
{
    (void)ctx, (void)what, (void)path, (void)e;
}

static void check(const tree *t, uint32_t nimages)
{
    for (uint32_t id = 1; id < tree_count(t); id++) {
        const tree_node *n = tree_node_at(t, id);
        size_t len = strlen(n->name);
        if (!len || len > DSC_NAME_MAX || !strcmp(n->name, ".") || !strcmp(n->name, "..") || strchr(n->name, '/'))
            abort();
        if (n->kind == TREE_FILE && n->payload >= nimages)
            abort();
        char *path = tree_path(t, id);
        if (!path || tree_lookup(t, path) != id || !dsc_path_servable(path))
            abort();
        free(path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char **paths = malloc((size + 1) * sizeof *paths);
    dsc_alias *aliases = malloc((size + 1) * sizeof *aliases);
    char *text = malloc(size + 1);
    if (!paths || !aliases || !text)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    uint32_t nimages = 0, naliases = 0;
    for (char *p = text; p < text + size; p += strlen(p) + 1) {
        if (!*p)
            continue;
        if (!(*p & 1))
            paths[nimages++] = p + 1;
        else
            aliases[naliases++] = (dsc_alias){p + 1, (uint32_t)(unsigned char)*p >> 1};
    }
    for (uint32_t i = 0; i < naliases; i++) /* aliases name images that exist */
        aliases[i].image = nimages ? aliases[i].image % nimages : 0;
    tree *t = tree_new();
    if (!t)
        abort();
    struct tree_images in = {paths, nimages, aliases, nimages ? naliases : 0, ignore, NULL};
    if (tree_add_images(t, &in) == 0)
        check(t, nimages);
    tree_free(t);
    free(text);
    free(aliases);
    free(paths);
    return 0;
}

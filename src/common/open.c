/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * open.c — see open.h.
 */
#include "open.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A symlinked main file: libdsc looks for the subcaches and the .symbols
 * file next to the name it is given, so retry with the file the link
 * points at, where they live. NULL when that does not help either. */
static dsc_cache *open_link_target(const char *path)
{
    struct stat st;
    char real[PATH_MAX];
    dsc_cache *c;
    dsc_error err;
    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode) || !realpath(path, real) || !strcmp(real, path))
        return NULL;
    return dsc_cache_open(real, &c, &err) == 0 ? c : NULL;
}

/* A file without images is a subcache (.01, .1, .dylddata...) given in
 * place of its main file: name the main file, which is the same name
 * without its suffix (no arch name has a '.'). */
static void say_not_main(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strchr(base, '.');
    char main_path[PATH_MAX];
    struct stat st;
    if (dot && (size_t)(dot - path) < sizeof main_path) {
        snprintf(main_path, sizeof main_path, "%.*s", (int)(dot - path), path);
        if (stat(main_path, &st) == 0 && S_ISREG(st.st_mode)) {
            fprintf(stderr, "dscfs: %s: a subcache, not a main cache file (it has no images); use %s\n",
                    path, main_path);
            return;
        }
    }
    fprintf(stderr, "dscfs: %s: has no images (a subcache?); use the main dyld_shared_cache_ARCH file\n", path);
}

dsc_cache *cli_open(const char *path)
{
    dsc_cache *c;
    dsc_error err;
    if (dsc_cache_open(path, &c, &err) != 0 && !(c = open_link_target(path))) {
        fprintf(stderr, "dscfs: %s\n", err.msg);
        return NULL;
    }
    const dsc_cache_info *info = dsc_cache_get_info(c);
    if (info->image_count == 0) {
        say_not_main(path);
        dsc_cache_close(c);
        return NULL;
    }
    if (info->warning)
        fprintf(stderr, "dscfs: warning: %s\n", info->warning);
    return c;
}

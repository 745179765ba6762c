/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mountpoint.c — see mountpoint.h.
 */
#include "mountpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* True when DIR has an entry other than . and .. (or cannot be listed). */
static bool has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return true;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d)))
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* A mount point sits on another device than its parent, or is its own
 * parent (/), as mountpoint(1) decides. */
static bool is_mounted_on(const char *mp, const struct stat *st)
{
    char parent[4096];
    struct stat pst;
    if (snprintf(parent, sizeof parent, "%s/..", mp) >= (int)sizeof parent || stat(parent, &pst) != 0)
        return false;
    return pst.st_dev != st->st_dev || pst.st_ino == st->st_ino;
}

int mountpoint_check(const char *mp, bool nonempty)
{
    struct stat st;
    if (stat(mp, &st) != 0) {
        if (errno == ENOTCONN)
            fprintf(stderr, "dscfs: %s: a dead FUSE mount is still there; run fusermount3 -u %s first\n", mp, mp);
        else
            fprintf(stderr, "dscfs: %s: cannot mount here: %s; create an empty directory\n", mp, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "dscfs: %s: not a directory; mount on an empty directory\n", mp);
        return -1;
    }
    if (nonempty)
        return 0;
    if (is_mounted_on(mp, &st)) {
        fprintf(stderr, "dscfs: %s: already a mount point; unmount it first (or add -o nonempty to mount over it)\n", mp);
        return -1;
    }
    if (has_entries(mp)) {
        fprintf(stderr, "dscfs: %s: not empty; mount on an empty directory (or add -o nonempty to hide its files)\n", mp);
        return -1;
    }
    return 0;
}

char *mountpoint_fixed_opts(const char *name)
{
    static const char tail[] = ",subtype=dscfs,ro,default_permissions";
    size_t n = strlen(name);
    char *s = malloc(sizeof "-ofsname=" + 2 * n + sizeof tail);
    if (!s)
        return NULL;
    char *p = s + sprintf(s, "-ofsname=");
    for (size_t i = 0; i < n; i++) {
        if (name[i] == ',' || name[i] == '\\')
            *p++ = '\\';
        *p++ = name[i];
    }
    memcpy(p, tail, sizeof tail);
    return s;
}

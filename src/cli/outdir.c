/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outdir.c — safe writes under an output directory; see outdir.h.
 */
#include "outdir.h"

#include "dsc/dsc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *outdir_normalize(const char *path)
{
    if (!dsc_path_servable(path)) {
        errno = EINVAL;
        return NULL;
    }
    char *out = malloc(strlen(path) + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        if (len) {
            *w++ = '/';
            memcpy(w, p, len);
            w += len;
        }
        p += len;
    }
    *w = 0;
    return out;
}

/* Open (creating as needed) the parent directory of the normal form `path`
 * under `root`; *leaf points into `path` at the last component. Returns an
 * fd or -1 with errno set. */
static int open_parent(int root, const char *path, const char **leaf)
{
    int dir = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *p = path + 1;
    for (const char *slash; dir >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
        char name[NAME_MAX + 1];
        size_t len = (size_t)(slash - p);
        memcpy(name, p, len);
        name[len] = 0;
        if (mkdirat(dir, name, 0755) != 0 && errno != EEXIST) {
            close(dir);
            return -1;
        }
        int next = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(dir);
        errno = saved;
        dir = next;
    }
    *leaf = p;
    return dir;
}

int outdir_write(int root, const char *path, const void *data, size_t len)
{
    const char *leaf;
    char *norm = outdir_normalize(path);
    int dir = norm ? open_parent(root, norm, &leaf) : -1;
    if (dir < 0) {
        free(norm);
        return -1;
    }
    int fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0755);
    int saved = errno;
    close(dir);
    free(norm);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            saved = n < 0 ? errno : EIO;
            close(fd);
            errno = saved;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd);
}

int outdir_link(int root, const char *path, const char *text)
{
    char *from = outdir_normalize(path);
    const char *leaf;
    int dir = from ? open_parent(root, from, &leaf) : -1;
    int rc = -1;
    if (dir >= 0) {
        /* Replace an old link, never a directory or a file we wrote. */
        struct stat st;
        if (fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            unlinkat(dir, leaf, 0);
        rc = symlinkat(text, dir, leaf);
    }
    int saved = errno;
    free(from);
    if (dir >= 0)
        close(dir);
    errno = saved;
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outdir.h — writing files under an output directory at untrusted install
 * paths without ever leaving it.
 *
 * A path is accepted only if it is absolute and every component is
 * non-empty, not "." or "..", and shorter than NAME_MAX. Directories are
 * created and walked one component at a time with mkdirat/openat relative
 * to the directory fd, with O_NOFOLLOW, so neither ".." nor a symlink
 * planted in the tree can redirect a write outside it.
 */
#ifndef DSCFS_OUTDIR_H
#define DSCFS_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

bool outdir_path_ok(const char *path);
/* Open (creating as needed) the parent directory of `path` under `root`;
 * *leaf points into `path` at the last component. Returns an fd or -1
 * with errno set (EINVAL for a rejected path). */
int outdir_open_parent(int root, const char *path, const char **leaf);
/* Write `len` bytes to `path` under `root` (mode 0755), replacing a file. */
int outdir_write(int root, const char *path, const void *data, size_t len);
/* Make `path` a symlink to `target` (both install paths), relative. */
int outdir_symlink(int root, const char *path, const char *target);
/* The relative link text from `path`'s directory to `target`; malloc'ed. */
char *outdir_relative(const char *path, const char *target);

#endif

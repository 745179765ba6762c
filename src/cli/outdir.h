/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outdir.h — writing files under an output directory at untrusted install
 * paths without ever leaving it.
 *
 * A path is accepted only under the rule the mount applies too,
 * dsc_path_servable (absolute, no "." or "..", components of at most 255
 * bytes; empty components ignored), and is used in its normal form
 * (outdir_normalize). Directories are created and walked one component at
 * a time with mkdirat/openat relative to the directory fd, with O_NOFOLLOW,
 * so neither ".." nor a symlink planted in the tree can redirect a write
 * outside it.
 */
#ifndef DSCFS_OUTDIR_H
#define DSCFS_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

/* `path` without empty components ("//a//b/" -> "/a/b"), malloc'ed; NULL
 * with errno set (EINVAL when dsc_path_servable refuses it). Two install
 * paths name the same output file exactly when their normal forms match. */
char *outdir_normalize(const char *path);
/* Write `len` bytes to `path` under `root` (mode 0755), replacing a file. */
int outdir_write(int root, const char *path, const void *data, size_t len);
/* Make `path` a symlink whose text is `text` (relative, as the mount's
 * tree computes it: tree.h), replacing an old symlink, never a file or a
 * directory. */
int outdir_link(int root, const char *path, const char *text);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* ops.h — the FUSE operations of a dscfs mount (high-level libfuse3 API;
 * the private data is the struct fsys). */
#ifndef DSCFS_OPS_H
#define DSCFS_OPS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>

extern const struct fuse_operations fsys_ops;

struct fsys;
/* The FUSE loop has ended (fuse_destroy has run): no more invalidations.
 * Call before fsys_free. */
void ops_stopped(struct fsys *fs);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mountpoint.h — what dscfs checks before mounting, so that a mistake gets
 * one line naming the directory and what to do instead of a silent
 * success (libfuse 3 mounts over anything): the mount point must be a
 * directory, empty and not already a mount point, unless -o nonempty; and
 * the option that names the mount (fsname=) with the cache path escaped
 * for libfuse's comma-separated option lists.
 */
#ifndef DSCFS_MOUNTPOINT_H
#define DSCFS_MOUNTPOINT_H

#include <stdbool.h>

/* 0 when MP may be mounted on; -1 after printing why not. */
int mountpoint_check(const char *mp, bool nonempty);

/* "-ofsname=NAME,subtype=dscfs,ro,default_permissions" with ',' and '\'
 * in NAME escaped; malloc'ed, NULL when out of memory. */
char *mountpoint_fixed_opts(const char *name);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fs.h — the mount front of the dscfs command: `dscfs [-f] [-d] [-s]
 * [-o opt,...] CACHE MOUNTPOINT`. Returns the process exit status.
 */
#ifndef DSCFS_FS_H
#define DSCFS_FS_H

#include <stdio.h>

int fs_main(int argc, char **argv);
/* The mount's usage and options (dscfs --help prints them too). */
void fs_usage(FILE *out);

#endif

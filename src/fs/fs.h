/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fs.h — the mount front of the dscfs command: `dscfs [-f] [-d] [-s]
 * [-o opt,...] CACHE MOUNTPOINT`. Returns the process exit status.
 */
#ifndef DSCFS_FS_H
#define DSCFS_FS_H

int fs_main(int argc, char **argv);

#endif

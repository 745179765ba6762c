/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * open.h — opening a cache for the dscfs command, shared by the verbs
 * (src/cli) and the mount (src/fs), which otherwise know nothing of each
 * other. Failures print one line on stderr naming the file and what to do
 * instead: libdsc's own message, or for a cache without images (a
 * subcache given in place of its main file) the main file to use. A
 * symlinked main file is opened through its target, where its subcaches
 * are. Warnings of the open are printed with "warning:".
 */
#ifndef DSCFS_OPEN_H
#define DSCFS_OPEN_H

#include "dsc/dsc.h"

/* The opened cache, or NULL after printing why not. */
dsc_cache *cli_open(const char *path);

#endif

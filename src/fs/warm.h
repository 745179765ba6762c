/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * warm.h — compute every image's size in the background once the mount is
 * up, so that the first `ls -l` of a directory finds the sizes memoized
 * instead of running the engine under the lister's stat calls.
 *
 * Contract:
 *  - warm_start() runs `nthreads` SCHED_IDLE threads that call
 *    fsys_image_size() for every image (each image once, last image
 *    first);
 *    a stat racing them computes its own image itself (fsys_image_size
 *    allows that). Start it after fuse_daemonize(): threads do not survive
 *    the fork.
 *  - The threads block every asynchronous signal, so SIGINT/SIGTERM still
 *    reach the FUSE loop; SIGBUS stays deliverable for the guard.
 *  - warm_stop() asks them to stop after their current image and joins
 *    them; call it before fsys_free(). NULL (nothing started) is fine.
 *  - warm_size_now() sizes the images a listing is about to show, on the
 *    calling thread and up to nthreads - 1 helpers it starts and joins
 *    (at the caller's priority, signals blocked as above): a directory's
 *    sizes take the time of one CPU's share of them. The helpers live
 *    for one call only.
 */
#ifndef DSCFS_WARM_H
#define DSCFS_WARM_H

#include "fsys.h"

struct warm;

/* NULL when no thread could be started (the mount works without). */
struct warm *warm_start(struct fsys *fs, unsigned nthreads);
void warm_stop(struct warm *w);
/* Compute the sizes of images[0..n) (fsys_image_size) on up to `nthreads`
 * threads, this one included, longest (image_state.span) first; returns
 * when all are known or failed. Reorders `images`. */
void warm_size_now(struct fsys *fs, uint32_t *images, size_t n, unsigned nthreads);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * warm.h — the sizing threads: every image's size computed in the
 * background once the mount is up (warming), and the sizes a directory
 * listing shows computed ahead of the listing, so that `ls -l` and
 * `ls -lR` find them ready instead of running the engine under the
 * lister's requests.
 *
 * Contract:
 *  - warm_start() runs `nthreads` threads (one per CPU) that live as long
 *    as the mount. They take images in listing order: the tree walked
 *    depth first, a directory's images (longest span first) before its
 *    subdirectories, names in strcmp order (what `ls -lR` visits in the C
 *    locale). Each image is taken by one thread (the listing's thread
 *    included), so none is sized twice by them; a stat racing them
 *    computes its own image itself (fsys_image_size allows that).
 *  - Warming (all): the threads run at idle priority (SCHED_IDLE, only
 *    when a CPU would otherwise idle) over every image, from where the
 *    last listing is, then whatever they skipped. Without warming they
 *    size only what listings ask for and the WARM_AHEAD images after it
 *    in listing order (the directories a recursive listing reaches
 *    next), at the daemon's own priority: the listing's own work. While
 *    listings come, warming threads also run at the daemon's priority
 *    (back from idle only where permitted: as root, or with CAP_SYS_NICE
 *    or an RLIMIT_NICE of 20; else they stay at idle priority).
 *  - warm_listing() is called by a listing for the images it is about to
 *    show: it sizes those no thread has taken, on the calling thread, and
 *    waits for the ones taken. A thread at idle priority holding one is
 *    put back at the daemon's priority first; where that is not permitted
 *    the wait is WARM_WAIT_MS at most (other processes may starve the
 *    thread; the listing then computes what is left itself).
 *  - Cache pages and freed heap are let go (fsys_release) once sizing
 *    pauses for WARM_RELEASE_MS, not in the middle of a listing.
 *  - Start it after fuse_daemonize() (threads do not survive the fork).
 *    The threads block every asynchronous signal, so SIGINT/SIGTERM still
 *    reach the FUSE loop; SIGBUS stays deliverable for the guard.
 *  - warm_stop() asks them to stop after their current image and joins
 *    them; call it before fsys_free(). NULL (nothing started) is fine.
 */
#ifndef DSCFS_WARM_H
#define DSCFS_WARM_H

#include <stdbool.h>

#include "fsys.h"

struct warm;

/* Sets fs->warm (before any thread starts) and returns it; NULL when no
 * thread could be started or out of memory (the mount works without:
 * fill_stat sizes what it lists). `all`: warming. */
struct warm *warm_start(struct fsys *fs, unsigned nthreads, bool all);
/* Stops and joins the threads, then sets fs->warm back to NULL. */
void warm_stop(struct warm *w);
/* A listing is about to show images[0..n) (one directory's, from some
 * offset): returns when each is sized (or failed), or WARM_WAIT_MS after
 * its own share is done. */
void warm_listing(struct warm *w, const uint32_t *images, size_t n);
/* An image was sized (produce.c): arranges the release once sizing
 * pauses. */
void warm_sized(struct warm *w);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * warm.c — background size computation, and the sizes a listing needs
 * now computed on several threads. See warm.h.
 */
#include "warm.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_WARM_THREADS 16

struct warm {
    struct fsys *fs;
    atomic_uint next;     /* the next image to size */
    atomic_bool stop;
    pthread_t threads[MAX_WARM_THREADS];
    unsigned nthreads;
};

static void *warm_thread(void *arg)
{
    struct warm *w = arg;
    /* Only when a CPU would otherwise idle: requests come first. */
    struct sched_param idle = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
    for (;;) {
        unsigned k = atomic_fetch_add(&w->next, 1);
        if (k >= w->fs->nimages || atomic_load(&w->stop))
            break;
        /* Last image first: a lister walks the tree roughly in image
         * order, so the two meet once instead of sizing the same images. */
        uint32_t i = w->fs->nimages - 1 - k;
        uint64_t size;
        fsys_image_size(w->fs, i, &size); /* a failure is recorded for the image */
        fsys_control_changed(w->fs);
    }
    return NULL;
}

/* Start up to `max` threads running fn(arg), every asynchronous signal
 * blocked (see warm.h); how many started. */
static unsigned spawn(pthread_t *threads, unsigned max, void *(*fn)(void *), void *arg)
{
    unsigned n = 0;
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGBUS); /* faults on the mapped cache: guard.c */
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (n < max && pthread_create(&threads[n], NULL, fn, arg) == 0)
        n++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n;
}

struct warm *warm_start(struct fsys *fs, unsigned nthreads)
{
    struct warm *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fs = fs;
    atomic_init(&w->next, 0);
    atomic_init(&w->stop, false);
    w->nthreads = spawn(w->threads, nthreads < MAX_WARM_THREADS ? nthreads : MAX_WARM_THREADS, warm_thread, w);
    if (w->nthreads == 0) {
        free(w);
        return NULL;
    }
    return w;
}

void warm_stop(struct warm *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    free(w);
}

/* ---- a listing's sizes, now ---- */

struct batch {
    struct fsys *fs;
    const uint32_t *images;
    size_t n;
    atomic_size_t next;
};

static void *size_batch(void *arg)
{
    struct batch *b = arg;
    for (size_t k; (k = atomic_fetch_add(&b->next, 1)) < b->n;) {
        uint64_t size;
        fsys_image_size(b->fs, b->images[k], &size); /* a failure is recorded for the image */
    }
    return NULL;
}

static int cmp_span(const void *a, const void *b, void *vfs)
{
    const struct fsys *fs = vfs;
    uint64_t x = fs->img[*(const uint32_t *)a].span, y = fs->img[*(const uint32_t *)b].span;
    return (x < y) - (x > y);
}

void warm_size_now(struct fsys *fs, uint32_t *images, size_t n, unsigned nthreads)
{
    struct batch b = {.fs = fs, .images = images, .n = n};
    /* Longest first, so that no thread starts the directory's largest
     * image when the others are done. */
    qsort_r(images, n, sizeof *images, cmp_span, fs);
    pthread_t helpers[MAX_WARM_THREADS];
    unsigned want = nthreads < MAX_WARM_THREADS ? nthreads : MAX_WARM_THREADS;
    atomic_init(&b.next, 0);
    want = want > n ? (unsigned)n : want;
    unsigned started = want > 1 ? spawn(helpers, want - 1, size_batch, &b) : 0;
    size_batch(&b);
    for (unsigned i = 0; i < started; i++)
        pthread_join(helpers[i], NULL);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * warm.c — the sizing threads: warming, and the sizes listings need,
 * computed ahead of them in listing order. See warm.h.
 *
 * Why this shape (ls -lR of make bench's large cache, 5285 images, 2 CPUs):
 * the lister's FUSE thread used to size a directory's images itself (with
 * a helper thread started and joined per directory), while idle-priority
 * warming threads sized from the last image backwards, the two meeting
 * once; with -o nowarm every one-image directory was sized on one CPU
 * (600+ ms). Now the threads run ahead of the listing in the order it
 * will ask (both CPUs busy, nothing sized twice) and the FUSE thread
 * mostly finds its directory done or being done.
 */
#include "warm.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WARM_THREADS 16
/* Without warming, the images after a listed directory (in listing
 * order) sized before anything asks: enough to keep the threads busy
 * while the lister turns to the next directory, little for a listing that
 * is not recursive to waste (~6 ms of CPU). */
#define WARM_AHEAD 64
/* How long a listing waits for an image a thread at idle priority has
 * taken before computing it itself (a starved thread that may not go back
 * to the daemon's priority; one image takes ~0.1 ms, the largest a few
 * ms). */
#define WARM_WAIT_MS 50
/* Sizing that paused this long is over: the release is due. */
#define WARM_RELEASE_MS 100
/* Warming threads run at normal priority while listings come at most
 * this far apart: a listing waits for what they take. */
#define WARM_LISTING_MS 100

/* A place's state: FREE, TAKEN or DONE; while taken, flags too: taken by
 * a thread at idle priority, a listing waiting for it. */
enum { FREE, TAKEN, DONE, IDLE_TAKER = 4, AWAITED = 8 };

/* A sizing thread's scheduling class: `idle` (SCHED_IDLE) or the one it
 * was started with (the daemon's: a request's), and the place it holds. */
struct worker {
    struct warm *w;
    pthread_t id;
    int policy;
    struct sched_param param;
    bool idle;
    uint32_t held;            /* UINT32_MAX: none */
};

struct warm {
    struct fsys *fs;
    pthread_mutex_t mu;       /* guards everything below but the arrays' contents set at start */
    pthread_cond_t work;      /* the threads wait for work or a release due */
    pthread_cond_t done;      /* listings wait for images other threads took */
    uint32_t n;
    uint32_t *order;          /* images in listing order (see warm.h) */
    uint32_t *pos;            /* each image's place in order */
    unsigned char *state;     /* by place: FREE, TAKEN (and flags) or DONE */
    uint32_t next, limit;     /* the threads take from [next, limit) */
    uint32_t sweep;           /* warming: then from here on (what next skipped) */
    bool all, stop;
    bool owed;                /* sized since the last release */
    struct timespec listed;   /* when the last listing came */
    unsigned idle;            /* threads waiting for work */
    struct worker workers[MAX_WARM_THREADS];
    unsigned nthreads;
};

/* ---- listing order ---- */

static int cmp_span(const void *a, const void *b, void *vfs)
{
    const struct fsys *fs = vfs;
    uint64_t x = fs->img[*(const uint32_t *)a].span, y = fs->img[*(const uint32_t *)b].span;
    return (x < y) - (x > y);
}

/* Names in reverse strcmp order: pushed so, the first pops first. */
static int cmp_name_desc(const void *a, const void *b, void *vt)
{
    const tree *t = vt;
    return strcmp(tree_node_at(t, *(const uint32_t *)b)->name, tree_node_at(t, *(const uint32_t *)a)->name);
}

/* Directory d's images at order[*at...] (longest first: no thread starts
 * the directory's largest when the others are done), its subdirectories
 * onto the stack. */
static void visit(struct warm *w, uint32_t d, uint32_t *at, uint32_t *stack, uint32_t *top)
{
    const tree *t = w->fs->tree;
    uint32_t first = *at, dirs = *top;
    for (uint32_t c = tree_node_at(t, d)->first_child; c != TREE_NONE; c = tree_node_at(t, c)->next_sibling) {
        const tree_node *node = tree_node_at(t, c);
        if (node->kind == TREE_DIR)
            stack[(*top)++] = c;
        else if (node->kind == TREE_FILE && node->payload < w->n && w->pos[node->payload] == UINT32_MAX)
            w->pos[w->order[(*at)++] = node->payload] = 0;
    }
    qsort_r(w->order + first, *at - first, sizeof *w->order, cmp_span, w->fs);
    for (uint32_t k = first; k < *at; k++)
        w->pos[w->order[k]] = k;
    qsort_r(stack + dirs, *top - dirs, sizeof *stack, cmp_name_desc, (void *)t);
}

static bool listing_order(struct warm *w)
{
    uint32_t nodes = tree_count(w->fs->tree), at = 0, top = 0;
    uint32_t *stack = malloc((nodes ? nodes : 1) * sizeof *stack);
    if (!stack)
        return false;
    for (uint32_t i = 0; i < w->n; i++)
        w->pos[i] = UINT32_MAX;
    stack[top++] = TREE_ROOT; /* each directory is pushed once: nodes bound the stack */
    while (top)
        visit(w, stack[--top], &at, stack, &top);
    free(stack);
    for (uint32_t i = 0; i < w->n; i++) /* paths the tree refused: still sized */
        if (w->pos[i] == UINT32_MAX)
            w->pos[w->order[at] = i] = at, at++;
    return true;
}

/* ---- taking images ---- */

/* Move *from up to the first FREE place before `end`; false if none. The
 * places passed are taken or done for good (a place is never freed). */
static bool seek(const struct warm *w, uint32_t *from, uint32_t end)
{
    while (*from < end && w->state[*from] != FREE)
        ++*from;
    return *from < end;
}

/* The next image for sizing thread t (under mu). */
static bool take(struct warm *w, uint32_t *k, struct worker *t)
{
    if (seek(w, &w->next, w->limit))
        *k = w->next++;
    else if (w->all && seek(w, &w->sweep, w->n))
        *k = w->sweep++;
    else
        return false;
    w->state[*k] = TAKEN | (t->idle ? IDLE_TAKER : 0);
    t->held = *k;
    return true;
}

static bool has_work(struct warm *w)
{
    return seek(w, &w->next, w->limit) || (w->all && seek(w, &w->sweep, w->n));
}

static void size_at(struct warm *w, uint32_t k)
{
    uint64_t size;
    fsys_image_size(w->fs, w->order[k], &size); /* a failure is recorded for the image */
    fsys_control_changed(w->fs);
}

/* Place k is sized (under mu): wake the listings only if one waits for
 * it, not at every image while one waits for another. */
static void finish(struct warm *w, uint32_t k)
{
    bool awaited = w->state[k] & AWAITED;
    w->state[k] = DONE;
    if (awaited)
        pthread_cond_broadcast(&w->done);
}

/* ---- the threads ---- */

static struct timespec after_ms(struct timespec t, long ms)
{
    t.tv_nsec += ms % 1000 * 1000000;
    t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

static struct timespec now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static bool later(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

/* Put thread t at idle priority or back at its own (under mu); false
 * when not permitted: a thread may go back from SCHED_IDLE only with
 * CAP_SYS_NICE or an RLIMIT_NICE of 20. */
static bool set_idle(struct worker *t, bool idle)
{
    struct sched_param zero = {.sched_priority = 0};
    if (idle != t->idle && pthread_setschedparam(t->id, idle ? SCHED_IDLE : t->policy, idle ? &zero : &t->param) != 0)
        return false;
    t->idle = idle;
    return true;
}

/* Idle priority for warming, unless listings are coming (under mu): they
 * wait for what the thread takes. */
static void set_class(struct warm *w, struct worker *t)
{
    set_idle(t, w->all && later(now(), after_ms(w->listed, WARM_LISTING_MS)));
}

/* A listing waits for a place taken at idle priority (under mu): every
 * thread back at the daemon's priority, if permitted, so that the images
 * they hold are no longer starved (by the listing itself, among others). */
static void promote(struct warm *w)
{
    for (unsigned i = 0; i < w->nthreads; i++) {
        struct worker *t = &w->workers[i];
        if (set_idle(t, false) && t->held != UINT32_MAX)
            w->state[t->held] &= (unsigned char)~IDLE_TAKER;
    }
}

/* Nothing to take (under mu): wait for work; the last thread to go idle
 * after sizing releases once nothing came for WARM_RELEASE_MS. */
static void rest(struct warm *w)
{
    w->idle++;
    if (!w->owed || w->idle < w->nthreads) {
        pthread_cond_wait(&w->work, &w->mu);
    } else {
        struct timespec until = after_ms(now(), WARM_RELEASE_MS);
        int rc = 0;
        while (!w->stop && !has_work(w) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&w->work, &w->mu, &until);
        if (rc == ETIMEDOUT && !w->stop && !has_work(w)) {
            w->owed = false;
            pthread_mutex_unlock(&w->mu);
            fsys_release(w->fs);
            fsys_control_changed(w->fs); /* /.dscfs/info's memory figures */
            pthread_mutex_lock(&w->mu);
        }
    }
    w->idle--;
}

static void *sizing_thread(void *arg)
{
    struct worker *t = arg;
    struct warm *w = t->w;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        uint32_t k;
        set_class(w, t);
        if (!take(w, &k, t)) {
            rest(w);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        size_at(w, k);
        pthread_mutex_lock(&w->mu);
        t->held = UINT32_MAX;
        finish(w, k);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Start up to `max` sizing threads, every asynchronous signal blocked
 * (see warm.h), in the caller's scheduling class; how many started. */
static unsigned spawn(struct warm *w, unsigned max)
{
    unsigned n = 0;
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGBUS); /* faults on the mapped cache: guard.c */
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (; n < max; n++) {
        struct worker *t = &w->workers[n];
        *t = (struct worker){.w = w, .held = UINT32_MAX};
        pthread_getschedparam(pthread_self(), &t->policy, &t->param);
        if (pthread_create(&t->id, NULL, sizing_thread, t) != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n;
}

static void warm_free(struct warm *w)
{
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w->order);
    free(w->pos);
    free(w->state);
    free(w);
}

struct warm *warm_start(struct fsys *fs, unsigned nthreads, bool all)
{
    struct warm *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the timed waits */
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, &ca);
    pthread_cond_init(&w->done, &ca);
    pthread_condattr_destroy(&ca);
    size_t n = fs->nimages ? fs->nimages : 1;
    w->fs = fs;
    w->n = fs->nimages;
    w->all = all;
    w->limit = all ? fs->nimages : 0;
    w->order = malloc(n * sizeof *w->order);
    w->pos = malloc(n * sizeof *w->pos);
    w->state = calloc(n, 1); /* FREE */
    if (!w->order || !w->pos || !w->state || !listing_order(w)) {
        warm_free(w);
        return NULL;
    }
    fs->warm = w; /* before the threads: their sizes read it (engine_done) */
    pthread_mutex_lock(&w->mu); /* they start once nthreads is set */
    w->nthreads = spawn(w, nthreads < MAX_WARM_THREADS ? nthreads : MAX_WARM_THREADS);
    pthread_mutex_unlock(&w->mu);
    if (w->nthreads == 0) {
        fs->warm = NULL;
        warm_free(w);
    }
    return fs->warm;
}

void warm_stop(struct warm *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->workers[i].id, NULL);
    w->fs->warm = NULL;
    warm_free(w);
}

void warm_sized(struct warm *w)
{
    pthread_mutex_lock(&w->mu);
    w->owed = true;
    if (w->idle == w->nthreads) /* all asleep: one times the release */
        pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

/* ---- listings ---- */

/* Point the threads at a listing of places [a, b) (under mu): its images
 * not taken yet first, then on past it. */
static void steer(struct warm *w, uint32_t a, uint32_t b)
{
    uint32_t k = a;
    w->next = seek(w, &k, b) ? a : (w->next > b ? w->next : b);
    if (!w->all)
        w->limit = w->n - b > WARM_AHEAD ? b + WARM_AHEAD : w->n;
    w->listed = now();
    if (w->idle && has_work(w))
        pthread_cond_broadcast(&w->work);
}

void warm_listing(struct warm *w, const uint32_t *images, size_t n)
{
    if (!w || !n)
        return;
    uint32_t a = UINT32_MAX, b = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t p = w->pos[images[i]];
        a = p < a ? p : a;
        b = p + 1 > b ? p + 1 : b;
    }
    pthread_mutex_lock(&w->mu);
    steer(w, a, b);
    for (uint32_t k = a; seek(w, &k, b); k++) {
        w->state[k] = TAKEN;
        pthread_mutex_unlock(&w->mu);
        size_at(w, k);
        pthread_mutex_lock(&w->mu);
        finish(w, k);
    }
    /* Taken at the daemon's priority (or put back at it): the taker runs
     * as we do, wait for it. Still at idle priority, it may be starved:
     * wait WARM_WAIT_MS at most. */
    struct timespec until = after_ms(now(), WARM_WAIT_MS);
    for (uint32_t k = a; k < b; k++)
        while (w->state[k] & TAKEN) {
            if (w->state[k] & IDLE_TAKER)
                promote(w);
            w->state[k] |= AWAITED;
            if (!(w->state[k] & IDLE_TAKER))
                pthread_cond_wait(&w->done, &w->mu);
            else if (pthread_cond_timedwait(&w->done, &w->mu, &until) == ETIMEDOUT)
                goto out; /* fill_stat computes what is left */
        }
out:
    pthread_mutex_unlock(&w->mu);
}

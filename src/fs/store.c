/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c — see store.h. Entries live in an array indexed by key; held blobs
 * are also on a doubly linked LRU list (head = most recently used) whose
 * links are key numbers, NO_KEY ending it.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define NO_KEY UINT32_MAX

struct entry {
    enum store_state state;
    store_blob blob;
    uint32_t pins;
    uint32_t waiters;   /* threads waiting for the flight in progress */
    uint64_t flight;    /* bumped when a production ends */
    int flight_err;     /* outcome of the last production */
    uint32_t prev, next;
    pthread_cond_t done;
};

struct store {
    pthread_mutex_t lock;
    store_producer produce;
    void *ctx;
    uint32_t nkeys;
    struct entry *entries;
    uint32_t lru_head, lru_tail;
    store_stats stats;
};

store *store_create(uint32_t nkeys, uint64_t budget, store_producer produce, void *ctx)
{
    if (nkeys == 0 || nkeys == NO_KEY)
        return NULL;
    store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->entries = calloc(nkeys, sizeof *s->entries);
    if (!s->entries) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    for (uint32_t k = 0; k < nkeys; k++)
        pthread_cond_init(&s->entries[k].done, NULL);
    s->produce = produce;
    s->ctx = ctx;
    s->nkeys = nkeys;
    s->lru_head = s->lru_tail = NO_KEY;
    s->stats.budget = budget;
    return s;
}

void store_destroy(store *s)
{
    if (!s)
        return;
    for (uint32_t k = 0; k < s->nkeys; k++) {
        free(s->entries[k].blob.data);
        pthread_cond_destroy(&s->entries[k].done);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->entries);
    free(s);
}

/* ---- LRU list (lock held) ---- */

static void lru_unlink(store *s, uint32_t k)
{
    struct entry *e = &s->entries[k];
    if (e->prev != NO_KEY)
        s->entries[e->prev].next = e->next;
    else
        s->lru_head = e->next;
    if (e->next != NO_KEY)
        s->entries[e->next].prev = e->prev;
    else
        s->lru_tail = e->prev;
}

static void lru_push_front(store *s, uint32_t k)
{
    struct entry *e = &s->entries[k];
    e->prev = NO_KEY;
    e->next = s->lru_head;
    if (s->lru_head != NO_KEY)
        s->entries[s->lru_head].prev = k;
    else
        s->lru_tail = k;
    s->lru_head = k;
}

/* ---- accounting (lock held) ---- */

static void pin(store *s, struct entry *e, uint32_t n)
{
    if (e->pins == 0)
        s->stats.pinned += e->blob.size;
    e->pins += n;
}

static void note_peaks(store *s)
{
    store_stats *st = &s->stats;
    if (st->resident > st->peak_resident)
        st->peak_resident = st->resident;
    if (st->resident - st->pinned > st->peak_unpinned)
        st->peak_unpinned = st->resident - st->pinned;
}

/* Free unpinned blobs, least recently used first, until within budget. */
static void evict(store *s)
{
    uint32_t k = s->lru_tail;
    while (s->stats.resident > s->stats.budget && k != NO_KEY) {
        struct entry *e = &s->entries[k];
        uint32_t older_next = e->prev;
        if (e->pins == 0) {
            lru_unlink(s, k);
            s->stats.resident -= e->blob.size;
            s->stats.entries--;
            s->stats.evictions++;
            free(e->blob.data);
            e->blob = (store_blob){0};
            e->state = STORE_ABSENT;
        }
        k = older_next;
    }
    note_peaks(s);
}

/* ---- acquire / release ---- */

/* Run the producer for k (its entry is BUSY), then publish the outcome and
 * pre-pin the blob for this thread and every waiter of the flight. */
static int produce(store *s, uint32_t k)
{
    struct entry *e = &s->entries[k];
    s->stats.misses++;
    pthread_mutex_unlock(&s->lock);
    store_blob blob = {0};
    int err = s->produce(s->ctx, k, &blob);
    pthread_mutex_lock(&s->lock);

    e->flight++;
    e->flight_err = err;
    if (err) {
        s->stats.failures++;
        e->state = STORE_ABSENT;
    } else {
        e->state = STORE_READY;
        e->blob = blob;
        s->stats.resident += blob.size;
        s->stats.entries++;
        lru_push_front(s, k);
        pin(s, e, 1 + e->waiters);
    }
    e->waiters = 0;
    pthread_cond_broadcast(&e->done);
    if (!err)
        evict(s);
    return err;
}

int store_acquire(store *s, uint32_t key, const store_blob **blob)
{
    if (key >= s->nkeys)
        return EINVAL;
    struct entry *e = &s->entries[key];
    int err = 0;
    pthread_mutex_lock(&s->lock);
    switch (e->state) {
    case STORE_READY:
        s->stats.hits++;
        pin(s, e, 1);
        lru_unlink(s, key);
        lru_push_front(s, key);
        note_peaks(s);
        break;
    case STORE_BUSY: {
        /* The producer pins the blob for us before it wakes us. */
        uint64_t flight = e->flight;
        s->stats.waits++;
        e->waiters++;
        while (e->flight == flight)
            pthread_cond_wait(&e->done, &s->lock);
        err = e->flight_err;
        break;
    }
    case STORE_ABSENT:
        e->state = STORE_BUSY;
        err = produce(s, key);
        break;
    }
    if (!err)
        *blob = &e->blob;
    pthread_mutex_unlock(&s->lock);
    return err;
}

void store_release(store *s, uint32_t key)
{
    if (key >= s->nkeys)
        return;
    struct entry *e = &s->entries[key];
    pthread_mutex_lock(&s->lock);
    if (e->state == STORE_READY && e->pins > 0 && --e->pins == 0) {
        s->stats.pinned -= e->blob.size;
        evict(s);
    }
    pthread_mutex_unlock(&s->lock);
}

void store_get_stats(store *s, store_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}

enum store_state store_key_state(store *s, uint32_t key)
{
    if (key >= s->nkeys)
        return STORE_ABSENT;
    pthread_mutex_lock(&s->lock);
    enum store_state st = s->entries[key].state;
    pthread_mutex_unlock(&s->lock);
    return st;
}

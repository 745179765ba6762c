/* SPDX-License-Identifier: BSD-2-Clause */
/* test_store.c — the LRU store with its own producer: single flight,
 * parallel productions, pinning, eviction order, budget accounting, failure,
 * and a threaded stress run (also run under ThreadSanitizer: make check-tsan). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/fs/store.h"
#include "suites.h"

/* The test producer: key k gives size_of(k) bytes, every byte k*7+1. */
struct prod {
    size_t sizes[32];
    unsigned delay_ms;
    uint32_t fail_key;       /* producing this key fails with EIO */
    store *gate;             /* if set, a production ends only once ... */
    uint64_t gate_waits;     /* ... this many acquires wait on it (or 30 s) */
    atomic_uint calls[32];
    atomic_uint inside, max_inside;
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A fixed delay does not prove that racers joined one flight: under load
 * or ThreadSanitizer a thread may start after the flight ended and begin
 * its own. The gate holds the production until the store counts them. */
static void wait_for_waiters(struct prod *p)
{
    for (int i = 0; p->gate && i < 3000; i++) {
        store_stats st;
        store_get_stats(p->gate, &st);
        if (st.waits >= p->gate_waits)
            return;
        sleep_ms(10);
    }
}

static int produce(void *ctx, uint32_t key, store_blob *out)
{
    struct prod *p = ctx;
    atomic_fetch_add(&p->calls[key], 1);
    unsigned now = atomic_fetch_add(&p->inside, 1) + 1;
    unsigned seen = atomic_load(&p->max_inside);
    while (now > seen && !atomic_compare_exchange_weak(&p->max_inside, &seen, now))
        ;
    if (p->delay_ms)
        sleep_ms(p->delay_ms);
    wait_for_waiters(p);
    atomic_fetch_sub(&p->inside, 1);
    if (key == p->fail_key)
        return EIO;
    out->size = p->sizes[key];
    out->data = malloc(out->size ? out->size : 1);
    memset(out->data, key * 7 + 1, out->size);
    return 0;
}

static void prod_init(struct prod *p, size_t size)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 32; i++)
        p->sizes[i] = size;
    p->fail_key = UINT32_MAX;
}

static int blob_ok(const store_blob *b, uint32_t key, size_t size)
{
    if (b->size != size)
        return 0;
    for (size_t i = 0; i < size; i++)
        if (((const unsigned char *)b->data)[i] != (unsigned char)(key * 7 + 1))
            return 0;
    return 1;
}

static void get_release(store *s, uint32_t key)
{
    const store_blob *b;
    ck_assert_int_eq(store_acquire(s, key, &b), 0);
    store_release(s, key);
}

/* ---- single flight ---- */

struct racer {
    store *s;
    uint32_t key;
    int err;
    const store_blob *blob;
};

static void *race_acquire(void *arg)
{
    struct racer *r = arg;
    r->err = store_acquire(r->s, r->key, &r->blob);
    return NULL;
}

static void run_racers(store *s, struct racer *r, int n, uint32_t (*key_of)(int))
{
    pthread_t t[16];
    for (int i = 0; i < n; i++) {
        r[i] = (struct racer){.s = s, .key = key_of(i)};
        pthread_create(&t[i], NULL, race_acquire, &r[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static uint32_t same_key(int i) { (void)i; return 3; }
static uint32_t own_key(int i) { return (uint32_t)i; }

START_TEST(single_flight_produces_once)
{
    struct prod p;
    prod_init(&p, 4096);
    p.delay_ms = 100;
    store *s = store_create(32, 1 << 20, produce, &p);
    struct racer r[16];
    run_racers(s, r, 16, same_key);
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(r[i].err, 0);
        ck_assert_ptr_eq(r[i].blob, r[0].blob);
        ck_assert(blob_ok(r[i].blob, 3, 4096));
    }
    ck_assert_uint_eq(atomic_load(&p.calls[3]), 1);
    store_stats st;
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.misses, 1);
    ck_assert_uint_eq(st.hits + st.waits, 15);
    ck_assert_uint_eq(st.pinned, 4096);
    for (int i = 0; i < 16; i++)
        store_release(s, 3);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.pinned, 0);
    ck_assert_uint_eq(st.resident, 4096);
    store_destroy(s);
}
END_TEST

START_TEST(different_keys_produce_in_parallel)
{
    struct prod p;
    prod_init(&p, 100);
    p.delay_ms = 200;
    store *s = store_create(32, 1 << 20, produce, &p);
    struct racer r[8];
    run_racers(s, r, 8, own_key);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(r[i].err, 0);
        ck_assert(blob_ok(r[i].blob, (uint32_t)i, 100));
        store_release(s, (uint32_t)i);
    }
    /* Eight 200 ms productions overlapped instead of queuing on the lock. */
    ck_assert_uint_ge(atomic_load(&p.max_inside), 2);
    store_destroy(s);
}
END_TEST

START_TEST(failed_flight_reaches_every_waiter_then_retries)
{
    struct prod p;
    prod_init(&p, 10);
    p.delay_ms = 100;
    p.fail_key = 3;
    store *s = store_create(32, 1000, produce, &p);
    p.gate = s;
    p.gate_waits = 7;
    struct racer r[8];
    run_racers(s, r, 8, same_key);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(r[i].err, EIO);
    ck_assert_uint_eq(atomic_load(&p.calls[3]), 1);
    ck_assert_int_eq(store_key_state(s, 3), STORE_ABSENT);
    const store_blob *b;
    ck_assert_int_eq(store_acquire(s, 3, &b), EIO);
    ck_assert_uint_eq(atomic_load(&p.calls[3]), 2);
    store_stats st;
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.failures, 2);
    ck_assert_uint_eq(st.resident, 0);
    ck_assert_int_eq(store_acquire(s, 32, &b), EINVAL);
    store_destroy(s);
}
END_TEST

/* ---- pinning, eviction, accounting ---- */

START_TEST(pinned_blobs_survive_eviction)
{
    struct prod p;
    prod_init(&p, 80);
    store *s = store_create(32, 100, produce, &p);
    const store_blob *b0, *b1;
    ck_assert_int_eq(store_acquire(s, 0, &b0), 0);
    ck_assert_int_eq(store_acquire(s, 1, &b1), 0);
    store_stats st;
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.resident, 160); /* over budget, but all pinned */
    ck_assert_uint_eq(st.pinned, 160);
    store_release(s, 1);
    /* 1 is newer, but 0 is pinned: 1 goes. */
    ck_assert_int_eq(store_key_state(s, 1), STORE_ABSENT);
    ck_assert_int_eq(store_key_state(s, 0), STORE_READY);
    ck_assert(blob_ok(b0, 0, 80));
    store_release(s, 0);
    ck_assert_int_eq(store_key_state(s, 0), STORE_READY); /* 80 <= 100 */
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.resident, 80);
    ck_assert_uint_eq(st.pinned, 0);
    ck_assert_uint_eq(st.evictions, 1);
    ck_assert_uint_le(st.peak_unpinned, 100);
    ck_assert_uint_eq(st.peak_resident, 160);
    store_destroy(s);
}
END_TEST

START_TEST(eviction_is_least_recently_used_first)
{
    struct prod p;
    prod_init(&p, 100);
    store *s = store_create(32, 300, produce, &p);
    get_release(s, 0);
    get_release(s, 1);
    get_release(s, 2);
    get_release(s, 0); /* 1 is now the oldest */
    get_release(s, 3);
    ck_assert_int_eq(store_key_state(s, 1), STORE_ABSENT);
    ck_assert_int_eq(store_key_state(s, 0), STORE_READY);
    ck_assert_int_eq(store_key_state(s, 2), STORE_READY);
    ck_assert_int_eq(store_key_state(s, 3), STORE_READY);
    get_release(s, 4); /* then 2 */
    ck_assert_int_eq(store_key_state(s, 2), STORE_ABSENT);
    ck_assert_int_eq(store_key_state(s, 0), STORE_READY);
    store_stats st;
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.evictions, 2);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_uint_eq(st.resident, 300);
    ck_assert_uint_eq(st.hits, 1);
    ck_assert_uint_eq(st.misses, 5);
    store_destroy(s);
}
END_TEST

START_TEST(blob_larger_than_budget_lives_while_pinned)
{
    struct prod p;
    prod_init(&p, 1000);
    store *s = store_create(32, 50, produce, &p);
    const store_blob *b;
    ck_assert_int_eq(store_acquire(s, 7, &b), 0);
    ck_assert(blob_ok(b, 7, 1000));
    const store_blob *again;
    ck_assert_int_eq(store_acquire(s, 7, &again), 0); /* a second reader: a hit */
    store_release(s, 7);
    ck_assert_int_eq(store_key_state(s, 7), STORE_READY);
    store_release(s, 7);
    ck_assert_int_eq(store_key_state(s, 7), STORE_ABSENT);
    get_release(s, 7);
    ck_assert_uint_eq(atomic_load(&p.calls[7]), 2);
    store_stats st;
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.resident, 0);
    ck_assert_uint_eq(st.pinned, 0);
    ck_assert_uint_eq(st.peak_unpinned, 0);
    ck_assert_uint_eq(st.peak_resident, 1000);
    store_destroy(s);
}
END_TEST

START_TEST(empty_blobs_and_spurious_releases)
{
    struct prod p;
    prod_init(&p, 0);
    store *s = store_create(4, 10, produce, &p);
    const store_blob *b;
    ck_assert_int_eq(store_acquire(s, 2, &b), 0);
    ck_assert_uint_eq(b->size, 0);
    store_release(s, 2);
    store_release(s, 2); /* no pin left: ignored */
    store_release(s, 9); /* out of range: ignored */
    store_stats st;
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_ptr_null(store_create(0, 10, produce, &p));
    store_destroy(s);
}
END_TEST

/* ---- threaded stress ---- */

struct stress {
    store *s;
    unsigned seed;
    atomic_int *bad;
};

static void *stress_run(void *arg)
{
    struct stress *t = arg;
    for (int i = 0; i < 3000; i++) {
        uint32_t k = (uint32_t)(rand_r(&t->seed) % 16);
        const store_blob *b;
        if (store_acquire(t->s, k, &b) != 0 || !blob_ok(b, k, 64 + k * 16))
            atomic_fetch_add(t->bad, 1);
        else
            store_release(t->s, k);
    }
    return NULL;
}

START_TEST(threaded_stress_keeps_budget_and_bytes)
{
    struct prod p;
    prod_init(&p, 0);
    for (int k = 0; k < 16; k++)
        p.sizes[k] = 64 + (size_t)k * 16;
    const uint64_t budget = 400;
    store *s = store_create(16, budget, produce, &p);
    atomic_int bad = 0;
    pthread_t th[8];
    struct stress t[8];
    for (int i = 0; i < 8; i++) {
        t[i] = (struct stress){s, (unsigned)i * 7919u + 1, &bad};
        pthread_create(&th[i], NULL, stress_run, &t[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&bad), 0);
    store_stats st;
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.pinned, 0);
    ck_assert_uint_le(st.resident, budget);
    ck_assert_uint_le(st.peak_unpinned, budget);
    ck_assert_uint_gt(st.evictions, 0);
    ck_assert_uint_eq(st.hits + st.misses + st.waits, 8 * 3000);
    store_destroy(s);
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, single_flight_produces_once);
    tcase_add_test(tc, different_keys_produce_in_parallel);
    tcase_add_test(tc, failed_flight_reaches_every_waiter_then_retries);
    tcase_add_test(tc, pinned_blobs_survive_eviction);
    tcase_add_test(tc, eviction_is_least_recently_used_first);
    tcase_add_test(tc, blob_larger_than_budget_lives_while_pinned);
    tcase_add_test(tc, empty_blobs_and_spurious_releases);
    tcase_add_test(tc, threaded_stress_keeps_budget_and_bytes);
    suite_add_tcase(s, tc);
    return s;
}

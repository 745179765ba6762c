/* SPDX-License-Identifier: BSD-2-Clause */
/* test_symbols.c — export sets and symbol views on the real caches: every
 * export finds itself by name and by address, address -> image agrees with
 * every image's load commands, umbrella re-exports (libSystem -> libdyld),
 * dependency-ordinal selection, one set per image under concurrent first
 * use, a damaged image left out, the byte budget, views released by
 * dsc_thread_recover() after an abandoned extraction, and no lock held
 * when a SIGBUS cuts an export-set parse short. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include "../../src/fs/guard.h"
#include "suites.h"
#include "index/symbols.h"
#include "testdata.h"

enum { LIBSYSTEM = 0, LIBCXXABI = 4, LIBHELLO = 5, LIBOBJC = 6, LIBDYLD = 7 };

static struct dsc_symbols *view_of(const dsc_cache *c, uint32_t image)
{
    struct dsc_symbols *s;
    dsc_error err;
    ck_assert_msg(dsc_symbols_open(c, image, &s, &err) == 0, "%s", err.msg);
    return s;
}

/* x is among the exports at its address, once. */
static void found_once_at(struct dsc_symbols *s, uint64_t addr, const char *name, uint32_t image)
{
    const struct dsc_export *const *at;
    size_t k = dsc_symbols_by_address(s, addr, &at), found = 0;
    for (size_t j = 0; j < k; j++) {
        ck_assert_uint_eq(at[j]->address, addr);
        found += at[j]->image == image && strcmp(at[j]->name, name) == 0;
    }
    ck_assert_msg(found == 1, "%s at 0x%llx found %zu times", name, (unsigned long long)addr, found);
}

static void image_exports_resolve(const dsc_cache *c, uint32_t im)
{
    struct dsc_symbols *s = view_of(c, im);
    const struct dsc_exports *e = dsc_exports_get(c, im);
    ck_assert_ptr_nonnull(e);
    for (size_t i = 0; i < e->count; i++) {
        const struct dsc_export *x = &e->by_name[i];
        if (i)
            ck_assert_int_lt(strcmp(e->by_name[i - 1].name, x->name), 0);
        ck_assert_ptr_eq(dsc_symbols_find(s, im, x->name), x);
        const struct dsc_export *def = dsc_symbols_lookup(s, im, x->name);
        ck_assert_msg(def != NULL, "%s unresolved", x->name);
        if (!(x->flags & EXPORT_SYMBOL_FLAGS_REEXPORT)) {
            ck_assert_ptr_eq(def, x);
            if ((x->flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) != EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE) {
                ck_assert_int_eq(dsc_symbols_image_of(s, x->address), im);
                /* the last of the image's exports at x's address, by name */
                const struct dsc_export *p = dsc_symbols_preceding(s, x->address);
                ck_assert(p && p->address == x->address && strcmp(p->name, x->name) >= 0);
            }
            size_t it = 0, seen = 0;
            for (const struct dsc_export *y, *prev = NULL; (y = dsc_exports_next_at(e, x->address, &it)); prev = y) {
                ck_assert(y->address == x->address && (!prev || strcmp(prev->name, y->name) < 0));
                seen += y == x;
            }
            ck_assert_uint_eq(seen, 1);
        }
        found_once_at(s, def->address, x->name, im);
    }
    dsc_exports_put(c, e);
    ck_assert(!dsc_symbols_failed(s));
    dsc_symbols_close(s);
}

START_TEST(every_export_resolves_to_itself)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    size_t total = 0;
    for (uint32_t im = 0; im < dsc_cache_get_info(c)->image_count; im++) {
        image_exports_resolve(c, im);
        const struct dsc_exports *e = dsc_exports_get(c, im);
        total += e->count;
        dsc_exports_put(c, e);
    }
    ck_assert_uint_ge(total, 5);
    /* Addresses no export has: none found, and address 0 belongs to nobody. */
    struct dsc_symbols *s = view_of(c, 0);
    const struct dsc_export *const *at;
    ck_assert_uint_eq(dsc_symbols_by_address(s, 1, &at), 0);
    ck_assert_int_eq(dsc_symbols_image_of(s, 0), -1);
    dsc_symbols_close(s);
    dsc_cache_close(c);
}
END_TEST

/* The image with a non-LINKEDIT segment holding addr, from every image's
 * load commands: what dsc_symbols_image_of must answer without them. */
static int64_t image_by_scan(const dsc_cache *c, uint64_t addr)
{
    for (uint32_t im = 0; im < dsc_cache_get_info(c)->image_count; im++) {
        struct dsc_macho mo;
        dsc_error err;
        ck_assert_msg(dsc_macho_parse(c, im, &mo, &err) == 0, "%s", err.msg);
        for (unsigned k = 0; k < mo.nsegs; k++)
            if (strcmp(mo.segs[k].name, "__LINKEDIT") != 0 && addr >= mo.segs[k].vmaddr &&
                addr - mo.segs[k].vmaddr < mo.segs[k].vmsize) {
                dsc_macho_free(&mo);
                return im;
            }
        dsc_macho_free(&mo);
    }
    return -1;
}

/* Both ends of, and just outside, every segment of every image, from views
 * of every image (each view knows a different set of images). */
START_TEST(image_of_agrees_with_load_commands)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    uint32_t n = dsc_cache_get_info(c)->image_count;
    for (uint32_t v = 0; v < n; v++) {
        struct dsc_symbols *s = view_of(c, v);
        for (uint32_t im = 0; im < n; im++) {
            struct dsc_macho mo;
            dsc_error err;
            ck_assert_msg(dsc_macho_parse(c, im, &mo, &err) == 0, "%s", err.msg);
            for (unsigned k = 0; k < mo.nsegs; k++) {
                const struct dsc_segment *g = &mo.segs[k];
                uint64_t probe[] = {g->vmaddr - 1, g->vmaddr, g->vmaddr + g->vmsize / 2, g->vmaddr + g->vmsize - 1,
                                    g->vmaddr + g->vmsize};
                for (size_t p = 0; p < sizeof probe / sizeof probe[0]; p++)
                    ck_assert_msg(dsc_symbols_image_of(s, probe[p]) == image_by_scan(c, probe[p]),
                                  "view %u: 0x%llx", v, (unsigned long long)probe[p]);
            }
            dsc_macho_free(&mo);
        }
        dsc_symbols_close(s);
    }
    dsc_cache_close(c);
}
END_TEST

START_TEST(umbrella_reexports_and_ordinals)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    struct dsc_symbols *s = view_of(c, LIBOBJC);
    uint32_t nd;
    const struct dsc_dep *deps = dsc_symbols_deps(s, LIBSYSTEM, &nd);
    ck_assert_uint_eq(nd, 1);
    ck_assert_uint_eq(deps[0].cmd, LC_REEXPORT_DYLIB);
    ck_assert_int_eq(deps[0].image, LIBDYLD);
    deps = dsc_symbols_deps(s, LIBOBJC, &nd);
    ck_assert_uint_eq(nd, 3);
    ck_assert_str_eq(deps[2].path, "/usr/lib/libSystem.B.dylib");

    /* Every libdyld export is visible through libSystem, not listed in it,
     * and libobjc binds it to libSystem's ordinal (3), libhello to 2. */
    const struct dsc_exports *dyld = dsc_exports_get(c, LIBDYLD), *abi = dsc_exports_get(c, LIBCXXABI),
                             *objc = dsc_exports_get(c, LIBOBJC);
    ck_assert_uint_ge(dyld->count, 1);
    for (size_t i = 0; i < dyld->count; i++) {
        const struct dsc_export *x = &dyld->by_name[i];
        ck_assert_ptr_null(dsc_symbols_find(s, LIBSYSTEM, x->name));
        ck_assert_ptr_eq(dsc_symbols_lookup(s, LIBSYSTEM, x->name), x);
        ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBOBJC, x->name), 3);
        ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, x->name), 2);
    }
    for (size_t i = 0; i < abi->count; i++) {
        ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBOBJC, abi->by_name[i].name), 1);
        ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, abi->by_name[i].name), 0);
    }
    for (size_t i = 0; i < objc->count; i++)
        ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, objc->by_name[i].name), 1);
    dsc_exports_put(c, dyld);
    dsc_exports_put(c, abi);
    dsc_exports_put(c, objc);
    ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBOBJC, "_no_such_symbol"), 0);
    ck_assert_ptr_null(dsc_symbols_lookup(s, LIBSYSTEM, "_no_such_symbol"));
    ck_assert(dsc_symbols_anywhere(s, "_objc_release"));
    ck_assert(!dsc_symbols_anywhere(s, "_no_such_symbol"));
    /* Queries on images that do not exist are harmless. */
    ck_assert_ptr_null(dsc_symbols_find(s, 999, "_x"));
    ck_assert_ptr_null(dsc_symbols_deps(s, 999, &nd));
    ck_assert_uint_eq(nd, 0);
    ck_assert(!dsc_symbols_failed(s));
    dsc_symbols_close(s);
    dsc_cache_close(c);
}
END_TEST

/* dsc_symbols_trie_within: the trie's own names are within and the same
 * names; one name short is not within; an extra name, or a name twice in
 * place of another, is not the same names. */
START_TEST(trie_within_and_same_names)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    struct dsc_symbols *s = view_of(c, LIBOBJC);
    const struct dsc_exports *e = dsc_exports_get(c, LIBOBJC);
    size_t n = e->count;
    ck_assert_uint_ge(n, 2);
    const char **names = malloc((n + 1) * sizeof *names);
    uint64_t *addrs = calloc(n + 1, sizeof *addrs);
    for (size_t i = 0; i < n; i++) {
        names[i] = e->by_name[i].name;
        addrs[i] = e->by_name[i].address;
    }
    bool same = false;
    ck_assert(dsc_symbols_trie_within(s, LIBOBJC, names, addrs, n, &same));
    ck_assert(same);
    ck_assert(dsc_symbols_trie_within(s, LIBOBJC, names, addrs, n, NULL));
    ck_assert(!dsc_symbols_trie_within(s, LIBOBJC, names, addrs, n - 1, &same));
    ck_assert(!same);
    names[n] = "_no_such_symbol";
    ck_assert(dsc_symbols_trie_within(s, LIBOBJC, names, addrs, n + 1, &same));
    ck_assert(!same);
    names[0] = names[1];
    ck_assert(!dsc_symbols_trie_within(s, LIBOBJC, names, addrs, n, &same));
    ck_assert(!same);
    free(names);
    free(addrs);
    dsc_exports_put(c, e);
    dsc_symbols_close(s);
    dsc_cache_close(c);
}
END_TEST

struct race {
    const dsc_cache *c;
    const struct dsc_exports *got;
};

static void *get_set(void *arg)
{
    struct race *r = arg;
    r->got = dsc_exports_get(r->c, LIBOBJC);
    return NULL;
}

START_TEST(one_set_per_image_under_concurrent_use)
{
    dsc_cache *c = testdata_open(testdata_caches[1]);
    if (!c)
        return;
    enum { N = 8 };
    pthread_t t[N];
    struct race r[N];
    for (int i = 0; i < N; i++) {
        r[i] = (struct race){c, NULL};
        ck_assert_int_eq(pthread_create(&t[i], NULL, get_set, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    ck_assert_ptr_nonnull(r[0].got);
    for (int i = 1; i < N; i++)
        ck_assert_ptr_eq(r[i].got, r[0].got);
    ck_assert_uint_eq(r[0].got->pins, N);
    for (int i = 0; i < N; i++)
        dsc_exports_put(c, r[i].got);
    dsc_cache_close(c);
}
END_TEST

/* A cache copy whose liba-1.0 mach header magic is broken (file offset
 * 0x5000): liba's set is empty, every other image keeps its exports. */
START_TEST(damaged_image_is_left_out)
{
    char copy[] = "/tmp/dsc_symbols_XXXXXX";
    int fd = testdata_copy(testdata_caches[1], copy);
    if (fd < 0)
        return;
    ck_assert_int_eq(pwrite(fd, "xxxx", 4, 0x5000), 4);
    close(fd);
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(copy, &c, &err) == 0, "%s", err.msg);
    size_t others = 0;
    for (uint32_t im = 0; im < dsc_cache_get_info(c)->image_count; im++) {
        const struct dsc_exports *e = dsc_exports_get(c, im);
        if (im == 1)
            ck_assert(e->count == 0 && e->nsegs == 0 && e->ndeps == 0);
        else
            others += e->count;
        dsc_exports_put(c, e);
    }
    ck_assert_uint_ge(others, 400);
    struct dsc_symbols *s = view_of(c, LIBHELLO);
    ck_assert_int_eq(dsc_symbols_image_of(s, dsc_cache_get_image(c, 1)->address), -1);
    ck_assert_ptr_nonnull(dsc_symbols_find(s, LIBOBJC, "_objc_release"));
    dsc_symbols_close(s);
    dsc_cache_close(c);
    unlink(copy);
}
END_TEST

/* Unpinned sets go when the budget says so; pinned ones stay. */
START_TEST(budget_evicts_only_unpinned_sets)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    struct dsc_symbols *s = view_of(c, LIBHELLO);
    ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, "_objc_release"), 1);
    size_t pinned = dsc_cache_get_export_memory(c);
    ck_assert_uint_gt(pinned, 0);
    dsc_cache_set_export_budget(c, 0);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), pinned);
    dsc_symbols_close(s);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), 0);
    /* Made again on the next use, the same. */
    s = view_of(c, LIBHELLO);
    ck_assert_uint_eq(dsc_symbols_ordinal(s, LIBHELLO, "_objc_release"), 1);
    dsc_symbols_close(s);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), 0);
    dsc_cache_close(c);
}
END_TEST

/* The by-address order is made by the first query needing it, counted
 * then, once, and freed with its set. */
START_TEST(by_address_order_is_counted_once_made)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    const struct dsc_exports *e = dsc_exports_get(c, LIBOBJC);
    ck_assert_uint_gt(e->naddr, 0);
    size_t before = dsc_cache_get_export_memory(c);
    bool failed = false;
    const struct dsc_export *last = dsc_exports_preceding(c, e, UINT64_MAX, &failed);
    ck_assert(last && !failed);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), before + e->naddr * sizeof(void *));
    ck_assert_ptr_eq(dsc_exports_preceding(c, e, UINT64_MAX, &failed), last);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), before + e->naddr * sizeof(void *));
    for (size_t i = 0; i < e->count; i++)
        if (!(e->by_name[i].flags & EXPORT_SYMBOL_FLAGS_REEXPORT))
            ck_assert_uint_le(e->by_name[i].address, last->address);
    dsc_exports_put(c, e);
    dsc_cache_set_export_budget(c, 0);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), 0);
    dsc_cache_close(c);
}
END_TEST

/* An extraction cut short by a longjmp never closes its views: the guard
 * calls dsc_thread_recover(), which must unpin what they held. */
START_TEST(recover_releases_abandoned_views)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    struct dsc_symbols *a = view_of(c, LIBHELLO), *b = view_of(c, LIBOBJC);
    ck_assert_uint_eq(dsc_symbols_ordinal(a, LIBHELLO, "_objc_release"), 1);
    const struct dsc_export *const *at;
    dsc_symbols_by_address(b, dsc_cache_get_image(c, LIBOBJC)->address, &at);
    const struct dsc_exports *e = dsc_exports_get(c, LIBOBJC);
    ck_assert_uint_eq(e->pins, 3);
    dsc_thread_recover(); /* a and b are gone */
    ck_assert_uint_eq(e->pins, 1);
    dsc_exports_put(c, e);
    dsc_cache_set_export_budget(c, 0);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), 0);
    dsc_thread_recover(); /* nothing left: harmless */
    dsc_cache_close(c);
}
END_TEST

struct lookup_job {
    const dsc_cache *c;
    uint32_t ordinal;
    const volatile uint8_t *cut; /* touched after the lookup when set */
};

/* What pass_binds does: open a view and resolve a name through the image's
 * dependencies, parsing their export sets; then, maybe, read a page past
 * the end of a file (a fault after the lookups, with sets pinned). */
static void run_lookup(void *arg)
{
    struct lookup_job *j = arg;
    struct dsc_symbols *s;
    dsc_error err;
    if (dsc_symbols_open(j->c, LIBHELLO, &s, &err))
        return;
    j->ordinal = dsc_symbols_ordinal(s, LIBHELLO, "_objc_release");
    if (j->cut)
        j->ordinal += j->cut[0];
    dsc_symbols_close(s);
}

/* After guard_run reports a SIGBUS, nothing of the extraction may stay
 * pinned or locked: every set can be evicted, and made again. (A set
 * parsed from the zeros the guard maps over a cut page stays published
 * until evicted: the cache is unreadable there for every later reader.) */
static void nothing_pinned_or_locked(const dsc_cache *c)
{
    dsc_cache_set_export_budget(c, 0);
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), 0);
    const struct dsc_exports *e = dsc_exports_get(c, LIBHELLO); /* the lock is free */
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->pins, 1);
    dsc_exports_put(c, e);
}

START_TEST(sigbus_after_lookups_unpins_their_sets)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    char path[] = "/tmp/dsc_symbols_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    void *map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert_int_eq(guard_install(), 0);
    struct lookup_job j = {c, 0, map};
    ck_assert(!guard_run(run_lookup, &j));
    nothing_pinned_or_locked(c);
    munmap(map, 4096);
    close(fd);
    dsc_cache_close(c);
}
END_TEST

/* The real objc cache cut at 0x81000: its export tries start at 0x80000,
 * libhello's lies below the cut, libobjc's runs past it. Resolving a name
 * of libhello's through libobjc faults inside the parse of libobjc's set,
 * with libhello's set pinned by the view: the parse holds no lock, and
 * however the guard recovers (zeros mapped over the cut page, or a jump
 * and dsc_thread_recover), nothing stays pinned. */
START_TEST(sigbus_in_an_export_parse_holds_no_lock)
{
    char copy[] = "/tmp/dsc_symbols_XXXXXX";
    int fd = testdata_copy(testdata_caches[0], copy);
    if (fd < 0)
        return;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(copy, &c, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(guard_install(), 0);
    struct lookup_job j = {c, 0, NULL};
    ck_assert(guard_run(run_lookup, &j));
    ck_assert_uint_eq(j.ordinal, 1);
    dsc_cache_set_export_budget(c, 0); /* nothing parsed survives the cut */
    ck_assert_uint_eq(dsc_cache_get_export_memory(c), 0);
    ck_assert_int_eq(ftruncate(fd, 0x81000), 0);
    ck_assert(!guard_run(run_lookup, &j));
    nothing_pinned_or_locked(c);
    dsc_cache_close(c);
    close(fd);
    unlink(copy);
}
END_TEST

Suite *symbols_suite(void)
{
    Suite *s = suite_create("symbols");
    TCase *tc = tcase_create("real");
    tcase_add_loop_test(tc, every_export_resolves_to_itself, 0, 3);
    tcase_add_loop_test(tc, image_of_agrees_with_load_commands, 0, 3);
    tcase_add_loop_test(tc, umbrella_reexports_and_ordinals, 0, 2);
    tcase_add_loop_test(tc, trie_within_and_same_names, 0, 2);
    tcase_add_test(tc, one_set_per_image_under_concurrent_use);
    tcase_add_test(tc, damaged_image_is_left_out);
    tcase_add_test(tc, budget_evicts_only_unpinned_sets);
    tcase_add_test(tc, by_address_order_is_counted_once_made);
    tcase_add_test(tc, recover_releases_abandoned_views);
    tcase_add_test(tc, sigbus_after_lookups_unpins_their_sets);
    tcase_add_test(tc, sigbus_in_an_export_parse_holds_no_lock);
    suite_add_tcase(s, tc);
    return s;
}

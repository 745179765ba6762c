/* SPDX-License-Identifier: BSD-2-Clause */
/* test_reader.c — the bounds-checked reader and the trie walker. */
#include <string.h>

#include "base/reader.h"
#include "suites.h"
#include "base/trie.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 'h', 'i', 0, 'x'};
static const dsc_span S = {bytes, sizeof bytes};

START_TEST(reads_little_endian_in_range)
{
    uint16_t a;
    uint32_t b;
    uint64_t c;
    ck_assert(span_u16(S, 0, &a) && a == 0x0201);
    ck_assert(span_u32(S, 1, &b) && b == 0x05040302);
    ck_assert(span_u64(S, 0, &c) && c == 0x0807060504030201ull);
    ck_assert(span_ptr(S, 0, 4, &c) && c == 0x04030201);
}
END_TEST

START_TEST(refuses_out_of_range_and_overflow)
{
    uint32_t v = 0xdeadbeef;
    uint64_t w;
    dsc_span sub;
    ck_assert(!span_u32(S, sizeof bytes - 3, &v));
    ck_assert_uint_eq(v, 0xdeadbeef);
    ck_assert(!span_u64(S, UINT64_MAX - 2, &w));
    ck_assert(!span_sub(S, 4, UINT64_MAX, &sub));
    ck_assert(!span_sub(S, sizeof bytes + 1, 0, &sub));
    ck_assert(span_sub(S, sizeof bytes, 0, &sub) && sub.size == 0);
    ck_assert(!span_ptr(S, 0, 3, &w));
}
END_TEST

START_TEST(strings_need_their_nul_inside)
{
    const char *s;
    size_t n;
    ck_assert(span_cstr(S, 8, 16, &s, &n) && n == 2 && !strcmp(s, "hi"));
    ck_assert(!span_cstr(S, 11, 16, &s, &n)); /* "x" runs off the end */
    ck_assert(!span_cstr(S, 8, 1, &s, &n));   /* longer than allowed */
    ck_assert(!span_cstr(S, 12, 16, &s, &n));
}
END_TEST

START_TEST(leb128)
{
    static const uint8_t u[] = {0xe5, 0x8e, 0x26, 0x7f, 0x80, 0x7f,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    dsc_span s = {u, sizeof u};
    uint64_t off = 0, v;
    int64_t sv;
    ck_assert(span_uleb(s, &off, &v) && v == 624485 && off == 3);
    ck_assert(span_sleb(s, &off, &sv) && sv == -1 && off == 4);
    ck_assert(span_sleb(s, &off, &sv) && sv == -128 && off == 6);
    ck_assert(!span_uleb(s, &off, &v)); /* 11 bytes: more than 64 bits */
    dsc_span cut = {u, 2};
    off = 0;
    ck_assert(!span_uleb(cut, &off, &v)); /* runs off the end */
}
END_TEST

struct keys {
    char got[8][32];
    int n;
};

static int collect(void *ctx, const char *key, size_t len, dsc_span term)
{
    struct keys *k = ctx;
    (void)len;
    (void)term;
    if (k->n < 8)
        strncpy(k->got[k->n++], key, 31);
    return 0;
}

START_TEST(trie_walks_in_order)
{
    /* root: 2 children "_a" -> n1, "_b" -> n2 ; n1 terminal, child "x" -> n3 */
    static const uint8_t t[] = {
        0, 2, '_', 'a', 0, 12, '_', 'b', 0, 20, 0, 0,
        /* 12: n1 */ 1, 0x2a, 1, 'x', 0, 24, 0, 0,
        /* 20: n2 */ 1, 0x01, 0, 0,
        /* 24: n3 */ 1, 0x02, 0,
    };
    struct keys k = {0};
    dsc_error err;
    ck_assert_int_eq(dsc_trie_walk((dsc_span){t, sizeof t}, collect, &k, "t", &err), 0);
    ck_assert_int_eq(k.n, 3);
    ck_assert_str_eq(k.got[0], "_a");
    ck_assert_str_eq(k.got[1], "_ax");
    ck_assert_str_eq(k.got[2], "_b");
}
END_TEST

/* dsc_trie_walk_sorted's *sorted: true exactly when the keys came in
 * strcmp order as far as the labels alone prove it. */
static bool walk_sorted(const uint8_t *t, size_t n, struct keys *k)
{
    bool sorted = false;
    dsc_error err;
    memset(k, 0, sizeof *k);
    ck_assert_int_eq(dsc_trie_walk_sorted((dsc_span){t, n}, collect, k, "t", &err, &sorted), 0);
    return sorted;
}

START_TEST(trie_walk_tells_sorted_order)
{
    struct keys k;
    /* root: "_a" -> n1 (terminal, child "x"), "_b" -> leaf: in order */
    static const uint8_t linker[] = {
        0, 2, '_', 'a', 0, 12, '_', 'b', 0, 20, 0, 0,
        /* 12 */ 1, 0x2a, 1, 'x', 0, 24, 0, 0,
        /* 20 */ 1, 0x01, 0, 0,
        /* 24 */ 1, 0x02, 0,
    };
    ck_assert(walk_sorted(linker, sizeof linker, &k));
    /* the same edges written "_b" first: keys out of order */
    static const uint8_t swapped[] = {
        0, 2, '_', 'b', 0, 20, '_', 'a', 0, 12, 0, 0,
        /* 12 */ 1, 0x2a, 1, 'x', 0, 24, 0, 0,
        /* 20 */ 1, 0x01, 0, 0,
        /* 24 */ 1, 0x02, 0,
    };
    ck_assert(!walk_sorted(swapped, sizeof swapped, &k));
    ck_assert_int_eq(k.n, 3);
    ck_assert_str_eq(k.got[0], "_b");
    /* flat: root edges "_a" and "_ab" to leaves (a prefix first: in order) */
    static const uint8_t flat[] = {
        0, 2, '_', 'a', 0, 13, '_', 'a', 'b', 0, 16, 0, 0,
        /* 13 */ 1, 0x01, 0,
        /* 16 */ 1, 0x02, 0,
    };
    ck_assert(walk_sorted(flat, sizeof flat, &k));
    ck_assert_str_eq(k.got[0], "_a");
    ck_assert_str_eq(k.got[1], "_ab");
    /* "_a" leads to a node with edge "c" ("_ac"), then "_ab": out of order */
    static const uint8_t prefix[] = {
        0, 2, '_', 'a', 0, 13, '_', 'a', 'b', 0, 21, 0, 0,
        /* 13 */ 1, 0x01, 1, 'c', 0, 24, 0, 0,
        /* 21 */ 1, 0x02, 0,
        /* 24 */ 1, 0x03, 0,
    };
    ck_assert(!walk_sorted(prefix, sizeof prefix, &k));
    ck_assert_str_eq(k.got[1], "_ac");
    ck_assert_str_eq(k.got[2], "_ab");
    /* an empty label: its key repeats its parent's */
    static const uint8_t empty[] = {
        0, 1, '_', 0, 5, /* 5 */ 1, 0x01, 1, 0, 10, /* 10 */ 1, 0x02, 0,
    };
    ck_assert(!walk_sorted(empty, sizeof empty, &k));
    ck_assert_int_eq(k.n, 2);
}
END_TEST

START_TEST(trie_find_descends_one_path)
{
    static const uint8_t t[] = {
        0, 2, '_', 'a', 0, 12, '_', 'b', 0, 20, 0, 0,
        /* 12: n1 */ 1, 0x2a, 1, 'x', 0, 24, 0, 0,
        /* 20: n2 */ 1, 0x01, 0, 0,
        /* 24: n3 */ 1, 0x02, 0,
    };
    dsc_span trie = {t, sizeof t}, term;
    ck_assert(dsc_trie_find(trie, "_a", &term) && term.size == 1 && term.data[0] == 0x2a);
    ck_assert(dsc_trie_find(trie, "_ax", &term) && term.size == 1 && term.data[0] == 0x02);
    ck_assert(dsc_trie_find(trie, "_b", &term) && term.data[0] == 0x01);
    ck_assert(!dsc_trie_find(trie, "_", &term));   /* a node without a terminal */
    ck_assert(!dsc_trie_find(trie, "_c", &term));
    ck_assert(!dsc_trie_find(trie, "_axy", &term));
    ck_assert(!dsc_trie_find(trie, "", &term));
    /* A cycle costs one step per key byte, then ends. */
    static const uint8_t cyc[] = {0, 1, 'a', 0, 0};
    ck_assert(!dsc_trie_find((dsc_span){cyc, sizeof cyc}, "aaaa", &term));
    ck_assert(!dsc_trie_find((dsc_span){t, 11}, "_b", &term)); /* cut short */
}
END_TEST

START_TEST(trie_cycle_is_an_error)
{
    static const uint8_t t[] = {0, 1, 'a', 0, 0}; /* root's child is root */
    struct keys k = {0};
    dsc_error err;
    ck_assert_int_eq(dsc_trie_walk((dsc_span){t, sizeof t}, collect, &k, "cyc", &err), -1);
    ck_assert_msg(strstr(err.msg, "cyc: trie") != NULL, "%s", err.msg);
}
END_TEST

static int sum_keys(void *ctx, const char *key, size_t len, dsc_span term)
{
    (void)key;
    (void)term;
    *(size_t *)ctx += len + 1;
    return 0;
}

/* A 4000-byte edge to a node whose 255 edges all lead to one terminal:
 * about 5 KB of trie made 255 keys of 4001 bytes (1 MB, copied by every
 * caller that keeps keys: export sets, the rebuilt symbol table, aliases).
 * The walk now stops once its keys total DSC_TRIE_KEY_RATIO times the
 * trie's bytes (plus one key). */
START_TEST(trie_keys_are_bounded_by_the_trie)
{
    enum { LABEL = 4000, FAN = 255 };
    static uint8_t t[2 + LABEL + 1 + 2 + 2 + FAN * 4 + 3];
    size_t n = 0, a, leaf;
    t[n++] = 0, t[n++] = 1;
    memset(t + n, 'a', LABEL);
    n += LABEL;
    t[n++] = 0;
    a = n + 2;
    t[n++] = (uint8_t)(0x80 | (a & 0x7f)), t[n++] = (uint8_t)(a >> 7);
    t[n++] = 0, t[n++] = FAN;
    leaf = n + FAN * 4;
    for (int i = 0; i < FAN; i++)
        t[n++] = 'b', t[n++] = 0, t[n++] = (uint8_t)(0x80 | (leaf & 0x7f)), t[n++] = (uint8_t)(leaf >> 7);
    t[n++] = 1, t[n++] = 0, t[n++] = 0;
    ck_assert_uint_eq(n, sizeof t);
    size_t keys = 0;
    dsc_error err;
    ck_assert_int_eq(dsc_trie_walk((dsc_span){t, sizeof t}, sum_keys, &keys, "big", &err), -1);
    ck_assert_msg(strstr(err.msg, "big: trie node") && strstr(err.msg, "keys longer in total"), "%s", err.msg);
    ck_assert_uint_le(keys, sizeof t * DSC_TRIE_KEY_RATIO + DSC_TRIE_MAX_KEY);
    ck_assert_uint_gt(keys, sizeof t * DSC_TRIE_KEY_RATIO - (LABEL + 2));
}
END_TEST

START_TEST(fail_messages_are_one_line)
{
    dsc_error err;
    ck_assert_int_eq(dsc_fail(&err, "f", "a\nb %d", 3), -1);
    ck_assert_str_eq(err.msg, "f: a b 3");
}
END_TEST

Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reads_little_endian_in_range);
    tcase_add_test(tc, refuses_out_of_range_and_overflow);
    tcase_add_test(tc, strings_need_their_nul_inside);
    tcase_add_test(tc, leb128);
    tcase_add_test(tc, trie_walks_in_order);
    tcase_add_test(tc, trie_walk_tells_sorted_order);
    tcase_add_test(tc, trie_find_descends_one_path);
    tcase_add_test(tc, trie_cycle_is_an_error);
    tcase_add_test(tc, trie_keys_are_bounded_by_the_trie);
    tcase_add_test(tc, fail_messages_are_one_line);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sha256.c — dsc_sha256 against the SHA-256 examples of FIPS 180-2
 * (Appendix B: "abc", the 448-bit two-block message, one million 'a'), the
 * empty message, and streaming in uneven pieces across block boundaries
 * giving the one-shot digest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "suites.h"

static void hex(const uint8_t d[DSC_SHA256_LEN], char out[2 * DSC_SHA256_LEN + 1])
{
    for (int i = 0; i < DSC_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The digest of `n` bytes fed in pieces of `piece`, portable or not. */
static void digest(const uint8_t *msg, size_t n, size_t piece, bool portable, uint8_t out[DSC_SHA256_LEN])
{
    dsc_sha256_ctx c;
    dsc_sha256_init(&c);
    if (portable)
        c.accel = false;
    for (size_t at = 0; at < n; at += piece)
        dsc_sha256_update(&c, msg + at, n - at < piece ? n - at : piece);
    dsc_sha256_final(&c, out);
}

static void check_digest(const void *msg, size_t n, const char *want)
{
    uint8_t d[DSC_SHA256_LEN];
    char got[2 * DSC_SHA256_LEN + 1];
    dsc_sha256(msg, n, d);
    hex(d, got);
    ck_assert_str_eq(got, want);
    digest(msg, n, n ? n : 1, true, d);
    hex(d, got);
    ck_assert_str_eq(got, want);
}

START_TEST(fips_180_2_one_block)
{
    check_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(fips_180_2_two_blocks)
{
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_digest(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(fips_180_2_million_a)
{
    enum { N = 1000000 };
    char *m = malloc(N);
    ck_assert_ptr_nonnull(m);
    memset(m, 'a', N);
    check_digest(m, N, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}
END_TEST

START_TEST(empty_message)
{
    check_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* Lengths around the padding boundary (55, 56, 63, 64, 65 bytes), fed in
 * pieces of every size from 1 to 70: the same digest as in one call. */
START_TEST(streaming_equals_one_shot)
{
    uint8_t msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        uint8_t want[DSC_SHA256_LEN];
        dsc_sha256(msg, lens[l], want);
        for (size_t piece = 1; piece <= 70; piece++)
            for (int portable = 0; portable < 2; portable++) {
                uint8_t got[DSC_SHA256_LEN];
                digest(msg, lens[l], piece, portable, got);
                ck_assert_mem_eq(got, want, DSC_SHA256_LEN);
            }
    }
}
END_TEST

Suite *sha256_suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("sha256");
    tcase_add_test(tc, fips_180_2_one_block);
    tcase_add_test(tc, fips_180_2_two_blocks);
    tcase_add_test(tc, fips_180_2_million_a);
    tcase_add_test(tc, empty_message);
    tcase_add_test(tc, streaming_equals_one_shot);
    suite_add_tcase(s, tc);
    return s;
}

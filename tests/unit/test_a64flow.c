/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_a64flow.c — register data flow over AArch64 functions
 * (base/a64flow.c): which ADRP each ADD/LDR adds to, and which ADRPs
 * escape. The words were assembled by llvm-mc-19 (-triple
 * arm64-apple-macos), the source is beside each.
 */
#include <stdlib.h>
#include <string.h>

#include "base/a64flow.h"
#include "suites.h"

struct result {
    uint32_t adrp[64];
    bool escaped[64];
    uint32_t n, calls;
};

static int keep(void *ctx, const struct dsc_a64_func *f)
{
    struct result *r = ctx;
    r->calls++;
    for (uint32_t i = 0; i < f->n && i < 64; i++) {
        r->adrp[i] = f->adrp[i];
        r->escaped[i] = f->escaped[i];
    }
    r->n = f->n;
    return 0;
}

/* One function of `n` words at 0x1000, with optional data in code. */
static struct result run(const uint32_t *words, uint32_t n, dsc_span dic)
{
    uint8_t *code = malloc(n * 4);
    for (uint32_t i = 0; i < n; i++)
        memcpy(code + i * 4, &words[i], 4); /* the host is little-endian, as the tests assume elsewhere */
    struct dsc_a64_code c = {.bytes = {code, n * 4}, .addr = 0x1000, .dic = dic, .text_addr = 0x1000};
    struct result r = {0};
    ck_assert_int_eq(dsc_a64_each_function(&c, keep, &r), 0);
    ck_assert_uint_eq(r.calls, 1);
    free(code);
    return r;
}

#define RUN(w) run(w, sizeof w / sizeof w[0], (dsc_span){NULL, 0})
#define NO DSC_A64_NO_ADRP

START_TEST(hoisted_across_calls)
{
    static const uint32_t w[] = {
        0xb0000035, /* adrp x21, ...         callee-saved, before the loop */
        0xf94022a1, /* 1: ldr x1, [x21, #0x40] */
        0x94000040, /* bl ... */
        0x71000694, /* subs w20, w20, #1 */
        0x54ffffa1, /* b.ne 1b */
        0xd65f03c0, /* ret */
    };
    struct result r = RUN(w);
    ck_assert_uint_eq(r.adrp[1], 0);
    ck_assert(!r.escaped[0]);
}
END_TEST

START_TEST(argument_escapes)
{
    static const uint32_t w[] = {
        0xb0000020, /* adrp x0, ...  the page itself is an argument */
        0x94000040, /* bl ... */
        0xd65f03c0, /* ret */
    };
    ck_assert(RUN(w).escaped[0]);
}
END_TEST

START_TEST(two_adrps_join)
{
    static const uint32_t w[] = {
        0x34000060, /* cbz w0, 2f */
        0xb0000028, /* adrp x8, A */
        0x14000002, /* b 3f */
        0xd0000028, /* 2: adrp x8, B */
        0xf9400501, /* 3: ldr x1, [x8, #8]   A's or B's page */
        0xd65f03c0, /* ret */
    };
    struct result r = RUN(w);
    ck_assert_uint_eq(r.adrp[4], NO);
    ck_assert(r.escaped[1] && r.escaped[3]);
}
END_TEST

START_TEST(unknown_path)
{
    static const uint32_t w[] = {
        0x34000040, /* cbz w0, 4f */
        0xb0000028, /* adrp x8, A */
        0xf9400501, /* 4: ldr x1, [x8, #8]   x8 may be anything */
        0xd65f03c0, /* ret */
    };
    struct result r = RUN(w);
    ck_assert_uint_eq(r.adrp[2], NO);
    ck_assert(r.escaped[1]);
}
END_TEST

START_TEST(overwritten)
{
    static const uint32_t w[] = {
        0xb0000028, /* adrp x8, A */
        0xaa0003e8, /* mov x8, x0 */
        0xf9400501, /* ldr x1, [x8, #8]   not A's page */
        0xd65f03c0, /* ret */
    };
    struct result r = RUN(w);
    ck_assert_uint_eq(r.adrp[2], NO);
    ck_assert(!r.escaped[0]);
}
END_TEST

START_TEST(landing_pad)
{
    static const uint32_t w[] = {
        0xb0000033, /* adrp x19, A */
        0x94000040, /* bl ...             may unwind to the pad */
        0xd65f03c0, /* ret */
        0xf9400661, /* pad: ldr x1, [x19, #8]   no edge reaches it */
        0xd65f03c0, /* ret */
    };
    struct result r = RUN(w);
    ck_assert_uint_eq(r.adrp[3], NO);
    ck_assert(r.escaped[0]);
}
END_TEST

START_TEST(jump_table)
{
    static const uint32_t w[] = {
        0x9000004a, /* adrp x10, A */
        0x7100081f, /* cmp w0, #2 */
        0x540001c8, /* b.hi 9f */
        0x1000008b, /* adr x11, table */
        0xb8a0596c, /* ldrsw x12, [x11, w0, uxtw #2] */
        0x8b0c016b, /* add x11, x11, x12 */
        0xd61f0160, /* br x11 */
        0x0000000c, 0x00000014, 0x0000001c, /* table: .long (data in code) */
        0xf9404140, /* ldr x0, [x10, #0x80] */
        0xd65f03c0, /* ret */
        0xf9404540, /* ldr x0, [x10, #0x88] */
        0xd65f03c0, /* ret */
        0xd2800000, /* mov x0, #0 */
        0xd65f03c0, /* ret */
        0xd2800000, /* 9: mov x0, #0 */
        0xd65f03c0, /* ret */
    };
    static const uint8_t dic[8] = {28, 0, 0, 0, 12, 0, 1, 0}; /* offset 28, 12 bytes, DICE_KIND_DATA */
    struct result r = run(w, sizeof w / sizeof w[0], (dsc_span){dic, sizeof dic});
    ck_assert_uint_eq(r.adrp[10], 0);
    ck_assert_uint_eq(r.adrp[12], 0);
    ck_assert(!r.escaped[0]);
}
END_TEST

START_TEST(too_long_to_analyse)
{
    uint32_t n = DSC_A64_FLOW_MAX_INSNS + 1;
    uint32_t *w = malloc(n * sizeof *w);
    for (uint32_t i = 0; i < n; i++)
        w[i] = 0xd503201f; /* nop */
    w[0] = 0xb0000028;     /* adrp x8, A */
    w[1] = 0xf9400501;     /* ldr x1, [x8, #8] */
    struct result r = run(w, n, (dsc_span){NULL, 0});
    ck_assert_uint_eq(r.adrp[1], NO);
    ck_assert(r.escaped[0]);
    free(w);
}
END_TEST

Suite *a64flow_suite(void)
{
    Suite *s = suite_create("a64flow");
    TCase *tc = tcase_create("flow");
    tcase_add_test(tc, hoisted_across_calls);
    tcase_add_test(tc, argument_escapes);
    tcase_add_test(tc, two_adrps_join);
    tcase_add_test(tc, unknown_path);
    tcase_add_test(tc, overwritten);
    tcase_add_test(tc, landing_pad);
    tcase_add_test(tc, jump_table);
    tcase_add_test(tc, too_long_to_analyse);
    suite_add_tcase(s, tc);
    return s;
}

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
#include "base/insn.h"
#include "suites.h"

struct result {
    uint32_t adrp[64], group[64];
    bool escaped[64];
    uint32_t n, calls;
};

static int keep(void *ctx, const struct dsc_a64_func *f)
{
    struct result *r = ctx;
    r->calls++;
    for (uint32_t i = 0; i < f->n && i < 64; i++) {
        r->adrp[i] = f->adrp[i];
        r->group[i] = f->group[i];
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

#define NO DSC_A64_NO_ADRP
#define MAX_WORDS 20

/* One function, and what the flow must say of it: which group (its first
 * ADRP's word index, or NO) each listed load adds to, whether each listed
 * ADRP escapes, and which group each listed ADRP is in. */
struct flow_case {
    const char *what;
    uint32_t w[MAX_WORDS];
    uint32_t n;
    dsc_span dic;
    struct { uint32_t at, adrp; } load[2];
    struct { uint32_t at; bool escaped; } adrp[2];
    uint32_t nload, nadrp;
    struct { uint32_t at, group; } grp[2];
    uint32_t ngrp;
};

static const uint8_t table_dic[8] = {28, 0, 0, 0, 12, 0, 1, 0}; /* offset 28, 12 bytes, DICE_KIND_DATA */

static const struct flow_case cases[] = {
    {"hoisted across calls", {
        0xb0000035, /* adrp x21, ...         callee-saved, before the loop */
        0xf94022a1, /* 1: ldr x1, [x21, #0x40] */
        0x94000040, /* bl ... */
        0x71000694, /* subs w20, w20, #1 */
        0x54ffffa1, /* b.ne 1b */
        0xd65f03c0, /* ret */
    }, 6, {NULL, 0}, {{1, 0}}, {{0, false}}, 1, 1, {{0}}, 0},
    {"argument escapes", {
        0xb0000020, /* adrp x0, ...  the page itself is an argument */
        0x94000040, /* bl ... */
        0xd65f03c0, /* ret */
    }, 3, {NULL, 0}, {{0}}, {{0, true}}, 0, 1, {{0}}, 0},
    {"two ADRPs join", {
        0x34000060, /* cbz w0, 2f */
        0xb0000028, /* adrp x8, A */
        0x14000002, /* b 3f */
        0xd0000028, /* 2: adrp x8, B */
        0xf9400501, /* 3: ldr x1, [x8, #8]   A's or B's page */
        0xd65f03c0, /* ret */
    }, 6, {NULL, 0}, {{4, NO}}, {{1, true}, {3, true}}, 1, 2, {{0}}, 0},
    {"two ADRPs of one page join", {
        0x34000060, /* cbz w0, 2f */
        0xb0000028, /* adrp x8, A */
        0x14000002, /* b 3f */
        0xb0000028, /* 2: adrp x8, A         the same page */
        0xf9400501, /* 3: ldr x1, [x8, #8]   one group of both */
        0xd65f03c0, /* ret */
    }, 6, {NULL, 0}, {{4, 1}}, {{1, false}, {3, false}}, 1, 2, {{1, 1}, {3, 1}}, 2},
    {"made again in the loop", {
        0xb0000029, /* adrp x9, A            before the loop */
        0xf9400521, /* 1: ldr x1, [x9, #8]   from either ADRP */
        0x94000040, /* bl ...                clobbers x9 */
        0xb0000029, /* adrp x9, A            again, for the next round */
        0x71000694, /* subs w20, w20, #1 */
        0x54ffff81, /* b.ne 1b */
        0xd65f03c0, /* ret */
    }, 7, {NULL, 0}, {{1, 0}}, {{0, false}, {3, false}}, 1, 2, {{0, 0}, {3, 0}}, 2},
    {"one of a group escapes", {
        0x34000080, /* cbz w0, 2f */
        0xb0000028, /* adrp x8, A */
        0xaa0803e0, /* mov x0, x8            this ADRP escapes */
        0x14000002, /* b 3f */
        0xb0000028, /* 2: adrp x8, A */
        0xf9400501, /* 3: ldr x1, [x8, #8] */
        0xd65f03c0, /* ret */
    }, 7, {NULL, 0}, {{5, 1}}, {{1, true}, {4, true}}, 1, 2, {{4, 1}}, 1},
    {"unknown path", {
        0x34000040, /* cbz w0, 4f */
        0xb0000028, /* adrp x8, A */
        0xf9400501, /* 4: ldr x1, [x8, #8]   x8 may be anything */
        0xd65f03c0, /* ret */
    }, 4, {NULL, 0}, {{2, NO}}, {{1, true}}, 1, 1, {{0}}, 0},
    {"overwritten", {
        0xb0000028, /* adrp x8, A */
        0xaa0003e8, /* mov x8, x0 */
        0xf9400501, /* ldr x1, [x8, #8]   not A's page */
        0xd65f03c0, /* ret */
    }, 4, {NULL, 0}, {{2, NO}}, {{0, false}}, 1, 1, {{0}}, 0},
    {"landing pad", {
        0xb0000033, /* adrp x19, A */
        0x94000040, /* bl ...             may unwind to the pad */
        0xd65f03c0, /* ret */
        0xf9400661, /* pad: ldr x1, [x19, #8]   no edge reaches it */
        0xd65f03c0, /* ret */
    }, 5, {NULL, 0}, {{3, NO}}, {{0, true}}, 1, 1, {{0}}, 0},
    {"jump table", {
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
    }, 18, {table_dic, sizeof table_dic}, {{10, 0}, {12, 0}}, {{0, false}}, 2, 1, {{0}}, 0},
};

START_TEST(flow_cases)
{
    const struct flow_case *c = &cases[_i];
    struct result r = run(c->w, c->n, c->dic);
    for (uint32_t k = 0; k < c->nload; k++)
        ck_assert_msg(r.adrp[c->load[k].at] == c->load[k].adrp, "%s: word %u adds to %u, not %u", c->what,
                      c->load[k].at, r.adrp[c->load[k].at], c->load[k].adrp);
    for (uint32_t k = 0; k < c->nadrp; k++)
        ck_assert_msg(r.escaped[c->adrp[k].at] == c->adrp[k].escaped, "%s: ADRP at word %u %s", c->what,
                      c->adrp[k].at, c->adrp[k].escaped ? "should escape" : "should not escape");
    for (uint32_t k = 0; k < c->ngrp; k++)
        ck_assert_msg(r.group[c->grp[k].at] == c->grp[k].group, "%s: ADRP at word %u is in group %u, not %u", c->what,
                      c->grp[k].at, r.group[c->grp[k].at], c->grp[k].group);
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

/* Every block loads a new page and jumps anywhere: each jump grows the
 * state joined into every block, which runs them all again. The work
 * budget stops it; the load at the top, plain by itself, is then unknown. */
START_TEST(maze_exhausts_the_budget)
{
    uint32_t n = 4002;
    uint32_t *w = malloc(n * sizeof *w);
    w[0] = 0xb0000028; /* adrp x8, A */
    w[1] = 0xf9400501; /* ldr x1, [x8, #8] */
    for (uint32_t i = 2; i < n; i += 2) {
        w[i] = 0x90000000u | (i / 2 % 31); /* adrp x(i/2 % 31), 0 */
        w[i + 1] = 0xd61f0000;             /* br x0 */
    }
    struct result r = run(w, n, (dsc_span){NULL, 0});
    ck_assert_uint_eq(r.adrp[1], NO);
    ck_assert(r.escaped[0]);
    free(w);
}
END_TEST

/* page_wanted: a function with no ADRP of a wanted page is skipped whole. */
struct wanting {
    struct result r; /* first: keep() reads the context as a result */
    uint64_t page;
};

static bool want_page(void *ctx, uint64_t page) { return page == ((struct wanting *)ctx)->page; }

START_TEST(only_wanted_pages)
{
    const uint32_t w[] = {
        0xb0000035, 0xf94022a1, 0xd65f03c0, /* adrp x21, A; ldr x1, [x21, #0x40]; ret */
        0x90000000, 0x94000040, 0xd65f03c0, /* adrp x0, .; bl ...; ret */
    };
    static const uint8_t starts[] = {12, 0}; /* LC_FUNCTION_STARTS: the second at +12 */
    uint8_t code[sizeof w];
    memcpy(code, w, sizeof w);
    struct dsc_a64_code c = {.bytes = {code, sizeof code}, .addr = 0x1000, .fstarts = {starts, sizeof starts},
                             .text_addr = 0x1000};
    struct wanting x = {.page = dsc_a64_adrp_target(w[0], 0x1000)};
    ck_assert_int_eq(dsc_a64_each_function(&c, keep, &x), 0);
    ck_assert_uint_eq(x.r.calls, 2);
    c.page_wanted = want_page;
    x.r = (struct result){0};
    ck_assert_int_eq(dsc_a64_each_function(&c, keep, &x), 0);
    ck_assert_uint_eq(x.r.calls, 1);
    ck_assert_uint_eq(x.r.n, 3);
    ck_assert_uint_eq(x.r.adrp[1], 0); /* the first, analysed */
    x.page = 0x1000;                   /* the second's page only */
    x.r = (struct result){0};
    ck_assert_int_eq(dsc_a64_each_function(&c, keep, &x), 0);
    ck_assert_uint_eq(x.r.calls, 1);
    ck_assert(x.r.escaped[0]); /* adrp x0 is an argument of the call */
}
END_TEST

Suite *a64flow_suite(void)
{
    Suite *s = suite_create("a64flow");
    TCase *tc = tcase_create("flow");
    tcase_add_loop_test(tc, flow_cases, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, too_long_to_analyse);
    tcase_add_test(tc, maze_exhausts_the_budget);
    tcase_add_test(tc, only_wanted_pages);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* test_slide.c — the slide info decoders v1..v5 on synthetic blobs built
 * from the dyld_cache_slide_info* layouts of dyld's
 * cache-builder/dyld_cache_format.h, including 32-bit v2 page extras, v4
 * small integers, arm64e auth bits, and malformed chains. */
#include <stdlib.h>
#include <string.h>

#include "cache/slide.h"
#include "base/ptrfmt.h"
#include "suites.h"

#define MAXS 16

struct got {
    struct dsc_slide_slot s[MAXS];
    int n;
};

static int collect(void *ctx, const struct dsc_slide_slot *s)
{
    struct got *g = ctx;
    ck_assert_int_lt(g->n, MAXS);
    g->s[g->n++] = *s;
    return 0;
}

static uint8_t blob[512];
static uint8_t bytes[2 * 16384];

static void reset(void)
{
    memset(blob, 0, sizeof blob);
    memset(bytes, 0, sizeof bytes);
}

static int walk(unsigned ptr_size, uint64_t lo, uint64_t hi, struct got *g, dsc_error *err)
{
    struct dsc_slide_src src = {{blob, sizeof blob}, {bytes, sizeof bytes}, 0x10000000, ptr_size, "blob"};
    memset(g, 0, sizeof *g);
    return dsc_slide_walk(&src, lo, hi, collect, g, err);
}

static void expect(const struct got *g, int i, uint64_t off, uint64_t value, bool is_pointer)
{
    ck_assert_int_lt(i, g->n);
    ck_assert_uint_eq(g->s[i].address, 0x10000000 + off);
    ck_assert_uint_eq(g->s[i].ptr.value, value);
    ck_assert_int_eq(g->s[i].ptr.is_pointer, is_pointer);
}

START_TEST(v1_bitmaps_mark_slots_and_keep_values)
{
    reset();
    uint32_t hdr[6] = {1, 24, 2, 28, 1, 128};
    for (int i = 0; i < 6; i++)
        dsc_put32(blob + 4 * i, hdr[i]);
    /* toc = {0, 0}: both pages share bitmap 0: slots 0, 12, 32 */
    blob[28] = 0x09;
    blob[29] = 0x01;
    dsc_put32(bytes + 0, 0x11111111);
    dsc_put32(bytes + 12, 0x22222222);
    dsc_put32(bytes + 4096 + 32, 0x33333333);
    struct got g;
    dsc_error err;
    ck_assert_int_eq(walk(4, 0x10000000, 0x10002000, &g, &err), 0);
    ck_assert_int_eq(g.n, 6);
    expect(&g, 0, 0, 0x11111111, true);
    expect(&g, 1, 12, 0x22222222, true);
    expect(&g, 5, 4096 + 32, 0x33333333, true);
    /* Only the pages overlapping the range are walked. */
    ck_assert_int_eq(walk(4, 0x10001000, 0x10001004, &g, &err), 0);
    ck_assert_int_eq(g.n, 3);
    expect(&g, 0, 4096, 0, true);
}
END_TEST

static void v2_header(uint32_t version, uint32_t page_size, uint32_t nstarts, uint32_t nextras, uint64_t mask,
                      uint64_t add)
{
    dsc_put32(blob, version);
    dsc_put32(blob + 4, page_size);
    dsc_put32(blob + 8, 40);          /* page starts */
    dsc_put32(blob + 12, nstarts);
    dsc_put32(blob + 16, 40 + 2 * nstarts); /* extras */
    dsc_put32(blob + 20, nextras);
    dsc_put64(blob + 24, mask);
    dsc_put64(blob + 32, add);
}

START_TEST(v2_64bit_chain_zero_is_not_a_pointer_and_high8_survives)
{
    reset();
    v2_header(2, 4096, 2, 0, 0x00FFFF0000000000ull, 0x1000);
    blob[40] = 0;                             /* page 0: chain at 0 */
    dsc_put32(blob + 42, 0x4000);             /* page 1: no rebase */
    /* delta field counts 4-byte units at bit 40 (shift = 40 - 2) */
    dsc_put64(bytes + 0, 0x7FFF0010ull | (16ull / 4) << 40);
    dsc_put64(bytes + 16, 0 | (8ull / 4) << 40);
    dsc_put64(bytes + 24, 0xAB00000000001234ull);
    dsc_put64(bytes + 4096, 0x1234); /* page 1 is skipped */
    struct got g;
    dsc_error err;
    ck_assert_int_eq(walk(8, 0x10000000, 0x10002000, &g, &err), 0);
    ck_assert_int_eq(g.n, 3);
    expect(&g, 0, 0, 0x7FFF0010 + 0x1000, true);
    expect(&g, 1, 16, 0, false);
    expect(&g, 2, 24, 0xAB00000000001234ull + 0x1000, true);
}
END_TEST

START_TEST(v2_32bit_page_extras_walk_every_chain)
{
    reset();
    v2_header(2, 4096, 1, 2, 0xE0000000, 0x10000);
    dsc_put32(blob + 40, 0x8000);             /* extras from index 0 */
    dsc_put32(blob + 42, 0x0001);             /* chain at 4 */
    blob[44] = 0x04;                          /* chain at 16, last */
    blob[45] = 0x80;
    dsc_put32(bytes + 4, 0x100 | (8u / 4) << 29);
    dsc_put32(bytes + 12, 0x200);
    dsc_put32(bytes + 16, 0x300);
    struct got g;
    dsc_error err;
    ck_assert_int_eq(walk(4, 0x10000000, 0x10001000, &g, &err), 0);
    ck_assert_int_eq(g.n, 3);
    expect(&g, 0, 4, 0x10100, true);
    expect(&g, 1, 12, 0x10200, true);
    expect(&g, 2, 16, 0x10300, true);
    ck_assert_uint_eq(g.s[0].size, 4);
}
END_TEST

START_TEST(v4_small_integers_are_not_pointers)
{
    reset();
    v2_header(4, 4096, 1, 0, 0xC0000000, 0x10000);
    dsc_put32(blob + 40, 0);
    dsc_put32(bytes + 0, 0x00000005 | 1u << 30);  /* small positive, next +4 */
    dsc_put32(bytes + 4, 0x3FFF8005 | 1u << 30);  /* small negative, next +4 */
    dsc_put32(bytes + 8, 0x00123456);             /* pointer, end */
    struct got g;
    dsc_error err;
    ck_assert_int_eq(walk(4, 0x10000000, 0x10001000, &g, &err), 0);
    ck_assert_int_eq(g.n, 3);
    expect(&g, 0, 0, 5, false);
    expect(&g, 1, 4, 0xFFFF8005, false);
    expect(&g, 2, 8, 0x133456, true);
}
END_TEST

START_TEST(v3_auth_and_plain_pointers)
{
    reset();
    dsc_put32(blob, 3);
    dsc_put32(blob + 4, 4096);
    dsc_put32(blob + 8, 1);
    dsc_put64(blob + 16, 0x180000000ull);
    dsc_put32(blob + 24, 8);                  /* page 0 starts at byte 8 */
    dsc_put64(bytes + 8, 1ull << 63 | 2ull << 51 | 2ull << 49 | 1ull << 48 | 0xBEEFull << 32 | 0x1234);
    dsc_put64(bytes + 24, 0x12ull << 43 | 0x180001000ull);
    struct got g;
    dsc_error err;
    ck_assert_int_eq(walk(8, 0x10000000, 0x10001000, &g, &err), 0);
    ck_assert_int_eq(g.n, 2);
    expect(&g, 0, 8, 0x180001234ull, true);
    ck_assert(g.s[0].ptr.auth);
    ck_assert_uint_eq(g.s[0].ptr.key, 2);
    ck_assert(g.s[0].ptr.addr_div);
    ck_assert_uint_eq(g.s[0].ptr.diversity, 0xBEEF);
    expect(&g, 1, 24, 0x12ull << 56 | 0x180001000ull, true);
    ck_assert(!g.s[1].ptr.auth);
}
END_TEST

START_TEST(v5_runtime_offsets_and_data_key)
{
    reset();
    dsc_put32(blob, 5);
    dsc_put32(blob + 4, 16384);
    dsc_put32(blob + 8, 2);
    dsc_put64(blob + 16, 0x180000000ull);
    dsc_put32(blob + 24, 0);
    dsc_put32(blob + 26, 0xFFFF);
    dsc_put64(bytes + 0, 1ull << 63 | 1ull << 52 | 1ull << 51 | 1ull << 50 | 0x55ull << 34 | 0x10);
    dsc_put64(bytes + 8, 7ull << 34 | 0x20);
    struct got g;
    dsc_error err;
    ck_assert_int_eq(walk(8, 0x10000000, 0x10008000, &g, &err), 0);
    ck_assert_int_eq(g.n, 2);
    expect(&g, 0, 0, 0x180000010ull, true);
    ck_assert_uint_eq(g.s[0].ptr.key, 2);
    ck_assert(g.s[0].ptr.addr_div);
    ck_assert_uint_eq(g.s[0].ptr.diversity, 0x55);
    expect(&g, 1, 8, 7ull << 56 | 0x180000020ull, true);
}
END_TEST

START_TEST(malformed_slide_info_is_an_error)
{
    struct got g;
    dsc_error err;
    /* A v3 chain stepping past its page. */
    reset();
    dsc_put32(blob, 3);
    dsc_put32(blob + 4, 4096);
    dsc_put32(blob + 8, 1);
    dsc_put32(blob + 24, 4088);
    dsc_put64(bytes + 4088, 0x7FFull << 51);
    ck_assert_int_eq(walk(8, 0x10000000, 0x10001000, &g, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "leaves its page"));
    /* Unknown version. */
    reset();
    dsc_put32(blob, 9);
    ck_assert_int_eq(walk(8, 0x10000000, 0x10001000, &g, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown slide info version 9"));
    /* v2 page starts beyond the blob. */
    reset();
    v2_header(2, 4096, 1, 0, 0x00FFFF0000000000ull, 0);
    dsc_put32(blob + 8, 0xFFFFFF00u);
    ck_assert_int_eq(walk(8, 0x10000000, 0x10001000, &g, &err), -1);
    /* v2 extras index out of range. */
    reset();
    v2_header(2, 4096, 1, 1, 0xE0000000, 0);
    dsc_put32(blob + 40, 0x8005);
    ck_assert_int_eq(walk(4, 0x10000000, 0x10001000, &g, &err), -1);
    /* v1 bitmap index beyond entries_count. */
    reset();
    uint32_t hdr[6] = {1, 24, 1, 28, 1, 128};
    for (int i = 0; i < 6; i++)
        dsc_put32(blob + 4 * i, hdr[i]);
    dsc_put32(blob + 24, 7);
    ck_assert_int_eq(walk(4, 0x10000000, 0x10001000, &g, &err), -1);
}
END_TEST

/* DYLD_CHAINED_PTR_64 words as llvm-objdump-19 --dyld-info prints them for
 * an ld64.lld-19 dylib (the rebase of __DATA_DIRTY+0 with the next slot 8
 * bytes on, the bind of import 3 ending its chain), encoded and decoded. */
START_TEST(chained64_encoder_writes_what_lld_writes)
{
    struct dsc_ptr p = {.value = 0x18205E000, .next = 8}, d;
    uint64_t raw = 0;
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_ENCODED);
    ck_assert_uint_eq(raw, 0x001000018205E000ull);
    ck_assert(dsc_ptr_decode_chained(DSC_CHAINED_PTR_64, 0, raw, &d));
    ck_assert_uint_eq(d.value, p.value);
    ck_assert_uint_eq(d.next, 8);
    p = (struct dsc_ptr){.bind = true, .import = 3};
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_ENCODED);
    ck_assert_uint_eq(raw, 0x8000000000000003ull);
    p = (struct dsc_ptr){.value = 0x12ull << 56 | 0x4000, .bind = false};
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_ENCODED);
    ck_assert(dsc_ptr_decode_chained(DSC_CHAINED_PTR_64, 0, raw, &d));
    ck_assert_uint_eq(d.value, p.value);
    p = (struct dsc_ptr){.bind = true, .import = 1, .addend = 255};
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_ENCODED);
    ck_assert(dsc_ptr_decode_chained(DSC_CHAINED_PTR_64, 0, raw, &d));
    ck_assert_int_eq(d.addend, 255);
    p.addend = 256;
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_ADDEND_RANGE);
    p = (struct dsc_ptr){.value = 1ull << 36};
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_TARGET_RANGE);
    p = (struct dsc_ptr){.value = 0x4000, .next = 6};
    ck_assert_int_ne(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_ENCODED);
    /* an x86_64 cache address: beyond _64, an offset in _64_OFFSET */
    p = (struct dsc_ptr){.value = 0x7FF80009B000ull, .next = 8};
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0, &raw), DSC_PTR_TARGET_RANGE);
    ck_assert_int_eq(dsc_ptr_encode_64(&p, 0x7FF800000000ull, &raw), DSC_PTR_ENCODED);
    ck_assert_uint_eq(raw, 0x001000000009B000ull);
    ck_assert(dsc_ptr_decode_chained(DSC_CHAINED_PTR_64_OFFSET, 0x7FF800000000ull, raw, &d));
    ck_assert_uint_eq(d.value, p.value);
}
END_TEST

/* Slide-info words from the layouts the decoder tests above spell out,
 * encoded, decoded back, and refused where the format has no room. */
static uint64_t slide_enc(const struct dsc_slide_format *f, struct dsc_ptr p)
{
    uint64_t raw = 0;
    struct dsc_ptr d;
    ck_assert_int_eq(dsc_ptr_encode_slide(f, &p, &raw), DSC_PTR_ENCODED);
    dsc_ptr_decode_slide(f, raw, &d);
    ck_assert_uint_eq(d.value, p.value);
    ck_assert_uint_eq(d.next, p.next);
    ck_assert_uint_eq(dsc_ptr_link_next(dsc_ptr_slide_link(f), raw), p.next);
    ck_assert(d.is_pointer == p.is_pointer && d.auth == p.auth && d.key == p.key);
    ck_assert(d.addr_div == p.addr_div && d.diversity == p.diversity);
    return raw;
}

START_TEST(slide_encoder_inverts_the_decoder)
{
    const struct dsc_slide_format v1 = {1, 4, 0, 0}, v2 = {2, 8, 0x00FFFF0000000000ull, 0},
                                  v4 = {4, 4, 0xC0000000, 0x10000}, v3 = {3, 8, 0, 0x180000000ull},
                                  v5 = {5, 8, 0, 0x180000000ull};
    uint64_t raw;
    struct dsc_ptr p;
    ck_assert_uint_eq(slide_enc(&v1, (struct dsc_ptr){.value = 0x1234, .is_pointer = true}), 0x1234);
    ck_assert_uint_eq(slide_enc(&v2, (struct dsc_ptr){.value = 0x12ull << 56 | 0x4000, .next = 8, .is_pointer = true}),
                      0x12ull << 56 | 2ull << 40 | 0x4000);
    ck_assert_uint_eq(slide_enc(&v4, (struct dsc_ptr){.value = 5, .next = 4}), 0x00000005 | 1u << 30);
    ck_assert_uint_eq(slide_enc(&v4, (struct dsc_ptr){.value = 0xFFFF8005, .next = 4}), 0x3FFF8005 | 1u << 30);
    ck_assert_uint_eq(slide_enc(&v4, (struct dsc_ptr){.value = 0x133456, .is_pointer = true}), 0x00123456);
    ck_assert_uint_eq(slide_enc(&v3, (struct dsc_ptr){.value = 0x180001234ull, .next = 16, .is_pointer = true,
                                                      .auth = true, .key = 2, .addr_div = true, .diversity = 0xBEEF}),
                      1ull << 63 | 2ull << 51 | 2ull << 49 | 1ull << 48 | 0xBEEFull << 32 | 0x1234);
    ck_assert_uint_eq(slide_enc(&v3, (struct dsc_ptr){.value = 0x12ull << 56 | 0x180001000ull, .is_pointer = true}),
                      0x12ull << 43 | 0x180001000ull);
    ck_assert_uint_eq(slide_enc(&v5, (struct dsc_ptr){.value = 0x180000010ull, .next = 8, .is_pointer = true,
                                                      .auth = true, .key = 2, .addr_div = true, .diversity = 0x55}),
                      1ull << 63 | 1ull << 52 | 1ull << 51 | 1ull << 50 | 0x55ull << 34 | 0x10);
    ck_assert_uint_eq(slide_enc(&v5, (struct dsc_ptr){.value = 7ull << 56 | 0x180000020ull, .is_pointer = true}),
                      7ull << 34 | 0x20);
    /* Refusals: a target in v2's delta bits, a v4 pointer that reads as a
     * small integer, a v4 integer that is not small, v5's IB key, targets
     * beyond v3's 4 GiB (auth) and v5's 16 GiB, steps beyond the fields,
     * a bind. */
    p = (struct dsc_ptr){.value = 1ull << 40, .is_pointer = true};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v2, &p, &raw), DSC_PTR_TARGET_RANGE);
    p = (struct dsc_ptr){.value = 0x10000 + 0x7FFF, .is_pointer = true};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v4, &p, &raw), DSC_PTR_TARGET_RANGE);
    p = (struct dsc_ptr){.value = 0x40001234};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v4, &p, &raw), DSC_PTR_UNSUPPORTED);
    p = (struct dsc_ptr){.value = 0x180000000ull, .is_pointer = true, .auth = true, .key = 1};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v5, &p, &raw), DSC_PTR_UNSUPPORTED);
    p = (struct dsc_ptr){.value = 0x280000000ull, .is_pointer = true, .auth = true};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v3, &p, &raw), DSC_PTR_AUTH_RANGE);
    p = (struct dsc_ptr){.value = 0x580000000ull, .is_pointer = true};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v5, &p, &raw), DSC_PTR_TARGET_RANGE);
    p = (struct dsc_ptr){.value = 0x180000000ull, .next = 2048 * 8, .is_pointer = true};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v3, &p, &raw), DSC_PTR_NEXT_RANGE);
    p.next = 16;
    ck_assert_int_eq(dsc_ptr_encode_slide(&v4, &p, &raw), DSC_PTR_NEXT_RANGE);
    ck_assert_int_eq(dsc_ptr_encode_slide(&v1, &p, &raw), DSC_PTR_NEXT_RANGE);
    p = (struct dsc_ptr){.bind = true, .import = 1};
    ck_assert_int_eq(dsc_ptr_encode_slide(&v3, &p, &raw), DSC_PTR_UNSUPPORTED);
}
END_TEST

Suite *slide_suite(void)
{
    Suite *s = suite_create("slide");
    TCase *tc = tcase_create("synthetic");
    tcase_add_test(tc, v1_bitmaps_mark_slots_and_keep_values);
    tcase_add_test(tc, v2_64bit_chain_zero_is_not_a_pointer_and_high8_survives);
    tcase_add_test(tc, v2_32bit_page_extras_walk_every_chain);
    tcase_add_test(tc, v4_small_integers_are_not_pointers);
    tcase_add_test(tc, v3_auth_and_plain_pointers);
    tcase_add_test(tc, v5_runtime_offsets_and_data_key);
    tcase_add_test(tc, malformed_slide_info_is_an_error);
    tcase_add_test(tc, chained64_encoder_writes_what_lld_writes);
    tcase_add_test(tc, slide_encoder_inverts_the_decoder);
    suite_add_tcase(s, tc);
    return s;
}

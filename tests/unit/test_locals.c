/* SPDX-License-Identifier: BSD-2-Clause */
/* test_locals.c — finding an image's unmapped locals in a synthetic
 * dyld_cache_local_symbols_info blob, with 12-byte (old) and 16-byte
 * (symbolFileUUID-era) entries, and refusing out-of-range tables. */
#include <string.h>

#include "cache/locals.h"
#include "suites.h"

static uint8_t blob[256];

/* info, then 3 nlist_64 at 24, strings at 72, entries at 96. */
static void build(bool entries64)
{
    memset(blob, 0, sizeof blob);
    uint32_t info[6] = {24, 3, 72, 24, 96, 2};
    for (int i = 0; i < 6; i++)
        dsc_put32(blob + 4 * i, info[i]);
    for (uint32_t i = 0; i < 3; i++)
        dsc_put32(blob + 24 + 16 * i, 1 + 5 * i); /* n_strx */
    memcpy(blob + 72, "\0_one\0_two\0_three", 18);
    if (entries64) {
        dsc_put64(blob + 96, 0x1000);       /* image A: nlists 0..0 */
        dsc_put32(blob + 104, 0);
        dsc_put32(blob + 108, 1);
        dsc_put64(blob + 112, 0x5000);      /* image B: nlists 1..2 */
        dsc_put32(blob + 120, 1);
        dsc_put32(blob + 124, 2);
    } else {
        dsc_put32(blob + 96, 0x1000);
        dsc_put32(blob + 100, 0);
        dsc_put32(blob + 104, 1);
        dsc_put32(blob + 108, 0x5000);
        dsc_put32(blob + 112, 1);
        dsc_put32(blob + 116, 2);
    }
}

START_TEST(entries_of_both_sizes_find_their_image)
{
    for (int e64 = 0; e64 < 2; e64++) {
        build(e64);
        struct dsc_locals l;
        dsc_error err;
        ck_assert_int_eq(dsc_locals_in_blob((dsc_span){blob, sizeof blob}, e64, true, 0x5000, (uint32_t)e64, "f", &l, &err), 0);
        ck_assert(l.found);
        ck_assert_uint_eq(l.count, 2);
        ck_assert_ptr_eq(l.nlists.data, blob + 24 + 16);
        const char *name;
        ck_assert(span_cstr(l.strings, dsc_le32(l.nlists.data), 64, &name, NULL));
        ck_assert_str_eq(name, "_two");
        ck_assert_int_eq(dsc_locals_in_blob((dsc_span){blob, sizeof blob}, e64, true, 0x9000, 0, "f", &l, &err), 0);
        ck_assert(!l.found);
    }
}
END_TEST

START_TEST(out_of_range_tables_are_errors)
{
    struct dsc_locals l;
    dsc_error err;
    build(true);
    dsc_put32(blob + 124, 3); /* image B claims nlists 1..3 of 3 */
    ck_assert_int_eq(dsc_locals_in_blob((dsc_span){blob, sizeof blob}, true, true, 0x5000, 0, "f", &l, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "exceed"));
    build(true);
    dsc_put32(blob + 20, 0x10000000); /* entries count */
    ck_assert_int_eq(dsc_locals_in_blob((dsc_span){blob, sizeof blob}, true, true, 0x5000, 0, "f", &l, &err), -1);
    ck_assert_int_eq(dsc_locals_in_blob((dsc_span){blob, 10}, true, true, 0x5000, 0, "f", &l, &err), -1);
}
END_TEST

Suite *locals_suite(void)
{
    Suite *s = suite_create("locals");
    TCase *tc = tcase_create("synthetic");
    tcase_add_test(tc, entries_of_both_sizes_find_their_image);
    tcase_add_test(tc, out_of_range_tables_are_errors);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* suites.h — every Check suite of the unit test binary. Add yours here and
 * in main.c's table. */
#ifndef DSC_TEST_SUITES_H
#define DSC_TEST_SUITES_H

#include <check.h>

Suite *reader_suite(void);
Suite *cache_suite(void);
Suite *symbols_suite(void);
Suite *stubs_suite(void);
Suite *verify_suite(void);
Suite *extract_suite(void);
Suite *slide_suite(void);
Suite *locals_suite(void);
Suite *fixups_suite(void);
Suite *outdir_suite(void);
Suite *store_suite(void);
Suite *tree_suite(void);
Suite *guard_suite(void);
Suite *objc_suite(void);
Suite *pass_objc_suite(void);
Suite *sort_suite(void);
Suite *sha256_suite(void);
Suite *a64flow_suite(void);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c — runs every unit suite; CK_FORK etc. come from the environment. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    Suite *(*const suites[])(void) = {
        reader_suite,
        cache_suite,
        symbols_suite,
        stubs_suite,
        verify_suite,
        extract_suite,
        slide_suite,
        locals_suite,
        fixups_suite,
        outdir_suite,
        store_suite,
        tree_suite,
        guard_suite,
        objc_suite,
        pass_objc_suite,
        sort_suite,
        sha256_suite,
        a64flow_suite,
    };
    SRunner *sr = srunner_create(NULL);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        srunner_add_suite(sr, suites[i]());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

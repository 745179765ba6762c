/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * version.c — dsc_version(): the library's version, from the macros of the
 * dsc.h it was built with (tests/unit/test_cache.c checks them against
 * configure's PACKAGE_VERSION).
 */
#include "dsc/dsc.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *dsc_version(void)
{
    return STR(DSC_VERSION_MAJOR) "." STR(DSC_VERSION_MINOR) "." STR(DSC_VERSION_PATCH);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* exercise.h — drive every libdsc reader over an opened cache, ignoring
 * results: used by the fuzzers, where only crashes and hangs matter. */
#ifndef DSC_EXERCISE_H
#define DSC_EXERCISE_H

#include "dsc/dsc.h"

void exercise_cache(const dsc_cache *c);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_common.h — what the libFuzzer targets of tests/fuzz share: the
 * structure-aware custom mutator (structure.c) and the judgement of a
 * refusal (one line naming the file).
 */
#ifndef DSC_FUZZ_COMMON_H
#define DSC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "dsc/dsc.h"

/* A refused input must say why in one line that names `path`: abort (a
 * finding) otherwise. */
void fuzz_check_refusal(const dsc_error *err, const char *path);

/* Damage data[from, from + len) of an input of `size` bytes (capacity
 * `max`) with structure.c half the time and libFuzzer's own mutations the
 * other half; returns the input's new size. `from`/`len` let a target
 * damage one part of a packed input as if it were a whole cache. */
size_t fuzz_mutate_part(uint8_t *data, size_t size, size_t max, unsigned seed, size_t from, size_t len);

/* libFuzzer's mutation entry point, for the custom mutators. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sized.h — the one rule for the structs <dsc/dsc.h> lets callers allocate
 * and the library fill (dsc_output, dsc_verify_report): each begins with a
 * uint32_t the caller sets to the sizeof its header declares, and grows
 * only at its end. The library fills a struct of its own version and hands
 * over what both versions have: never a byte past the caller's size, zeros
 * for the fields only the caller knows.
 */
#ifndef DSC_SIZED_H
#define DSC_SIZED_H

#include <stddef.h>

#include "base/reader.h"

/* 0 when the caller's struct `s` (NULL allowed) is at least `first_size`,
 * the struct's first version; else -1 and DSC_ERR_ARGUMENT in `err`:
 * "<file>: <type>.<field> is N, not sizeof (<type>)". */
int dsc_sized_check(const void *s, size_t first_size, const char *type, const char *field, const char *file,
                    dsc_error *err);

/* Copy the library's `full` (`full_size` bytes) to the caller's `s`: up to
 * the smaller of the two sizes, zeros beyond it up to the caller's, the
 * caller's size field kept. A caller's size below `first_size` (one that
 * was refused) still gets the first version's bytes, which every caller's
 * struct has. No-op for NULL. */
void dsc_sized_out(void *s, const void *full, size_t full_size, size_t first_size);

#endif

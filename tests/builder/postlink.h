/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * postlink.h — what the post-link steps share (authgot.c, fvfixups.c):
 * the dylib read whole and parsed, written back in place, and the end of a
 * rewritten file: LINKEDIT's new sizes and, for a signed input, the
 * signature again (base/codesign.c), as ld64 signs.
 */
#ifndef DSC_POSTLINK_H
#define DSC_POSTLINK_H

#include "base/codesign.h"
#include "base/macho_view.h"

#include <stdio.h>

struct postlink {
    FILE *f;
    uint8_t *file;
    uint64_t size;
    struct dsc_macho mo;
};

/* One line "TOOL: PATH: what" and exit 1. */
_Noreturn void postlink_fail(const char *what);
/* Open, read and parse PATH for TOOL (names for postlink_fail). */
void postlink_open(struct postlink *pl, const char *tool, const char *path);
/* Write `out` (`size` bytes) over the file and free everything. */
void postlink_close(struct postlink *pl, const uint8_t *out, uint64_t size);
/* `out` (`total` bytes) ends LINKEDIT; with `sig` (the input's
 * LC_CODE_SIGNATURE) its signature for `cs` goes at cs->code_limit. */
void postlink_seal(uint8_t *out, const struct dsc_macho *mo, uint64_t total, const struct dsc_lc *sig,
                   const struct dsc_codesign *cs);
/* The signature parameters ld64 uses for `mo`, signing `code_limit` bytes. */
struct dsc_codesign postlink_signer(const struct dsc_macho *mo, uint64_t code_limit);

#endif

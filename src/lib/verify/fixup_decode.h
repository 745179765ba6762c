/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fixup_decode.h — read back the fixups of a standalone (extracted) Mach-O:
 * LC_DYLD_INFO(_ONLY) rebase and bind opcodes, and LC_DYLD_CHAINED_FIXUPS
 * chains (DYLD_CHAINED_PTR_ARM64E, _64, _64_OFFSET, _32, the arm64e
 * userland formats: what base/ptrfmt.c decodes) with DYLD_CHAINED_IMPORT
 * imports. The builder reads its chained inputs with it too.
 *
 * Used by tests to check what the encoders wrote against the cache's slide
 * info (llvm-objdump-19 cannot read arm64e chained fixups, and numbers
 * segments by their sections), and by a later verify command. The file is
 * input like any other: every offset, index and chain step is checked, and
 * chains only move forward inside their page.
 */
#ifndef DSC_FIXUP_DECODE_H
#define DSC_FIXUP_DECODE_H

#include "extract/extract.h"

/* One decoded fixup. For binds, `import` names the symbol; for opcodes,
 * name/ordinal/weak/addend are filled directly and `import` is unused. */
struct dsc_decoded_fixup {
    struct dsc_fixup f;      /* kind REBASE or BIND; target for rebases */
    const char *name;        /* bind: symbol name (points into the file) */
    int lib_ordinal;
    bool weak_import;
};

typedef int (*dsc_decoded_fn)(void *ctx, const struct dsc_decoded_fixup *d);

/* Decode every fixup of `file`. Returns 0, the callback's non-zero value, or
 * -1 with `err` naming `name`. */
int dsc_fixups_decode(dsc_span file, const char *name, dsc_decoded_fn fn, void *ctx, dsc_error *err);
/* The same for a file already read with dsc_macho_read_file. */
int dsc_fixups_decode_macho(const struct dsc_macho *mo, const char *name, dsc_decoded_fn fn, void *ctx,
                           dsc_error *err);

#endif

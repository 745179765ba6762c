/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * weakbind.h — the weak-bind opcode stream of an extracted image (opcode
 * outputs, LC_DYLD_INFO_ONLY): every slot that refers to a weak definition,
 * so dyld can coalesce it with other images' copies.
 *
 * Evidence, best first: the image's original weak-bind opcodes (caches up to
 * dyld-9xx keep them); else every bind or in-image pointer whose symbol is
 * exported with EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION, as a linker emits them.
 * Chained-fixup outputs are left alone (their weak lookups would be binds
 * with the weak-lookup ordinal; not done).
 */
#ifndef DSC_WEAKBIND_H
#define DSC_WEAKBIND_H

#include "extract/extract.h"
#include "index/imports.h"
#include "index/symbols.h"

/* Fill p->le.weak_bind; runs after every bind is made. */
int dsc_weak_binds(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * weakbind.h — weak-definition coalescing in an extracted image: every slot
 * that refers to a weak definition, so dyld can coalesce it with other
 * images' copies. Opcode outputs (LC_DYLD_INFO_ONLY) list those slots in
 * the weak-bind stream; chained outputs have none, and there each such slot
 * binds its symbol through BIND_SPECIAL_DYLIB_WEAK_LOOKUP (ordinal -3), as
 * ld64 and lld write it.
 *
 * Evidence, best first: the image's original weak-bind opcodes (caches up to
 * dyld-9xx keep them); else every bind or in-image pointer whose symbol is
 * exported with EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION, as a linker emits them.
 */
#ifndef DSC_WEAKBIND_H
#define DSC_WEAKBIND_H

#include "extract/extract.h"
#include "index/imports.h"
#include "index/symbols.h"

/* The definition a bind of `name` through `ordinal` reaches, or NULL. */
const struct dsc_export *dsc_bound_definition(const struct dsc_plan *p, struct dsc_symbols *syms, const char *name,
                                              int ordinal);

/* Fill p->le.weak_bind, or make the weak-lookup binds; runs after every
 * bind is made. */
int dsc_weak_binds(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im);

#endif

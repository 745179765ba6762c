/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lazybind.h — lazy binding as the original file had it (opcode outputs of
 * images whose cache kept their lazy-bind opcodes, up to dyld-9xx): each
 * lazy pointer is rebased to its stub-helper entry again, and the original
 * lazy-bind stream is kept verbatim, so the offsets the helper entries push
 * still name their entries.
 *
 * All or nothing: if any lazy pointer has no helper entry, no fixup, or sits
 * in a segment numbered differently in the output, the lazy pointers keep
 * the regular binds pass_binds gave them (dyld binds those at load).
 */
#ifndef DSC_LAZYBIND_H
#define DSC_LAZYBIND_H

#include "extract/extract.h"
#include "index/imports.h"

int dsc_lazy_binds(struct dsc_plan *p, const struct dsc_imports *im);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lazybind.h — lazy binding as the original file had it (opcode outputs):
 * each lazy pointer is rebased to its stub-helper entry again, and the
 * lazy-bind stream names, at the offset that entry pushes, what it binds.
 *
 *  - Caches up to dyld-9xx kept each image's lazy-bind opcodes: the
 *    original stream is kept verbatim, so the helpers' offsets still name
 *    their entries; each lazy pointer's entry is the one pushing the offset
 *    of its original lazy bind.
 *  - From dyld-1042 the cache keeps no bind opcodes (lazy pointers hold
 *    their final targets and are eager binds after pass_binds): the stream
 *    is written again as ld64 and lld write it (one entry per lazily bound
 *    pointer, in slot order: segment and offset, ordinal, name, DO_BIND,
 *    DONE) and each helper entry's pushed offset is rewritten to name its
 *    pointer's entry. Linkers emit one helper entry per lazily bound pointer,
 *    in slot order, after the helper's header; a pointer bound to a weak
 *    definition is bound eagerly (and weak-bound) and has no entry.
 *
 * All or nothing: if any lazy pointer has no helper entry, no fixup, or sits
 * in a segment numbered differently in the output, or the helper section is
 * not exactly header + entries, the lazy pointers keep the regular binds
 * pass_binds gave them (dyld binds those at load).
 * Every restored lazy pointer is listed in plan->lazy (pass_stubs names
 * slots by it).
 */
#ifndef DSC_LAZYBIND_H
#define DSC_LAZYBIND_H

#include "extract/extract.h"
#include "index/imports.h"
#include "index/symbols.h"

int dsc_lazy_binds(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im);

#endif

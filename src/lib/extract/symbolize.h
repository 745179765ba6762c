/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * symbolize.h — name the stubs and pointer slots of an extracted image in
 * its rebuilt indirect symbol table.
 *
 * Some builders zero the indirect table and drop undefined symbols; then
 * every stub reads as calling symbol 0. After pass_linkedit built the new
 * symtab, this points each indirect entry at the symbol its stub calls or
 * its slot binds (adding undefined nlists, with their library ordinals, for
 * imports the symtab lacks). An entry for which there is no evidence keeps
 * what the cache had. Every bound import ends up with an undefined symbol.
 */
#ifndef DSC_SYMBOLIZE_H
#define DSC_SYMBOLIZE_H

#include "extract/extract.h"

struct dsc_stub_name {
    const char *name;
    uint64_t address;   /* the stub */
    uint64_t slot;      /* the own slot it loads (names a lazy pointer that is
                           rebased to its helper rather than bound) */
};

/* The fixup at `address`, or NULL; plan->fixups are sorted (fixups_sort). */
const struct dsc_fixup *dsc_fixup_lookup(const struct dsc_plan *p, uint64_t address);

/* `stubs` sorted by address; plan->fixups sorted (fixups_sort). */
int dsc_symbolize_indirect(struct dsc_plan *p, const struct dsc_stub_name *stubs, size_t nstubs);

#endif

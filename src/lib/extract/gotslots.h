/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gotslots.h — the image's own pointer slots that the cache builder
 * coalesced into cache-wide twins and zeroed, found again.
 *
 * From dyld-1042.1 Apple's builder gives every bound slot of
 * __DATA_CONST,__got and __AUTH_CONST,__auth_got (and from dyld-1231.3 of
 * __AUTH_CONST,__auth_ptr) a twin in a coalesced GOT chunk, re-aims every
 * reference at the twin, writes the own slot 0 and leaves it out of slide
 * info (dyld-1378 NewSharedCacheBuilder.cpp calculateUniqueGOTs,
 * CacheDylib.cpp "NULL out this entry"). The only evidence of what a
 * zeroed slot held is the twins the image's code reads: each twin's slid
 * target and authentication. This file is the one place that ties twins
 * to own slots; pass_binds binds what it recovers, pass_stubs (and any
 * other pass re-aiming a reference at a twin) asks dsc_got_own_slot.
 */
#ifndef DSC_GOTSLOTS_H
#define DSC_GOTSLOTS_H

#include "extract/extract.h"

struct dsc_imports;
struct dsc_symbols;

/* A zeroed own slot and the twin that holds what it held. */
struct dsc_got_recovered {
    uint64_t address;       /* the own slot */
    uint64_t target;        /* the twin's target */
    struct dsc_fixup_auth auth; /* the twin's authentication */
    bool named_by_indirect; /* __got/__auth_got: the indirect table names it */
};

/* Recover the zeroed slots of the image's coalesced sections, after the
 * binds pass has bound what slide info still records. __got/__auth_got
 * slots are matched by the name the indirect table gives them to a twin
 * whose target exports that name; __auth_ptr slots (no indirect entries)
 * take the twins no other own slot explains, in the order compilers emit
 * them (by symbol name, then key and discriminator), and only when the
 * counts agree. Slots without a twin stay for the indirect table
 * (add_missing_binds). Also records twin -> own slot for
 * dsc_got_own_slot. *out is malloc'ed; -1 only when out of memory. */
int dsc_got_recover(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im,
                    struct dsc_got_recovered **out, size_t *n);

/* The own slot whose twin is at `twin`, as dsc_got_recover matched it, or 0. */
uint64_t dsc_got_own_slot(const struct dsc_plan *p, uint64_t twin);

#endif

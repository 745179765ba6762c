/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relrefs.h — Swift's 32-bit relative references (base/relref.h) that the
 * cache builder aimed at a coalesced GOT chunk (dyld-1042.1+
 * NewAdjustDylibSegments.cpp: a DELTA_32 into a coalesced __got/__auth_got
 * names the cache-wide entry) go back to the image's own GOT slot.
 */
#ifndef DSC_RELREFS_H
#define DSC_RELREFS_H

#include "extract/extract.h"

/* The image's own GOT slot standing for the pointer at `slot` outside the
 * image, or 0 (pass_stubs.c's knowledge of GOT twins). */
typedef uint64_t (*dsc_own_slot_fn)(void *ctx, uint64_t field, uint64_t slot);

/* Re-aim every relative reference to a pointer slot outside every image
 * at the own slot `own` names, tag bits kept; counted in stubs_fixed.
 * In a size plan nothing is written. -1 only when out of memory. */
int dsc_relrefs_fix(struct dsc_plan *p, dsc_own_slot_fn own, void *ctx);

#endif

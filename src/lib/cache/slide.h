/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slide.h — walks of the cache's slide info, versions 1 to 5, and the
 * decoded value of one slid pointer (the word codec is base/ptrfmt.h).
 *
 * A walk visits every pointer slot the slide info of one mapping records in
 * the pages overlapping [lo, hi) and reports, per slot, its location, the raw
 * word, the unslid value to store in an extracted file, whether the slot is a
 * real pointer, and arm64e authentication data. Nothing is written: the walk
 * reads the mapping's bytes (which still hold the encoded chains).
 *
 * Every page index, chain offset and extras index is checked against the
 * blob and the mapping; a chain can only move forward inside its page, so a
 * walk ends after at most page_size/4 steps per chain.
 */
#ifndef DSC_SLIDE_H
#define DSC_SLIDE_H

#include "base/ptrfmt.h"
#include "cache/cache.h"

/* What a walk reads: a mapping's bytes at `address` and its slide blob. */
struct dsc_slide_src {
    dsc_span slide;     /* the blob; its first u32 is the version */
    dsc_span bytes;     /* the mapping's bytes */
    uint64_t address;   /* unslid address of bytes.data[0] */
    unsigned ptr_size;  /* 4 or 8 */
    const char *file;   /* for messages */
};

/* The word comes as the walk decoded it, not copied field by field into
 * another struct: per slot that copy cost as much as the decoding.
 * address and ptr.value are apart on purpose: the walk stores them one by
 * one, and a caller copying the pair (a fixup's address and target) would
 * otherwise read them as one 16-byte word, which waits for both stores. */
struct dsc_slide_slot {
    struct dsc_ptr ptr; /* the word decoded: ptr.value is what an extracted
                           file stores there; ptr.is_pointer is false for v2
                           zeros and v4 small integers; ptr.auth, .key,
                           .addr_div, .diversity: arm64e (v3, v5) */
    uint64_t address;   /* unslid address of the slot */
    uint64_t raw;       /* the word as stored in the cache */
    unsigned size;      /* 4 or 8 bytes */
};

/* Non-zero return stops the walk and is returned by dsc_slide_walk. */
typedef int (*dsc_slide_fn)(void *ctx, const struct dsc_slide_slot *slot);

/* Walk the slots in pages overlapping [lo, hi). Returns 0, the callback's
 * value, or -1 with `err` set on malformed slide info. */
int dsc_slide_walk(const struct dsc_slide_src *src, uint64_t lo, uint64_t hi, dsc_slide_fn fn, void *ctx,
                   dsc_error *err);

/* Walk every slot of every slid mapping of `c` overlapping [lo, hi) whose
 * address lies in [lo, hi), mappings in table order. Chains move forward
 * only, so none is followed past hi: damage beyond the range is no error
 * of this walk. Same returns. */
int dsc_slide_walk_range(const dsc_cache *c, uint64_t lo, uint64_t hi, dsc_slide_fn fn, void *ctx, dsc_error *err);

/* The most slots dsc_slide_walk_range(c, lo, hi) reports from well-formed
 * slide info: the range's bytes in slid mappings over the least distance
 * between two slots (4 bytes in v1 bitmaps and v2/v4 deltas, 8 in v3/v5).
 * A hint to size a table before a walk, never a limit: malformed info
 * (chains of one page crossing each other) can report more. */
uint64_t dsc_slide_slots_bound(const dsc_cache *c, uint64_t lo, uint64_t hi);

/* ---- one pointer slot at an unslid address; three meanings, three names ----
 * dsc_vm_ptr_raw     the pointer-sized word as the cache stores it;
 * dsc_vm_ptr_value   that word decoded by its mapping's slide info: what an
 *                    extracted file stores there (high8 bits kept; v4 small
 *                    integers as integers; raw where the mapping is unslid);
 * dsc_vm_ptr_target  the address it points to: the value without high8
 *                    bits, and 0 for a zero word (a slot no chain visits: a
 *                    weak import bound to nothing).
 * False when the slot is outside every mapping or the slide header is bad. */
bool dsc_vm_ptr_value(const dsc_cache *c, uint64_t addr, uint64_t *value);
bool dsc_vm_ptr_target(const dsc_cache *c, uint64_t addr, uint64_t *target);

#endif

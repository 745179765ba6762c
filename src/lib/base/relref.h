/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relref.h — where Swift metadata keeps 32-bit relative references: the
 * one rule the test-cache builder, extraction and --verify share.
 *
 * An image in a cache carries no record of its relative references (ld64's
 * split-seg DELTA_32 entries are dropped with LC_SEGMENT_SPLIT_INFO; ld64.lld
 * writes none), so they are found by their shape, in the sections swiftc
 * fills with relative pointers:
 *  - every 4-byte-aligned 32-bit field of __TEXT,__const and of every
 *    __swift5_* section (descriptors, conformance and type lists);
 *  - in __swift5_typeref (mangled names), the 32-bit field after each
 *    symbolic-reference marker byte 0x01..0x17 (0x02: an indirect context
 *    descriptor, through a GOT-like slot), at any alignment; a mangled-name
 *    reader skips those 4 bytes, and so does the walk.
 * A field at F holding V names F + (int32)V. Swift tags the low bits (1 for
 * an indirect RelativeIndirectablePointer, a 2-bit kind in __swift5_types),
 * so the slot referred to is target & ~3 and the tag target & 3. The shape
 * only proposes fields: each caller accepts one only when the slot is what
 * such a reference points at (a pointer slot of the image, a GOT twin), a
 * test random bytes practically never pass.
 */
#ifndef DSC_RELREF_H
#define DSC_RELREF_H

#include <stdbool.h>
#include <stdint.h>

#define DSC_RELREF_TAG_MASK 3u

/* Whether section segname,sectname holds relative references; *symbolic
 * tells that they are marked fields of mangled names. */
bool dsc_relref_section(const char *segname, const char *sectname, bool *symbolic);

/* fn(ctx, field address, target address) for every field of the `size`
 * bytes at vmaddr `addr` the shape proposes; a non-zero return stops the
 * walk and is returned. */
typedef int (*dsc_relref_fn)(void *ctx, uint64_t field, uint64_t target);
int dsc_relref_each(const uint8_t *bytes, uint64_t size, uint64_t addr, bool symbolic, dsc_relref_fn fn, void *ctx);

/* The 32-bit field value that makes a field at `field` name `target`;
 * false when out of +-2 GiB. */
bool dsc_relref_encode(uint64_t field, uint64_t target, uint32_t *value);

#endif

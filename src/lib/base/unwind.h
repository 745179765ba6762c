/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unwind.h — the references unwind information makes to personality
 * pointers: the one reading the test-cache builder and extraction share.
 *
 * A function with a personality (C++ __gxx_personality_v0, ObjC
 * __objc_personality_v0, ...) reaches it through a pointer slot, a GOT
 * entry the linker binds, never the function itself:
 *  - __TEXT,__unwind_info (compact unwind, mach-o/compact_unwind_encoding.h):
 *    the personality array holds 32-bit offsets of those slots from the
 *    image's mach_header (ld64 lists them as DYLD_CACHE_ADJ_V2_IMAGE_OFF_32
 *    split-seg references);
 *  - __TEXT,__eh_frame: a CIE whose augmentation has 'P' encodes the
 *    personality as DW_EH_PE_indirect|pcrel|sdata4 (0x9b), a 32-bit field
 *    naming the slot relative to itself (DYLD_CACHE_ADJ_V2_DELTA_32).
 * Other personality encodings (absolute, direct) name no slot and are not
 * listed. Every count and length read is checked against the section.
 */
#ifndef DSC_UNWIND_H
#define DSC_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

enum dsc_unwind_kind {
    DSC_UNWIND_IMAGE_OFF32, /* __unwind_info personality: slot - mach_header */
    DSC_UNWIND_DELTA32,     /* __eh_frame CIE personality: slot - field */
};

/* Whether segname,sectname is a section with personality references. */
bool dsc_unwind_section(const char *segname, const char *sectname);

/* fn(ctx, field address, slot address, kind) for every personality
 * reference of the `size` bytes of section `sectname` at vmaddr `addr` of
 * an image whose mach_header is at `image_base`; a non-zero return stops
 * the walk and is returned. Malformed data ends the walk silently. */
typedef int (*dsc_unwind_fn)(void *ctx, uint64_t field, uint64_t slot, enum dsc_unwind_kind kind);
int dsc_unwind_each(const uint8_t *bytes, uint64_t size, uint64_t addr, const char *sectname, uint64_t image_base,
                    dsc_unwind_fn fn, void *ctx);

/* The 32-bit value making a `kind` field at `field` name `slot`; false
 * when out of reach (IMAGE_OFF32: below the header or 4 GiB above it). */
bool dsc_unwind_encode(enum dsc_unwind_kind kind, uint64_t field, uint64_t slot, uint64_t image_base,
                       uint32_t *value);

#endif

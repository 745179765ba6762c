/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlv.h — thread-local variable descriptors as the linker wrote them.
 *
 * From dyld-1042 Apple's builder sets up every S_THREAD_LOCAL_VARIABLES
 * descriptor {thunk, key, offset} ahead of time (optimizeTLVs in
 * cache_builder/NewSharedCacheBuilder.cpp): the thunk points at libdyld's
 * non-exported _tlv_get_addr (signed IA on arm64e), the key is the image's
 * static pthread key; from dyld-1284 (header flag newFormatTLVs, bit 12 of
 * the word at 0xDC) the descriptor is packed as TLV_Thunkv2 {func, u32 key,
 * u32 offset, i32 initialContentDelta, u32 initialContentSize} or, 32-bit,
 * TLV_Thunkv2_32 {func, u16 key, u16 offset, i32 machHeaderDelta}
 * (dyld-1378 libdyld/ThreadLocalVariables.h).
 *
 * An extracted image gets the descriptors the linker wrote: each thunk
 * binds __tlv_bootstrap (pass_binds asks dsc_tlv_thunk; the cache's signing
 * stays), the key is 0 and the offset the original one, a whole word.
 */
#ifndef DSC_TLV_H
#define DSC_TLV_H

#include "extract/extract.h"

/* True when `slot` is the thunk word of one of the image's descriptors. */
bool dsc_tlv_thunk(const struct dsc_plan *p, uint64_t slot);

/* Key 0 and the linked layout's offset word in every descriptor; a no-op
 * in a size plan. Fails when a packed descriptor is out of its segment. */
int dsc_tlv_restore(struct dsc_plan *p);

#endif

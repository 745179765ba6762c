/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bindinfo.h — decoder for dyld bind opcode streams (LC_DYLD_INFO bind,
 * weak_bind and lazy_bind), used both on cache images that still carry
 * their original streams (caches up to dyld-9xx) and on extracted files.
 *
 * Every segment index and address is checked against the segment table the
 * caller gives; a repeat count can only bind inside its segment, and a
 * stream may bind no more slots in all than the segments' file bytes hold
 * pointers (a linker binds each slot once; repeats over the same slots are
 * how a hostile stream would turn a few bytes into millions of records), so
 * it ends with an error, never a long loop or an unbounded table. Threaded
 * binds (BIND_OPCODE_THREADED) are refused.
 */
#ifndef DSC_BINDINFO_H
#define DSC_BINDINFO_H

#include "base/macho_format.h"
#include "base/reader.h"

struct dsc_bind_seg {
    uint64_t vmaddr, vmsize;
    uint64_t filesize;       /* bytes in the file: bounds the stream's binds */
};

struct dsc_bind_rec {
    uint64_t address;        /* vmaddr of the slot */
    const char *name;        /* points into the stream */
    int ordinal;             /* library ordinal, or a negative special one */
    uint32_t flags;          /* BIND_SYMBOL_FLAGS_* */
    uint8_t type;
    int64_t addend;
    uint64_t entry_offset;   /* lazy streams: offset of this entry (what a stub helper pushes) */
    unsigned segment;        /* index into the segment table given */
};

/* A positive return stops the walk and is returned (-1 means a bad stream). */
typedef int (*dsc_bind_fn)(void *ctx, const struct dsc_bind_rec *rec);

/* Decode `stream`; `lazy` makes DONE separate entries instead of ending. */
int dsc_bind_walk(dsc_span stream, const struct dsc_bind_seg *segs, unsigned nsegs, unsigned ptr_size, bool lazy,
                  dsc_bind_fn fn, void *ctx, const char *file, dsc_error *err);

#endif

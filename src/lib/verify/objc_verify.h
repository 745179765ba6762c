/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_verify.h — check an extracted file's Objective-C metadata using only
 * the file's own bytes (see objc_verify.c).
 */
#ifndef DSC_OBJC_VERIFY_H
#define DSC_OBJC_VERIFY_H

#include "index/objc.h"

struct dsc_objc_verify {
    uint64_t classes, categories, protocols, methods, selrefs;
    uint64_t selrefs_outside;       /* selrefs whose selector string is not in a section of the file */
    uint64_t method_names_outside;  /* methods whose name (or its selref) is not in a section of the file */
    uint64_t strings_outside;       /* class/protocol/ivar/property names and types outside the file */
    uint64_t protorefs_outside;     /* protocol references outside the file */
    uint64_t opt_offsets_outside;   /* libobjc's __objc_opt_ro offsets naming a place outside the file */
};

/* Walk `mo`, an extraction of cache image mo->image read with
 * dsc_macho_read_file (cache and image set), like dsc_objc_verify_file. */
int dsc_objc_verify_macho(const struct dsc_macho *mo, dsc_objc_visit_fn fn, void *ctx, struct dsc_objc_verify *out,
                          dsc_error *err);

/* Walk `file` (an extraction of cache image `image`), calling fn (may be
 * NULL) for every item as objc.h describes, and fill the counts. Returns 0,
 * or -1 with `err` set when the file or its metadata is malformed. */
int dsc_objc_verify_file(const dsc_cache *c, uint32_t image, const uint8_t *file, size_t size,
                         dsc_objc_visit_fn fn, void *ctx, struct dsc_objc_verify *out, dsc_error *err);

#endif

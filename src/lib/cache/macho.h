/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * macho.h — a cache image's Mach-O header and load commands, read with the
 * one Mach-O reader (base/macho_view.h) through the cache's checked
 * reader, and the cache-specific reads of it: LINKEDIT offsets as cache
 * bytes, and messages that name the cache and the image.
 */
#ifndef DSC_MACHO_H
#define DSC_MACHO_H

#include "base/macho_view.h"
#include "cache/cache.h"

/* Read image `image`'s header and load commands (see macho_view.h for what
 * is checked), requiring the cache's word size. */
int dsc_macho_parse(const dsc_cache *c, uint32_t image, struct dsc_macho *mo, dsc_error *err);

/* The cache bytes of the image's LINKEDIT file range [off, off+len): the
 * offset is one in the file that holds the (shared) LINKEDIT, and must lie
 * inside the image's __LINKEDIT segment. An empty range is always found
 * (as an empty span). */
bool dsc_macho_linkedit(const struct dsc_macho *mo, uint64_t off, uint64_t len, dsc_span *out);

/* "<cache>: <image path>: <message>", as dsc_fail / dsc_fail_code. */
int dsc_image_fail(dsc_error *err, const dsc_cache *c, uint32_t image, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int dsc_image_fail_code(dsc_error *err, enum dsc_errcode code, const dsc_cache *c, uint32_t image, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
int dsc_image_vfail(dsc_error *err, enum dsc_errcode code, const dsc_cache *c, uint32_t image, const char *fmt,
                    va_list ap);

#endif

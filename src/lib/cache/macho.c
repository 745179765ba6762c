/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * macho.c — find a cache image's header in the cache and read it with the
 * one Mach-O reader; map its LINKEDIT offsets to cache bytes.
 */
#include "cache/macho.h"

#include <stdio.h>
#include <string.h>

int dsc_image_vfail(dsc_error *err, enum dsc_errcode code, const dsc_cache *c, uint32_t image, const char *fmt,
                    va_list ap)
{
    if (!err)
        return -1;
    char what[DSC_ERROR_MAX], path[DSC_ERROR_MAX];
    vsnprintf(what, sizeof what, fmt, ap);
    const dsc_image *img = dsc_cache_get_image(c, image);
    return dsc_fail_code(err, code, c->path, "%s: %s",
                         img ? dsc_path_escape(path, sizeof path, img->path) : "(no such image)", what);
}

int dsc_image_fail(dsc_error *err, const dsc_cache *c, uint32_t image, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dsc_image_vfail(err, DSC_ERR_INPUT, c, image, fmt, ap);
    va_end(ap);
    return -1;
}

int dsc_image_fail_code(dsc_error *err, enum dsc_errcode code, const dsc_cache *c, uint32_t image, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    dsc_image_vfail(err, code, c, image, fmt, ap);
    va_end(ap);
    return -1;
}

/* The reader's failure (made with an empty `who`: ": message") as one
 * naming the cache and the image; the names are escaped only then, not
 * for each of the thousands of images that parse. */
static int parse_failed(dsc_error *err, const dsc_error *why, const dsc_cache *c, uint32_t image)
{
    if (!err)
        return -1;
    const char *msg = strncmp(why->msg, ": ", 2) == 0 ? why->msg + 2 : why->msg;
    return dsc_image_fail_code(err, why->code, c, image, "%s", msg);
}

int dsc_macho_parse(const dsc_cache *c, uint32_t image, struct dsc_macho *mo, dsc_error *err)
{
    memset(mo, 0, sizeof *mo);
    const dsc_image *img = dsc_cache_get_image(c, image);
    if (!img)
        return dsc_fail_code(err, DSC_ERR_ARGUMENT, c->path, "no image %u", image);
    mo->cache = c;
    mo->image = image;
    mo->path = img->path;
    dsc_span hdr, all;
    dsc_error why;
    if (!dsc_vm_span(c, img->address, MH_HEADER_SIZE, &hdr))
        return dsc_image_fail(err, c, image, "mach header at 0x%llx is out of its mapping",
                              (unsigned long long)img->address);
    if (dsc_macho_header(hdr, mo, "", err ? &why : NULL))
        return parse_failed(err, &why, c, image);
    if (mo->is64 != c->info.is64)
        return dsc_image_fail(err, c, image, "Mach-O word size differs from the cache's");
    if (!dsc_vm_span(c, img->address, mo->header_size + (uint64_t)mo->sizeofcmds, &all))
        return dsc_image_fail(err, c, image, "load commands run past the end of their mapping");
    if (dsc_macho_commands(all, mo, "", err ? &why : NULL))
        return parse_failed(err, &why, c, image);
    return 0;
}

bool dsc_macho_linkedit(const struct dsc_macho *mo, uint64_t off, uint64_t len, dsc_span *out)
{
    const struct dsc_segment *le = mo->linkedit ? &mo->segs[mo->linkedit - 1] : dsc_macho_segment(mo, "__LINKEDIT");
    *out = (dsc_span){NULL, 0};
    if (len == 0)
        return true;
    return le && off >= le->fileoff && dsc_range_ok(le->filesize, off - le->fileoff, len) &&
           dsc_vm_span(mo->cache, le->vmaddr + (off - le->fileoff), len, out);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fvariants.c — function variants (dyld-1284+): --function-variant SYM=IMPL
 * makes SYM, exported by an input, a function-variant export, as a linker
 * that knows them writes it and Apple's builder keeps it (dyld-1378
 * cache_builder/CacheDylib.cpp and NewAdjustDylibSegments.cpp copy the
 * LC_FUNCTION_VARIANTS blob into the merged LINKEDIT and keep the trie's
 * EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT entries):
 *  - its trie entry gets the flag and, after the default implementation's
 *    offset, the ULEB index of its table (0);
 *  - the image's LINKEDIT gets a FunctionVariants blob (mach_o/
 *    FunctionVariants.h: u32 tableCount, u32 tableOffsets[], then per table
 *    {u32 kind, u32 count, entries {impl:31 anotherTable:1, u8
 *    flagBitNums[4]}}) with one table of kind arm64 (3) or x86_64 (4):
 *    IMPL under flag bit 1, then the default, SYM itself, with no flags
 *    (dyld requires the default last);
 *  - LC_FUNCTION_VARIANTS names it (loadcmds.c, in the room of the
 *    commands the cache drops).
 * ld64.lld-19 cannot link function variants, so the inputs stay plain and
 * the builder adds what the linker would have written. Binds to SYM resolve
 * to the default implementation; the cache's dyld_cache_function_variant_info
 * (0x228 header) is not written.
 *
 * An input that carries LC_FUNCTION_VARIANTS itself (fvfixups.c: a
 * function with variants that is not exported, its address stored in data)
 * keeps its blob, each implementation offset moved with the image, as the
 * cache keeps it; its LC_FUNCTION_VARIANT_FIXUPS is dropped and the slot it
 * names stays the linker's rebase to the default (followed: dyld-1378
 * NewSharedCacheBuilder.cpp parseGOTs, which coalesces such a slot as
 * "internal-function-variant#N" and copies no fixups blob; only bound
 * slots are zeroed). An image cannot have both kinds here.
 */
#include "bld.h"

#include <stdlib.h>
#include <string.h>

#define FV_KIND_ARM64 3u
#define FV_KIND_X86_64 4u
#define FV_FLAG_BIT 1u /* any non-zero flag bit: dyld only tests it at run time */

void fv_plan(struct cache *c)
{
    for (unsigned k = 0; k < c->opt.nfv_specs; k++) {
        char *spec = xstrdup(c->opt.fv_specs[k]), *eq = strchr(spec, '=');
        if (!eq || c->opt.header_size < 0x200)
            die("--function-variant wants SYM=IMPL and the 0x200 header (dyld-1284+)");
        *eq = 0;
        unsigned found = 0;
        for (size_t i = 0; i < c->nimages; i++) {
            struct image *img = &c->images[i];
            struct export_sym *e = (struct export_sym *)image_export(img, spec);
            const struct export_sym *impl = image_export(img, eq + 1);
            if (!e || !impl || (e->flags | impl->flags) & ~(uint64_t)EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT)
                continue;
            if (img->fvin_size)
                die("%s: --function-variant on an image with its own LC_FUNCTION_VARIANTS", img->in_path);
            e->flags |= EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT;
            img->fv_default = e->value;
            img->fv_impl = impl->value;
            found++;
        }
        if (!found)
            die("--function-variant %s=%s: no image exports both as regular functions", spec, eq + 1);
        free(spec);
    }
}

/* Offset from the image's mach_header in the cache of input offset `in`. */
static uint32_t cache_offset(const struct image *img, uint64_t in)
{
    uint64_t at;
    if (!image_reloc(img, img->segs[0].in_addr + in, &at) || at - img->segs[0].addr > UINT32_MAX / 2)
        die("%s: a function variant is outside the image", img->in_path);
    return (uint32_t)(at - img->segs[0].addr);
}

/* The input's own blob, each implementation (not a table index) moved. */
static void copy_input_blob(const struct image *img, struct buf *out)
{
    dsc_span b;
    uint32_t ntables, at, kind, count, impl;
    if (!span_sub(img->file, img->fvin_off, img->fvin_size, &b) || !span_u32(b, 0, &ntables))
        die("%s: LC_FUNCTION_VARIANTS is outside the file", img->in_path);
    size_t start = out->len;
    buf_put(out, b.data, b.size);
    for (uint32_t t = 0; t < ntables; t++) {
        if (!span_u32(b, 4 + 4 * (uint64_t)t, &at) || !span_u32(b, at, &kind) || !span_u32(b, at + 4, &count))
            die("%s: a function-variant table is outside its blob", img->in_path);
        for (uint64_t k = 0; k < count; k++) {
            uint64_t o = at + 8 + 8 * k;
            if (!span_u32(b, o, &impl))
                die("%s: a function-variant table is outside its blob", img->in_path);
            if (!(impl >> 31))
                dsc_put32(out->data + start + o, cache_offset(img, impl));
        }
    }
}

/* The image's FunctionVariants blob (empty without a variant). */
void fv_blob(const struct cache *c, const struct image *img, struct buf *out)
{
    if (img->fvin_size)
        copy_input_blob(img, out);
    if (!img->fv_default)
        return;
    buf_u32(out, 1);      /* tableCount */
    buf_u32(out, 8);      /* tableOffsets[0] */
    buf_u32(out, c->opt.arch == ARCH_X86_64 ? FV_KIND_X86_64 : FV_KIND_ARM64);
    buf_u32(out, 2);      /* count */
    buf_u32(out, cache_offset(img, img->fv_impl));
    buf_u32(out, FV_FLAG_BIT);
    buf_u32(out, cache_offset(img, img->fv_default));
    buf_u32(out, 0);      /* the default: no flags */
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * extract.c — the extraction pipeline: plan → copy → passes → serialise
 * (and sign), and the public dsc_extract / dsc_extract_size (and their
 * _with forms) / dsc_output_free.
 *
 * dsc_extract_size runs the same pipeline on a size plan (no segment bytes
 * copied, no pointers written; see extract.h), so the two can never
 * disagree: the size is p->file_size from the very same out_finish.
 */
#include "extract/extract.h"
#include "base/ptrfmt.h"
#include "base/sized.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "index/symbols.h"

/* Passes in order. objc and binds run between pointers and linkedit: they
 * see decoded pointers and may add fixups, imports, segments and sections
 * that linkedit then writes out; stubs runs after linkedit; fixups encodes
 * last what all of them left. */
static int (*const passes[])(struct dsc_plan *) = {
    pass_layout,
    pass_pointers,
    pass_objc,
    pass_binds,
    pass_linkedit,
    pass_stubs, /* after linkedit: it names stubs in the rebuilt symtab */
    pass_fixups,
};

static uint32_t page_size_for(enum dsc_arch arch)
{
    /* arm64 kernels use 16 KiB pages; everything else 4 KiB. */
    return arch == DSC_ARCH_ARM64 || arch == DSC_ARCH_ARM64E || arch == DSC_ARCH_ARM64_32 ? 0x4000 : 0x1000;
}

/* arm64e: DYLD_CHAINED_PTR_ARM64E (what carries auth bits). Elsewhere
 * the image's own: Apple's builder drops LC_DYLD_CHAINED_FIXUPS and keeps
 * LC_DYLD_INFO(_ONLY) of opcode-linked dylibs (dyld-1284.13
 * NewAdjustDylibSegments), so a 64-bit image with LC_DYLD_EXPORTS_TRIE and
 * no LC_DYLD_INFO was linked with chained fixups and gets them back, as
 * DYLD_CHAINED_PTR_64 (what ld64.lld writes; the input's own format is not
 * kept in the cache). 32-bit images keep opcodes. */
static void choose_encoding(struct dsc_plan *p)
{
    struct dsc_lc lc;
    uint32_t off, len;
    p->encoding = DSC_ENCODE_OPCODES;
    if (p->cache->info.arch == DSC_ARCH_ARM64E) {
        p->encoding = DSC_ENCODE_CHAINED;
        p->chained_format = DSC_CHAINED_PTR_ARM64E;
    } else if (p->ptr_size == 8 && dsc_macho_dyld_info(&p->mo, &lc) == 0 &&
               dsc_macho_linkedit_data(&p->mo, LC_DYLD_EXPORTS_TRIE, &off, &len) > 0) {
        p->encoding = DSC_ENCODE_CHAINED;
        p->chained_format = DSC_CHAINED_PTR_64;
    }
}

int plan_init(struct dsc_plan *p, const dsc_cache *c, uint32_t image, bool copy_bytes, dsc_error *err)
{
    memset(p, 0, sizeof *p);
    p->cache = c;
    p->err = err;
    p->copy_bytes = copy_bytes;
    if (dsc_macho_parse(c, image, &p->mo, err))
        return -1;
    p->base = dsc_cache_get_image(c, image)->address;
    p->ptr_size = dsc_ptr_size(c);
    p->page_size = page_size_for(c->info.arch);
    choose_encoding(p);
    return 0;
}

void plan_free(struct dsc_plan *p)
{
    for (unsigned i = 0; i < p->nsegs; i++) {
        free(p->segs[i].bytes);
        free(p->segs[i].sects);
    }
    free(p->segs);
    free(p->fixups);
    for (uint32_t i = 0; i < p->nimports; i++)
        free(p->imports[i].name);
    free(p->imports);
    free(p->lazy);
    free(p->got_twins);
    free(p->code_refs);
    struct dsc_linkedit *le = &p->le;
    struct dsc_blob *blobs[] = {&le->chained, &le->rebase, &le->bind, &le->weak_bind, &le->lazy_bind, &le->exports,
                                &le->fstarts, &le->dic, &le->symtab, &le->indirect, &le->strtab, &p->warnings,
                                &p->cmds};
    for (size_t i = 0; i < sizeof blobs / sizeof blobs[0]; i++)
        blob_free(blobs[i]);
    dsc_symbols_close(p->syms);
    dsc_macho_free(&p->mo);
    memset(p, 0, sizeof *p);
}

int plan_symbols(struct dsc_plan *p, struct dsc_symbols **out)
{
    if (!p->syms && dsc_symbols_open(p->cache, p->mo.image, &p->syms, p->err))
        return -1;
    *out = p->syms;
    return 0;
}

/* Run every pass and lay the file out. */
static int plan_run(struct dsc_plan *p)
{
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
        if (passes[i](p))
            return -1;
    if (p->syms && dsc_symbols_failed(p->syms))
        return plan_fail_code(p, DSC_ERR_NOMEM, "out of memory resolving symbols");
    return out_finish(p);
}

/* The first dsc_output (0.1.0); later versions only append to its last
 * member, stats (base/sized.h). */
#define OUTPUT_SIZE_0_1_0 (offsetof(dsc_output, stats.selectors_fixed) + sizeof(uint64_t))

/* The extraction into `out`, a zeroed dsc_output of this version. */
static int extract_into(const dsc_cache *c, uint32_t image, unsigned flags, dsc_output *out, dsc_error *err)
{
    struct dsc_plan p;
    if (plan_init(&p, c, image, true, err))
        return -1;
    p.sign = !(flags & DSC_EXTRACT_UNSIGNED);
    int rc = plan_run(&p);
    if (rc == 0) {
        out->data = malloc(p.file_size ? p.file_size : 1);
        rc = out->data ? out_write(&p, out->data)
                       : plan_fail_code(&p, DSC_ERR_NOMEM, "out of memory for a %llu-byte file",
                                        (unsigned long long)p.file_size);
    }
    if (rc == 0) {
        out->size = p.file_size;
        out->stats = p.stats;
        if (p.warnings.size) {
            out->warnings = (char *)p.warnings.data; /* NUL-terminated by plan_warn */
            p.warnings = (struct dsc_blob){0};
        }
    } else {
        free(out->data);
        out->data = NULL;
    }
    plan_free(&p);
    return rc;
}

int dsc_extract_with(const dsc_cache *c, uint32_t image, unsigned flags, dsc_output *out, dsc_error *err)
{
    dsc_output full = {.struct_size = sizeof full};
    int rc = dsc_sized_check(out, OUTPUT_SIZE_0_1_0, "dsc_output", "struct_size", c->path, err);
    if (rc == 0)
        rc = extract_into(c, image, flags, &full, err);
    dsc_sized_out(out, &full, sizeof full, OUTPUT_SIZE_0_1_0); /* refused too: data and warnings NULL */
    return rc;
}

int dsc_extract_size_with(const dsc_cache *c, uint32_t image, unsigned flags, uint64_t *size, dsc_error *err)
{
    struct dsc_plan p;
    if (plan_init(&p, c, image, false, err))
        return -1;
    p.sign = !(flags & DSC_EXTRACT_UNSIGNED);
    int rc = plan_run(&p);
    if (rc == 0)
        *size = p.file_size;
    plan_free(&p);
    return rc;
}

int dsc_extract(const dsc_cache *c, uint32_t image, dsc_output *out, dsc_error *err)
{
    return dsc_extract_with(c, image, 0, out, err);
}

int dsc_extract_size(const dsc_cache *c, uint32_t image, uint64_t *size, dsc_error *err)
{
    return dsc_extract_size_with(c, image, 0, size, err);
}

void dsc_output_free(dsc_output *out)
{
    free(out->data);
    free(out->warnings);
    const dsc_output empty = {.struct_size = sizeof empty};
    dsc_sized_out(out, &empty, sizeof empty, OUTPUT_SIZE_0_1_0);
}

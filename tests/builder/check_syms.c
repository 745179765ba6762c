/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_syms.c — dsccheck: export tries, external symbols, moved local
 * symbols and the "<redacted>" locals left in the images.
 */
#include "check.h"
#include "base/trie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct export_check {
    size_t image;
    size_t count, fvariants;
};

/* A function-variant export: table 0 of the image's LC_FUNCTION_VARIANTS
 * blob is {kind, 2, IMPL with a flag, the export itself with none}. */
static void check_variant(const struct export_check *w, const char *key, dsc_span t, uint64_t off, uint64_t value)
{
    const struct image *img = &bc.images[w->image];
    const struct cached *ci = &cached[w->image];
    uint64_t index;
    if (!span_uleb(t, &off, &index) || index != 0 || ci->fv_size < 32)
        die("%s: function variant %s has no table", img->cache_path, key);
    dsc_span b = linkedit(w->image, ci->fv_off, ci->fv_size, "function variants");
    uint32_t kind = dsc_le32(b.data + 8), impl = dsc_le32(b.data + 16), def = dsc_le32(b.data + 24);
    uint64_t want;
    if (dsc_le32(b.data) != 1 || dsc_le32(b.data + 4) != 8 || (kind != 3 && kind != 4) || dsc_le32(b.data + 12) != 2 ||
        !dsc_le32(b.data + 20) || dsc_le32(b.data + 28) || def != value || !image_reloc(img, img->segs[0].in_addr + img->fv_impl, &want) ||
        ci->mh + impl != want)
        die("%s: the function-variant table of %s is wrong", img->cache_path, key);
}

/* An input's own LC_FUNCTION_VARIANTS (fvfixups.c): the cache's blob is the
 * input's, each implementation offset naming where the input's moved. */
static void check_input_variants(size_t i)
{
    const struct image *img = &bc.images[i];
    const struct cached *ci = &cached[i];
    dsc_span in, b;
    uint32_t ntables, at, count, v;
    if (!ci->fv_size || ci->fv_size != img->fvin_size || !span_sub(img->file, img->fvin_off, img->fvin_size, &in))
        die("%s: the input's LC_FUNCTION_VARIANTS blob was not kept", img->cache_path);
    b = linkedit(i, ci->fv_off, ci->fv_size, "function variants");
    uint8_t *want = xmalloc(in.size);
    memcpy(want, in.data, in.size);
    for (uint32_t t = 0; span_u32(in, 0, &ntables) && t < ntables; t++)
        for (uint64_t k = 0; span_u32(in, 4 + 4 * (uint64_t)t, &at) && span_u32(in, at + 4, &count) && k < count; k++) {
            uint64_t o = at + 8 + 8 * k, moved;
            if (!span_u32(in, o, &v) || (v >> 31))
                continue;
            if (!image_reloc(img, img->segs[0].in_addr + v, &moved))
                die("%s: a function variant of the input is outside it", img->cache_path);
            dsc_put32(want + o, (uint32_t)(moved - ci->mh));
        }
    if (memcmp(want, b.data, b.size) != 0)
        die("%s: LC_FUNCTION_VARIANTS is not the input's, moved", img->cache_path);
    free(want);
}

static int on_cached_export(void *ctx, const char *key, size_t key_len, dsc_span t)
{
    struct export_check *w = ctx;
    const struct image *img = &bc.images[w->image];
    const struct export_sym *e = image_export(img, key);
    uint64_t off = 0, flags, value, want;
    if (!e || !span_uleb(t, &off, &flags) || flags != e->flags)
        die("%s: export %.*s is not the input's", img->cache_path, (int)key_len, key);
    if (!(flags & 0x08) && (flags & 3) != 2) {
        if (!span_uleb(t, &off, &value) || !image_reloc(img, img->segs[0].in_addr + e->value, &want) ||
            cached[w->image].mh + value != want)
            die("%s: export %s is not where the input's moved", img->cache_path, key);
        if (flags & EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT) {
            check_variant(w, key, t, off, value);
            w->fvariants++;
        }
    }
    w->count++;
    return 0;
}

void check_exports(struct counts *n)
{
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct cached *ci = &cached[i];
        if (bc.images[i].fvin_size) {
            check_input_variants(i);
            n->fvariants++;
        }
        if (!ci->export_size)
            continue;
        dsc_span trie = linkedit(i, ci->export_off, ci->export_size, "export trie");
        struct export_check w = {i, 0, 0};
        dsc_error err;
        if (dsc_trie_walk(trie, on_cached_export, &w, bc.images[i].cache_path, &err))
            die("%s", err.msg);
        n->exports += w.count;
        n->fvariants += w.fvariants;
    }
}

static const char *string_at(size_t i, uint32_t strx)
{
    const struct cached *ci = &cached[i];
    dsc_span pool = linkedit(i, ci->stroff, ci->strsize, "string pool");
    const char *s;
    if (!span_cstr(pool, strx, pool.size, &s, NULL))
        die("%s: symbol name 0x%x is outside the pool", bc.images[i].cache_path, strx);
    return s;
}

/* External symbols: same names in the same order, values moved. */
void check_symbols(struct counts *n)
{
    unsigned nsz = bc.ai->ptr_size == 8 ? 16 : 12;
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct cached *ci = &cached[i];
        if (ci->nextdef != img->nextdef || ci->nsyms - ci->iextdef != img->nsyms - img->iextdef)
            die("%s: %u external symbols, the input has %u", img->cache_path, ci->nextdef, img->nextdef);
        dsc_span syms = linkedit(i, ci->symoff, (uint64_t)ci->nsyms * nsz, "symbol table");
        for (uint32_t k = 0; k < img->nextdef; k++) {
            const uint8_t *c = syms.data + (uint64_t)(ci->iextdef + k) * nsz;
            const uint8_t *in = img->file.data + img->symoff + (uint64_t)(img->iextdef + k) * nsz;
            uint64_t cv = nsz == 16 ? dsc_le64(c + 8) : dsc_le32(c + 8);
            uint64_t iv = nsz == 16 ? dsc_le64(in + 8) : dsc_le32(in + 8), want = iv;
            if ((in[4] & 0x0e) == 0x0e)
                image_reloc(img, iv, &want);
            const char *name = (const char *)img->file.data + img->stroff + dsc_le32(in);
            if (strcmp(string_at(i, dsc_le32(c)), name) != 0 || cv != want)
                die("%s: external symbol %u (%s) differs from the input's", img->cache_path, k, name);
            n->symbols++;
        }
    }
}

/* With locals moved out, the image keeps one "<redacted>" nlist per input
 * local in section 1 (__text), and nothing else, as its locals. */
static void check_redacted(size_t i, struct counts *n)
{
    const struct image *img = &bc.images[i];
    const struct cached *ci = &cached[i];
    unsigned nsz = bc.ai->ptr_size == 8 ? 16 : 12;
    uint32_t want = 0;
    for (uint32_t k = 0; k < img->nlocal; k++) {
        const uint8_t *in = img->file.data + img->symoff + (uint64_t)(img->ilocal + k) * nsz;
        want += in[5] == 1 && !(in[4] & 0xe0);
    }
    if (ci->nlocal != want)
        die("%s: %u locals stay in the image, expected %u redacted ones", img->cache_path, ci->nlocal, want);
    dsc_span syms = linkedit(i, ci->symoff, (uint64_t)ci->nsyms * nsz, "symbol table");
    for (uint32_t k = 0; k < ci->nlocal; k++)
        if (strcmp(string_at(i, dsc_le32(syms.data + (uint64_t)k * nsz)), "<redacted>") != 0)
            die("%s: local %u kept in the image is not <redacted>", img->cache_path, k);
    n->redacted += want;
}

/* Moved locals: in the main file (unsplit) or the .symbols file. */
void check_locals(struct counts *n)
{
    const struct dsc_file *holder = NULL;
    for (unsigned f = 0; f < cache->nfiles; f++) {
        const struct dsc_file *x = &cache->files[f];
        if (dsc_hdr_has(x, HDR_LOCAL_SYMBOLS_SIZE, 8) && dsc_hdr64(x, HDR_LOCAL_SYMBOLS_OFFSET))
            holder = x;
    }
    if (!holder)
        return;
    dsc_span info;
    if (!span_sub(holder->bytes, dsc_hdr64(holder, HDR_LOCAL_SYMBOLS_OFFSET),
                  dsc_hdr64(holder, HDR_LOCAL_SYMBOLS_SIZE), &info) || info.size < 24)
        die("%s: local symbols are out of the file", holder->info.path);
    const uint8_t *h = info.data;
    uint32_t nlist_off = dsc_le32(h), strs_off = dsc_le32(h + 8), strs_size = dsc_le32(h + 12);
    uint32_t ent_off = dsc_le32(h + 16), ent_count = dsc_le32(h + 20);
    bool wide = holder->header_size >= 0x190;
    unsigned esz = wide ? 16 : 12, nsz = bc.ai->ptr_size == 8 ? 16 : 12;
    dsc_span strs;
    if (ent_count != bc.nimages || !span_sub(info, strs_off, strs_size, &strs))
        die("%s: local symbols name %u images, expected %zu", holder->info.path, ent_count, bc.nimages);
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        dsc_span e;
        if (!span_sub(info, ent_off + (uint64_t)i * esz, esz, &e))
            die("local symbols entry %zu is out of the blob", i);
        uint64_t dylib_off = wide ? dsc_le64(e.data) : dsc_le32(e.data);
        uint32_t start = dsc_le32(e.data + esz - 8), count = dsc_le32(e.data + esz - 4);
        if (dylib_off != cached[i].mh - dsc_cache_get_info(cache)->base_address || count != img->nlocal)
            die("%s: local symbols entry %zu is wrong (offset 0x%llx, %u locals)", img->cache_path, i,
                (unsigned long long)dylib_off, count);
        check_redacted(i, n);
        for (uint32_t k = 0; k < count; k++) {
            dsc_span nl;
            const char *got;
            if (!span_sub(info, nlist_off + (uint64_t)(start + k) * nsz, nsz, &nl) ||
                !span_cstr(strs, dsc_le32(nl.data), strs.size, &got, NULL))
                die("%s: local symbol %u is out of the blob", img->cache_path, k);
            const uint8_t *in = img->file.data + img->symoff + (uint64_t)(img->ilocal + k) * nsz;
            if (strcmp(got, (const char *)img->file.data + img->stroff + dsc_le32(in)) != 0)
                die("%s: local symbol %u is %s, not the input's", img->cache_path, k, got);
            n->locals++;
        }
    }
}


/* objc_image_info: OptimizedByDyld (bit 3) set exactly in dyld-940+ eras,
 * every other bit as in the input. */
void check_objc_image_info(struct counts *n)
{
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct sect *x = objc_image_info_of(img);
        uint64_t at;
        if (!x || x->size < 8 || !image_reloc(img, x->in_addr, &at))
            continue;
        const struct seg *sg = &img->segs[x->segi];
        uint32_t in_flags = dsc_le32(img->file.data + sg->in_fileoff + (x->in_addr - sg->in_addr) + 4);
        /* OptimizedByDyld (bit 3), and DyldCategoriesOptimized (bit 0) with
         * preattached categories */
        uint32_t want = gots_uniqued ? in_flags | 8u | (cats_size ? 1u : 0u) : in_flags, got;
        if (!dsc_vm_u32(cache, at + 4, &got) || got != want)
            die("%s: objc_image_info flags 0x%x, expected 0x%x", img->cache_path, got, want);
        n->image_infos++;
    }
}

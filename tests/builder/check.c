/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check.c — dsccheck MANIFEST: prove a dscbuild cache says what its inputs
 * say. The cache is opened with libdsc; each image's segment addresses,
 * LINKEDIT offsets and export trie are read back from the cache's own load
 * commands; pointers come from slide_decode.c. Expected values are derived
 * from the input dylibs and the addresses found in the cache:
 *   - every rebase/bind slot of every input decodes to the right target,
 *     and slide info names no other slot;
 *   - every export trie entry lands where the input's did;
 *   - external symbols keep their names and moved values;
 *   - moved local symbols (cache or .symbols) match the inputs' locals;
 *   - on arm64*, every ADRP+ADD/LDR pair reaches the moved target.
 * Prints one summary line; the first mismatch exits 1 with a message.
 * This file: the manifest, the cache's view of each image, main; the checks
 * live in check_ptrs.c, check_syms.c, check_code.c and the other check_*.c.
 */
#include "check.h"
#include "base/macho_format.h"
#include "base/trie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


dsc_cache *cache;
struct cache bc;
struct cached *cached;
bool stubs_optimized;
int universal;
bool gots_uniqued;

static char *dup_field(const char *s) { return xstrdup(s); }

static void read_manifest(const char *path, struct manifest *m)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s: cannot open", path);
    char line[8192];
    memset(m, 0, sizeof *m);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"), *c3 = strtok(NULL, "\t");
        if (!a || !b)
            continue;
        if (strcmp(a, "arch") == 0) {
            snprintf(m->arch, sizeof m->arch, "%s", b);
        } else if (strcmp(a, "header") == 0) {
            m->header = (uint32_t)strtoul(b, NULL, 0);
        } else if (strcmp(a, "stubs") == 0) {
            m->stubs_optimized = strcmp(b, "optimized") == 0;
            m->universal = strcmp(b, "universal-customer") == 0      ? UNIVERSAL_CUSTOMER
                           : strcmp(b, "universal-development") == 0 ? UNIVERSAL_DEVELOPMENT
                                                                     : NOT_UNIVERSAL;
        } else if (strcmp(a, "layout") == 0) {
            m->large_vm = strcmp(b, "large-vm") == 0;
        } else if (strcmp(a, "gots") == 0) {
            bc.opt.coalesce_auth_ptr = strcmp(b, "auth_ptr") == 0;
        } else if (strcmp(a, "categories") == 0 && c3) {
            cats_addr = strtoull(b, NULL, 0);
            cats_size = strtoull(c3, NULL, 0);
        } else if (strcmp(a, "impcaches") == 0 && c3) {
            impc_addr = strtoull(b, NULL, 0);
            impc_size = strtoull(c3, NULL, 0);
        } else if (strcmp(a, "objc-opts") == 0) {
            bc.opt.objc_opts = dup_field(b);
            bc.opt.impc_unchained = c3 && strcmp(c3, "unchained") == 0;
        } else if (strcmp(a, "objc") == 0) {
            objc_era_m = (uint32_t)strtoul(b, NULL, 0);
            type_offsets_m = c3 && strcmp(c3, "type-offsets") == 0;
        } else if (strcmp(a, "function-variant") == 0) {
            m->fv_specs = xrealloc(m->fv_specs, (m->nfv_specs + 1) * sizeof *m->fv_specs);
            m->fv_specs[m->nfv_specs++] = dup_field(b);
        } else if (strcmp(a, "slide") == 0) {
            m->slide = (unsigned)strtoul(b, NULL, 0);
        } else if (strcmp(a, "file") == 0 && c3 && strcmp(b, "main") == 0) {
            m->main_path = dup_field(c3);
        } else if (strcmp(a, "image") == 0 && c3) {
            m->paths = xrealloc(m->paths, (m->n + 1) * sizeof *m->paths);
            m->inputs = xrealloc(m->inputs, (m->n + 1) * sizeof *m->inputs);
            m->paths[m->n] = dup_field(b);
            m->inputs[m->n++] = dup_field(c3);
        } else if (strcmp(a, "alias") == 0 && c3) {
            m->alias_from = xrealloc(m->alias_from, (m->naliases + 1) * sizeof *m->alias_from);
            m->alias_to = xrealloc(m->alias_to, (m->naliases + 1) * sizeof *m->alias_to);
            m->alias_from[m->naliases] = dup_field(b);
            m->alias_to[m->naliases++] = dup_field(c3);
        }
    }
    fclose(f);
    if (!m->main_path || !m->n)
        die("%s: manifest names no main file or no images", path);
}

static void free_manifest(struct manifest *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->paths[i]);
        free(m->inputs[i]);
    }
    for (size_t i = 0; i < m->naliases; i++) {
        free(m->alias_from[i]);
        free(m->alias_to[i]);
    }
    free(m->paths);
    free(m->inputs);
    for (unsigned i = 0; i < m->nfv_specs; i++)
        free(m->fv_specs[i]);
    free(m->fv_specs);
    free((char *)bc.opt.objc_opts);
    bc.opt.objc_opts = NULL;
    free(m->alias_from);
    free(m->alias_to);
    free(m->main_path);
}

dsc_span vm(uint64_t addr, uint64_t len, const char *what)
{
    dsc_span s;
    if (!dsc_vm_span(cache, addr, len, &s))
        die("%s at 0x%llx is not in the cache", what, (unsigned long long)addr);
    return s;
}

/* Non-lazy pointer sections keep their type, except uniqued GOTs. */
static void check_got_types(const struct image *img, const uint8_t *lc, bool is64)
{
    uint32_t nsects = dsc_le32(lc + (is64 ? 64 : 48));
    const uint8_t *x = lc + (is64 ? 72 : 56);
    for (uint32_t i = 0; i < nsects; i++, x += is64 ? 80 : 68) {
        if (strncmp((const char *)x, "__got", 16) != 0 && strncmp((const char *)x, "__auth_got", 16) != 0)
            continue;
        uint32_t type = dsc_le32(x + (is64 ? 64 : 56)) & 0xff;
        if (type != (gots_uniqued ? 0u : 6u))
            die("%s: GOT section has type %u", img->cache_path, type);
    }
}

/* The cache's view of image i: segment addresses and LINKEDIT offsets. */
static void read_cached_image(size_t i, uint64_t mh)
{
    struct image *img = &bc.images[i];
    struct cached *ci = &cached[i];
    bool is64 = bc.ai->ptr_size == 8;
    dsc_span h = vm(mh, is64 ? 32 : 28, "mach_header");
    uint32_t ncmds = dsc_le32(h.data + 16), sizeofcmds = dsc_le32(h.data + 20);
    if (!(dsc_le32(h.data + 24) & MH_DYLIB_IN_CACHE))
        die("%s: MH_DYLIB_IN_CACHE is not set", img->cache_path);
    dsc_span lcs = vm(mh + h.size, sizeofcmds, "load commands");
    ci->mh = mh;
    unsigned segi = 0, objc_segs = 0;
    for (uint64_t off = 0, k = 0; k < ncmds; k++) {
        uint32_t cmd, size;
        if (!span_u32(lcs, off, &cmd) || !span_u32(lcs, off + 4, &size) || size < 8 || size > lcs.size - off)
            die("%s: load command %llu is malformed", img->cache_path, (unsigned long long)k);
        const uint8_t *p = lcs.data + off;
        if (cmd == LC_CODE_SIGNATURE || cmd == LC_DYLD_CHAINED_FIXUPS)
            die("%s: load command 0x%x should have been removed", img->cache_path, cmd);
        if (check_objc_segment(img, p, &objc_segs)) {
            /* libobjc's __OBJC_RO/__OBJC_RW, which the input has not */
        } else if (cmd == LC_SEGMENT || cmd == LC_SEGMENT_64) {
            if (segi >= img->nsegs || strncmp((const char *)p + 8, img->segs[segi].name, 16) != 0)
                die("%s: segment %u differs from the input's", img->cache_path, segi);
            struct seg *s = &img->segs[segi++];
            check_got_types(img, p, is64);
            s->addr = is64 ? dsc_le64(p + 24) : dsc_le32(p + 24);
            s->size = is64 ? dsc_le64(p + 32) : dsc_le32(p + 28);
            if (s->kind == RK_LINKEDIT) {
                ci->le_vmaddr = s->addr;
                ci->le_fileoff = is64 ? dsc_le64(p + 40) : dsc_le32(p + 32);
            }
        } else if (cmd == LC_SYMTAB) {
            ci->symoff = dsc_le32(p + 8);
            ci->nsyms = dsc_le32(p + 12);
            ci->stroff = dsc_le32(p + 16);
            ci->strsize = dsc_le32(p + 20);
        } else if (cmd == LC_DYSYMTAB) {
            ci->nlocal = dsc_le32(p + 12);
            ci->iextdef = dsc_le32(p + 16);
            ci->nextdef = dsc_le32(p + 20);
        } else if (cmd == LC_DYLD_INFO || cmd == LC_DYLD_INFO_ONLY) {
            if (dsc_le32(p + 12))
                die("%s: rebase info was not zeroed", img->cache_path);
            ci->export_off = dsc_le32(p + 40);
            ci->export_size = dsc_le32(p + 44);
        } else if (cmd == LC_FUNCTION_VARIANT_FIXUPS) {
            die("%s: LC_FUNCTION_VARIANT_FIXUPS was kept (dyld-1378 copies no such blob)", img->cache_path);
        } else if (cmd == LC_FUNCTION_VARIANTS) {
            ci->fv_off = dsc_le32(p + 8);
            ci->fv_size = dsc_le32(p + 12);
        } else if (cmd == LC_DYLD_EXPORTS_TRIE) {
            ci->export_off = dsc_le32(p + 8);
            ci->export_size = dsc_le32(p + 12);
        }
        off += size;
    }
    if (segi != img->nsegs)
        die("%s: has %u segments, the input %u", img->cache_path, segi, img->nsegs);
    check_objc_segments_seen(img, objc_segs);
}

/* A LINKEDIT file offset of image i, as cache bytes. */
dsc_span linkedit(size_t i, uint64_t off, uint64_t len, const char *what)
{
    return vm(cached[i].le_vmaddr + (off - cached[i].le_fileoff), len, what);
}

static void load(const struct manifest *m)
{
    enum bld_arch a;
    if (!arch_parse(m->arch, &a))
        die("manifest: unknown arch %s", m->arch);
    bc.ai = arch_get(a);
    bc.opt.arch = a;
    bc.nimages = m->n;
    bc.images = xcalloc(m->n, sizeof *bc.images);
    cached = xcalloc(m->n, sizeof *cached);
    const dsc_cache_info *in = dsc_cache_get_info(cache);
    if (strcmp(in->arch_name, m->arch) != 0)
        die("cache arch %s, manifest %s", in->arch_name, m->arch);
    if (in->image_count != m->n)
        die("cache has %u images, manifest %zu", in->image_count, m->n);
    for (size_t i = 0; i < m->n; i++) {
        struct image *img = &bc.images[i];
        image_load(img, m->inputs[i], bc.ai);
        free(img->cache_path);
        img->cache_path = xstrdup(m->paths[i]);
        if (strcmp(img->install_name, m->paths[i]) != 0)
            img->install_name = img->cache_path;    /* a scale-mode clone */
        int64_t idx = dsc_cache_find_image(cache, m->paths[i]);
        if (idx < 0)
            die("image %s is not in the cache", m->paths[i]);
        read_cached_image(i, dsc_cache_get_image(cache, (uint32_t)idx)->address);
    }
    for (size_t i = 0; i < m->naliases; i++)
        if (dsc_cache_find_image(cache, m->alias_from[i]) != dsc_cache_find_image(cache, m->alias_to[i]) ||
            dsc_cache_find_image(cache, m->alias_from[i]) < 0)
            die("alias %s does not lead to %s", m->alias_from[i], m->alias_to[i]);
    for (unsigned i = 0; i < in->mapping_count && bc.nregions < sizeof bc.regions / sizeof bc.regions[0]; i++) {
        const dsc_mapping_info *mi = dsc_cache_get_mapping(cache, i);
        struct region *r = &bc.regions[bc.nregions++];
        r->addr = mi->address;
        r->size = mi->size;
        r->kind = mi->max_prot & 4 ? RK_TEXT : mi->max_prot & 2 ? RK_DATA : RK_LINKEDIT;
        if ((mi->max_prot & 2) && mi->slide_version != m->slide)
            die("mapping at 0x%llx has slide v%u, expected v%u", (unsigned long long)mi->address,
                mi->slide_version, m->slide);
    }
}


int main(int argc, char **argv)
{
    const char *rip_refs = NULL;
    if (argc == 4 && strcmp(argv[1], "--x86-refs") == 0) {
        rip_refs = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: dsccheck [--x86-refs FILE] CACHE.manifest\n");
        return 2;
    }
    struct manifest m;
    read_manifest(argv[1], &m);
    dsc_error err;
    if (dsc_cache_open(m.main_path, &cache, &err))
        die("%s", err.msg);
    stubs_optimized = m.stubs_optimized;
    universal = m.universal;
    gots_uniqued = m.header >= 0x1c8;
    load(&m);
    bc.opt.header_size = m.header;
    bc.opt.fv_specs = m.fv_specs;
    bc.opt.nfv_specs = m.nfv_specs;
    fv_plan(&bc);   /* the exports the cache must flag (the blobs: check_syms.c) */
    fixups_resolve(&bc);
    struct counts n = {0};
    check_tlvs(m.header, &n);
    check_pointers(&n);
    check_preattached(&n);
    check_exports(&n);
    check_symbols(&n);
    check_locals(&n);
    check_objc_image_info(&n);
    check_objc_opts(&n);
    check_selector_table();
    check_objc_ro_bounds();
    check_relative_lists(&n);
    check_impcaches(&n);
    check_code(&n);
    check_swiftrel(&n);
    check_unwind(&n);
    if (m.large_vm)
        check_large_vm(&n);
    if (rip_refs)
        check_rip_refs(rip_refs, &m, &n);
    if (dec.n != explained + ntwins)
        die("slide info names %zu pointers; the inputs, objc_opt_offsets and canonical protocols explain %zu, "
            "GOT twins %zu%s", dec.n, explained, ntwins,
            strcmp(bc.ai->name, "x86_64") == 0 && !rip_refs ? " (x86_64 GOT twins need --x86-refs)" : "");
    free_twins();
    printf("dsccheck: OK %s: %zu images, %zu pointers, %zu nulls, %zu exports, %zu symbols, %zu locals, "
           "%zu adrp pairs, %zu rip operands, %zu direct stubs, %zu direct calls, %zu uniqued selectors, "
           "%zu uniqued protocols, %zu selector loads, %zu pc-relative literals, %zu auth pointers, "
           "%zu redacted locals, %zu GOT loads, %zu zeroed GOT slots, %zu calls to stub copies, %zu objc image infos, "
           "%zu header infos, %zu lists of lists, %zu relative methods, %zu IMP caches, %zu TLV descriptors, "
           "%zu function variants, %zu relative references to pointer slots, %zu pointers 4 GiB or more above the base, "
           "%zu unwind personality references\n",
           m.main_path, bc.nimages, n.ptrs, n.nulls, n.exports, n.symbols, n.locals, n.adrps, n.rip_refs,
           n.direct_stubs, n.direct_calls, n.selectors, n.protocols, n.selector_loads, n.literals, n.auth,
           n.redacted, n.got_loads, n.zeroed_gots, n.stub_copies, n.image_infos, n.header_infos, n.preattached,
           n.rel_methods, n.impcaches, n.tlvs, n.fvariants, n.relrefs, n.far_ptrs, n.unwind_refs);
    dsc_cache_close(cache);
    cache_free(&bc);
    free(cached);
    free_manifest(&m);
    return 0;
}


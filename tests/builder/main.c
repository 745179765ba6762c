/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c — dscbuild's command line, the build pipeline and the manifest.
 *
 *   dscbuild --arch A --slide N --header 0xNNN [--split N [--universal]]
 *            [--local-symbols] [--optimize-stubs] [--preattach-categories]
 *            [--objc-era 1042..1378] [--method-type-offsets] [--objc-opts FILE.json]
 *            [--imp-unchained] [--packed-tlvs] [--function-variant SYM=IMPL]... [--coalesce-auth-ptr]
 *            [--large-vm] [--alias ALIAS=PATH]... [--clones N]
 *            [--platform N] -o OUT input.dylib...
 *
 * Writes OUT (and OUT.01 … / OUT.1 … / OUT.symbols) plus OUT.manifest, a
 * plain-text list that extraction tests use to find each image's input:
 *   arch <name> / slide <n> / header 0x<size> / file <role> <path>
 *   stubs optimized (--optimize-stubs) / stubs universal-customer|-development
 *   categories ADDR SIZE (--preattach-categories: the lists-of-lists area)
 *   gots auth_ptr (--coalesce-auth-ptr)
 *   objc ERA [type-offsets] (with an ObjC optimisation header: its dyld era)
 *   impcaches ADDR SIZE (--objc-opts: the IMP caches' area)
 *   objc-opts PATH [unchained] (--objc-opts, --imp-unchained: the IMP caches' input)
 *   impc-moved N (selectors the IMP caches moved out of a full bag)
 *   function-variant SYM=IMPL (--function-variant)
 *   layout large-vm (--large-vm: over 4 GiB of VM, see layout.c)
 * A universal set (--universal) also gets OUT.development.manifest.
 *   image <cache path> <input dylib>     alias <alias> <cache path>
 * (fields separated by one TAB).
 */
#include "bld.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Noreturn void usage(void)
{
    fprintf(stderr,
            "usage: dscbuild --arch arm64|arm64e|arm64_32|x86_64 --slide 1-5 --header 0x98|0x138|0x140|0x1c8|0x200|0x208|0x228\n"
            "                [--split IMAGES_PER_TEXT_FILE [--universal]] [--local-symbols] [--optimize-stubs]\n"
            "                [--preattach-categories] [--packed-tlvs] [--function-variant SYM=IMPL]...\n"
            "                [--objc-era 1042..1378] [--method-type-offsets] [--objc-opts FILE.json] [--imp-unchained]\n"
            "                [--coalesce-auth-ptr] [--large-vm]\n"
            "                [--alias ALIAS=PATH]... [--clones N] [--platform N] -o OUT input.dylib...\n");
    exit(2);
}

static unsigned long number(const char *s, const char *what)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (!*s || *end)
        die("bad %s '%s'", what, s);
    return v;
}

static void parse_options(struct options *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"arch", 1, NULL, 'a'}, {"slide", 1, NULL, 's'}, {"header", 1, NULL, 'H'},
        {"split", 1, NULL, 'S'}, {"local-symbols", 0, NULL, 'l'}, {"optimize-stubs", 0, NULL, 'O'},
        {"alias", 1, NULL, 'A'}, {"clones", 1, NULL, 'C'}, {"platform", 1, NULL, 'P'},
        {"manifest", 1, NULL, 'm'}, {"universal", 0, NULL, 'U'},
        {"preattach-categories", 0, NULL, 'R'}, {"packed-tlvs", 0, NULL, 'T'},
        {"function-variant", 1, NULL, 'F'}, {"coalesce-auth-ptr", 0, NULL, 'G'}, {"objc-era", 1, NULL, 'E'},
        {"method-type-offsets", 0, NULL, 'Y'}, {"objc-opts", 1, NULL, 'I'}, {"large-vm", 0, NULL, 'L'},
        {"imp-unchained", 0, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    bool have_arch = false;
    memset(o, 0, sizeof *o);
    o->platform = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:", longs, NULL)) != -1) {
        switch (ch) {
        case 'a':
            if (!arch_parse(optarg, &o->arch))
                die("unknown arch '%s'", optarg);
            have_arch = true;
            break;
        case 's': o->slide = (unsigned)number(optarg, "slide version"); break;
        case 'H': o->header_size = (uint32_t)number(optarg, "header size"); break;
        case 'S':
            o->split = true;
            o->text_per_file = (unsigned)number(optarg, "images per TEXT file");
            break;
        case 'l': o->local_symbols = true; break;
        case 'O': o->optimize_stubs = true; break;
        case 'U': o->universal = true; break;
        case 'R': o->preattach = true; break;
        case 'G': o->coalesce_auth_ptr = true; break;
        case 'E': o->objc_era = (uint32_t)number(optarg, "ObjC era"); break;
        case 'Y': o->type_offsets = true; break;
        case 'I': o->objc_opts = optarg; break;
        case 'W': o->impc_unchained = true; break;
        case 'L': o->large_vm = true; break;
        case 'T': o->packed_tlvs = true; break;
        case 'F':
            o->fv_specs = xrealloc(o->fv_specs, (o->nfv_specs + 1) * sizeof *o->fv_specs);
            o->fv_specs[o->nfv_specs++] = optarg;
            break;
        case 'A':
            o->alias_specs = xrealloc(o->alias_specs, (o->nalias_specs + 1) * sizeof *o->alias_specs);
            o->alias_specs[o->nalias_specs++] = optarg;
            break;
        case 'C': o->clones = (unsigned)number(optarg, "clone count"); break;
        case 'P': o->platform = (uint32_t)number(optarg, "platform"); break;
        case 'm': o->manifest = optarg; break;
        case 'o': o->out = optarg; break;
        default: usage();
        }
    }
    if (!have_arch || !o->out || optind >= argc || o->slide < 1 || o->slide > 5)
        usage();
    static const uint32_t eras[] = {0x98, 0x138, 0x140, 0x1c8, 0x200, 0x208, 0x228};
    bool known = false;
    for (unsigned i = 0; i < sizeof eras / sizeof eras[0]; i++)
        known |= o->header_size == eras[i];
    if (!known)
        die("header size must be one of 0x98 0x138 0x140 0x1c8 0x200 0x208 0x228");
    if (o->split && o->text_per_file == 0)
        die("--split needs at least one image per TEXT file");
    if (o->preattach && o->header_size < 0x200)
        die("--preattach-categories needs the 0x200 header (dyld-1122+ caches)");
    if (o->coalesce_auth_ptr && (o->arch != ARCH_ARM64E || o->header_size < 0x200))
        die("--coalesce-auth-ptr is for arm64e with the 0x200 header or later");
    /* dyld-1231.3+ (the 0x208 and 0x228 eras) coalesces __auth_ptr in every
     * arm64e cache (NewSharedCacheBuilder.cpp: UniquedGOTKind::authPtr
     * beside regular and authGot; also dyld-1245.1, 1284.13, 1378). */
    if (o->header_size >= 0x208 && o->arch == ARCH_ARM64E)
        o->coalesce_auth_ptr = true;
    /* estimateIMPCaches (dyld-1378): LP64 arm64* only */
    if (o->objc_opts && o->arch != ARCH_ARM64 && o->arch != ARCH_ARM64E)
        die("--objc-opts: IMP caches are built for arm64 and arm64e only (dyld-1378 estimateIMPCaches)");
    if (o->impc_unchained && !o->objc_opts)
        die("--imp-unchained goes with --objc-opts");
    if (o->objc_era && (o->objc_era < 1042 || o->objc_era > 1378))
        die("--objc-era must be a dyld version from 1042 to 1378");
    if (o->objc_era && o->header_size < 0x200)
        die("--objc-era needs the 0x200 header (ObjC optimisation header, dyld-1042+)");
    if (o->preattach && o->objc_era && o->objc_era < 1122)
        die("--preattach-categories is dyld-1122+ (--objc-era 1122 or later)");
    /* dyld-1284.13 (the 0x228 era) writes packed descriptors and sets
     * newFormatTLVs in every cache (SubCache.cpp, NewSharedCacheBuilder.cpp
     * optimizeTLVs; same in dyld-1378); dyld-1245.1 (0x208) never does. On
     * 0x200 the option stays, so the form is tested on arm64_32 and x86_64
     * (no 0x228 caches of those arches). */
    if (o->header_size >= 0x228)
        o->packed_tlvs = true;
    if (o->packed_tlvs && (o->header_size < 0x200 || o->header_size == 0x208))
        die("--packed-tlvs: dyld-1284+ packed descriptors need the 0x200 header or 0x228 (implied there), "
            "not 0x208 (dyld-1245.1 keeps the plain form)");
    if (o->large_vm && (!o->split || o->universal || (o->arch != ARCH_ARM64E && o->arch != ARCH_ARM64) ||
                        (o->arch == ARCH_ARM64E && o->slide != 5)))
        die("--large-vm is for split arm64 caches and arm64e with slide info v5 (no --universal)");
    if (o->local_symbols && o->header_size < 0x68)
        die("local symbols need a header of 0x68 bytes or more");
}

static void load_inputs(struct cache *c, int argc, char **argv)
{
    size_t ninputs = (size_t)argc;
    c->nimages = ninputs * (1 + c->opt.clones);
    c->images = xcalloc(c->nimages, sizeof *c->images);
    for (size_t i = 0; i < ninputs; i++)
        image_load(&c->images[i], argv[i], c->ai);
    /* Scale mode: clones share the input bytes under new paths. */
    for (unsigned k = 0; k < c->opt.clones; k++)
        for (size_t i = 0; i < ninputs; i++) {
            struct image *img = &c->images[ninputs * (k + 1) + i];
            *img = c->images[i];
            img->is_clone = true;
            img->ptrs = NULL;
            const char *base = strrchr(img->install_name, '/');
            char path[1024];
            snprintf(path, sizeof path, "/System/Library/Scale/c%05u%s", k, base ? base : "/lib.dylib");
            img->cache_path = xstrdup(path);
            img->install_name = img->cache_path;
            img->uuid[15] ^= (uint8_t)(k + 1);
            img->uuid[14] ^= (uint8_t)((k + 1) >> 8);
        }
}

static void add_aliases(struct cache *c)
{
    for (unsigned a = 0; a < c->opt.nalias_specs; a++) {
        char *spec = xstrdup(c->opt.alias_specs[a]), *eq = strchr(spec, '=');
        if (!eq)
            die("--alias wants ALIAS=PATH, got '%s'", spec);
        *eq = 0;
        struct image *img = NULL;
        for (size_t i = 0; i < c->nimages && !img; i++)
            if (strcmp(c->images[i].cache_path, eq + 1) == 0)
                img = &c->images[i];
        if (!img)
            die("--alias %s: no image has the path %s", spec, eq + 1);
        img->aliases = xrealloc(img->aliases, (img->naliases + 1) * sizeof *img->aliases);
        img->aliases[img->naliases++] = spec;
    }
}

/* One manifest per main file: a universal set has two (the development
 * one lists the .development TEXT_STUBS variants). */
static void write_manifest(const struct cache *c, bool dev)
{
    char path[4096];
    const char *dv = dev ? ".development" : "";
    if (c->opt.manifest)
        snprintf(path, sizeof path, "%s%s", c->opt.manifest, dv);
    else
        snprintf(path, sizeof path, "%s%s.manifest", c->opt.out, dv);
    FILE *f = fopen(path, "w");
    if (!f)
        die("%s: cannot create", path);
    fprintf(f, "arch\t%s\nslide\t%u\nheader\t0x%x\n", c->ai->name, c->opt.slide, c->opt.header_size);
    if (c->opt.optimize_stubs)
        fprintf(f, "stubs\toptimized\n");
    if (c->opt.universal)
        fprintf(f, "stubs\t%s\n", dev ? "universal-development" : "universal-customer");
    if (c->opt.coalesce_auth_ptr)
        fprintf(f, "gots\tauth_ptr\n");
    if (c->opt.large_vm)
        fprintf(f, "layout\tlarge-vm\n");
    if (c->objc_ro_size)
        fprintf(f, "objc\t%u%s\n", objc_era(c), c->types ? "\ttype-offsets" : "");
    if (c->impc_size)
        fprintf(f, "impcaches\t0x%llx\t0x%llx\n", (unsigned long long)c->impc_addr,
                (unsigned long long)c->impc_size);
    if (c->opt.objc_opts)
        fprintf(f, "objc-opts\t%s%s\n", c->opt.objc_opts, c->opt.impc_unchained ? "\tunchained" : "");
    if (objc_impcaches_moved(c))
        fprintf(f, "impc-moved\t%llu\n", (unsigned long long)objc_impcaches_moved(c));
    for (unsigned k = 0; k < c->opt.nfv_specs; k++)
        fprintf(f, "function-variant\t%s\n", c->opt.fv_specs[k]);
    if (c->cats_size)
        fprintf(f, "categories\t0x%llx\t0x%llx\n", (unsigned long long)c->cats_addr,
                (unsigned long long)c->cats_size);
    for (unsigned i = 0; i < c->nfiles; i++) {
        const struct outfile *of = &c->files[i];
        bool variant = (i == 0 && dev) || (dev && of->mirror_of >= 0);
        fprintf(f, "file\t%s\t%s%s%s\n", i == 0 ? "main" : i == c->symbols_file ? "symbols" : "subcache",
                c->opt.out, of->suffix, variant ? ".development" : "");
    }
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        fprintf(f, "image\t%s\t%s\n", img->cache_path, img->in_path);
        for (unsigned a = 0; a < img->naliases; a++)
            fprintf(f, "alias\t%s\t%s\n", img->aliases[a], img->cache_path);
    }
    if (fclose(f) != 0)
        die("%s: write failed", path);
}

int main(int argc, char **argv)
{
    struct cache c;
    memset(&c, 0, sizeof c);
    parse_options(&c.opt, argc, argv);
    c.ai = arch_get(c.opt.arch);
    if ((c.opt.optimize_stubs || c.opt.universal) && c.opt.arch != ARCH_ARM64 && c.opt.arch != ARCH_ARM64E)
        die("--optimize-stubs and --universal are for arm64 and arm64e");
    if (c.opt.optimize_stubs && c.opt.universal)
        die("--optimize-stubs and --universal exclude each other");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    load_inputs(&c, argc - optind, argv + optind);
    add_aliases(&c);
    fv_plan(&c);
    objc_plan(&c);
    objc_plan_protocols(&c);
    got_plan(&c);
    objc_opts_plan(&c);
    objc_cats_plan(&c);
    objc_methlists_plan(&c);
    objc_impcaches_plan(&c);
    layout_plan(&c);
    fixups_resolve(&c);
    layout_copy_segments(&c);
    linkedit_build(&c);     /* before the ObjC writers: LINKEDIT may hold their chunks */
    objc_unique_selectors(&c);
    objc_methlists_fix(&c);
    objc_impcaches_emit(&c);
    objc_unique_protocols(&c);
    objc_preattach_categories(&c);
    objc_mark_images(&c);
    objc_opts_write(&c);
    tlv_optimize(&c);
    code_fix(&c);
    objc_rewrite_selector_loads(&c);
    got_unique(&c);
    universal_stubs(&c);
    loadcmds_rewrite(&c);
    objc_segments_add(&c);
    slide_encode(&c);
    cache_write(&c);
    write_manifest(&c, false);
    if (c.opt.universal)
        write_manifest(&c, true);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t total = 0, ptrs = 0;
    for (unsigned i = 0; i < c.nfiles; i++) {
        const struct outfile *f = &c.files[i];
        total += f->tail_off + f->tail.len;
    }
    for (size_t i = 0; i < c.nimages; i++)
        ptrs += c.images[i].nptrs;
    printf("dscbuild: %s: %zu images, %u files, %llu bytes, %llu pointers, %llu selector and %llu protocol "
           "references uniqued, %llu relative method lists, %llu IMP caches, %llu selector loads rewritten, "
           "%llu GOT loads redirected, %llu own GOT slots zeroed, %u branches redirected, %llu images' TLVs keyed, "
           "%.2f s\n",
           c.opt.out, c.nimages, c.nfiles, (unsigned long long)total, (unsigned long long)ptrs,
           (unsigned long long)c.stats_selrefs, (unsigned long long)c.stats_protorefs,
           (unsigned long long)c.stats_rel_lists, (unsigned long long)c.stats_impcaches,
           (unsigned long long)c.stats_selloads, (unsigned long long)c.stats_gotloads,
           (unsigned long long)c.stats_gotzeroed, c.stats_redirected, (unsigned long long)c.stats_tlv_images,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    cache_free(&c);
    free(c.opt.fv_specs); /* not cache_free's: dsccheck lends it its manifest's array */
    return 0;
}

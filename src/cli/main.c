/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c — the dscfs command line: dispatches to the verbs (thin fronts on
 * libdsc) or, without a verb, to the FUSE mount.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "dsc/dsc.h"
#ifdef HAVE_FUSE
#include "fs.h"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dscfs [-f] [-d] [-s] [-o opt,...] CACHE MOUNTPOINT\n"
            "       mount -t dscfs [-o opt,...] CACHE MOUNTPOINT   (mount.dscfs)\n"
            "       dscfs --list CACHE [--json] [-q|-v]\n"
            "       dscfs --info CACHE [--json] [-q|-v]\n"
            "       dscfs --extract PATH CACHE -o OUT [--no-sign] [-q|-v]\n"
            "       dscfs --extract-all CACHE OUTDIR [-j N] [--force] [--no-sign] [-q|-v]\n"
            "       dscfs --verify CACHE [PATH...] [--json] [-q|-v]\n"
            "       dscfs --help | --version\n"
            "\n"
            "Mounts an Apple dyld shared cache as a read-only filesystem in which every\n"
            "image appears, extracted on first open, at its install path.\n"
            "\n"
            "verbs:\n"
            "  --list CACHE     print every image path, one per line; aliases are\n"
            "                   printed as 'ALIAS -> PATH'\n"
            "  --info CACHE     print the cache header: arch, platform, UUID, files,\n"
            "                   mappings with protections and slide-info versions\n"
            "  --extract PATH CACHE -o OUT\n"
            "                   write the image PATH as a standalone Mach-O file OUT\n"
            "                   (- for standard output)\n"
            "  --extract-all CACHE OUTDIR [-j N] [--force]\n"
            "                   write every image to OUTDIR/<install path>, every\n"
            "                   alias and framework Versions/Current link as a relative\n"
            "                   symlink (as the mount has them), with N threads; an\n"
            "                   existing non-empty OUTDIR only with --force\n"
            "  --verify CACHE [PATH...]\n"
            "                   extract each image (default: all), re-read the output\n"
            "                   and count pointers, stubs and branches that still\n"
            "                   leave the image, and binds to unknown symbols\n"
            "  -h, --help       this text\n"
            "  -V, --version    the version\n"
            "\n"
            "flags, anywhere after the verb:\n"
            "  --json           (--list, --info, --verify) one JSON object on stdout\n"
            "  -q               less: --list images only (no aliases); --info without\n"
            "                   the files and mappings; --extract, --extract-all\n"
            "                   errors only; --verify just the images with a problem\n"
            "  -v               more: --list and --info 'ADDRESS<tab>UUID<tab>PATH' per\n"
            "                   image; --extract, --extract-all a line per image\n"
            "                   written; --verify a progress line per image on stderr\n"
            "                   (--json documents are the same with -q or -v, except\n"
            "                   --verify -q's, which lists just the images with a problem)\n"
            "  --no-sign        (--extract, --extract-all) leave out the ad-hoc\n"
            "                   code signature every output otherwise ends with\n"
            "\n"
            "Exit status: 0 ok, 1 runtime error (bad cache, failed mount), 2 usage.\n");
#ifdef HAVE_FUSE
    fprintf(out, "\n");
    fs_usage(out);
#else
    fprintf(out, "\nThis dscfs was built without FUSE (--disable-fuse): it cannot mount.\n");
#endif
}

int cli_take_flags(int *argc, char **argv, int allowed)
{
    static const struct {
        const char *name;
        int flag;
    } names[] = {{"--no-sign", CLI_NO_SIGN}, {"--json", CLI_JSON}, {"-q", CLI_QUIET}, {"-v", CLI_VERBOSE}};
    int seen = 0, kept = 2;
    for (int i = 2; i < *argc; i++) {
        int flag = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (!strcmp(argv[i], names[k].name))
                flag = names[k].flag;
        if (flag && !(flag & allowed)) {
            fprintf(stderr, "dscfs: %s does not take %s (see dscfs --help)\n", argv[1], argv[i]);
            return -1;
        }
        seen |= flag;
        if (!flag)
            argv[kept++] = argv[i];
        if (!flag && (!strcmp(argv[i], "-o") || !strcmp(argv[i], "-j")) && i + 1 < *argc)
            argv[kept++] = argv[++i]; /* a value, even "-q" */
    }
    if ((seen & CLI_QUIET) && (seen & CLI_VERBOSE)) {
        fprintf(stderr, "dscfs: %s: -q and -v together\n", argv[1]);
        return -1;
    }
    *argc = kept;
    argv[kept] = NULL;
    return seen;
}

static void list_json(dsc_cache *c)
{
    const dsc_cache_info *in = dsc_cache_get_info(c);
    json j;
    json_init(&j, stdout);
    json_open_object(&j, NULL);
    json_open_array(&j, "images");
    for (uint32_t i = 0; i < in->image_count; i++)
        json_path(&j, NULL, dsc_cache_get_image(c, i)->path);
    json_close_array(&j);
    json_open_array(&j, "aliases");
    for (uint32_t i = 0; i < in->alias_count; i++) {
        const dsc_alias *a = dsc_cache_get_alias(c, i);
        json_open_object(&j, NULL);
        json_path(&j, "path", a->path);
        json_uint(&j, "image", a->image);
        json_path(&j, "target", dsc_cache_get_image(c, a->image)->path);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_close_object(&j);
    json_end(&j);
}

/* Image paths (-v: cli_print_image lines), then "ALIAS -> PATH" lines
 * (not with -q). */
static void list_text(dsc_cache *c, int flags)
{
    const dsc_cache_info *in = dsc_cache_get_info(c);
    for (uint32_t i = 0; i < in->image_count; i++) {
        if (flags & CLI_VERBOSE)
            cli_print_image(c, i);
        else
            printf("%s\n", dsc_cache_get_image(c, i)->path);
    }
    for (uint32_t i = 0; !(flags & CLI_QUIET) && i < in->alias_count; i++) {
        const dsc_alias *a = dsc_cache_get_alias(c, i);
        printf("%s -> %s\n", a->path, dsc_cache_get_image(c, a->image)->path);
    }
}

int cli_print_verb(int argc, char **argv, const char *verb, void (*as_json)(dsc_cache *c),
                   void (*as_text)(dsc_cache *c, int flags))
{
    int flags = cli_take_flags(&argc, argv, CLI_JSON | CLI_QUIET | CLI_VERBOSE);
    if (flags < 0)
        return 2;
    if (argc != 3) {
        fprintf(stderr, "usage: dscfs %s CACHE [--json] [-q|-v]\n", verb);
        return 2;
    }
    dsc_cache *c = cli_open(argv[2]);
    if (!c)
        return 1;
    if (flags & CLI_JSON)
        as_json(c);
    else
        as_text(c, flags);
    dsc_cache_close(c);
    return 0;
}

static int verb_list(int argc, char **argv) { return cli_print_verb(argc, argv, "--list", list_json, list_text); }

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} verbs[] = {
    {"--list", verb_list},
    {"--info", cli_verb_info},
    {"--extract", cli_verb_extract},
    {"--extract-all", cli_verb_extract_all},
    {"--verify", cli_verb_verify},
};

int main(int argc, char **argv)
{
    if (argc >= 2) {
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
            printf("dscfs %s\n", PACKAGE_VERSION);
            return 0;
        }
        for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
            if (!strcmp(argv[1], verbs[i].name))
                return verbs[i].fn(argc, argv);
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
#ifdef HAVE_FUSE
    return fs_main(argc, argv); /* no verb: mount */
#else
    fprintf(stderr, "dscfs: this dscfs was built without FUSE (--disable-fuse): "
                    "it cannot mount; the verbs work (dscfs --help)\n");
    return 1;
#endif
}

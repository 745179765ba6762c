/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify.c — `dscfs --verify CACHE [PATH...] [--json] [-q|-v]`: extract
 * each image (all of them without PATHs), re-parse the output and print
 * what still depends on the cache, one line per image and a total (with -q
 * only the images with a problem; with -v also "verifying N/M PATH" on
 * standard error before each image; with --json one JSON object: "images",
 * "total", "failed"). Exit status 0 when every count of a problem is zero,
 * 1 otherwise (or on an error).
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "json.h"

static void add_report(dsc_verify_report *sum, const dsc_verify_report *r)
{
    sum->pointers += r->pointers;
    sum->binds += r->binds;
    sum->pointers_outside += r->pointers_outside;
    sum->binds_unknown_symbol += r->binds_unknown_symbol;
    sum->stubs += r->stubs;
    sum->stubs_bad_slot += r->stubs_bad_slot;
    sum->branches_outside += r->branches_outside;
    sum->code_refs_outside += r->code_refs_outside;
    sum->sel_loads_outside += r->sel_loads_outside;
    sum->selrefs += r->selrefs;
    sum->selrefs_outside += r->selrefs_outside;
    sum->method_names_outside += r->method_names_outside;
    sum->objc_other_outside += r->objc_other_outside;
    sum->relrefs += r->relrefs;
    sum->relrefs_outside += r->relrefs_outside;
    sum->checked |= r->checked;
}

static uint64_t problems(const dsc_verify_report *r)
{
    return r->pointers_outside + r->binds_unknown_symbol + r->stubs_bad_slot + r->branches_outside + r->code_refs_outside +
           r->sel_loads_outside + r->selrefs_outside + r->method_names_outside + r->objc_other_outside +
           r->relrefs_outside;
}

static void print_report(const char *what, const dsc_verify_report *r)
{
    printf("%s: pointers %" PRIu64 " binds %" PRIu64 " pointers-outside %" PRIu64 " unknown-symbols %" PRIu64
           " stubs %" PRIu64 " bad-stubs %" PRIu64 " branches-outside %" PRIu64 " code-refs-outside %" PRIu64
           " sel-loads-outside %" PRIu64,
           what, r->pointers, r->binds, r->pointers_outside, r->binds_unknown_symbol, r->stubs, r->stubs_bad_slot,
           r->branches_outside, r->code_refs_outside, r->sel_loads_outside);
    if (r->checked & DSC_VERIFY_RELREFS)
        printf(" relrefs %" PRIu64 " relrefs-outside %" PRIu64, r->relrefs, r->relrefs_outside);
    if (r->checked & DSC_VERIFY_OBJC)
        printf(" selrefs %" PRIu64 " selrefs-outside %" PRIu64 " method-names-outside %" PRIu64
               " objc-other-outside %" PRIu64, r->selrefs, r->selrefs_outside, r->method_names_outside,
               r->objc_other_outside);
    printf("\n");
}

/* The counts of print_report as members of the open JSON object, under
 * the same names (with '_' for '-'). */
static void json_report(json *j, const dsc_verify_report *r)
{
    json_uint(j, "pointers", r->pointers);
    json_uint(j, "binds", r->binds);
    json_uint(j, "pointers_outside", r->pointers_outside);
    json_uint(j, "unknown_symbols", r->binds_unknown_symbol);
    json_uint(j, "stubs", r->stubs);
    json_uint(j, "bad_stubs", r->stubs_bad_slot);
    json_uint(j, "branches_outside", r->branches_outside);
    json_uint(j, "code_refs_outside", r->code_refs_outside);
    json_uint(j, "sel_loads_outside", r->sel_loads_outside);
    if (r->checked & DSC_VERIFY_RELREFS) {
        json_uint(j, "relrefs", r->relrefs);
        json_uint(j, "relrefs_outside", r->relrefs_outside);
    }
    if (r->checked & DSC_VERIFY_OBJC) {
        json_uint(j, "selrefs", r->selrefs);
        json_uint(j, "selrefs_outside", r->selrefs_outside);
        json_uint(j, "method_names_outside", r->method_names_outside);
        json_uint(j, "objc_other_outside", r->objc_other_outside);
    }
    json_uint(j, "problems", problems(r));
}

/* One image's result: a text line or a member of the "images" array;
 * with -q only an image with a problem. */
static void show_image(json *j, int flags, const char *path, const dsc_verify_report *r)
{
    if ((flags & CLI_QUIET) && !problems(r))
        return;
    if (flags & CLI_JSON) {
        json_open_object(j, NULL);
        json_path(j, "path", path);
        json_report(j, r);
        json_close_object(j);
    } else {
        char esc[DSC_ERROR_MAX];
        print_report(dsc_path_escape(esc, sizeof esc, path), r);
    }
}

/* The total (not with -q in text), and the end of the JSON document. */
static void show_total(json *j, int flags, const dsc_verify_report *sum, uint32_t failed)
{
    if (flags & CLI_JSON) {
        json_close_array(j);
        json_open_object(j, "total");
        json_report(j, sum);
        json_close_object(j);
        json_uint(j, "failed", failed);
        json_close_object(j);
        json_end(j);
    } else if (!(flags & CLI_QUIET)) {
        print_report("total", sum);
    }
}

int cli_verb_verify(int argc, char **argv)
{
    int flags = cli_take_flags(&argc, argv, CLI_JSON | CLI_QUIET | CLI_VERBOSE);
    if (flags < 0)
        return 2;
    if (argc < 3) {
        fprintf(stderr, "usage: dscfs --verify CACHE [PATH...] [--json] [-q|-v]\n");
        return 2;
    }
    dsc_cache *c = cli_open(argv[2]);
    if (!c)
        return 1;
    uint32_t n = argc > 3 ? (uint32_t)(argc - 3) : dsc_cache_get_info(c)->image_count;
    dsc_verify_report sum = {0};
    uint32_t failed = 0;
    json j;
    json_init(&j, stdout);
    if (flags & CLI_JSON) {
        json_open_object(&j, NULL);
        json_open_array(&j, "images");
    }
    for (uint32_t k = 0; k < n; k++) {
        int64_t image = argc > 3 ? dsc_cache_find_image(c, argv[3 + k]) : (int64_t)k;
        char esc[DSC_ERROR_MAX];
        if (image < 0) {
            fprintf(stderr, "dscfs: %s: no such image in the cache\n", dsc_path_escape(esc, sizeof esc, argv[3 + k]));
            failed++;
            continue;
        }
        if (flags & CLI_VERBOSE)
            fprintf(stderr, "dscfs: verifying %" PRIu32 "/%" PRIu32 " %s\n", k + 1, n,
                    dsc_path_escape(esc, sizeof esc, dsc_cache_get_image(c, (uint32_t)image)->path));
        dsc_verify_report r = {.size = sizeof r};
        dsc_error err;
        if (dsc_verify(c, (uint32_t)image, &r, &err)) {
            fprintf(stderr, "dscfs: %s\n", err.msg);
            failed++;
            continue;
        }
        show_image(&j, flags, dsc_cache_get_image(c, (uint32_t)image)->path, &r);
        add_report(&sum, &r);
    }
    show_total(&j, flags, &sum, failed);
    dsc_cache_close(c);
    return failed || problems(&sum) ? 1 : 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h — verbs of the dscfs command line. Each takes main's argv (argv[1]
 * is the verb) and returns the process exit status.
 */
#ifndef DSCFS_CLI_H
#define DSCFS_CLI_H

#include <stdint.h>

#include "dsc/dsc.h"
#include "open.h"

/* The flags a verb may take anywhere after it. */
enum {
    CLI_NO_SIGN = 1, /* --no-sign: dsc_extract_with's DSC_EXTRACT_UNSIGNED */
    CLI_JSON = 2,    /* --json: one JSON document on standard output */
    CLI_QUIET = 4,   /* -q: errors only */
    CLI_VERBOSE = 8, /* -v: a line per thing done */
};

/* Remove the flags above from argv after the verb (argc shrinks; the word
 * after -o or -j is a value, never a flag) and return those seen. -1 after
 * printing why when one is not in `allowed` or -q comes with -v: a usage
 * error. */
int cli_take_flags(int *argc, char **argv, int allowed);

/* "ADDRESS\tUUID\tPATH" of image i (--list -v, --info -v): its mach_header's
 * unslid address, its UUID or "-", its install path as the table names it. */
void cli_print_image(const dsc_cache *c, uint32_t i);

/* A verb that prints what it reads of one cache, `dscfs VERB CACHE
 * [--json] [-q|-v]` (--list, --info): opens CACHE and prints it with
 * `as_json`, or `as_text` given the flags. */
int cli_print_verb(int argc, char **argv, const char *verb, void (*as_json)(dsc_cache *c),
                   void (*as_text)(dsc_cache *c, int flags));

int cli_verb_info(int argc, char **argv);
int cli_verb_extract(int argc, char **argv);
int cli_verb_extract_all(int argc, char **argv);
int cli_verb_verify(int argc, char **argv);

#endif

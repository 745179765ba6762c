/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h — verbs of the dscfs command line. Each takes main's argv (argv[1]
 * is the verb) and returns the process exit status.
 */
#ifndef DSCFS_CLI_H
#define DSCFS_CLI_H

#include <stdint.h>

#include "dsc/dsc.h"

/* Remove every "--no-sign" after the verb from argv (argc shrinks) and
 * return the dsc_extract_with flags it asks for. */
unsigned cli_take_no_sign(int *argc, char **argv);

/* Open a cache for a verb; prints the error and returns NULL on failure. */
dsc_cache *cli_open(const char *path);

int cli_verb_info(int argc, char **argv);
int cli_verb_extract(int argc, char **argv);
int cli_verb_extract_all(int argc, char **argv);
int cli_verb_verify(int argc, char **argv);

#endif

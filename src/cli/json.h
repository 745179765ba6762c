/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json.h — the JSON the verbs print with --json: a small streaming writer
 * (objects, arrays, strings, numbers) that places the commas itself.
 *
 * Strings: a path is written as the text dscfs's messages show for it,
 * dsc_path_escape's (control bytes, DEL and '\' as \xHH), so that every
 * backslash in a decoded path starts such an escape; other text is written
 * as it is. Either way '"' and '\' are JSON-escaped, control bytes become
 * \u00XX, valid UTF-8 passes through, and a byte that is not valid UTF-8 is
 * written as the four characters \xHH: the output is always valid JSON.
 */
#ifndef DSCFS_JSON_H
#define DSCFS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH 8

typedef struct json {
    FILE *out;
    int depth;
    bool first[JSON_DEPTH]; /* nothing written yet at this level */
} json;

void json_init(json *j, FILE *out);
/* Containers; `key` is NULL inside an array (and for the outermost). */
void json_open_object(json *j, const char *key);
void json_close_object(json *j);
void json_open_array(json *j, const char *key);
void json_close_array(json *j);
/* Values; `key` NULL inside an array. */
void json_uint(json *j, const char *key, uint64_t v);
void json_null(json *j, const char *key);
/* A string; null when s is NULL. */
void json_text(json *j, const char *key, const char *s);
void json_path(json *j, const char *key, const char *path);
/* Ends the document with a newline. */
void json_end(json *j);

#endif

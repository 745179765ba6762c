/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json.c — see json.h.
 */
#include "json.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dsc/dsc.h"

void json_init(json *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (c >= 0xf5 || n == 0)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n;
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p++, f);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p++);
        } else if (*p < 0x80) {
            fputc(*p++, f);
        } else if ((n = utf8_len(p)) != 0) {
            fwrite(p, 1, n, f);
            p += n;
        } else {
            fprintf(f, "\\\\x%02x", *p++);
        }
    }
    fputc('"', f);
}

/* The comma and the key before a member or element. */
static void lead(json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->out);
    j->first[j->depth] = false;
    if (key) {
        put_string(j->out, key);
        fputc(':', j->out);
    }
}

static void begin(json *j, const char *key, char c)
{
    lead(j, key);
    fputc(c, j->out);
    if (j->depth + 1 < JSON_DEPTH)
        j->first[++j->depth] = true;
    else
        abort(); /* deeper than any document here: a programming error */
}

static void finish(json *j, char c)
{
    fputc(c, j->out);
    j->depth--;
}

void json_open_object(json *j, const char *key) { begin(j, key, '{'); }
void json_close_object(json *j) { finish(j, '}'); }
void json_open_array(json *j, const char *key) { begin(j, key, '['); }
void json_close_array(json *j) { finish(j, ']'); }

void json_uint(json *j, const char *key, uint64_t v)
{
    lead(j, key);
    fprintf(j->out, "%" PRIu64, v);
}

void json_null(json *j, const char *key)
{
    lead(j, key);
    fputs("null", j->out);
}

void json_text(json *j, const char *key, const char *s)
{
    lead(j, key);
    if (s)
        put_string(j->out, s);
    else
        fputs("null", j->out);
}

void json_path(json *j, const char *key, const char *path)
{
    size_t len = strlen(path);
    char *esc = malloc(DSC_ESCAPED_SIZE(len));
    lead(j, key);
    put_string(j->out, esc ? dsc_path_escape(esc, DSC_ESCAPED_SIZE(len), path) : path); /* out of memory: still valid JSON */
    free(esc);
}

void json_end(json *j)
{
    fputc('\n', j->out);
}

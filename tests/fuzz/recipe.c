/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * recipe.c — make a regression input of tests/fuzz/regress/ from its
 * recipe: a seed of the campaign (made at run time, so no binary input is
 * committed) and the bytes a finding changed in it.
 *
 *   recipe SEEDDIR RECIPE OUT
 *
 * A recipe is text, one directive a line ('#' starts a comment):
 *   base NAME           start from SEEDDIR/NAME, or from nothing ("base -")
 *   size N              cut or zero-extend to N bytes
 *   at OFFSET HEX...    write the bytes HEX (two digits each) at OFFSET
 *   fill OFFSET N HEX   write the bytes HEX N times from OFFSET on
 * Numbers are decimal or 0x-hex; writes past the end extend with zeros.
 * tests/fuzz/regress-add.sh writes a recipe from a crash input and its seed.
 * Exits 77 when the seed is not there, 1 on a bad recipe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *buf;
static size_t len;

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "recipe: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

static void resize(size_t n)
{
    unsigned char *g = realloc(buf, n ? n : 1);
    if (!g)
        die("out of memory", NULL);
    if (n > len)
        memset(g + len, 0, n - len);
    buf = g;
    len = n;
}

static void load(const char *dir, const char *name)
{
    if (strcmp(name, "-") == 0)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) { /* a seed this run did not make (an arch left out, no shared caches) */
        fprintf(stderr, "recipe: no seed %s\n", path);
        exit(77);
    }
    unsigned char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t at = len;
        resize(len + got);
        memcpy(buf + at, chunk, got);
    }
    fclose(f);
}

/* The bytes of a HEX word into out (at most `max`); their count. */
static size_t hex_bytes(const char *hex, unsigned char *out, size_t max, const char *line)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > max)
        die("bad hex", line);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            die("bad hex", line);
        out[i] = (unsigned char)v;
    }
    return n / 2;
}

static void put(size_t at, const unsigned char *b, size_t n)
{
    if (at + n > len)
        resize(at + n);
    memcpy(buf + at, b, n);
}

static void directive(const char *dir, char *line)
{
    char *save, *op = strtok_r(line, " \t\n", &save), *w;
    unsigned char b[1024];
    if (!op || op[0] == '#')
        return;
    if (strcmp(op, "base") == 0 && (w = strtok_r(NULL, " \t\n", &save)))
        load(dir, w);
    else if (strcmp(op, "size") == 0 && (w = strtok_r(NULL, " \t\n", &save)))
        resize(strtoull(w, NULL, 0));
    else if (strcmp(op, "at") == 0 && (w = strtok_r(NULL, " \t\n", &save))) {
        size_t at = strtoull(w, NULL, 0);
        while ((w = strtok_r(NULL, " \t\n", &save))) {
            size_t n = hex_bytes(w, b, sizeof b, op);
            put(at, b, n);
            at += n;
        }
    } else if (strcmp(op, "fill") == 0 && (w = strtok_r(NULL, " \t\n", &save))) {
        size_t at = strtoull(w, NULL, 0), times = 0, n = 0;
        if ((w = strtok_r(NULL, " \t\n", &save)))
            times = strtoull(w, NULL, 0);
        if ((w = strtok_r(NULL, " \t\n", &save)))
            n = hex_bytes(w, b, sizeof b, op);
        for (size_t i = 0; n && i < times; i++, at += n)
            put(at, b, n);
    } else
        die("unknown directive", op);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        die("usage: recipe SEEDDIR RECIPE OUT", NULL);
    FILE *r = fopen(argv[2], "r");
    if (!r)
        die(strerror(errno), argv[2]);
    char line[8192];
    while (fgets(line, sizeof line, r))
        directive(argv[1], line);
    fclose(r);
    FILE *o = fopen(argv[3], "wb");
    if (!o || fwrite(buf, 1, len, o) != len || fclose(o) != 0)
        die("cannot write", argv[3]);
    free(buf);
    return 0;
}

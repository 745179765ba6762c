/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_impc_json.c — the ObjC optimizations file (--objc-opts FILE), the
 * input Apple's builder is given to choose IMP-cache classes: the file its
 * build manifest flags ObjCOptimizationsFile (dyld-1378
 * dyld_shared_cache_builder.mm), read by the IMPCachesBuilder constructor
 * (dyld-1378 cache_builder/IMPCaches.cpp). Facts relied on:
 *  - "version": 2 → "neededClasses" is an array of {"name": S,
 *    "metaclass": N} objects (metaclass when N != 0), the array order being
 *    the priority; otherwise (version 1, or no version) "neededMetaclasses"
 *    then "neededClasses" are arrays of names, numbered on in that order;
 *  - "flatteningRoots" is an array of {"name", "metaclass"} objects; when
 *    the key is absent, OS_object is a root for classes and metaclasses;
 *  - "selectorsToInline" must be empty (Apple asserts it);
 *  - an empty object means no IMP caches (estimateIMPCaches returns).
 * A name listed twice keeps its last number (Apple's map assignment).
 * The reader takes the JSON subset these files use (objects, arrays,
 * strings with \-escapes of ASCII, integers, true/false/null); anything
 * else stops the build with the file's name.
 */
#include "impc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jin {
    const char *path, *s;
    size_t at, len;
};

static _Noreturn void bad(const struct jin *j, const char *what)
{
    die("%s: ObjC optimizations file: %s at byte %zu", j->path, what, j->at);
}

static void ws(struct jin *j)
{
    while (j->at < j->len && strchr(" \t\r\n", j->s[j->at]))
        j->at++;
}

static bool eat(struct jin *j, char ch)
{
    ws(j);
    if (j->at < j->len && j->s[j->at] == ch) {
        j->at++;
        return true;
    }
    return false;
}

static char *string(struct jin *j)
{
    if (!eat(j, '"'))
        bad(j, "a string expected");
    struct buf b = {0};
    while (j->at < j->len && j->s[j->at] != '"') {
        char ch = j->s[j->at++];
        if (ch == '\\') {
            if (j->at >= j->len)
                bad(j, "unterminated escape");
            ch = j->s[j->at++];
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *p = strchr(from, ch);
            if (!p || !ch)
                bad(j, "unsupported escape");
            ch = to[p - from];
        }
        buf_u8(&b, (uint8_t)ch);
    }
    if (!eat(j, '"'))
        bad(j, "unterminated string");
    buf_u8(&b, 0);
    return (char *)b.data;
}

static long long number(struct jin *j)
{
    ws(j);
    char *end;
    long long v = strtoll(j->s + j->at, &end, 10);
    if (end == j->s + j->at)
        bad(j, "a value expected");
    j->at = (size_t)(end - j->s);
    return v;
}

static bool word(struct jin *j, const char *w)
{
    ws(j);
    size_t n = strlen(w);
    if (j->len - j->at < n || strncmp(j->s + j->at, w, n) != 0)
        return false;
    j->at += n;
    return true;
}

/* Any value, skipped (keys this reader does not need). */
static void skip(struct jin *j, unsigned depth)
{
    ws(j);
    if (depth > 32)
        bad(j, "nesting too deep");
    if (j->at < j->len && j->s[j->at] == '"') {
        free(string(j));
    } else if (eat(j, '[')) {
        if (!eat(j, ']')) {
            do
                skip(j, depth + 1);
            while (eat(j, ','));
            if (!eat(j, ']'))
                bad(j, "']' expected");
        }
    } else if (eat(j, '{')) {
        if (!eat(j, '}')) {
            do {
                free(string(j));
                if (!eat(j, ':'))
                    bad(j, "':' expected");
                skip(j, depth + 1);
            } while (eat(j, ','));
            if (!eat(j, '}'))
                bad(j, "'}' expected");
        }
    } else if (!word(j, "true") && !word(j, "false") && !word(j, "null")) {
        number(j);
    }
}

static void add(struct impc_names *v, char *name, bool meta, int prio)
{
    v->e = xrealloc(v->e, (v->n + 1) * sizeof *v->e);
    v->e[v->n++] = (struct impc_name){name, meta, prio};
}

/* {"name": S, "metaclass": N} (nameAndIsMetaclassPairFromNode). */
static void pair(struct jin *j, struct impc_names *v, int prio)
{
    char *name = NULL;
    long long meta = -1;
    if (!eat(j, '{'))
        bad(j, "a {name, metaclass} object expected");
    do {
        char *k = string(j);
        if (!eat(j, ':'))
            bad(j, "':' expected");
        if (strcmp(k, "name") == 0) {
            free(name);
            name = string(j);
        } else if (strcmp(k, "metaclass") == 0) {
            meta = number(j);
        } else {
            skip(j, 1);
        }
        free(k);
    } while (eat(j, ','));
    if (!eat(j, '}') || !name || meta < 0)
        bad(j, "an entry without name or metaclass");
    add(v, name, meta != 0, prio);
}

/* An array of pairs (objects) or of names (meta: `meta`). */
static void list(struct jin *j, struct impc_names *v, bool objects, bool meta, int *prio)
{
    if (!eat(j, '['))
        bad(j, "an array expected");
    if (eat(j, ']'))
        return;
    do {
        if (objects)
            pair(j, v, (*prio)++);
        else
            add(v, string(j), meta, (*prio)++);
    } while (eat(j, ','));
    if (!eat(j, ']'))
        bad(j, "']' expected");
}

struct keys {
    long long version;
    size_t classes, metaclasses;    /* byte offsets of the values, 0: absent */
    bool roots;
};

static void read_key(struct jin *j, struct impc_config *cf, struct keys *k, const char *key)
{
    int unused = 0;
    ws(j);
    if (strcmp(key, "version") == 0) {
        k->version = number(j);
    } else if (strcmp(key, "neededClasses") == 0 || strcmp(key, "neededMetaclasses") == 0) {
        *(key[6] == 'C' ? &k->classes : &k->metaclasses) = j->at;
        skip(j, 1);
    } else if (strcmp(key, "flatteningRoots") == 0) {
        k->roots = true;
        list(j, &cf->roots, true, false, &unused);
    } else if (strcmp(key, "selectorsToInline") == 0) {
        if (!eat(j, '[') || !eat(j, ']'))
            bad(j, "selectorsToInline is not empty (Apple's builder asserts it is)");
    } else {
        skip(j, 1);
    }
}

void impc_config_read(struct impc_config *cf, const char *path)
{
    struct buf b = {0};
    buf_read_file(&b, path);
    struct jin j = {path, (const char *)b.data, 0, b.len};
    struct keys k = {1, 0, 0, false};
    memset(cf, 0, sizeof *cf);
    if (!eat(&j, '{'))
        bad(&j, "an object expected");
    if (!eat(&j, '}')) {
        do {
            char *key = string(&j);
            if (!eat(&j, ':'))
                bad(&j, "':' expected");
            read_key(&j, cf, &k, key);
            free(key);
        } while (eat(&j, ','));
        if (!eat(&j, '}'))
            bad(&j, "'}' expected");
        cf->any = true;
    }
    int prio = 0;
    if (k.version == 2 && !k.classes)
        bad(&j, "version 2 without neededClasses");
    if (k.version != 2 && k.metaclasses) {
        j.at = k.metaclasses;
        list(&j, &cf->needed, false, true, &prio);
    }
    if (k.classes) {
        j.at = k.classes;
        list(&j, &cf->needed, k.version == 2, false, &prio);
    }
    if (!k.roots) {
        add(&cf->roots, xstrdup("OS_object"), false, 0);
        add(&cf->roots, xstrdup("OS_object"), true, 0);
    }
    buf_free(&b);
}

int impc_names_find(const struct impc_names *v, const char *name, bool meta)
{
    int prio = -1;
    for (size_t i = 0; i < v->n; i++)
        if (v->e[i].meta == meta && strcmp(v->e[i].name, name) == 0)
            prio = v->e[i].prio;
    return prio;
}

static void names_free(struct impc_names *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->e[i].name);
    free(v->e);
    memset(v, 0, sizeof *v);
}

void impc_config_free(struct impc_config *cf)
{
    names_free(&cf->needed);
    names_free(&cf->roots);
}

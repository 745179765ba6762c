/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * extract.c — the --extract and --extract-all verbs.
 *
 *   dscfs --extract PATH CACHE -o OUT [--no-sign] [-q|-v]   (OUT - is standard output)
 *   dscfs --extract-all CACHE OUTDIR [-j N] [--force] [--no-sign] [-q|-v]
 *
 * Outputs are ad-hoc code signed unless --no-sign (anywhere after the verb).
 * -q leaves out warnings, the progress bar and the summary (errors stay);
 * -v adds a line per image written (--extract: on stderr, with its fixups).
 *
 * --extract-all writes every image to OUTDIR/<install path> (through
 * outdir.c, under the path rule the mount applies too; an image whose path
 * an earlier image already names is reported, not written), makes the
 * symlinks the mount shows (aliases and framework Versions/Current links,
 * from the mount's own tree: tree.h), runs N worker threads (each owns its extraction; the
 * cache is shared read-only), draws a progress bar only when stderr is a
 * terminal, prints one summary line, and exits 1 if any image failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "outdir.h"
#include "tree.h"

#define MAX_JOBS 256

static unsigned extract_flags(int cli_flags)
{
    return cli_flags & CLI_NO_SIGN ? DSC_EXTRACT_UNSIGNED : 0;
}

/* "R rebases, B binds, ..." of an extraction (or a sum of them). */
static const char *stats_text(const dsc_extract_stats *s, char *buf, size_t size)
{
    snprintf(buf, size, "%llu rebases, %llu binds, %llu unbound pointers; %llu stubs and branches fixed",
             (unsigned long long)s->rebases, (unsigned long long)s->binds,
             (unsigned long long)s->unbound_pointers, (unsigned long long)s->stubs_fixed);
    return buf;
}

int cli_verb_extract(int argc, char **argv)
{
    int flags = cli_take_flags(&argc, argv, CLI_NO_SIGN | CLI_QUIET | CLI_VERBOSE);
    if (flags < 0)
        return 2;
    if (argc != 6 || strcmp(argv[4], "-o") != 0) {
        fprintf(stderr, "usage: dscfs --extract PATH CACHE -o OUT [--no-sign] [-q|-v]\n");
        return 2;
    }
    const char *path = argv[2], *out_path = argv[5];
    dsc_cache *c = cli_open(argv[3]);
    if (!c)
        return 1;
    int rc = 1;
    int64_t image = dsc_cache_find_image(c, path);
    dsc_output out = {.struct_size = sizeof out};
    dsc_error err;
    char esc[DSC_ERROR_MAX];
    if (image < 0) {
        fprintf(stderr, "dscfs: %s: no image %s in the cache\n", argv[3], dsc_path_escape(esc, sizeof esc, path));
    } else if (dsc_extract_with(c, (uint32_t)image, extract_flags(flags), &out, &err)) {
        fprintf(stderr, "dscfs: %s\n", err.msg);
    } else {
        if (out.warnings && !(flags & CLI_QUIET))
            fprintf(stderr, "%s", out.warnings);
        bool to_stdout = !strcmp(out_path, "-"); /* -o -: standard output */
        FILE *f = to_stdout ? stdout : fopen(out_path, "wb");
        if (!f || fwrite(out.data, 1, out.size, f) != out.size || (to_stdout ? fflush(f) : fclose(f)) != 0)
            fprintf(stderr, "dscfs: %s: cannot write: %s\n", out_path, strerror(errno));
        else
            rc = 0;
        char stats[160];
        if (rc == 0 && (flags & CLI_VERBOSE))
            fprintf(stderr, "dscfs: %s: %zu bytes to %s; %s\n", dsc_path_escape(esc, sizeof esc, path), out.size,
                    out_path, stats_text(&out.stats, stats, sizeof stats));
        dsc_output_free(&out);
    }
    dsc_cache_close(c);
    return rc;
}

/* Shared by the workers of --extract-all. */
struct job {
    const dsc_cache *cache;
    unsigned flags;       /* dsc_extract_with */
    int root;
    uint32_t count;
    atomic_uint next;
    pthread_mutex_t lock; /* stderr, counters below */
    uint32_t done, failed;
    uint64_t bytes;
    uint64_t released_at; /* `bytes` at the last release of cache pages */
    dsc_extract_stats total; /* summed over the extracted images */
    bool tty;             /* progress bar on stderr */
    int cli_flags;        /* -q: errors only; -v: a line per image */
    bool *written;        /* per image: its file exists */
    uint32_t *first;      /* per image: see first_images */
};

struct keyed_path {
    char *norm;
    uint32_t image;
};

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed_path *x = a, *y = b;
    int r = !x->norm || !y->norm ? (x->norm == NULL) - (y->norm == NULL) : strcmp(x->norm, y->norm);
    return r ? r : (x->image > y->image) - (x->image < y->image);
}

/* Per image, the first image whose install path names the same output file
 * (itself when it is alone), or UINT32_MAX when the path is not servable:
 * two images on one path must not overwrite each other in silence. */
static uint32_t *first_images(const dsc_cache *c, uint32_t count)
{
    struct keyed_path *k = calloc(count ? count : 1, sizeof *k);
    uint32_t *first = malloc((count ? count : 1) * sizeof *first);
    for (uint32_t i = 0; k && first && i < count; i++) {
        k[i] = (struct keyed_path){outdir_normalize(dsc_cache_get_image(c, i)->path), i};
        if (!k[i].norm && errno != EINVAL) {
            free(first); /* out of memory */
            first = NULL;
        } else {
            first[i] = k[i].norm ? i : UINT32_MAX;
        }
    }
    if (k && first) {
        qsort(k, count, sizeof *k, cmp_keyed);
        for (uint32_t i = 1; i < count && k[i].norm; i++)
            if (strcmp(k[i].norm, k[i - 1].norm) == 0)
                first[k[i].image] = first[k[i - 1].image];
    }
    for (uint32_t i = 0; k && i < count; i++)
        free(k[i].norm);
    free(k);
    return first;
}

static void add_stats(dsc_extract_stats *sum, const dsc_extract_stats *s)
{
    sum->rebases += s->rebases;
    sum->binds += s->binds;
    sum->unbound_pointers += s->unbound_pointers;
    sum->local_symbols += s->local_symbols;
    sum->stubs_fixed += s->stubs_fixed;
    sum->selectors_fixed += s->selectors_fixed;
}

static void progress(struct job *j)
{
    if (!j->tty)
        return;
    enum { WIDTH = 40 };
    unsigned fill = j->count ? (unsigned)((uint64_t)j->done * WIDTH / j->count) : WIDTH;
    char bar[WIDTH + 1];
    memset(bar, '#', fill);
    memset(bar + fill, ' ', WIDTH - fill);
    bar[WIDTH] = 0;
    fprintf(stderr, "\r[%s] %u/%u", bar, j->done, j->count);
    fflush(stderr);
}

/* Extract one image; returns its size (and its stats) or -1 after printing why. */
static int64_t extract_one(struct job *j, uint32_t i, char *msg, size_t msg_size, dsc_extract_stats *stats)
{
    const dsc_image *img = dsc_cache_get_image(j->cache, i);
    char esc[DSC_ERROR_MAX];
    dsc_path_escape(esc, sizeof esc, img->path);
    if (j->first[i] == UINT32_MAX) {
        snprintf(msg, msg_size, "refusing unsafe install path '%s' of image %u", esc, i);
        return -1;
    }
    if (j->first[i] != i) {
        snprintf(msg, msg_size, "image %u (%s): not written, image %u has the same install path", i, esc,
                 j->first[i]);
        return -1;
    }
    dsc_output out = {.struct_size = sizeof out};
    dsc_error err;
    if (dsc_extract_with(j->cache, i, j->flags, &out, &err)) {
        snprintf(msg, msg_size, "%s", err.msg);
        return -1;
    }
    int64_t size = (int64_t)out.size;
    *stats = out.stats;
    if (outdir_write(j->root, img->path, out.data, out.size)) {
        snprintf(msg, msg_size, "%s: cannot write: %s", esc, strerror(errno));
        size = -1;
    } else if (out.warnings) {
        snprintf(msg, msg_size, "%s", out.warnings);
        msg[strcspn(msg, "\n")] = 0;
    }
    dsc_output_free(&out);
    return size;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    char msg[DSC_ERROR_MAX + 128];
    for (uint32_t i; (i = atomic_fetch_add(&j->next, 1)) < j->count;) {
        msg[0] = 0;
        dsc_extract_stats stats = {0};
        int64_t size = extract_one(j, i, msg, sizeof msg, &stats);
        pthread_mutex_lock(&j->lock);
        if (msg[0] && (size < 0 || !(j->cli_flags & CLI_QUIET)))
            fprintf(stderr, "%sdscfs: %s%s\n", j->tty ? "\r\033[K" : "", size < 0 ? "" : "warning: ", msg);
        j->done++;
        if (size < 0)
            j->failed++;
        else
            j->bytes += (uint64_t)size;
        add_stats(&j->total, &stats);
        j->written[i] = size >= 0;
        if (size >= 0 && (j->cli_flags & CLI_VERBOSE)) {
            char esc[DSC_ERROR_MAX];
            printf("%s %lld\n", dsc_path_escape(esc, sizeof esc, dsc_cache_get_image(j->cache, i)->path),
                   (long long)size);
        }
        progress(j);
        bool release = j->bytes - j->released_at >= DSC_RELEASE_EVERY;
        if (release)
            j->released_at = j->bytes;
        pthread_mutex_unlock(&j->lock);
        if (release)
            dsc_cache_release_pages(j->cache);
    }
    return NULL;
}

/* tree_add_images' report of a path it leaves out: an alias is reported
 * and counted as failed; an image it refuses was not written (and said so). */
static void link_refused(void *ctx, const char *what, const char *path, enum tree_add_err e)
{
    char esc[DSC_ERROR_MAX];
    if (strcmp(what, "alias"))
        return;
    fprintf(stderr, "dscfs: alias %s: not linked: %s\n", dsc_path_escape(esc, sizeof esc, path), tree_add_err_str(e));
    (*(uint32_t *)ctx)++;
}

/* Create every symlink of `t` under root; returns how many were made. */
static uint32_t create_links(const tree *t, int root, uint32_t *failed)
{
    uint32_t made = 0;
    for (uint32_t id = 0; id < tree_count(t); id++) {
        const tree_node *n = tree_node_at(t, id);
        if (n->kind != TREE_LINK)
            continue;
        char *path = tree_path(t, id), esc[DSC_ERROR_MAX];
        if (!path || outdir_link(root, path, n->target)) {
            fprintf(stderr, "dscfs: link %s: %s\n", path ? dsc_path_escape(esc, sizeof esc, path) : "?",
                    strerror(path ? errno : ENOMEM));
            (*failed)++;
        } else {
            made++;
        }
        free(path);
    }
    return made;
}

/* The links a mount of the cache shows, under root: the mount's own tree
 * (tree_add_images) is built over the images written, so the framework
 * Versions/Current links and the aliases come out as the mount has them,
 * relative. An alias of an image not written is reported. Returns the
 * number of symlinks made; *linked counts the aliases that lead to their
 * image, *failed the aliases and links that were not made. */
static uint32_t make_links(const dsc_cache *c, int root, const bool *written, uint32_t *linked, uint32_t *failed)
{
    const dsc_cache_info *in = dsc_cache_get_info(c);
    const char **paths = malloc((in->image_count ? in->image_count : 1) * sizeof *paths);
    dsc_alias *aliases = malloc((in->alias_count ? in->alias_count : 1) * sizeof *aliases);
    tree *t = tree_new();
    uint32_t made = 0;
    for (uint32_t i = 0; paths && i < in->image_count; i++)
        paths[i] = written[i] ? dsc_cache_get_image(c, i)->path : ""; /* "": refused, not placed */
    for (uint32_t i = 0; aliases && i < in->alias_count; i++) {
        aliases[i] = *dsc_cache_get_alias(c, i);
        if (!written[aliases[i].image]) {
            char from[DSC_ERROR_MAX], to[DSC_ERROR_MAX];
            fprintf(stderr, "dscfs: alias %s -> %s: not linked, its image was not extracted\n",
                    dsc_path_escape(from, sizeof from, aliases[i].path),
                    dsc_path_escape(to, sizeof to, dsc_cache_get_image(c, aliases[i].image)->path));
            (*failed)++;
        }
    }
    struct tree_images images = {paths, in->image_count, aliases, in->alias_count, link_refused, failed};
    if (!paths || !aliases || !t || tree_add_images(t, &images)) {
        fprintf(stderr, "dscfs: out of memory: no links made\n");
        (*failed)++;
    } else {
        made = create_links(t, root, failed);
        for (uint32_t i = 0; i < in->alias_count; i++) /* a framework link may serve */
            *linked += written[aliases[i].image] && tree_lookup(t, aliases[i].path) != TREE_NONE;
    }
    tree_free(t);
    free(paths);
    free(aliases);
    return made;
}

/* After CACHE OUTDIR: [-j N] [--force] in any order. -j defaults to one
 * worker per online processor. */
static int parse_extract_all(int argc, char **argv, long *jobs, bool *force)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *jobs = cpus < 1 ? 1 : cpus > MAX_JOBS ? MAX_JOBS : cpus;
    *force = false;
    if (argc < 4)
        return -1;
    for (int i = 4; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--force")) {
            *force = true;
        } else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
            *jobs = strtol(argv[++i], &end, 10);
            if (*end || *jobs < 1 || *jobs > MAX_JOBS)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* OUTDIR opened, created when absent (*made set); an existing non-empty
 * one only with --force, so a mistyped OUTDIR never mixes two trees.
 * -1 after printing why. */
static int open_outdir(const char *outdir, bool force, bool *made)
{
    *made = mkdir(outdir, 0755) == 0;
    if (!*made && errno != EEXIST) {
        fprintf(stderr, "dscfs: %s: cannot create: %s\n", outdir, strerror(errno));
        return -1;
    }
    int root = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        fprintf(stderr, "dscfs: %s: cannot open: %s\n", outdir, strerror(errno));
        return -1;
    }
    DIR *d = *made || force ? NULL : fdopendir(dup(root));
    struct dirent *e;
    bool empty = true;
    while (d && empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    if (!empty) {
        fprintf(stderr, "dscfs: %s: not empty; give an empty or new OUTDIR, or --force to write into it\n", outdir);
        close(root);
        return -1;
    }
    return root;
}

int cli_verb_extract_all(int argc, char **argv)
{
    long jobs;
    bool force, made;
    int flags = cli_take_flags(&argc, argv, CLI_NO_SIGN | CLI_QUIET | CLI_VERBOSE);
    if (flags < 0)
        return 2;
    if (parse_extract_all(argc, argv, &jobs, &force)) {
        fprintf(stderr,
                "usage: dscfs --extract-all CACHE OUTDIR [-j N] [--force] [--no-sign] [-q|-v]   (1 <= N <= %d)\n",
                MAX_JOBS);
        return 2;
    }
    const char *outdir = argv[3];
    int root = open_outdir(outdir, force, &made);
    if (root < 0)
        return 1;
    dsc_cache *c = cli_open(argv[2]);
    if (!c) { /* leave no empty OUTDIR behind for a cache that never opened */
        close(root);
        if (made)
            rmdir(outdir);
        return 1;
    }
    struct job j = {.cache = c, .flags = extract_flags(flags), .root = root,
                     .count = dsc_cache_get_info(c)->image_count, .cli_flags = flags,
                     .tty = !(flags & CLI_QUIET) && isatty(STDERR_FILENO)};
    j.written = calloc(j.count ? j.count : 1, sizeof *j.written);
    j.first = first_images(c, j.count);
    if (!j.written || !j.first) {
        free(j.written);
        free(j.first);
        fprintf(stderr, "dscfs: out of memory\n");
        dsc_cache_close(c);
        close(root);
        return 1;
    }
    atomic_init(&j.next, 0);
    pthread_mutex_init(&j.lock, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t threads[MAX_JOBS];
    long started = 0;
    while (started < jobs && pthread_create(&threads[started], NULL, worker, &j) == 0)
        started++;
    if (started == 0)
        worker(&j);
    for (long i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    uint32_t links_failed = 0, aliases = 0;
    uint32_t links = make_links(c, root, j.written, &aliases, &links_failed);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (j.tty)
        fprintf(stderr, "\n");
    if (!(flags & CLI_QUIET)) {
        char stats[160];
        printf("extracted %u of %u images (%u failed), linked %u of %u aliases (%u symlinks with the framework "
               "links), %.1f MB in %.2f s\n",
               j.count - j.failed, j.count, j.failed, aliases, dsc_cache_get_info(c)->alias_count, links,
               (double)j.bytes / 1e6, secs);
        printf("fixups: %s\n", stats_text(&j.total, stats, sizeof stats));
    }
    pthread_mutex_destroy(&j.lock);
    free(j.written);
    free(j.first);
    dsc_cache_close(c);
    close(root);
    return j.failed || links_failed ? 1 : 0;
}

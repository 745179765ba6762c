/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsys.c — building and tearing down the mount state, logging, and noticing
 * a cache file that changed or was replaced under the mount.
 */
#include "fsys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

void fsys_vlog(struct fsys *fs, int priority, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') /* libfuse's messages end with one */
        line[--n] = 0;
    if (fs->log) {
        char when[32];
        struct tm tm;
        time_t now = time(NULL);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        /* One fprintf per line: stdio locks the stream, so threads do not
         * interleave. */
        fprintf(fs->log, "%s dscfs[%ld]: %s\n", when, (long)getpid(), line);
    } else if (!fs->to_syslog) {
        fprintf(stderr, "dscfs: %s\n", line);
    } else {
        syslog(priority, "%s", line);
    }
}

void fsys_log(struct fsys *fs, int priority, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fsys_vlog(fs, priority, fmt, ap);
    va_end(ap);
}

static int cmp_address(const void *a, const void *b, void *vc)
{
    uint64_t x = dsc_cache_get_image(vc, *(const uint32_t *)a)->address;
    uint64_t y = dsc_cache_get_image(vc, *(const uint32_t *)b)->address;
    return (x > y) - (x < y);
}

/* Each image's span: from its mach_header to the next image's (the cache
 * lays __TEXT out in header order), from the image table alone. */
static bool measure_spans(struct fsys *fs)
{
    uint32_t *order = malloc((fs->nimages ? fs->nimages : 1) * sizeof *order);
    if (!order)
        return false;
    for (uint32_t i = 0; i < fs->nimages; i++)
        order[i] = i;
    qsort_r(order, fs->nimages, sizeof *order, cmp_address, fs->cache);
    for (uint32_t k = 0; k + 1 < fs->nimages; k++)
        fs->img[order[k]].span = dsc_cache_get_image(fs->cache, order[k + 1])->address -
                                 dsc_cache_get_image(fs->cache, order[k])->address;
    free(order);
    return true;
}

bool fsys_open_log(struct fsys *fs, const char *file)
{
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    fs->log = fd < 0 ? NULL : fdopen(fd, "a");
    if (!fs->log) {
        fprintf(stderr, "dscfs: log=%s: cannot open: %s\n", file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    setvbuf(fs->log, NULL, _IOLBF, 0);
    return true;
}

/* The index in fs->dirs of the directory holding `abs` (an absolute path),
 * added if new; UINT_MAX when out of memory. */
static unsigned dir_of(struct fsys *fs, const char *abs)
{
    size_t n = (size_t)(strrchr(abs, '/') - abs);
    for (unsigned d = 0; d < fs->ndirs; d++)
        if (n ? strlen(fs->dirs[d].path) == n && !strncmp(fs->dirs[d].path, abs, n) : !strcmp(fs->dirs[d].path, "/"))
            return d;
    char *path = n ? strndup(abs, n) : strdup("/");
    if (!path)
        return UINT_MAX;
    fs->dirs[fs->ndirs] = (struct dir_stamp){.path = path}; /* not settled: the first check walks */
    return fs->ndirs++;
}

/* Remember which file each path names now (absolute path, device, inode). */
static bool record_files(struct fsys *fs)
{
    const dsc_cache_info *in = dsc_cache_get_info(fs->cache);
    fs->files = calloc(in->file_count, sizeof *fs->files);
    fs->dirs = calloc(in->file_count, sizeof *fs->dirs);
    if (!fs->files || !fs->dirs)
        return false;
    for (unsigned i = 0; i < in->file_count; i++) {
        const dsc_file_info *f = dsc_cache_get_file(fs->cache, i);
        struct stat st;
        char *abs = realpath(f->path, NULL);
        if (!abs || stat(abs, &st) != 0) {
            fprintf(stderr, "dscfs: %s: cannot resolve the cache file's path\n", f->path);
            free(abs);
            return false;
        }
        unsigned dir = dir_of(fs, abs);
        fs->files[fs->nfiles++] = (struct file_id){abs, st.st_dev, st.st_ino, dir};
        if (dir == UINT_MAX)
            return false;
        fs->total_bytes += (uint64_t)st.st_size;
        if (i == 0)
            fs->mtime = st.st_mtim;
    }
    return true;
}

static bool copy_paths(struct fsys *fs)
{
    for (uint32_t i = 0; i < fs->nimages; i++)
        if (!(fs->img[i].path = strdup(dsc_cache_get_image(fs->cache, i)->path)))
            return false;
    return true;
}

/* How long before a walk of its files a directory must have last changed
 * for its mtime to show any later change: above the timestamp granularity
 * of every file system (2 s on FAT) and some clock skew with a server. */
#define DIR_SETTLE_SECONDS 3

static bool before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static bool same_time(struct timespec a, struct timespec b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

/* Directory d as a walk of its files saw it, and settled then. */
static bool dir_quiet(struct fsys *fs, unsigned d, const struct stat *st)
{
    pthread_mutex_lock(&fs->dirs_lock);
    const struct dir_stamp *s = &fs->dirs[d];
    bool quiet = s->settled && s->dev == st->st_dev && s->ino == st->st_ino &&
                 same_time(s->mtime, st->st_mtim) && same_time(s->ctime, st->st_ctim);
    pthread_mutex_unlock(&fs->dirs_lock);
    return quiet;
}

/* Every path in directory d still names the file mounted. A file renamed
 * over one keeps the path, not the inode, so the paths are walked; but
 * not while the directory is as the last walk found it, if it had settled
 * then: creating, removing or renaming an entry sets its mtime, and the
 * stamp kept was taken before that walk, so a change after it shows. */
static bool dir_files_ok(struct fsys *fs, unsigned d)
{
    struct timespec now;
    struct stat st, fst;
    clock_gettime(CLOCK_REALTIME, &now);
    if (stat(fs->dirs[d].path, &st) != 0)
        return false;
    if (dir_quiet(fs, d, &st))
        return true;
    for (unsigned i = 0; i < fs->nfiles; i++)
        if (fs->files[i].dir == d && (stat(fs->files[i].path, &fst) != 0 || fst.st_dev != fs->files[i].dev ||
                                      fst.st_ino != fs->files[i].ino))
            return false;
    now.tv_sec -= DIR_SETTLE_SECONDS;
    pthread_mutex_lock(&fs->dirs_lock);
    struct dir_stamp *s = &fs->dirs[d];
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->mtime = st.st_mtim;
    s->ctime = st.st_ctim;
    s->settled = before(st.st_mtim, now) && before(st.st_ctim, now);
    pthread_mutex_unlock(&fs->dirs_lock);
    return true;
}

static bool paths_ok(struct fsys *fs)
{
    for (unsigned d = 0; d < fs->ndirs; d++)
        if (!dir_files_ok(fs, d))
            return false;
    return true;
}

bool fsys_cache_ok(struct fsys *fs) { return dsc_cache_unchanged(fs->cache) && paths_ok(fs); }

static uint64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

bool fsys_cache_ok_lately(struct fsys *fs)
{
    uint64_t now = monotonic_ns();
    uint64_t last = __atomic_load_n(&fs->checked_ns, __ATOMIC_ACQUIRE);
    if (last && now - last < (uint64_t)FSYS_CHECK_MS * 1000000u)
        return true;
    if (!fsys_cache_ok(fs))
        return false; /* the stamp stays: every call checks until one passes */
    /* Racing checks may store an older start: that only shortens the window. */
    __atomic_store_n(&fs->checked_ns, now, __ATOMIC_RELEASE);
    return true;
}

struct fsys *fsys_open(dsc_cache *cache, const char *cache_path, uint64_t budget)
{
    struct fsys *fs = calloc(1, sizeof *fs);
    if (!fs) {
        dsc_cache_close(cache);
        fprintf(stderr, "dscfs: out of memory\n");
        return NULL;
    }
    fs->cache = cache;
    fs->uid = getuid();
    fs->gid = getgid();
    fs->nimages = dsc_cache_get_info(cache)->image_count;
    pthread_mutex_init(&fs->lock, NULL);
    pthread_mutex_init(&fs->reading_lock, NULL);
    pthread_mutex_init(&fs->control_lock, NULL);
    pthread_mutex_init(&fs->dirs_lock, NULL);
    fs->cache_path = realpath(cache_path, NULL);
    if (!fs->cache_path || !record_files(fs))
        goto fail;
    fs->img = calloc(fs->nimages ? fs->nimages : 1, sizeof *fs->img);
    if (!fs->img || !copy_paths(fs) || !measure_spans(fs))
        goto nomem;
    fs->tree = build_tree(fs);
    fs->budget = budget;
    uint64_t exports = budget / 4 < FSYS_EXPORTS_MAX ? budget / 4 : FSYS_EXPORTS_MAX;
    dsc_cache_set_export_budget(cache, (size_t)exports);
    /* The store wants at least one key even for an empty cache. */
    fs->store = store_create(fs->nimages ? fs->nimages : 1, budget - exports, fsys_produce, fs);
    if (!fs->tree || !fs->store)
        goto nomem;
    return fs;
nomem:
    fprintf(stderr, "dscfs: %s: out of memory\n", cache_path);
fail:
    fsys_free(fs);
    return NULL;
}

bool fsys_use_disk(struct fsys *fs, const char *dir, uint64_t limit)
{
    const dsc_cache_info *in = dsc_cache_get_info(fs->cache);
    if (!in->has_uuid) {
        fprintf(stderr, "dscfs: %s: the cache has no UUID to key cache_dir entries by\n", fs->cache_path);
        return false;
    }
    fs->disk = disk_store_open(dir, limit, in->uuid, fs->extract_flags);
    if (!fs->disk)
        fprintf(stderr, "dscfs: cache_dir=%s: %s\n", dir, strerror(errno));
    return fs->disk != NULL;
}

void fsys_free(struct fsys *fs)
{
    if (!fs)
        return;
    disk_store_close(fs->disk);
    if (fs->store)
        fsys_reading_end(fs);
    store_destroy(fs->store);
    tree_free(fs->tree);
    if (fs->img)
        for (uint32_t i = 0; i < fs->nimages; i++) {
            free(fs->img[i].path);
            free(fs->img[i].error);
            free(fs->img[i].warnings);
        }
    free(fs->img);
    for (unsigned i = 0; i < fs->nfiles; i++)
        free(fs->files[i].path);
    free(fs->files);
    if (fs->dirs)
        for (unsigned d = 0; d < fs->ndirs; d++)
            free(fs->dirs[d].path);
    free(fs->dirs);
    free(fs->cache_path);
    if (fs->log)
        fclose(fs->log);
    pthread_mutex_destroy(&fs->lock);
    for (int i = 0; i < 2; i++)
        free(fs->control_text[i]);
    pthread_mutex_destroy(&fs->reading_lock);
    pthread_mutex_destroy(&fs->control_lock);
    pthread_mutex_destroy(&fs->dirs_lock);
    dsc_cache_close(fs->cache);
    free(fs);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * produce.c — the engine calls made on behalf of the mount: exact sizes for
 * stat, and extraction as the store's producer. Both first check that the
 * cache files are still the mounted ones (an extraction every time, a size
 * every FSYS_CHECK_MS while sizes come back to back) and run under the
 * SIGBUS guard, so a cache truncated under the mount gives EIO, never a
 * dead daemon.
 *
 * Memory: when the last engine call in flight ends, the daemon lets go of
 * the cache pages the engine touched (dsc_cache_release_pages, the call
 * --extract-all makes every 128 MB of output) and hands the heap the engine
 * freed back to the system (malloc_trim), so that between requests it
 * holds the store, the pinned images and its fixed structures, nothing of
 * the extractions it has done (and reading.c trims after the reads). Sizes
 * leave that to the sizing threads (warm.c), which release once sizing
 * pauses: a listing sizes thousands of images back to back, and every
 * release in the middle of it (one per 128 MB sized, as before) made the
 * rest fault the cache pages and the heap back in (ls -lR of make bench's
 * large cache: 7 releases, ~30 ms of its ~430).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fsys.h"
#include "guard.h"
#include "warm.h"

static const char changed_msg[] = "the cache file changed or was replaced since the mount";
static const char sigbus_msg[] = "the cache file's mapping became unreadable (truncated?)";

/* Mark image i failed with `why` and log it, once. */
static void fail_image(struct fsys *fs, uint32_t i, const char *why)
{
    pthread_mutex_lock(&fs->lock);
    bool first = !fs->img[i].failed;
    if (first) {
        fs->img[i].failed = true;
        fs->img[i].error = strdup(why);
    }
    pthread_mutex_unlock(&fs->lock);
    char esc[DSC_ERROR_MAX];
    if (first)
        fsys_log(fs, LOG_ERR, "%s: %s: extraction failed: %s", fs->cache_path,
                 dsc_path_escape(esc, sizeof esc, fs->img[i].path), why);
}

/* The errno for a failed extraction of image i. Running out of memory is
 * this moment's failure, not the image's: it is not remembered, so a later
 * read may succeed. */
static int job_failed(struct fsys *fs, uint32_t i, const dsc_error *err)
{
    if (err->code == DSC_ERR_NOMEM)
        return ENOMEM;
    fail_image(fs, i, err->msg);
    return EIO;
}

bool fsys_image_failed(struct fsys *fs, uint32_t i)
{
    pthread_mutex_lock(&fs->lock);
    bool failed = fs->img[i].failed;
    pthread_mutex_unlock(&fs->lock);
    return failed;
}

bool fsys_image_extracted(struct fsys *fs, uint32_t i)
{
    pthread_mutex_lock(&fs->lock);
    bool extracted = fs->img[i].extracted;
    pthread_mutex_unlock(&fs->lock);
    return extracted;
}

/* ---- engine calls ---- */

/* Run fn(arg) under the SIGBUS guard; false when it met a SIGBUS. */
static bool engine_run(struct fsys *fs, void (*fn)(void *), void *arg)
{
    __atomic_add_fetch(&fs->engine_busy, 1, __ATOMIC_ACQ_REL);
    return guard_run(fn, arg);
}

static void release_now(struct fsys *fs)
{
    __atomic_store_n(&fs->work_since_release, 0, __ATOMIC_RELEASE);
    dsc_cache_release_pages(fs->cache);
    malloc_trim(0);
    __atomic_add_fetch(&fs->releases, 1, __ATOMIC_RELAXED);
}

void fsys_release(struct fsys *fs)
{
    if (__atomic_load_n(&fs->engine_busy, __ATOMIC_ACQUIRE) == 0 &&
        __atomic_load_n(&fs->work_since_release, __ATOMIC_ACQUIRE) != 0)
        release_now(fs); /* an engine call starting meanwhile faults back what it reads */
}

/* After engine_run: `work` bytes were extracted or sized. The last of
 * concurrent calls to end releases what they touched (see top): always
 * after an extraction; after sizes, the sizing threads do once sizing
 * pauses (warm_sized), or without them every DSC_RELEASE_EVERY bytes. */
static void engine_done(struct fsys *fs, uint64_t work, bool extraction)
{
    uint64_t since = __atomic_add_fetch(&fs->work_since_release, work, __ATOMIC_ACQ_REL);
    bool last = __atomic_sub_fetch(&fs->engine_busy, 1, __ATOMIC_ACQ_REL) == 0;
    if (!extraction && fs->warm)
        warm_sized(fs->warm);
    else if (last && (extraction || since >= DSC_RELEASE_EVERY))
        release_now(fs);
}

/* ---- engine jobs: an image's size, or its extraction ---- */

struct engine_job {
    const dsc_cache *cache;
    uint32_t image;
    unsigned flags;
    bool size_only;   /* dsc_extract_size_with into `size`, else dsc_extract_with into `out` */
    uint64_t size;
    dsc_output out;
    dsc_error err;
    int rc;
};

static void run_job(void *arg)
{
    struct engine_job *j = arg;
    j->out = (dsc_output){.struct_size = sizeof j->out};
    j->rc = j->size_only ? dsc_extract_size_with(j->cache, j->image, j->flags, &j->size, &j->err)
                         : dsc_extract_with(j->cache, j->image, j->flags, &j->out, &j->err);
}

/* ---- sizes ---- */

/* A size computation of image i failed with `why` (NULL: the engine's
 * `err`). If an extraction gave the image its size meanwhile, that stands:
 * the bytes it made are served whatever the cache became since (a stat
 * sizing the image when the cache was cut short must not fail an image
 * already in the store). */
static int size_failed(struct fsys *fs, uint32_t i, const char *why, const dsc_error *err, uint64_t *size)
{
    pthread_mutex_lock(&fs->lock);
    bool known = fs->img[i].size_known;
    *size = fs->img[i].size;
    pthread_mutex_unlock(&fs->lock);
    if (known)
        return 0;
    if (!why)
        return job_failed(fs, i, err);
    fail_image(fs, i, why);
    return EIO;
}

int fsys_image_size(struct fsys *fs, uint32_t i, uint64_t *size)
{
    pthread_mutex_lock(&fs->lock);
    bool known = fs->img[i].size_known, failed = fs->img[i].failed;
    *size = fs->img[i].size;
    pthread_mutex_unlock(&fs->lock);
    if (known)
        return 0;
    if (failed)
        return EIO;
    /* Two threads may both compute it; they get the same answer. */
    struct engine_job j = {.cache = fs->cache, .image = i, .flags = fs->extract_flags, .size_only = true};
    if (!fsys_cache_ok_lately(fs))
        return size_failed(fs, i, changed_msg, NULL, size);
    __atomic_add_fetch(&fs->sizes, 1, __ATOMIC_RELAXED);
    /* A page another thread's fault replaced with zeros reads without a
     * fault of our own: once the guard has replaced any, a cache file that
     * changed meanwhile (size, mtime) fails us too. */
    bool ok = engine_run(fs, run_job, &j) && (guard_replaced() == 0 || dsc_cache_unchanged(fs->cache));
    engine_done(fs, ok && !j.rc ? j.size : 0, false);
    if (!ok)
        return size_failed(fs, i, sigbus_msg, NULL, size);
    if (j.rc)
        return size_failed(fs, i, NULL, &j.err, size);
    pthread_mutex_lock(&fs->lock);
    if (!fs->img[i].size_known) {
        fs->img[i].size = j.size;
        fs->img[i].size_known = true;
    }
    *size = fs->img[i].size;
    pthread_mutex_unlock(&fs->lock);
    return 0;
}

/* ---- extraction ---- */

/* Keep the image's size (what reads return) and the extraction's warnings
 * (NULL for bytes from the disk store: they were not kept). */
static void record_success(struct fsys *fs, uint32_t i, size_t size, char *warnings)
{
    pthread_mutex_lock(&fs->lock);
    struct image_state *st = &fs->img[i];
    bool mismatch = st->size_known && st->size != size;
    uint64_t predicted = st->size;
    st->size = size;
    st->size_known = true;
    st->extracted = true;
    free(st->warnings);
    st->warnings = warnings;
    pthread_mutex_unlock(&fs->lock);
    char esc[DSC_ERROR_MAX];
    if (mismatch)
        fsys_log(fs, LOG_WARNING, "%s: %s: extracted %zu bytes, predicted %llu", fs->cache_path,
                 dsc_path_escape(esc, sizeof esc, fs->img[i].path), size, (unsigned long long)predicted);
}

/* The image's bytes from the disk store (-o cache_dir); false on a miss. */
static bool from_disk(struct fsys *fs, uint32_t key, store_blob *blob)
{
    void *data;
    size_t size;
    if (!fs->disk || disk_store_get(fs->disk, fs->img[key].path, &data, &size) != 0)
        return false;
    record_success(fs, key, size, NULL);
    blob->data = data;
    blob->size = size;
    return true;
}

int fsys_produce(void *ctx, uint32_t key, store_blob *blob)
{
    struct fsys *fs = ctx;
    if (key >= fs->nimages)
        return ENOENT;
    if (!fsys_cache_ok(fs)) {
        fail_image(fs, key, changed_msg);
        return EIO;
    }
    if (from_disk(fs, key, blob))
        return 0;
    struct engine_job j = {.cache = fs->cache, .image = key, .flags = fs->extract_flags};
    __atomic_add_fetch(&fs->extractions, 1, __ATOMIC_RELAXED);
    /* Checked every time: these bytes are served (see fsys_image_size). */
    bool ok = engine_run(fs, run_job, &j) && dsc_cache_unchanged(fs->cache);
    engine_done(fs, ok && !j.rc ? j.out.size : 0, true);
    if (!ok) {
        if (j.rc == 0) /* extracted from zeros the guard mapped: drop it */
            dsc_output_free(&j.out);
        fail_image(fs, key, sigbus_msg);
        return EIO;
    }
    if (j.rc)
        return job_failed(fs, key, &j.err);
    record_success(fs, key, j.out.size, j.out.warnings);
    j.out.warnings = NULL;
    if (fs->disk)
        disk_store_put(fs->disk, fs->img[key].path, j.out.data, j.out.size);
    /* dsc_output.data is malloc'ed: the store frees it with free(). */
    blob->data = j.out.data;
    blob->size = j.out.size;
    j.out.data = NULL;
    dsc_output_free(&j.out);
    return 0;
}

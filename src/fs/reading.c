/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reading.c — image bytes for READ requests, pinned per READ.
 *
 * The kernel sends no OPEN or RELEASE (no-open, see ops.c), so the daemon
 * does not know when a reader is done with a file. A READ looks the image
 * up in the store (extracting it, or loading it from the disk store, on a
 * miss: single flight), copies from it and unpins it; the store may then
 * evict it under cache_size, and a later READ rebuilds it (extraction is
 * deterministic).
 *
 * So that a file read in many READs (128 KiB each) is not rebuilt for each
 * one when it does not fit the store, an image a READ did not cover whole
 * stays pinned as "being read" until the bytes served from it since reach
 * its size (whatever order async reads come in), or FSYS_READING_MAX
 * images newer to the set displace it (a reader that read only the
 * headers). Memory beyond cache_size is therefore at most the
 * FSYS_READING_MAX images being read (dscfs(1) MEMORY).
 *
 * When a READ finishes an image and no other is being read, the reads are
 * over for now: the heap is handed back (libfuse allocates each READ's
 * reply buffer and frees it; extractions trim on their own, produce.c).
 */
#include <errno.h>
#include <malloc.h>
#include <string.h>

#include "fsys.h"

static int acquire_errno(int err) { return err == ENOMEM ? -ENOMEM : -EIO; }

/* Remove slot k (lock held); its image's pin is the caller's to drop. */
static uint32_t reading_take(struct fsys *fs, unsigned k)
{
    uint32_t image = fs->reading[k].image;
    memmove(&fs->reading[k], &fs->reading[k + 1], (fs->nreading - k - 1) * sizeof *fs->reading);
    fs->nreading--;
    return image;
}

/* `served` more bytes of `image` (pinned by the caller, `size` bytes in
 * all) went out. Returns true when the caller's pin now belongs to the
 * set; *drop is an image whose set pin the caller must release
 * (UINT32_MAX for none), *idle true when the set has just become empty. */
static bool reading_note(struct fsys *fs, uint32_t image, uint64_t served, uint64_t size, uint32_t *drop,
                         bool *idle)
{
    bool kept = false;
    *drop = UINT32_MAX;
    pthread_mutex_lock(&fs->reading_lock);
    unsigned k = 0;
    while (k < fs->nreading && fs->reading[k].image != image)
        k++;
    if (k < fs->nreading) {
        fs->reading[k].served += served;
        if (fs->reading[k].served >= size)
            *drop = reading_take(fs, k);
    } else if (served < size) {
        if (fs->nreading == FSYS_READING_MAX)
            *drop = reading_take(fs, 0); /* the oldest */
        fs->reading[fs->nreading++] = (struct fsys_reading){image, served};
        kept = true;
    }
    *idle = fs->nreading == 0 && (served >= size || *drop != UINT32_MAX);
    pthread_mutex_unlock(&fs->reading_lock);
    return kept;
}

/* Account for `served` bytes of a pinned image and let go of what is no
 * longer needed: our pin, unless the set took it; a pin the set dropped. */
static void reading_done(struct fsys *fs, uint32_t image, uint64_t served, uint64_t size)
{
    uint32_t drop;
    bool idle;
    if (!reading_note(fs, image, served, size, &drop, &idle))
        store_release(fs->store, image);
    if (drop != UINT32_MAX)
        store_release(fs->store, drop);
    fsys_control_changed(fs);
    if (idle)
        malloc_trim(0);
}

int fsys_read_image(struct fsys *fs, uint32_t image, char *buf, size_t size, off_t off)
{
    if (fsys_image_failed(fs, image))
        return -EIO;
    const store_blob *b;
    int rc = store_acquire(fs->store, image, &b);
    if (rc) {
        fsys_control_changed(fs);
        return acquire_errno(rc);
    }
    size_t n = 0;
    if ((uint64_t)off < b->size) {
        n = b->size - (size_t)off < size ? b->size - (size_t)off : size;
        memcpy(buf, (const char *)b->data + off, n);
    }
    if (n)
        reading_done(fs, image, n, b->size);
    else
        store_release(fs->store, image);
    return (int)n;
}

int fsys_hold_image(struct fsys *fs, uint32_t image)
{
    const store_blob *b;
    int rc = store_acquire(fs->store, image, &b);
    if (!rc)
        reading_done(fs, image, 0, b->size);
    else
        fsys_control_changed(fs);
    return rc ? acquire_errno(rc) : 0;
}

void fsys_reading_end(struct fsys *fs)
{
    pthread_mutex_lock(&fs->reading_lock);
    while (fs->nreading) {
        uint32_t image = reading_take(fs, fs->nreading - 1);
        pthread_mutex_unlock(&fs->reading_lock);
        store_release(fs->store, image);
        pthread_mutex_lock(&fs->reading_lock);
    }
    pthread_mutex_unlock(&fs->reading_lock);
}

unsigned fsys_reading_count(struct fsys *fs)
{
    pthread_mutex_lock(&fs->reading_lock);
    unsigned n = fs->nreading;
    pthread_mutex_unlock(&fs->reading_lock);
    return n;
}

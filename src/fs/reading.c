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
 * stays pinned as "being read" until every byte of it has been served at
 * least once since (whatever order async reads come in), or
 * FSYS_READING_MAX images newer to the set displace it (a reader that read
 * only the headers).
 *
 * What was served is a record of units (FSYS_READING_UNIT bytes), not a
 * count: the kernel asks again for a page it dropped (reclaim, fadvise,
 * O_DIRECT), and a count would reach the size before the last unread page
 * came, let the image go, and that page's READ would pin it again as a new
 * partial read. A READ marks the units it covers whole, the last unit
 * ending at the image's end; page-cache READs are whole pages, so every
 * unit gets marked. A unit only ever read in unaligned pieces (O_DIRECT
 * with odd offsets) is never marked: that image stays until displaced,
 * like one read in part. The record is one bit per unit, allocated when
 * the image joins the set: at most size/32768 + 8 bytes beside the image
 * it keeps. Memory beyond cache_size is therefore at most the
 * FSYS_READING_MAX images being read and their records (dscfs(1) MEMORY).
 *
 * When a READ finishes an image and no other is being read, the reads are
 * over for now: the heap is handed back (libfuse allocates each READ's
 * reply buffer and frees it; extractions trim on their own, produce.c).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "fsys.h"

static int acquire_errno(int err) { return err == ENOMEM ? -ENOMEM : -EIO; }

/* Remove slot k (lock held); its image's pin is the caller's to drop. */
static uint32_t reading_take(struct fsys *fs, unsigned k)
{
    uint32_t image = fs->reading[k].image;
    free(fs->reading[k].served);
    memmove(&fs->reading[k], &fs->reading[k + 1], (fs->nreading - k - 1) * sizeof *fs->reading);
    fs->nreading--;
    return image;
}

static uint64_t units_of(uint64_t bytes) { return (bytes + FSYS_READING_UNIT - 1) / FSYS_READING_UNIT; }

/* Mark the units that [off, off + n) covers whole as served. */
static void reading_mark(struct fsys_reading *r, uint64_t off, uint64_t n)
{
    uint64_t end = off + n == r->size ? units_of(r->size) : (off + n) / FSYS_READING_UNIT;
    for (uint64_t u = units_of(off); u < end; u++) {
        uint64_t bit = (uint64_t)1 << (u % 64);
        if (!(r->served[u / 64] & bit)) {
            r->served[u / 64] |= bit;
            r->left--;
        }
    }
}

/* Bytes [off, off + n) of `image` (pinned by the caller, `size` bytes in
 * all) went out. Returns true when the caller's pin now belongs to the
 * set; *drop is an image whose set pin the caller must release
 * (UINT32_MAX for none), *idle true when the set has just become empty.
 * An image the set cannot get a record for (out of memory) is not kept:
 * its later READs acquire it again. */
static bool reading_note(struct fsys *fs, uint32_t image, uint64_t off, uint64_t n, uint64_t size,
                         uint32_t *drop, bool *idle)
{
    bool kept = false;
    *drop = UINT32_MAX;
    pthread_mutex_lock(&fs->reading_lock);
    unsigned k = 0;
    while (k < fs->nreading && fs->reading[k].image != image)
        k++;
    struct fsys_reading r = {image, size, units_of(size), NULL};
    if (k < fs->nreading) {
        reading_mark(&fs->reading[k], off, n);
        if (!fs->reading[k].left)
            *drop = reading_take(fs, k);
    } else if ((off != 0 || n != size) && (r.served = calloc((r.left + 63) / 64, sizeof *r.served))) {
        if (fs->nreading == FSYS_READING_MAX)
            *drop = reading_take(fs, 0); /* the oldest */
        reading_mark(&r, off, n);
        fs->reading[fs->nreading++] = r;
        kept = true;
    }
    *idle = fs->nreading == 0 && (!kept || *drop != UINT32_MAX);
    pthread_mutex_unlock(&fs->reading_lock);
    return kept;
}

/* Account for bytes [off, off + n) of a pinned image and let go of what is
 * no longer needed: our pin, unless the set took it; a pin the set
 * dropped. */
static void reading_done(struct fsys *fs, uint32_t image, uint64_t off, uint64_t n, uint64_t size)
{
    uint32_t drop;
    bool idle;
    if (!reading_note(fs, image, off, n, size, &drop, &idle))
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
        reading_done(fs, image, (uint64_t)off, n, b->size);
    else
        store_release(fs->store, image);
    return (int)n;
}

int fsys_hold_image(struct fsys *fs, uint32_t image)
{
    const store_blob *b;
    int rc = store_acquire(fs->store, image, &b);
    if (!rc)
        reading_done(fs, image, 0, 0, b->size);
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

unsigned fsys_reading_count(struct fsys *fs, uint64_t *bytes)
{
    pthread_mutex_lock(&fs->reading_lock);
    unsigned n = fs->nreading;
    *bytes = 0;
    for (unsigned k = 0; k < n; k++)
        *bytes += fs->reading[k].size;
    pthread_mutex_unlock(&fs->reading_lock);
    return n;
}

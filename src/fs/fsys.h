/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsys.h — the state of one mounted cache, shared by the FUSE operations.
 *
 * Contract:
 *  - Built before the daemon forks (fsys_open); the tree and the cache are
 *    read-only afterwards. Per-image state (memoized size, failure, warnings)
 *    is guarded by `lock`; the extracted bytes live in the store, whose
 *    producer is fsys_produce().
 *  - After fsys_open, mapped cache bytes are touched only by the engine under
 *    the SIGBUS guard (produce.c); everything else uses copies made here.
 *  - An image whose extraction failed stays failed for the life of the
 *    mount (the cache is immutable; a truncated one does not heal): reads
 *    (opens, with -o open) get EIO at once and the reason is logged once.
 */
#ifndef DSCFS_FSYS_H
#define DSCFS_FSYS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "dsc/dsc.h"
#include "disk_store.h"
#include "store.h"
#include "tree.h"

/* What the daemon's anonymous memory may hold beyond cache_size and the
 * images being read now (dscfs(1) MEMORY): tree, image table, FUSE threads and
 * their buffers, heap slack. Measured 4-6 MiB on the 5134-image bench
 * cache with 8 threads. */
#define FSYS_FIXED_OVERHEAD ((uint64_t)32 << 20)

/* cache_size covers the engine's parsed export tries as well as the
 * extracted images: a quarter of it, at most this much, goes to the tries
 * (enough for every trie of a 5000-image cache a typical open needs). */
#define FSYS_EXPORTS_MAX ((uint64_t)32 << 20)

/* Images being read at once that stay pinned between their READs beyond
 * cache_size (reading.c). */
#define FSYS_READING_MAX 8
/* The unit of reading.c's coverage record: an image's bytes are served in
 * whole pages of the kernel's page cache, whose size is a multiple of it. */
#define FSYS_READING_UNIT 4096
/* How long a check of the cache files that passed stands for sizes
 * (fsys_cache_ok_lately): ls -lR of make bench's large cache sizes ~25
 * images a ms on 2 CPUs. */
#define FSYS_CHECK_MS 10

/* Tree payloads of the files under /.dscfs (image files carry their index). */
#define FSYS_INFO   (UINT32_MAX - 1)
#define FSYS_STATUS (UINT32_MAX - 2)

struct image_state {
    char *path;           /* install path, copied at mount: the cache's own
                           * bytes may become unreadable under the mount */
    uint64_t span;        /* to the next image's mach_header (0: the last):
                           * how long sizing it takes, roughly (warm.c) */
    uint64_t size;
    bool size_known;
    bool failed;
    char *error;          /* why it failed, when failed */
    char *warnings;       /* the engine's warnings from the last extraction */
    bool extracted;       /* at least once */
};

/* An image being read (reading.c): it holds one store pin. */
struct fsys_reading {
    uint32_t image;
    uint64_t size;        /* the image's, in bytes */
    uint64_t left;        /* units (FSYS_READING_UNIT) no READ has served yet */
    uint64_t *served;     /* one bit per unit: served since it was pinned */
};

/* Identity of a cache file at mount time, to notice it being replaced. */
struct file_id {
    char *path;           /* absolute: the daemon runs from / */
    dev_t dev;
    ino_t ino;
    unsigned dir;         /* its directory in fsys.dirs */
};

/* A directory holding cache files, as the last full check of their paths
 * saw it (fsys.c: fsys_cache_ok). */
struct dir_stamp {
    char *path;           /* absolute */
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
    bool settled;         /* changed well before it was seen: any later
                           * change shows as a different mtime */
};

struct warm;

struct fsys {
    dsc_cache *cache;
    char *cache_path;     /* absolute */
    tree *tree;
    uint32_t control;     /* node of /.dscfs, left out of readdir of / */
    store *store;         /* extracted images: cache_size less the tries' share */
    uint64_t budget;      /* cache_size */
    uint32_t nimages;
    uint32_t skipped_paths; /* install paths or aliases the tree refused */
    struct image_state *img;
    pthread_mutex_t lock;   /* guards img[] */
    struct file_id *files;
    unsigned nfiles;
    struct dir_stamp *dirs; /* the files' directories, each once */
    unsigned ndirs;
    pthread_mutex_t dirs_lock; /* guards the stamps in dirs[] */
    uint64_t checked_ns;    /* CLOCK_MONOTONIC when the last check that
                               passed began, or 0 (atomic) */
    struct timespec mtime;  /* of the main cache file: every timestamp */
    uint64_t total_bytes;   /* of all cache files, for statfs */
    uid_t uid;
    gid_t gid;
    unsigned extract_flags; /* dsc_extract_with flags (-o nosign); set before serving */
    struct warm *warm;      /* the sizing threads (warm.h), or NULL; set
                               before serving */
    bool to_syslog;         /* set once daemonized; stderr before */
    FILE *log;              /* -o log=FILE (appended, line-buffered), or NULL */
    unsigned max_read;      /* -o max_read=N, or 0: told to libfuse at init */
    bool open_requests;     /* answer OPEN (ops.c): -o open, or set at FUSE
                               init when the kernel has no no-open */
    pthread_mutex_t reading_lock;
    struct fsys_reading reading[FSYS_READING_MAX]; /* oldest first */
    unsigned nreading;
    pthread_mutex_t control_lock;
    char *control_text[2];  /* /.dscfs/info and status as last stat'ed (ops.c) */
    size_t control_len[2];
    uint64_t opens;         /* OPEN requests (atomic) */
    uint64_t reads;         /* READ requests of images (atomic) */
    unsigned engine_busy;   /* engine calls in flight (atomic; produce.c) */
    uint64_t work_since_release; /* bytes extracted or sized (atomic) */
    uint64_t releases;      /* times the cache pages were let go (atomic) */
    uint64_t extractions;   /* engine extractions started (atomic) */
    uint64_t sizes;         /* engine size computations started (atomic) */
    disk_store *disk;       /* -o cache_dir, or NULL */
    struct fuse *fuse;      /* set at FUSE init, NULL again after the loop:
                               for invalidations (ops.c; atomic) */
    bool control_handed;    /* a /.dscfs file's attributes were handed out
                               since the last invalidation (atomic) */
    uint64_t control_lost[2]; /* invalidations of info, status that found no
                               inode in the kernel (atomic; ops.c) */
};

/* Build the mount state over an opened cache (takes ownership of it).
 * Returns NULL after printing a one-line error. */
struct fsys *fsys_open(dsc_cache *cache, const char *cache_path, uint64_t budget);
/* Keep extracted images in DIR too, up to `limit` bytes (disk_store.h).
 * false after printing a one-line error. */
bool fsys_use_disk(struct fsys *fs, const char *dir, uint64_t limit);
void fsys_free(struct fsys *fs);

/* Log one line: to the -o log=FILE file when there is one (with a UTC
 * time and the pid, foreground or not); else stderr until the daemon
 * detaches (always with -f), then syslog. A trailing newline is dropped. */
void fsys_log(struct fsys *fs, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fsys_vlog(struct fsys *fs, int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Open FILE for -o log= (before the daemon forks); false after printing a
 * one-line error. */
bool fsys_open_log(struct fsys *fs, const char *file);

/* True while every cache file is still the one mounted, unchanged: its
 * size and mtime (fstat of the mapped file) and what its path names. Cheap
 * in the steady state: the paths are walked again only when a directory
 * holding them changed since (one stat per directory otherwise). */
bool fsys_cache_ok(struct fsys *fs);
/* fsys_cache_ok for sizes, which a listing computes by the thousand back
 * to back: a check that passed stands for FSYS_CHECK_MS after it began,
 * so the files are checked every few ms, not per image (a check is 13
 * system calls on make bench's 12-file cache: per image, and again after
 * the engine, they were ~15 ms of the daemon's CPU in an ls -lR). A size computed in that window
 * after a change may come from the changed bytes; no bytes are served
 * from them: extractions check every time (the read fails), and the next
 * check fails the sizes after it. */
bool fsys_cache_ok_lately(struct fsys *fs);

/* Exact size of image i's extracted file (memoized); 0 or a positive errno. */
int fsys_image_size(struct fsys *fs, uint32_t i, uint64_t *size);
/* True when image i is known to fail. */
bool fsys_image_failed(struct fsys *fs, uint32_t i);
/* True once image i has been extracted (it may have been evicted since). */
bool fsys_image_extracted(struct fsys *fs, uint32_t i);
/* Let go of the cache pages the engine touched and of the freed heap
 * (produce.c), unless an engine call is in flight or nothing was done
 * since the last time. The sizing threads call it once sizing pauses. */
void fsys_release(struct fsys *fs);
/* The store producer: extracts image `key` (guarded against SIGBUS). */
int fsys_produce(void *ctx, uint32_t key, store_blob *out);
/* An image's state may have changed (extracted, evicted, sized): the
 * kernel's attributes of the /.dscfs files, whose sizes follow their
 * text, are invalidated if any were handed out (ops.c). Cheap otherwise. */
void fsys_control_changed(struct fsys *fs);

/* A READ of image i (reading.c): up to `size` bytes at `off` (>= 0) into buf;
 * the count, or -EIO / -ENOMEM. */
int fsys_read_image(struct fsys *fs, uint32_t image, char *buf, size_t size, off_t off);
/* Extract image i if needed and keep it pinned as being read (-o open's
 * open); 0, -EIO or -ENOMEM. */
int fsys_hold_image(struct fsys *fs, uint32_t image);
/* Drop every pin of the images being read (at unmount). */
void fsys_reading_end(struct fsys *fs);
/* How many images are being read, and *bytes their sizes added up (the
 * bytes the set pins). */
unsigned fsys_reading_count(struct fsys *fs, uint64_t *bytes);

/* Text of /.dscfs/info and /.dscfs/status (report.c); malloc'ed, NULL
 * when out of memory. */
char *report_info(struct fsys *fs, size_t *len);
char *report_status(struct fsys *fs, size_t *len);
/* One image's state word: pending, extracting, resident, evicted, failed. */
const char *report_image_state(struct fsys *fs, uint32_t i);

/* The tree of a cache (build.c): images, framework links, aliases, and
 * /.dscfs (fs->control set to its node). Paths it must refuse are logged and counted. */
tree *build_tree(struct fsys *fs);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * disk_store.c — see disk_store.h. An entry's name is the hex SHA-256 of
 * its identity (cache UUID, dscfs version, extraction flags, image path)
 * plus ".dsc"; its header repeats that digest, so a file renamed or copied
 * into place under another name is foreign. The bytes are checked with a fast 64-bit
 * checksum, not SHA-256: it guards against truncation and corruption, not
 * against someone who can write DIR (who could write a matching SHA-256 as
 * easily), and the engine's SHA-256 runs at ~90-180 MB/s here, slower than
 * extracting the image again.
 */
#include "disk_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/sha256.h"
#include "config.h"

#define SUFFIX ".dsc"
#define NAME_LEN (2 * DSC_SHA256_LEN + sizeof SUFFIX - 1)
#define TMP_PREFIX ".tmp."
#define STALE_TMP_SECONDS 3600 /* a temporary this old was left by a crash */

static const char magic[8] = "DSCFSST1";

struct header {
    char magic[8];
    uint8_t id[DSC_SHA256_LEN]; /* identity digest, as in the name */
    uint64_t size;              /* bytes after the header */
    uint64_t check;             /* checksum() of those bytes */
};

struct disk_store {
    char *dir;
    int dirfd;
    uint8_t uuid[16];
    uint8_t flags[4];     /* dsc_extract_with flags, little-endian */
    pthread_mutex_t lock; /* guards stats; one eviction scan at a time */
    disk_store_stats stats;
};

/* ---- checksum: four independent multiply-rotate lanes over 32-byte
 * blocks (the shape of xxHash64's rounds), several GB/s ---- */

static uint64_t rotl(uint64_t x, unsigned r) { return x << r | x >> (64 - r); }

static uint64_t checksum(const uint8_t *p, size_t n)
{
    const uint64_t p1 = 0x9E3779B185EBCA87u, p2 = 0xC2B2AE3D27D4EB4Fu;
    uint64_t lane[4] = {p1, p2, ~p1, ~p2}, h = n * p1;
    size_t i = 0;
    for (; n - i >= 32; i += 32)
        for (unsigned k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            lane[k] = rotl(lane[k] + w * p2, 31) * p1;
        }
    for (unsigned k = 0; k < 4; k++)
        h = (h ^ rotl(lane[k], 7 * k + 1)) * p2;
    for (; i < n; i++)
        h = (h ^ p[i]) * p1;
    h ^= h >> 33;
    h *= p2;
    h ^= h >> 29;
    h *= p1;
    return h ^ h >> 32;
}

/* ---- names ---- */

static void identity(const disk_store *ds, const char *image, uint8_t id[DSC_SHA256_LEN])
{
    dsc_sha256_ctx c;
    dsc_sha256_init(&c);
    dsc_sha256_update(&c, ds->uuid, sizeof ds->uuid);
    dsc_sha256_update(&c, PACKAGE_VERSION, sizeof PACKAGE_VERSION); /* with its NUL */
    dsc_sha256_update(&c, ds->flags, sizeof ds->flags);
    dsc_sha256_update(&c, image, strlen(image));
    dsc_sha256_final(&c, id);
}

static void entry_name(const uint8_t id[DSC_SHA256_LEN], char name[NAME_LEN + 1])
{
    for (unsigned i = 0; i < DSC_SHA256_LEN; i++)
        snprintf(name + 2 * i, 3, "%02x", id[i]);
    memcpy(name + 2 * DSC_SHA256_LEN, SUFFIX, sizeof SUFFIX);
}

/* ---- I/O helpers ---- */

static bool read_all(int fd, void *buf, size_t n, off_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, off + (off_t)done);
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}

static bool write_all(int fd, const void *buf, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        done += (size_t)w;
    }
    return true;
}

static void count(disk_store *ds, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&ds->lock);
    *field += n;
    pthread_mutex_unlock(&ds->lock);
}

/* ---- eviction ---- */

struct victim {
    struct timespec used;
    uint64_t bytes;
    char name[NAME_LEN + 1];
};

static int older_first(const void *a, const void *b)
{
    const struct timespec *x = &((const struct victim *)a)->used, *y = &((const struct victim *)b)->used;
    if (x->tv_sec != y->tv_sec)
        return x->tv_sec < y->tv_sec ? -1 : 1;
    return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

static bool is_entry_name(const char *name)
{
    size_t len = strlen(name);
    return len == NAME_LEN && !strcmp(name + 2 * DSC_SHA256_LEN, SUFFIX) &&
           strspn(name, "0123456789abcdef") == 2 * DSC_SHA256_LEN;
}

/* Every entry of DIR, with stale temporaries removed; NULL when out of
 * memory or DIR cannot be read. */
static struct victim *list_entries(disk_store *ds, size_t *n, uint64_t *total)
{
    int fd = openat(ds->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct victim *v = NULL;
    size_t cap = 0;
    *n = 0;
    *total = 0;
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(d));) {
        struct stat st;
        if (fstatat(ds->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (!strncmp(e->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1)) {
            if (now - st.st_mtime > STALE_TMP_SECONDS)
                unlinkat(ds->dirfd, e->d_name, 0);
            continue;
        }
        if (!is_entry_name(e->d_name))
            continue;
        if (*n == cap) {
            struct victim *grown = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof *v);
            if (!grown) {
                free(v);
                closedir(d);
                return NULL;
            }
            v = grown;
        }
        v[*n].used = st.st_mtim;
        v[*n].bytes = (uint64_t)st.st_size;
        memcpy(v[*n].name, e->d_name, NAME_LEN + 1);
        *total += (uint64_t)st.st_size;
        (*n)++;
    }
    closedir(d);
    return v ? v : calloc(1, sizeof *v);
}

/* Rescan DIR; when over the limit, remove the least recently used entries
 * until 7/8 of it (so that rescans stay rare). Lock held. */
static void rescan(disk_store *ds)
{
    size_t n;
    uint64_t total;
    struct victim *v = list_entries(ds, &n, &total);
    if (!v)
        return;
    if (total > ds->stats.limit) {
        qsort(v, n, sizeof *v, older_first);
        uint64_t goal = ds->stats.limit - ds->stats.limit / 8;
        for (size_t i = 0; i < n && total > goal; i++)
            if (unlinkat(ds->dirfd, v[i].name, 0) == 0 || errno == ENOENT) {
                total -= v[i].bytes;
                ds->stats.evictions++;
            }
    }
    ds->stats.bytes = total;
    free(v);
}

/* ---- the store ---- */

disk_store *disk_store_open(const char *dir, uint64_t limit, const uint8_t uuid[16], unsigned flags)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return NULL;
    disk_store *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ds->dir = realpath(dir, NULL);
    if (ds->dirfd < 0 || !ds->dir || faccessat(ds->dirfd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
        int err = errno;
        disk_store_close(ds);
        errno = err;
        return NULL;
    }
    memcpy(ds->uuid, uuid, sizeof ds->uuid);
    for (unsigned i = 0; i < sizeof ds->flags; i++)
        ds->flags[i] = (uint8_t)(flags >> 8 * i);
    pthread_mutex_init(&ds->lock, NULL);
    ds->stats.limit = limit;
    rescan(ds);
    return ds;
}

void disk_store_close(disk_store *ds)
{
    if (!ds)
        return;
    if (ds->dirfd >= 0)
        close(ds->dirfd);
    if (ds->dir)
        pthread_mutex_destroy(&ds->lock);
    free(ds->dir);
    free(ds);
}

/* A bad entry: remove it, unless another writer has replaced it since it
 * was opened (then the name is no longer `fd`'s file). */
static void reject(disk_store *ds, int fd, const char *name)
{
    struct stat had, now;
    if (fstat(fd, &had) == 0 && fstatat(ds->dirfd, name, &now, 0) == 0 && had.st_ino == now.st_ino &&
        had.st_dev == now.st_dev)
        unlinkat(ds->dirfd, name, 0);
    count(ds, &ds->stats.rejected, 1);
}

/* Read and check the entry open on fd: 0, EINVAL when it is not a whole
 * entry of `id`, ENOMEM. */
static int read_entry(int fd, const uint8_t id[DSC_SHA256_LEN], void **data, size_t *size)
{
    struct stat st;
    struct header h;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof h || !read_all(fd, &h, sizeof h, 0) ||
        memcmp(h.magic, magic, sizeof magic) || memcmp(h.id, id, sizeof h.id) ||
        h.size != (uint64_t)st.st_size - sizeof h || h.size > SIZE_MAX)
        return EINVAL;
    void *buf = malloc(h.size ? (size_t)h.size : 1);
    if (!buf)
        return ENOMEM;
    if (!read_all(fd, buf, (size_t)h.size, sizeof h) || checksum(buf, (size_t)h.size) != h.check) {
        free(buf);
        return EINVAL;
    }
    *data = buf;
    *size = (size_t)h.size;
    return 0;
}

int disk_store_get(disk_store *ds, const char *image, void **data, size_t *size)
{
    uint8_t id[DSC_SHA256_LEN];
    char name[NAME_LEN + 1];
    identity(ds, image, id);
    entry_name(id, name);
    int fd = openat(ds->dirfd, name, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? ENOENT : read_entry(fd, id, data, size);
    if (rc == 0)
        futimens(fd, NULL); /* recently used: the LRU order is mtime */
    else if (rc == EINVAL)
        reject(ds, fd, name);
    if (fd >= 0)
        close(fd);
    count(ds, rc ? &ds->stats.misses : &ds->stats.hits, 1);
    return rc == ENOMEM ? ENOMEM : rc ? ENOENT : 0;
}

void disk_store_put(disk_store *ds, const char *image, const void *data, size_t size)
{
    if (size > ds->stats.limit - sizeof(struct header) || ds->stats.limit < sizeof(struct header))
        return; /* would evict itself */
    struct header h = {.size = size, .check = checksum(data, size)};
    memcpy(h.magic, magic, sizeof magic);
    identity(ds, image, h.id);
    char name[NAME_LEN + 1], *tmp = NULL;
    entry_name(h.id, name);
    if (asprintf(&tmp, "%s/" TMP_PREFIX "%s.XXXXXX", ds->dir, name) < 0) {
        count(ds, &ds->stats.write_errors, 1);
        return;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    bool ok = fd >= 0 && fchmod(fd, 0644) == 0 && write_all(fd, &h, sizeof h) && write_all(fd, data, size);
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    /* rename() replaces atomically: readers see the old entry or this one. */
    ok = ok && renameat(AT_FDCWD, tmp, ds->dirfd, name) == 0;
    if (!ok && fd >= 0)
        unlink(tmp);
    free(tmp);
    pthread_mutex_lock(&ds->lock);
    if (ok) {
        ds->stats.writes++;
        ds->stats.bytes += sizeof h + size;
        if (ds->stats.bytes > ds->stats.limit)
            rescan(ds);
    } else {
        ds->stats.write_errors++;
    }
    pthread_mutex_unlock(&ds->lock);
}

void disk_store_get_stats(disk_store *ds, disk_store_stats *out)
{
    pthread_mutex_lock(&ds->lock);
    *out = ds->stats;
    pthread_mutex_unlock(&ds->lock);
}

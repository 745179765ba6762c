/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * soak_read.c — `soak_read THREADS SECONDS MOUNT REF PATH...`: THREADS
 * readers, for SECONDS, each pick one of the install PATHs at random and
 * pread a random range of MOUNT/PATH, comparing it with the same range of
 * REF/PATH (an --extract-all of the same cache). A read that fails (EIO
 * once the cache has been cut or replaced), or that stops short with the
 * bytes it did return right (a later page failed), is counted, never
 * judged; a byte that differs, or a read longer than the file, is wrong.
 * Prints one line of figures:
 *   reads N bytes B failed F wrong W
 * and exits 1 when any byte was wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct file {
    int ref;                /* fd of the reference copy */
    char *mounted;          /* path under the mount */
    off_t size;
};

static struct file *files;
static int nfiles;
static double deadline;
static atomic_ullong reads, bytes, failed, wrong;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *reader(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    static _Thread_local char got[1 << 17], want[1 << 17];
    while (now() < deadline) {
        const struct file *f = &files[next(&seed) % (uint64_t)nfiles];
        if (!f->size)
            continue;
        off_t off = (off_t)(next(&seed) % (uint64_t)f->size);
        size_t len = 1 + next(&seed) % sizeof got;
        int fd = open(f->mounted, O_RDONLY);
        ssize_t n = fd < 0 ? -1 : pread(fd, got, len, off);
        if (fd >= 0)
            close(fd);
        atomic_fetch_add(&reads, 1);
        if (n < 0) {
            atomic_fetch_add(&failed, 1);
            continue;
        }
        ssize_t m = pread(f->ref, want, len, off);
        atomic_fetch_add(&bytes, (unsigned long long)n);
        bool same = n <= m && memcmp(got, want, (size_t)n) == 0;
        if (same && n < m) {
            /* Cut short where a later page failed (EIO): a failure. */
            atomic_fetch_add(&failed, 1);
        } else if (!same) {
            atomic_fetch_add(&wrong, 1);
            size_t at = 0;
            while (at < (size_t)n && at < (size_t)m && got[at] == want[at])
                at++;
            fprintf(stderr, "soak_read: %s: %zu bytes at %lld: got %zd, want %zd, first difference at +%zu\n",
                    f->mounted, len, (long long)off, n, m, at);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: soak_read THREADS SECONDS MOUNT REF PATH...\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    deadline = now() + atof(argv[2]);
    nfiles = argc - 5;
    files = calloc((size_t)nfiles, sizeof *files);
    for (int i = 0; i < nfiles; i++) {
        char ref[4096];
        snprintf(ref, sizeof ref, "%s%s", argv[4], argv[5 + i]);
        files[i].ref = open(ref, O_RDONLY);
        if (files[i].ref < 0 || asprintf(&files[i].mounted, "%s%s", argv[3], argv[5 + i]) < 0) {
            fprintf(stderr, "soak_read: %s: %s\n", ref, strerror(errno));
            return 2;
        }
        files[i].size = lseek(files[i].ref, 0, SEEK_END);
    }
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, reader, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("reads %llu bytes %llu failed %llu wrong %llu\n", (unsigned long long)reads, (unsigned long long)bytes,
           (unsigned long long)failed, (unsigned long long)wrong);
    for (int i = 0; i < nfiles; i++) {
        close(files[i].ref);
        free(files[i].mounted);
    }
    free(files);
    free(t);
    return wrong ? 1 : 0;
}

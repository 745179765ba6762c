/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fakestat.c — an LD_PRELOAD shim for mount_sigbus.sh. For the file whose
 * inode is $FAKESTAT_INO it makes stat/fstat report $FAKESTAT_SIZE bytes and
 * mtime $FAKESTAT_MTIME (seconds.nanoseconds), so a daemon's "has the cache
 * changed?" check passes after the file was truncated. That opens, at will,
 * the window a real truncation hits only by bad luck: the engine touching
 * mapped pages past the new end of file, which raises SIGBUS.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/stat.h>

static void disguise(int rc, struct stat *st)
{
    const char *ino = getenv("FAKESTAT_INO"), *size = getenv("FAKESTAT_SIZE"),
               *mtime = getenv("FAKESTAT_MTIME");
    if (rc != 0 || !ino || !size || !mtime || st->st_ino != strtoull(ino, NULL, 10))
        return;
    char *dot;
    st->st_size = (off_t)strtoll(size, NULL, 10);
    st->st_mtim.tv_sec = strtoll(mtime, &dot, 10);
    st->st_mtim.tv_nsec = *dot == '.' ? strtol(dot + 1, NULL, 10) : 0;
}

int fstat(int fd, struct stat *st)
{
    static int (*real)(int, struct stat *);
    if (!real)
        real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
    int rc = real(fd, st);
    disguise(rc, st);
    return rc;
}

int stat(const char *path, struct stat *st)
{
    static int (*real)(const char *, struct stat *);
    if (!real)
        real = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, "stat");
    int rc = real(path, st);
    disguise(rc, st);
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slowinfo.c — an LD_PRELOAD shim for mount_control.sh: fopen() of
 * /proc/self/status, which the daemon does once while it renders
 * /.dscfs/info (the memory lines, after the store's counters), sleeps
 * $SLOWINFO_MS milliseconds first. That opens, at will, the window a busy
 * daemon hits only by bad luck: an image event while a stat of a /.dscfs
 * file renders its text.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

FILE *fopen(const char *path, const char *mode)
{
    static FILE *(*real)(const char *, const char *);
    if (!real)
        real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
    const char *ms = getenv("SLOWINFO_MS");
    if (ms && !strcmp(path, "/proc/self/status")) {
        long n = strtol(ms, NULL, 10);
        struct timespec t = {n / 1000, n % 1000 * 1000000};
        nanosleep(&t, NULL);
    }
    return real(path, mode);
}

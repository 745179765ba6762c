/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_read.c — `bench_read ROUNDS FILE...`: open, read to the end and close
 * every FILE, ROUNDS times over, in one process (so the numbers are not
 * drowned by process start-up), and print "NANOSECONDS BYTES". Used by
 * bench/mount_bench.sh to compare a mount with the same files on tmpfs.
 * `bench_read -n ROUNDS FILE...` only opens and closes them (BYTES is 0):
 * the cost of the OPEN and RELEASE round trips alone.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    bool no_read = argc > 1 && !strcmp(argv[1], "-n");
    argv += no_read;
    argc -= no_read;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_read [-n] ROUNDS FILE...\n");
        return 2;
    }
    long rounds = strtol(argv[1], NULL, 10);
    static char buf[1 << 20];
    uint64_t bytes = 0, start = now_ns();
    for (long r = 0; r < rounds; r++) {
        for (int i = 2; i < argc; i++) {
            int fd = open(argv[i], O_RDONLY);
            if (fd < 0) {
                perror(argv[i]);
                return 1;
            }
            ssize_t n = 0;
            while (!no_read && (n = read(fd, buf, sizeof buf)) > 0)
                bytes += (uint64_t)n;
            close(fd);
            if (n < 0) {
                perror(argv[i]);
                return 1;
            }
        }
    }
    printf("%llu %llu\n", (unsigned long long)(now_ns() - start), (unsigned long long)bytes);
    return 0;
}

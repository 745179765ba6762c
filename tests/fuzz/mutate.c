/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mutate.c — mutation fuzzing of libdsc on real caches.
 *
 *     mutate [-n CASES] [-s SEED] CACHE...
 *
 * Each case copies one cache into an in-memory file, damages it with the
 * structure-aware damage the libFuzzer targets use too (structure.c: byte
 * flips, "interesting" integers over header, table and load-command
 * fields, duplicated segment commands, truncation), then opens it and
 * drives every reader on it. A case passes
 * when libdsc either works or fails with a one-line message naming the
 * file; crashes, hangs and sanitizer reports fail the whole run (the suite
 * runs this under ASan+UBSan in CI). Deterministic for a given seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsc/dsc.h"
#include "exercise.h"
#include "structure.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: small, fast, reproducible across platforms. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mutate: %s: %s\n", path, strerror(errno));
        exit(99);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "mutate: cannot read %s\n", path);
        exit(99);
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static uint64_t rnd_state(void *state)
{
    (void)state;
    return rnd();
}

int main(int argc, char **argv)
{
    unsigned long cases = 1000;
    uint64_t seed = 0x5eed;
    int opt;
    while ((opt = getopt(argc, argv, "n:s:")) != -1) {
        if (opt == 'n')
            cases = strtoul(optarg, NULL, 0);
        else if (opt == 's')
            seed = strtoull(optarg, NULL, 0);
        else
            return 2;
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: mutate [-n CASES] [-s SEED] CACHE...\n");
        return 2;
    }
    rng_state = seed ? seed : 1;
    int fd = memfd_create("dsc-mutant", MFD_CLOEXEC);
    if (fd < 0) {
        perror("mutate: memfd_create");
        return 99;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    unsigned long opened = 0, refused = 0;
    for (int ci = optind; ci < argc; ci++) {
        size_t size;
        uint8_t *orig = slurp(argv[ci], &size);
        uint8_t *work = malloc(size);
        for (unsigned long i = 0; i < cases; i++) {
            memcpy(work, orig, size);
            size_t n = fuzz_damage(work, size, rnd_state, NULL);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, work, n, 0) != (ssize_t)n) {
                perror("mutate: writing the mutant");
                return 99;
            }
            dsc_cache *c;
            dsc_error err;
            if (dsc_cache_open(path, &c, &err) != 0) {
                if (!strstr(err.msg, path) || strchr(err.msg, '\n')) {
                    fprintf(stderr, "mutate: bad error message for case %lu: %s\n", i, err.msg);
                    return 1;
                }
                refused++;
                continue;
            }
            opened++;
            exercise_cache(c);
            dsc_cache_close(c);
        }
        free(work);
        free(orig);
    }
    printf("mutate: %lu cases: %lu opened and exercised, %lu refused with a message\n",
           opened + refused, opened, refused);
    close(fd);
    return 0;
}

/*
 * bench_extract.c — `make bench`: extraction speed and memory, each as a
 * ratio against a baseline measured in the same run on the same machine.
 *
 *   throughput: MB of output per second on one core for the cache's largest
 *               image, against memcpy of the same number of bytes;
 *   size:       dsc_extract_size against dsc_extract (what `ls -l` costs);
 *   memory:     peak RSS (wait4 ru_maxrss) of `dscfs --extract-all -j N`
 *               against `cp` of the cache file.
 *
 * usage: bench_extract DSCFS CACHE [JOBS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dsc/dsc.h"

#define MIN_SECONDS 0.5

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds per call of `fn`, repeated until MIN_SECONDS have passed. */
static double per_call(void (*fn)(void *), void *ctx)
{
    unsigned long n = 0;
    double t0 = now(), t;
    do {
        fn(ctx);
        n++;
    } while ((t = now()) - t0 < MIN_SECONDS);
    return (t - t0) / (double)n;
}

struct job {
    const dsc_cache *cache;
    uint32_t image;
    uint8_t *src, *dst;
    size_t size;
};

static void run_extract(void *ctx)
{
    struct job *j = ctx;
    dsc_output o;
    dsc_error err;
    if (dsc_extract(j->cache, j->image, &o, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    dsc_output_free(&o);
}

static void run_size(void *ctx)
{
    struct job *j = ctx;
    uint64_t size;
    dsc_error err;
    if (dsc_extract_size(j->cache, j->image, &size, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
}

static void run_memcpy(void *ctx)
{
    struct job *j = ctx;
    memcpy(j->dst, j->src, j->size);
    __asm__ volatile("" : : "r"(j->dst) : "memory"); /* keep the copy */
}

/* Peak RSS in KiB of running argv to completion; exits on failure. */
static long peak_rss(char *const argv[])
{
    fflush(stdout); /* or the child would print our buffer again */
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "bench: %s failed\n", argv[0]);
        exit(1);
    }
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_extract DSCFS CACHE [JOBS]\n");
        return 2;
    }
    const char *dscfs = argv[1], *cache_path = argv[2], *jobs = argc > 3 ? argv[3] : "2";
    dsc_cache *c;
    dsc_error err;
    if (dsc_cache_open(cache_path, &c, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    struct job j = {.cache = c};
    uint64_t largest = 0;
    for (uint32_t i = 0; i < dsc_cache_get_info(c)->image_count; i++) {
        uint64_t size;
        if (dsc_extract_size(c, i, &size, &err) == 0 && size > largest) {
            largest = size;
            j.image = i;
        }
    }
    j.size = largest;
    j.src = malloc(j.size);
    j.dst = malloc(j.size);
    if (!j.src || !j.dst)
        return 1;
    memset(j.src, 0x5a, j.size);
    double t_extract = per_call(run_extract, &j), t_size = per_call(run_size, &j), t_copy = per_call(run_memcpy, &j);
    double mb = (double)j.size / 1e6;
    printf("cache: %s\n", cache_path);
    printf("largest image: %s (%.3f MB)\n", dsc_image_at(c, j.image)->path, mb);
    printf("extract: %.1f MB/s per core; memcpy of the same bytes: %.1f MB/s; ratio %.4f\n", mb / t_extract,
           mb / t_copy, t_copy / t_extract);
    printf("dsc_extract_size: %.1f us, dsc_extract: %.1f us; size costs %.2f of an extraction\n", t_size * 1e6,
           t_extract * 1e6, t_size / t_extract);

    char dir[] = "/tmp/dsc_bench_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char out_dir[sizeof dir + 8], copy[sizeof dir + 8];
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    char *extract_all[] = {(char *)dscfs, "--extract-all", (char *)cache_path, out_dir, "-j", (char *)jobs, NULL};
    char *cp[] = {"cp", (char *)cache_path, copy, NULL};
    long rss_extract = peak_rss(extract_all), rss_cp = peak_rss(cp);
    printf("peak RSS: --extract-all -j %s %ld KiB, cp of the cache %ld KiB; ratio %.2f\n", jobs, rss_extract, rss_cp,
           (double)rss_extract / (double)rss_cp);
    char *rm[] = {"rm", "-rf", dir, NULL};
    peak_rss(rm);
    free(j.src);
    free(j.dst);
    dsc_cache_close(c);
    return 0;
}

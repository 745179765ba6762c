/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_extract.c — `make bench`: extraction speed and memory, each as a
 * ratio against a baseline measured in the same run on the same machine.
 *
 *   throughput: MB of output per second on one core for the cache's largest
 *               image, against memcpy of the same number of bytes;
 *   size:       dsc_extract_size against dsc_extract (what `ls -l` costs);
 *   whole cache: `dscfs --extract-all -j N` wall time and peak RSS (wait4
 *               ru_maxrss) against `cp -r` of the tree it wrote (the same
 *               bytes, files and directories), both into WORKDIR.
 *
 * Besides the prose, every number goes out as one line for bench/run.sh's
 * table: "R|LABEL|metric|value|baseline|ratio".
 *
 * usage: bench_extract DSCFS CACHE LABEL [JOBS [WORKDIR]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
    dsc_output o = {.struct_size = sizeof o};
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

/* Peak RSS in KiB of running argv to completion, its wall time in *secs;
 * exits on failure. */
static long run_child(char *const argv[], double *secs)
{
    double t0 = now();
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
    if (secs)
        *secs = now() - t0;
    return ru.ru_maxrss;
}

static const char *label;

static void result(const char *metric, const char *value, const char *baseline, double ratio)
{
    printf("R|%s|%s|%s|%s|%.3g\n", label, metric, value, baseline, ratio);
}

/* Bytes of the regular files under dir (du -sb would count directories). */
static uint64_t tree_bytes(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "find '%s' -type f -printf '%%s\\n' | awk '{ s += $1 } END { printf \"%%.0f\", s }'", dir);
    FILE *f = popen(cmd, "r");
    unsigned long long n = 0;
    if (!f || fscanf(f, "%llu", &n) != 1) {
        fprintf(stderr, "bench: cannot size %s\n", dir);
        exit(1);
    }
    pclose(f);
    return n;
}

/* --extract-all -j jobs into workdir/out, then cp -r of that tree. */
static void whole_cache(const char *dscfs, const char *cache_path, const char *jobs, const char *workdir)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s/dsc_bench_XXXXXX", workdir) >= sizeof dir) {
        fprintf(stderr, "bench: %s: path too long\n", workdir);
        exit(1);
    }
    if (!mkdtemp(dir)) {
        perror(dir);
        exit(1);
    }
    char out_dir[sizeof dir + 8], copy[sizeof dir + 8];
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    char *extract_all[] = {(char *)dscfs, "--extract-all", (char *)cache_path, out_dir, "-j", (char *)jobs, NULL};
    char *cp[] = {"cp", "-r", out_dir, copy, NULL};
    double t_all, t_cp;
    long rss_all = run_child(extract_all, &t_all);
    long rss_cp = run_child(cp, &t_cp);
    double mb = (double)tree_bytes(out_dir) / 1e6;
    int njobs = atoi(jobs) > 0 ? atoi(jobs) : 1;
    printf("--extract-all -j %s: %.1f MB in %.2f s = %.1f MB/s (%.1f per core); cp -r of that tree: %.2f s = %.1f MB/s\n",
           jobs, mb, t_all, mb / t_all, mb / t_all / njobs, t_cp, mb / t_cp);
    printf("peak RSS: --extract-all -j %s %ld KiB, cp -r of its output %ld KiB; ratio %.2f\n", jobs, rss_all, rss_cp,
           (double)rss_all / (double)rss_cp);
    char v[128], b[128], m[128];
    snprintf(m, sizeof m, "--extract-all -j %s (%.0f MB out)", jobs, mb);
    snprintf(v, sizeof v, "%.0f MB/s (%.2f s)", mb / t_all, t_all);
    snprintf(b, sizeof b, "cp -r of the output %.0f MB/s", mb / t_cp);
    result(m, v, b, t_all / t_cp);
    snprintf(m, sizeof m, "--extract-all -j %s peak RSS", jobs);
    snprintf(v, sizeof v, "%.1f MiB", rss_all / 1024.0);
    snprintf(b, sizeof b, "cp -r %.1f MiB", rss_cp / 1024.0);
    result(m, v, b, (double)rss_all / (double)rss_cp);
    char *rm[] = {"rm", "-rf", dir, NULL};
    run_child(rm, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_extract DSCFS CACHE LABEL [JOBS [WORKDIR]]\n");
        return 2;
    }
    const char *dscfs = argv[1], *cache_path = argv[2], *jobs = argc > 4 ? argv[4] : "2";
    const char *workdir = argc > 5 ? argv[5] : "/tmp";
    label = argv[3];
    /* First, while this process is small: a child's ru_maxrss counts the
     * pages it shared with us between fork and exec. */
    whole_cache(dscfs, cache_path, jobs, workdir);
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
    memset(j.dst, 0xa5, j.size);
    double t_extract = per_call(run_extract, &j), t_size = per_call(run_size, &j), t_copy = per_call(run_memcpy, &j);
    double mb = (double)j.size / 1e6;
    printf("cache: %s\n", cache_path);
    printf("largest image: %s (%.3f MB)\n", dsc_cache_get_image(c, j.image)->path, mb);
    printf("extract: %.1f MB/s per core; memcpy of the same bytes: %.1f MB/s; ratio %.4f\n", mb / t_extract,
           mb / t_copy, t_copy / t_extract);
    printf("dsc_extract_size: %.1f us, dsc_extract: %.1f us; size costs %.2f of an extraction\n", t_size * 1e6,
           t_extract * 1e6, t_size / t_extract);
    char m[160], v[128], b[128];
    snprintf(m, sizeof m, "extract largest image (%.2f MB)", mb);
    snprintf(v, sizeof v, "%.0f MB/s/core (%.0f us)", mb / t_extract, t_extract * 1e6);
    snprintf(b, sizeof b, "memcpy %.0f MB/s", mb / t_copy);
    result(m, v, b, t_extract / t_copy);
    snprintf(v, sizeof v, "%.0f us", t_size * 1e6);
    snprintf(b, sizeof b, "dsc_extract %.0f us", t_extract * 1e6);
    result("dsc_extract_size, largest image", v, b, t_size / t_extract);
    free(j.src);
    free(j.dst);
    dsc_cache_close(c);
    return 0;
}

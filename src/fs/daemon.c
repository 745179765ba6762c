/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.c — `dscfs [-f] [-d] [-s] [-o opt,...] CACHE MOUNTPOINT`: parse the
 * options, open the cache (errors are reported here, before anything forks),
 * build the mount state, then mount, daemonize and serve until unmounted or
 * sent SIGINT/SIGTERM/SIGHUP. Also what mount.fuse3 runs for fstab lines.
 */
#include "fs.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fsys.h"
#include "guard.h"
#include "mountpoint.h"
#include "open.h"
#include "ops.h"
#include "warm.h"

#include <fuse_lowlevel.h>

#define DEFAULT_CACHE_SIZE "512M"
#define DEFAULT_CACHE_DIR_SIZE "4G"
#define MMAP_THRESHOLD (1 << 20)
#define TRIM_THRESHOLD (64 << 20)

struct options {
    char *cache;
    char *cache_size;
    char *cache_dir;      /* -o cache_dir=DIR: extracted images kept on disk */
    char *cache_dir_size;
    int nowarm;    /* -o nowarm: sizes only when asked for */
    int nonempty;  /* -o nonempty: mount over a non-empty dir or a mount */
    char *fsname;  /* -o fsname=NAME: the user's name for the mount */
    const char *mountpoint; /* the second positional argument (in argv) */
    int nosign;    /* -o nosign: outputs without a code signature */
    char *log;     /* -o log=FILE: the daemon's messages, instead of syslog */
    unsigned max_read; /* -o max_read=N, also left for libfuse */
    int open;      /* -o open: answer OPEN (no-open off) */
    int nonopts;   /* positional arguments seen */
};

static const struct fuse_opt option_spec[] = {
    {"cache_size=%s", offsetof(struct options, cache_size), 0},
    {"cache_dir=%s", offsetof(struct options, cache_dir), 0},
    {"cache_dir_size=%s", offsetof(struct options, cache_dir_size), 0},
    {"nowarm", offsetof(struct options, nowarm), 1},
    {"nonempty", offsetof(struct options, nonempty), 1},
    {"fsname=%s", offsetof(struct options, fsname), 0},
    {"nosign", offsetof(struct options, nosign), 1},
    {"log=%s", offsetof(struct options, log), 0},
    {"max_read=%u", offsetof(struct options, max_read), 0},
    FUSE_OPT_KEY("max_read=", FUSE_OPT_KEY_KEEP),
    {"open", offsetof(struct options, open), 1},
    FUSE_OPT_END,
};

void fs_usage(FILE *out)
{
    fprintf(out,
            "usage: dscfs [-f] [-d] [-s] [-o opt,...] CACHE MOUNTPOINT\n"
            "\n"
            "dscfs options:\n"
            "  -o cache_size=SIZE  bytes of extracted images kept in memory (LRU);\n"
            "                      K, M, G, T suffixes (powers of 1024); default %s\n"
            "  -o nowarm           do not compute image sizes in the background\n"
            "  -o nonempty         mount on a non-empty directory or over a mount\n"
            "  -o fsname=NAME      the mount's name in mount(8) (default: the cache)\n"
            "  -o nosign           leave out the ad-hoc code signature of every image\n"
            "  -o cache_dir=DIR    also keep extracted images in DIR, for later mounts\n"
            "  -o cache_dir_size=SIZE  bytes DIR may hold (LRU); default %s\n"
            "  -o log=FILE         append the daemon's messages to FILE (default:\n"
            "                      syslog once in the background, stderr with -f)\n"
            "  -o open             have the kernel send every open and close (slower\n"
            "                      cached reads; a failing image fails at open)\n"
            "\n"
            "common FUSE options:\n"
            "  -f                  stay in the foreground (log to stderr)\n"
            "  -d                  debug output (implies -f)\n"
            "  -s                  single-threaded\n"
            "  -o allow_other      let other users see the mount\n"
            "  -o max_read=N       largest read request, in bytes\n"
            "  -o max_idle_threads=N, -o clone_fd, ...: see mount.fuse3(8)\n",
            DEFAULT_CACHE_SIZE, DEFAULT_CACHE_DIR_SIZE);
}

/* The first positional argument is the cache; the second (the mountpoint)
 * is noted, to be checked before fuse_parse_cmdline (whose own complaint
 * is a usage error), and left to it. */
static int take_positional(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct options *o = data;
    if (key != FUSE_OPT_KEY_NONOPT)
        return 1;
    if (o->nonopts++ == 0) {
        o->cache = strdup(arg);
        return 0;
    }
    if (o->nonopts == 2)
        o->mountpoint = arg;
    return 1;
}

/* "512M" -> bytes; false on anything malformed or zero. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return false;
    uint64_t v = strtoull(s, &end, 10);
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B') /* accept 512MiB / 512MB spellings */
        end += end[0] == 'i' && end[1] == 'B' ? 2 : 1;
    if (errno || *end || v == 0 || v > (UINT64_MAX >> shift))
        return false;
    *out = v << shift;
    return true;
}

/* libfuse's own messages (an INIT it rejects, a lost connection) go where
 * ours go once the daemon has detached: syslog or -o log=FILE. */
static struct fsys *fuse_log_target;
static void fuse_log_to_fsys(enum fuse_log_level level, const char *fmt, va_list ap)
{
    fsys_vlog(fuse_log_target, (int)level, fmt, ap); /* the levels are syslog's */
}

/* Mount, daemonize, serve (with size warming unless `nowarm`). Returns the
 * exit status. */
static int serve(struct fuse_args *args, struct fuse_cmdline_opts *cmd, struct fsys *fs, bool nowarm)
{
    struct fuse *f = fuse_new(args, &fsys_ops, sizeof fsys_ops, fs);
    if (!f) /* libfuse has said which option it does not know: usage */
        return 2;
    int status = 1;
    if (fuse_mount(f, cmd->mountpoint) != 0)
        goto out_destroy;
    if (fuse_daemonize(cmd->foreground) != 0)
        goto out_unmount;
    if (!cmd->foreground) {
        openlog("dscfs", LOG_PID, LOG_DAEMON);
        fs->to_syslog = true;
    }
    if (!cmd->foreground || fs->log) {
        fuse_log_target = fs;
        fuse_set_log_func(fuse_log_to_fsys);
    }
    struct fuse_session *se = fuse_get_session(f);
    if (fuse_set_signal_handlers(se) != 0 || guard_install() != 0)
        goto out_unmount;
    fsys_log(fs, LOG_INFO, "%s mounted on %s", fs->cache_path, cmd->mountpoint);
    const char *warning = dsc_cache_get_info(fs->cache)->warning;
    if (warning)
        fsys_log(fs, LOG_WARNING, "%s: warning: %s", fs->cache_path, warning);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    warm_start(fs, cpus > 1 ? (unsigned)cpus : 1, !nowarm);
    int rc = cmd->singlethread ? fuse_loop(f) : fuse_loop_mt(f, cmd->clone_fd);
    warm_stop(fs->warm);
    status = rc == 0 || rc == SIGINT || rc == SIGTERM || rc == SIGHUP ? 0 : 1;
    if (status)
        fsys_log(fs, LOG_ERR, "the FUSE event loop ended with %d", rc);
    fuse_remove_signal_handlers(se);
out_unmount:
    fuse_unmount(f);
out_destroy:
    fuse_destroy(f);
    return status;
}

int fs_main(int argc, char **argv)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct options o = {0};
    struct fuse_cmdline_opts cmd = {0};
    struct fsys *fs = NULL;
    int status = 2;
    uint64_t budget = 0;

    /* A fixed threshold (glibc raises it as big blocks are freed otherwise):
     * extracted images and the engine's big temporaries get a mapping of
     * their own and go back to the system when freed, instead of staying
     * as free space in the arenas of the threads that extracted them.
     * 1 MiB, not 128 KiB: every size computed mapped, faulted in and
     * unmapped (TLB shootdowns on the other CPUs) its 128 KiB-1 MiB
     * temporaries; ls -lR of make bench's large cache took ~40 ms more
     * daemon CPU of ~720, and the memory rows did not move (anonymous
     * after reading every image at cache_size=64M 69.3 MiB either way,
     * RSS after one open 5.0 / 9.4 MiB, was 4.8 / 9.3). */
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    /* Freeing does not shrink the heap (default: once 128 KiB is free at
     * its top): a listing sizes thousands of images back to back, and each
     * size gave its temporaries back to the system and faulted them in
     * again for the next. The heap is still handed back when sizing pauses
     * and after reads (produce.c, reading.c: malloc_trim ignores this
     * threshold), so the memory between requests does not change. */
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    /* Arenas: 4 per CPU. With one for every thread (cb57a88: the soak's
     * idle RSS, 11 arenas by default) the threads that size a listing at
     * once (warm.c) waited on each other's malloc: ls -lR of make
     * bench's large cache, 2 CPUs, 904 ms sizing on one thread, 1095 ms on
     * two with one arena, 843 with 2, 682 with 8. The soak smoke stays flat
     * (4.0 MB idle vs 3.4 with one arena) and anonymous memory after reading
     * every image at cache_size=64M is 68 MiB vs 66. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    mallopt(M_ARENA_MAX, cpus > 1 ? 4 * (int)cpus : 4);

    /* Verbs are "--word"; FUSE takes none, so this is a misspelt verb. */
    if (argc > 1 && !strncmp(argv[1], "--", 2)) {
        fprintf(stderr, "dscfs: unknown verb %s (see dscfs --help)\n", argv[1]);
        return 2;
    }
    if (fuse_opt_parse(&args, &o, option_spec, take_positional) != 0)
        goto out;
    if (o.mountpoint && o.nonopts == 2 && mountpoint_check(o.mountpoint, o.nonempty) != 0) {
        status = 1;
        goto out;
    }
    if (fuse_parse_cmdline(&args, &cmd) != 0)
        goto out;
    if (cmd.show_help) {
        fs_usage(stdout);
        status = 0;
        goto out;
    }
    if (!o.cache || !cmd.mountpoint || o.nonopts > 2) {
        fs_usage(stderr);
        goto out;
    }
    if (!parse_size(o.cache_size ? o.cache_size : DEFAULT_CACHE_SIZE, &budget)) {
        fprintf(stderr, "dscfs: cache_size=%s: expected a size such as 512M\n", o.cache_size);
        goto out;
    }
    uint64_t dir_limit = 0;
    if (!parse_size(o.cache_dir_size ? o.cache_dir_size : DEFAULT_CACHE_DIR_SIZE, &dir_limit)) {
        fprintf(stderr, "dscfs: cache_dir_size=%s: expected a size such as 4G\n", o.cache_dir_size);
        goto out;
    }
    status = 1;
    dsc_cache *cache = cli_open(o.cache);
    if (!cache)
        goto out;
    fs = fsys_open(cache, o.cache, budget);
    if (!fs)
        goto out;
    fs->extract_flags = o.nosign ? DSC_EXTRACT_UNSIGNED : 0; /* before cache_dir: part of its keys */
    fs->max_read = o.max_read;
    fs->open_requests = o.open;
    if (o.log && !fsys_open_log(fs, o.log))
        goto out;
    if (o.cache_dir && !fsys_use_disk(fs, o.cache_dir, dir_limit))
        goto out;
    /* Read-only whatever the command line says; name the mount after the
     * cache (unless -o fsname= names it) so mount(8) and df(1) show it. */
    char *fsname = mountpoint_fixed_opts(o.fsname ? o.fsname : fs->cache_path);
    if (!fsname || fuse_opt_add_arg(&args, fsname) != 0) {
        free(fsname);
        fprintf(stderr, "dscfs: out of memory\n");
        goto out;
    }
    free(fsname);
    status = serve(&args, &cmd, fs, o.nowarm);
out:
    fuse_set_log_func(NULL); /* back to stderr before fs goes */
    if (fs)
        ops_stopped(fs);
    fsys_free(fs);
    free(cmd.mountpoint);
    free(o.cache);
    free(o.cache_size);
    free(o.fsname);
    free(o.log);
    free(o.cache_dir);
    free(o.cache_dir_size);
    fuse_opt_free_args(&args);
    return status;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.c — the text of /.dscfs/info (cache header summary, store
 * statistics and the daemon's memory, "key = value" lines) and
 * /.dscfs/status (one tab-separated line per image: state, size, warning
 * count, path, error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsys.h"

const char *report_image_state(struct fsys *fs, uint32_t i)
{
    pthread_mutex_lock(&fs->lock);
    bool failed = fs->img[i].failed, extracted = fs->img[i].extracted;
    pthread_mutex_unlock(&fs->lock);
    if (failed)
        return "failed";
    switch (store_key_state(fs->store, i)) {
    case STORE_BUSY: return "extracting";
    case STORE_READY: return "resident";
    case STORE_ABSENT: break;
    }
    return extracted ? "evicted" : "pending";
}

/* "key = value" lines of numbers. */
struct kv {
    const char *key;
    uint64_t value;
};

static void print_kvs(FILE *f, const struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s = %llu\n", kv[i].key, (unsigned long long)kv[i].value);
}

static void print_store(FILE *f, struct fsys *fs)
{
    store_stats st;
    store_get_stats(fs->store, &st);
    uint64_t reading_bytes;
    unsigned reading = fsys_reading_count(fs, &reading_bytes);
    const struct kv kv[] = {
        {"store.budget", st.budget},       {"store.resident", st.resident},
        {"store.pinned", st.pinned},       {"store.peak_resident", st.peak_resident},
        {"store.peak_unpinned", st.peak_unpinned}, {"store.entries", st.entries},
        {"store.hits", st.hits},           {"store.misses", st.misses},
        {"store.waits", st.waits},         {"store.failures", st.failures},
        {"store.evictions", st.evictions},
        {"extractions", __atomic_load_n(&fs->extractions, __ATOMIC_RELAXED)},
        {"sizes", __atomic_load_n(&fs->sizes, __ATOMIC_RELAXED)},
        {"requests.open", __atomic_load_n(&fs->opens, __ATOMIC_RELAXED)},
        {"requests.read", __atomic_load_n(&fs->reads, __ATOMIC_RELAXED)},
        {"reading", reading},              {"reading.bytes", reading_bytes},
    };
    print_kvs(f, kv, sizeof kv / sizeof *kv);
}

/* The disk store's statistics (-o cache_dir), as persist.* lines. */
static void print_disk(FILE *f, struct fsys *fs)
{
    if (!fs->disk)
        return;
    disk_store_stats st;
    disk_store_get_stats(fs->disk, &st);
    const struct kv kv[] = {
        {"persist.limit", st.limit},   {"persist.bytes", st.bytes},
        {"persist.hits", st.hits},     {"persist.misses", st.misses},
        {"persist.writes", st.writes}, {"persist.write_errors", st.write_errors},
        {"persist.rejected", st.rejected}, {"persist.evictions", st.evictions},
    };
    print_kvs(f, kv, sizeof kv / sizeof *kv);
}

/* The daemon's resident memory from /proc/self/status: anonymous (what
 * cache_size bounds with the store and the parsed export tries in it, see
 * dscfs(1) MEMORY) and file-backed (mapped cache
 * pages, released after each extraction; RssShmem when the cache is on
 * tmpfs). Not printed where /proc is not there. */
static void print_memory(FILE *f, struct fsys *fs)
{
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long anon = 0, file = 0, shmem = 0, kb;
    bool seen = false;
    while (st && fgets(line, sizeof line, st)) {
        if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
            anon = kb, seen = true;
        else if (sscanf(line, "RssFile: %llu kB", &kb) == 1)
            file = kb;
        else if (sscanf(line, "RssShmem: %llu kB", &kb) == 1)
            shmem = kb;
    }
    if (st)
        fclose(st);
    if (seen) {
        fprintf(f, "memory.anonymous = %llu\n", anon << 10);
        fprintf(f, "memory.file = %llu\n", (file + shmem) << 10);
    }
    fprintf(f, "memory.cache_size = %llu\n", (unsigned long long)fs->budget);
    fprintf(f, "memory.exports = %llu\n", (unsigned long long)dsc_cache_get_export_memory(fs->cache));
    fprintf(f, "memory.fixed_overhead = %llu\n", (unsigned long long)FSYS_FIXED_OVERHEAD);
    fprintf(f, "memory.releases = %llu\n",
            (unsigned long long)__atomic_load_n(&fs->releases, __ATOMIC_RELAXED));
}

char *report_info(struct fsys *fs, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    const dsc_cache_info *in = dsc_cache_get_info(fs->cache);
    char uuid[37];
    fprintf(f, "cache = %s\n", fs->cache_path);
    fprintf(f, "arch = %s\n", in->arch_name);
    if (in->has_uuid) {
        dsc_uuid_format(in->uuid, uuid);
        fprintf(f, "uuid = %s\n", uuid);
    }
    if (in->platform)
        fprintf(f, "platform = %s\n", dsc_platform_name(in->platform));
    if (in->os_version)
        fprintf(f, "os_version = %u.%u.%u\n", in->os_version >> 16, (in->os_version >> 8) & 0xff,
                in->os_version & 0xff);
    fprintf(f, "base_address = 0x%llx\n", (unsigned long long)in->base_address);
    fprintf(f, "files = %u\n", in->file_count);
    fprintf(f, "mappings = %u\n", in->mapping_count);
    fprintf(f, "images = %u\n", in->image_count);
    fprintf(f, "aliases = %u\n", in->alias_count);
    fprintf(f, "skipped_paths = %u\n", fs->skipped_paths);
    if (in->warning)
        fprintf(f, "warning = %s\n", in->warning);
    fprintf(f, "cache_intact = %s\n", fsys_cache_ok(fs) ? "yes" : "no");
    fprintf(f, "signed = %s\n", fs->extract_flags & DSC_EXTRACT_UNSIGNED ? "no" : "yes");
    print_store(f, fs);
    print_disk(f, fs);
    print_memory(f, fs);
    return fclose(f) == 0 ? buf : (free(buf), NULL);
}

/* A path or message from the cache, escaped (dsc_path_escape) so that each
 * image stays on one line of its own. Paths are at most 1024 bytes and
 * messages DSC_ERROR_MAX: nothing is cut short. */
static void put_escaped(FILE *f, const char *s)
{
    char esc[DSC_ESCAPED_SIZE(1024)];
    fputs(dsc_path_escape(esc, sizeof esc, s), f);
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; s && *s; s++)
        n += *s == '\n' || s[1] == '\0';
    return n;
}

char *report_status(struct fsys *fs, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    fputs("# state\tsize\twarnings\tpath\terror\n", f);
    for (uint32_t i = 0; i < fs->nimages; i++) {
        const char *state = report_image_state(fs, i);
        pthread_mutex_lock(&fs->lock);
        const struct image_state *st = &fs->img[i];
        fprintf(f, "%s\t", state);
        if (st->size_known)
            fprintf(f, "%llu\t", (unsigned long long)st->size);
        else
            fputs("-\t", f);
        if (st->extracted)
            fprintf(f, "%u\t", count_lines(st->warnings));
        else
            fputs("-\t", f);
        put_escaped(f, st->path);
        fputc('\t', f);
        put_escaped(f, st->error ? st->error : "");
        fputc('\n', f);
        pthread_mutex_unlock(&fs->lock);
    }
    return fclose(f) == 0 ? buf : (free(buf), NULL);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_split.c — libFuzzer target: one input is a whole cache set, a main
 * file, up to six subcaches and a .symbols file, packed as
 *
 *     u8 subcaches (mod 7), u8 flags (bit 0: a .symbols part),
 *     u32 LE length of each part but the last, then the parts in order
 *
 * (tests/fuzz/run.sh packs the builder's split caches this way). The parts
 * are written to a private directory under both subcache namings (".1"
 * before dyld-1042's table, ".01" as its suffixes say), the set is opened
 * and every reader driven over it. The custom mutator damages one part at
 * a time as if it were a whole cache, so offsets inside it stay meaningful.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exercise.h"
#include "fuzz_common.h"

#define MAX_PARTS 8

struct pack {
    unsigned n;                 /* parts: main, subcaches, maybe .symbols */
    unsigned subcaches;
    int symbols;                /* index of the .symbols part, or -1 */
    size_t off[MAX_PARTS], len[MAX_PARTS];
};

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static int unpack(const uint8_t *d, size_t size, struct pack *p)
{
    if (size < 2)
        return -1;
    p->subcaches = d[0] % 7;
    p->n = 1 + p->subcaches + (d[1] & 1);
    p->symbols = d[1] & 1 ? (int)p->n - 1 : -1;
    size_t at = 2 + 4 * (size_t)(p->n - 1);
    if (at > size)
        return -1;
    for (unsigned i = 0; i < p->n; i++) {
        size_t len = i + 1 < p->n ? le32(d + 2 + 4 * i) : size - at;
        if (len > size - at)
            return -1;
        p->off[i] = at;
        p->len[i] = len;
        at += len;
    }
    return 0;
}

static char dir[64];

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_split: could not remove %s\n", dir);
}

static void put(const char *name, const uint8_t *data, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", access("/dev/shm", W_OK) == 0 ? "/dev/shm/dscfuzz.XXXXXX" : "/tmp/dscfuzz.XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    struct pack p;
    if (unpack(data, size, &p))
        return 0;
    static const char *const names[] = {"dyld_shared_cache_arm64e.symbols", "dyld_shared_cache_arm64e.%u",
                                        "dyld_shared_cache_arm64e.%02u"};
    for (unsigned i = 1; i <= 6; i++) /* last input's parts must not linger */
        for (int k = 1; k < 3; k++) {
            char name[64], path[128];
            snprintf(name, sizeof name, names[k], i);
            snprintf(path, sizeof path, "%s/%s", dir, name);
            unlink(path);
        }
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, names[0]);
    unlink(path);
    put("dyld_shared_cache_arm64e", data + p.off[0], p.len[0]);
    for (unsigned i = 1; i <= p.subcaches; i++)
        for (int k = 1; k < 3; k++) {
            char name[64];
            snprintf(name, sizeof name, names[k], i);
            put(name, data + p.off[i], p.len[i]);
        }
    if (p.symbols >= 0)
        put(names[0], data + p.off[p.symbols], p.len[p.symbols]);
    snprintf(path, sizeof path, "%s/dyld_shared_cache_arm64e", dir);
    dsc_cache *c;
    dsc_error err;
    if (dsc_cache_open(path, &c, &err)) {
        /* The line names the file at fault: the main one or a part of it. */
        fuzz_check_refusal(&err, dir);
        return 0;
    }
    exercise_cache(c);
    dsc_cache_close(c);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
    struct pack p;
    if (unpack(data, size, &p))
        return LLVMFuzzerMutate(data, size, max);
    unsigned part = seed % 2 ? 0 : (seed / 2) % p.n; /* the main file half the time */
    return fuzz_mutate_part(data, size, max, seed, p.off[part], p.len[part]);
}

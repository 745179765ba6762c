/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache.c — open a dyld shared cache set: header eras, mappings, subcaches,
 * the .symbols file, and unslid-address translation.
 *
 * Every file is mapped read-only (PROT_READ, O_RDONLY): nothing is ever
 * written to the cache. Every table is range-checked here, once, so later
 * code can index mappings and slide blobs through their spans.
 */
#include "cache/cache.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* dyld itself rejects more than 20 mappings per file; allow some slack. */
#define MAX_MAPPINGS_PER_FILE 64
#define MAX_SUBCACHES 512
#define MAPPING_INFO_SIZE 32
#define MAPPING_SLIDE_INFO_SIZE 56
#define SUBCACHE_V1_SIZE 24
#define SUBCACHE_V2_SIZE 56

static const struct {
    const char *name;
    enum dsc_arch arch;
    bool is64;
} arch_table[] = {
    {"i386", DSC_ARCH_I386, false},       {"x86_64", DSC_ARCH_X86_64, true},
    {"x86_64h", DSC_ARCH_X86_64H, true},  {"armv5", DSC_ARCH_ARMV5, false},
    {"armv6", DSC_ARCH_ARMV6, false},     {"armv7", DSC_ARCH_ARMV7, false},
    {"armv7f", DSC_ARCH_ARMV7F, false},   {"armv7s", DSC_ARCH_ARMV7S, false},
    {"armv7k", DSC_ARCH_ARMV7K, false},   {"arm64", DSC_ARCH_ARM64, true},
    {"arm64e", DSC_ARCH_ARM64E, true},    {"arm64_32", DSC_ARCH_ARM64_32, false},
};

const char *dsc_arch_name(enum dsc_arch arch)
{
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (arch_table[i].arch == arch)
            return arch_table[i].name;
    return "unknown";
}

const char *dsc_platform_name(uint32_t platform)
{
    static const char *const names[] = {
        "unknown", "macOS", "iOS", "tvOS", "watchOS", "bridgeOS", "macCatalyst",
        "iOSSimulator", "tvOSSimulator", "watchOSSimulator", "DriverKit", "visionOS",
        "visionOSSimulator", "firmware", "sepOS",
    };
    if (platform < sizeof names / sizeof names[0])
        return names[platform];
    return platform <= 24 ? "exclave" : "unknown";
}

/* ---- files ---- */

static int file_open(struct dsc_file *f, const char *path, enum dsc_file_role role, dsc_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->info.path = strdup(path);
    f->info.role = role;
    if (!f->info.path)
        return dsc_fail_oom(err, path);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return dsc_fail_code(err, DSC_ERR_SYSTEM, path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return dsc_fail_code(err, DSC_ERR_SYSTEM, path, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return dsc_fail(err, path, "not a regular file");
    if (st.st_size < 16)
        return dsc_fail(err, path, "too small to be a dyld shared cache (%lld bytes)", (long long)st.st_size);
    f->st_size = st.st_size;
    f->mtime = st.st_mtim;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (p == MAP_FAILED)
        return dsc_fail_code(err, DSC_ERR_SYSTEM, path, "cannot map: %s", strerror(errno));
    f->bytes = (dsc_span){p, (uint64_t)st.st_size};
    f->info.size = (uint64_t)st.st_size;
    return 0;
}

static void file_close(struct dsc_file *f)
{
    if (f->bytes.data)
        munmap((void *)f->bytes.data, f->bytes.size);
    if (f->fd >= 0)
        close(f->fd);
    free((char *)f->info.path);
}

/* Magic is "dyld_v1" + spaces + arch, 15 chars and a NUL. An architecture
 * the table does not know (Apple has added some before) is returned as
 * DSC_ARCH_UNKNOWN with its text in `text` (8 characters at most). */
static int parse_magic(const struct dsc_file *f, char text[9], enum dsc_arch *arch, bool *is64, dsc_error *err)
{
    const char *path = f->info.path;
    if (memcmp(f->bytes.data, "dyld_v1", 7) != 0)
        return dsc_fail(err, path, "not a dyld shared cache (bad magic)");
    char magic[16];
    memcpy(magic, f->bytes.data, 16);
    if (magic[15] != 0)
        return dsc_fail(err, path, "magic is not NUL-terminated");
    const char *a = magic + 7;
    while (*a == ' ')
        a++;
    snprintf(text, 9, "%s", a);
    *arch = DSC_ARCH_UNKNOWN;
    *is64 = false;
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++) {
        if (strcmp(a, arch_table[i].name) == 0) {
            *arch = arch_table[i].arch;
            *is64 = arch_table[i].is64;
            return 0;
        }
    }
    for (const char *p = a; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return dsc_fail(err, path, "architecture in magic is not printable");
    if (!*a)
        return dsc_fail(err, path, "no architecture in magic");
    return 0;
}

static int file_read_header(struct dsc_file *f, dsc_error *err)
{
    const char *path = f->info.path;
    uint32_t hsize;
    if (!span_u32(f->bytes, HDR_MAPPING_OFFSET, &hsize))
        return dsc_fail(err, path, "truncated header");
    /* dyld rejects headers over 1 KiB; the smallest era ends at 0x28. */
    if (hsize < 0x28 || hsize > 1024)
        return dsc_fail(err, path, "implausible header size (mappingOffset 0x%x)", hsize);
    if (hsize > f->bytes.size)
        return dsc_fail(err, path, "header (0x%x bytes) is larger than the file", hsize);
    f->header_size = hsize;
    memcpy(f->header, f->bytes.data, hsize < DSC_HEADER_MAX ? hsize : DSC_HEADER_MAX);
    if (dsc_hdr_has(f, HDR_UUID, 16))
        memcpy(f->info.uuid, f->header + HDR_UUID, 16);
    return 0;
}

/* ---- mappings ---- */

static const char *mapping_name(uint32_t max_prot, uint64_t flags)
{
    if (max_prot & 4)
        return (flags & DSC_MAPPING_TEXT_STUBS) ? "__TEXT_STUBS" : "__TEXT";
    if (max_prot & 2) {
        bool auth = flags & DSC_MAPPING_AUTH_DATA;
        if (flags & DSC_MAPPING_DIRTY_DATA)
            return auth ? "__AUTH_DIRTY" : "__DATA_DIRTY";
        if (flags & DSC_MAPPING_CONST_TPRO)
            return auth ? "__AUTH_TPRO_CONST" : "__TPRO_CONST";
        if (flags & DSC_MAPPING_CONST_DATA)
            return auth ? "__AUTH_CONST" : "__DATA_CONST";
        return auth ? "__AUTH" : "__DATA";
    }
    return (flags & DSC_MAPPING_READ_ONLY_DATA) ? "__READ_ONLY" : "__LINKEDIT";
}

/* Range-check and attach a slide blob living in the mapping's file. */
static int attach_slide(struct dsc_map *m, const struct dsc_file *f, uint64_t off, uint64_t size, dsc_error *err)
{
    if (size == 0)
        return 0;
    if (!span_sub(f->bytes, off, size, &m->slide) || size < 4)
        return dsc_fail(err, f->info.path, "slide info of mapping at 0x%llx is out of the file",
                        (unsigned long long)m->info.address);
    m->info.slide_offset = off;
    m->info.slide_size = size;
    m->info.slide_version = dsc_le32(m->slide.data);
    return 0;
}

static int file_read_mappings(dsc_cache *c, unsigned fi, dsc_error *err)
{
    const struct dsc_file *f = &c->files[fi];
    const char *path = f->info.path;
    uint32_t count = dsc_hdr32(f, HDR_MAPPING_COUNT);
    if (count > MAX_MAPPINGS_PER_FILE)
        return dsc_fail(err, path, "implausible mapping count %u", count);
    dsc_span table;
    if (!span_sub(f->bytes, f->header_size, (uint64_t)count * MAPPING_INFO_SIZE, &table))
        return dsc_fail(err, path, "mapping table is out of the file");

    /* dyld-832+: a parallel table with per-mapping slide info and flags. */
    dsc_span slide_table = {0};
    bool with_slide = false;
    if (dsc_hdr_has(f, HDR_MAPPING_WITH_SLIDE_COUNT, 4) && dsc_hdr32(f, HDR_MAPPING_WITH_SLIDE_COUNT)) {
        if (dsc_hdr32(f, HDR_MAPPING_WITH_SLIDE_COUNT) != count)
            return dsc_fail(err, path, "mapping-with-slide count %u differs from mapping count %u",
                            dsc_hdr32(f, HDR_MAPPING_WITH_SLIDE_COUNT), count);
        if (!span_sub(f->bytes, dsc_hdr32(f, HDR_MAPPING_WITH_SLIDE_OFFSET),
                      (uint64_t)count * MAPPING_SLIDE_INFO_SIZE, &slide_table))
            return dsc_fail(err, path, "mapping-with-slide table is out of the file");
        with_slide = true;
    }

    struct dsc_map *grown = realloc(c->maps, (c->nmaps + count) * sizeof *grown);
    if (!grown)
        return dsc_fail_oom(err, path);
    c->maps = grown;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = table.data + (uint64_t)i * MAPPING_INFO_SIZE;
        struct dsc_map *m = &c->maps[c->nmaps];
        memset(m, 0, sizeof *m);
        m->info.address = dsc_le64(e);
        m->info.size = dsc_le64(e + 8);
        m->info.file_offset = dsc_le64(e + 16);
        m->info.max_prot = dsc_le32(e + 24);
        m->info.init_prot = dsc_le32(e + 28);
        m->info.file = fi;
        uint64_t end;
        if (!dsc_add_ok(m->info.address, m->info.size, &end))
            return dsc_fail(err, path, "mapping %u wraps the address space", i);
        if (!span_sub(f->bytes, m->info.file_offset, m->info.size, &m->bytes))
            return dsc_fail(err, path, "mapping %u (0x%llx bytes at file offset 0x%llx) is beyond the end of the file",
                            i, (unsigned long long)m->info.size, (unsigned long long)m->info.file_offset);
        if (with_slide) {
            const uint8_t *s = slide_table.data + (uint64_t)i * MAPPING_SLIDE_INFO_SIZE;
            if (dsc_le64(s) != m->info.address || dsc_le64(s + 8) != m->info.size)
                return dsc_fail(err, path, "mapping %u disagrees between the two mapping tables", i);
            m->info.flags = dsc_le64(s + 0x28);
            if (attach_slide(m, f, dsc_le64(s + 0x18), dsc_le64(s + 0x20), err))
                return -1;
        } else if (i == 1 && dsc_hdr_has(f, HDR_SLIDE_INFO_SIZE, 8)) {
            /* Before dyld-832 the one slide blob belongs to mappings[1]. */
            if (attach_slide(m, f, dsc_hdr64(f, HDR_SLIDE_INFO_OFFSET), dsc_hdr64(f, HDR_SLIDE_INFO_SIZE), err))
                return -1;
        }
        m->info.name = mapping_name(m->info.max_prot, m->info.flags);
        c->nmaps++;
    }
    return 0;
}

struct addr_key {
    uint64_t address;
    unsigned index;
};

static int cmp_addr_key(const void *a, const void *b)
{
    const struct addr_key *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

/* Sort mappings by address for lookup, and refuse overlaps: an address must
 * name exactly one byte of the set. */
static int index_mappings(dsc_cache *c, dsc_error *err)
{
    struct addr_key *keys = malloc(c->nmaps * sizeof *keys);
    c->by_addr = malloc(c->nmaps * sizeof *c->by_addr);
    if (!keys || !c->by_addr) {
        free(keys);
        return dsc_fail_oom(err, c->path);
    }
    for (unsigned i = 0; i < c->nmaps; i++)
        keys[i] = (struct addr_key){c->maps[i].info.address, i};
    qsort(keys, c->nmaps, sizeof *keys, cmp_addr_key);
    for (unsigned i = 0; i < c->nmaps; i++)
        c->by_addr[i] = keys[i].index;
    free(keys);
    for (unsigned i = 1; i < c->nmaps; i++) {
        const struct dsc_map *p = &c->maps[c->by_addr[i - 1]], *q = &c->maps[c->by_addr[i]];
        if (p->info.address + p->info.size > q->info.address)
            return dsc_fail(err, c->files[q->info.file].info.path,
                            "mapping at 0x%llx overlaps another at 0x%llx",
                            (unsigned long long)q->info.address, (unsigned long long)p->info.address);
    }
    return 0;
}

/* ---- subcaches and .symbols ---- */

static int add_file(dsc_cache *c, const char *path, enum dsc_file_role role, dsc_error *err)
{
    struct dsc_file *grown = realloc(c->files, (c->nfiles + 1) * sizeof *grown);
    if (!grown)
        return dsc_fail_oom(err, path);
    c->files = grown;
    struct dsc_file *f = &c->files[c->nfiles++];
    if (file_open(f, path, role, err))
        return -1;
    char name[9];
    enum dsc_arch arch;
    bool is64;
    if (file_read_header(f, err) || parse_magic(f, name, &arch, &is64, err))
        return -1;
    if (c->nfiles > 1 && strcmp(name, c->info.arch_name) != 0)
        return dsc_fail(err, path, "architecture %s differs from the main cache's %s", name, c->info.arch_name);
    return 0;
}

static bool uuid_is_zero(const uint8_t *u)
{
    for (int i = 0; i < 16; i++)
        if (u[i])
            return false;
    return true;
}

void dsc_uuid_format(const uint8_t u[16], char out[37])
{
    snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int check_uuid(const struct dsc_file *f, const uint8_t *expected, dsc_error *err)
{
    if (memcmp(f->info.uuid, expected, 16) == 0)
        return 0;
    char want[37], got[37];
    dsc_uuid_format(expected, want);
    dsc_uuid_format(f->info.uuid, got);
    return dsc_fail(err, f->info.path, "UUID %s does not match the main cache's entry %s", got, want);
}

/* The main path, with a trailing ".development" removed if asked. */
static char *path_stem(const char *path, bool drop_development)
{
    size_t n = strlen(path);
    const char *dev = ".development";
    size_t dn = strlen(dev);
    if (drop_development && n > dn && strcmp(path + n - dn, dev) == 0)
        n -= dn;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, path, n);
        s[n] = 0;
    }
    return s;
}

static int open_subcaches(dsc_cache *c, dsc_error *err)
{
    const struct dsc_file *m = dsc_main_file(c);
    if (!dsc_hdr_has(m, HDR_SUBCACHE_ARRAY_COUNT, 4))
        return 0;
    uint32_t count = dsc_hdr32(m, HDR_SUBCACHE_ARRAY_COUNT);
    if (count == 0)
        return 0;
    if (count > MAX_SUBCACHES)
        return dsc_fail(err, c->path, "implausible subcache count %u", count);
    bool v2 = m->header_size > 0x1c8;
    unsigned esize = v2 ? SUBCACHE_V2_SIZE : SUBCACHE_V1_SIZE;
    dsc_span table;
    if (!span_sub(m->bytes, dsc_hdr32(m, HDR_SUBCACHE_ARRAY_OFFSET), (uint64_t)count * esize, &table))
        return dsc_fail(err, c->path, "subcache table is out of the file");
    /* v1 entries (dyld-940): ".N" after the main path as opened, a
     * .development one included. v2 (dyld-1042+): dyld's runtime opens
     * basePath + fileSuffix, basePath being the name without .development
     * whichever main it chose, for every cacheType (dyld-1042.1 .. 1378
     * SharedCacheRuntime getCachePath/openSubSharedCacheFile); suffixes
     * carry their own ".development" where the builder wrote one. */
    char *stem = path_stem(c->path, v2);
    if (!stem)
        return dsc_fail_oom(err, c->path);
    int rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        const uint8_t *e = table.data + (uint64_t)i * esize;
        char suffix[33] = {0};
        if (v2)
            memcpy(suffix, e + 24, 32);
        if (!suffix[0])
            snprintf(suffix, sizeof suffix, ".%u", i + 1);
        if (strchr(suffix, '/')) {
            rc = dsc_fail(err, c->path, "subcache %u has a file suffix with '/'", i);
            break;
        }
        size_t n = strlen(stem) + strlen(suffix) + 1;
        char *sub = malloc(n);
        if (!sub) {
            rc = dsc_fail_oom(err, c->path);
            break;
        }
        snprintf(sub, n, "%s%s", stem, suffix);
        if (access(sub, F_OK) != 0) {
            rc = dsc_fail(err, sub, "subcache %u of %u is missing", i + 1, count);
        } else if (add_file(c, sub, DSC_FILE_SUBCACHE, err) == 0) {
            struct dsc_file *f = &c->files[c->nfiles - 1];
            f->info.vm_offset = dsc_le64(e + 16);
            rc = check_uuid(f, e, err);
        } else {
            rc = -1;
        }
        free(sub);
    }
    free(stem);
    return rc;
}

int dsc_cache_warn(dsc_cache *c, dsc_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *more = NULL;
    int n = vasprintf(&more, fmt, ap);
    va_end(ap);
    char *joined = NULL;
    if (n < 0 || (c->warning ? asprintf(&joined, "%s; %s", c->warning, more) : asprintf(&joined, "%s", more)) < 0) {
        free(n < 0 ? NULL : more);
        return dsc_fail_oom(err, c->path);
    }
    free(more);
    free(c->warning);
    c->warning = joined;
    return 0;
}

/* A missing .symbols file costs only local symbol names: warn, don't fail.
 * A present one with the wrong UUID is an error. */
static int open_symbols(dsc_cache *c, dsc_error *err)
{
    const struct dsc_file *m = dsc_main_file(c);
    if (!dsc_hdr_has(m, HDR_SYMBOL_FILE_UUID, 16) || uuid_is_zero(m->header + HDR_SYMBOL_FILE_UUID))
        return 0;
    memcpy(c->info.symbol_file_uuid, m->header + HDR_SYMBOL_FILE_UUID, 16);
    c->info.has_symbols_file = true;
    char *stem = path_stem(c->path, true);
    size_t n = stem ? strlen(stem) + sizeof ".symbols" : 0;
    char *path = stem ? malloc(n) : NULL;
    if (!path) {
        free(stem);
        return dsc_fail_oom(err, c->path);
    }
    snprintf(path, n, "%s.symbols", stem);
    free(stem);
    int rc = 0;
    if (access(path, F_OK) != 0)
        rc = dsc_cache_warn(c, err, "%s is missing: local symbols stay redacted", path);
    else if ((rc = add_file(c, path, DSC_FILE_SYMBOLS, err)) == 0) {
        c->symbols_file = (int)c->nfiles - 1;
        rc = check_uuid(&c->files[c->symbols_file], c->info.symbol_file_uuid, err);
    }
    free(path);
    return rc;
}

/* ---- summary ---- */

static void fill_info(dsc_cache *c)
{
    const struct dsc_file *m = dsc_main_file(c);
    dsc_cache_info *in = &c->info;
    in->header_size = m->header_size;
    in->has_uuid = dsc_hdr_has(m, HDR_UUID, 16);
    memcpy(in->uuid, m->info.uuid, 16);
    if (dsc_hdr_has(m, HDR_CACHE_TYPE, 8)) {
        in->has_cache_type = true;
        in->cache_type = dsc_hdr64(m, HDR_CACHE_TYPE);
    }
    if (dsc_hdr_has(m, HDR_PLATFORM, 4))
        in->platform = dsc_hdr32(m, HDR_PLATFORM);
    if (dsc_hdr_has(m, HDR_OS_VERSION, 4))
        in->os_version = dsc_hdr32(m, HDR_OS_VERSION);
    in->base_address = c->nmaps ? c->maps[0].info.address : 0;
    if (dsc_hdr_has(m, HDR_SHARED_REGION_SIZE, 8))
        in->shared_region_size = dsc_hdr64(m, HDR_SHARED_REGION_SIZE);
    in->file_count = c->nfiles;
    in->mapping_count = c->nmaps;
    in->image_count = c->nimages;
    in->alias_count = c->naliases;
    in->warning = c->warning;
}

/* Subcache i must start where the main table says. */
static int check_subcache_bases(dsc_cache *c, dsc_error *err)
{
    uint64_t base = c->info.base_address;
    for (unsigned i = 0; i < c->nmaps; i++) {
        const struct dsc_map *m = &c->maps[i];
        const dsc_file_info *f = &c->files[m->info.file].info;
        if (f->role != DSC_FILE_SUBCACHE)
            continue;
        /* First mapping of this file? */
        if (i > 0 && c->maps[i - 1].info.file == m->info.file)
            continue;
        if (m->info.address != base + f->vm_offset)
            return dsc_fail(err, f->path, "starts at 0x%llx, but the main cache places it at 0x%llx",
                            (unsigned long long)m->info.address, (unsigned long long)(base + f->vm_offset));
    }
    return 0;
}

int dsc_cache_open(const char *path, dsc_cache **out, dsc_error *err)
{
    *out = NULL;
    dsc_cache *c = calloc(1, sizeof *c);
    if (!c)
        return dsc_fail_oom(err, path);
    c->symbols_file = -1;
    pthread_mutex_init(&c->memo_lock, NULL);
    c->path = strdup(path);
    if (!c->path) {
        free(c);
        return dsc_fail_oom(err, path);
    }
    if (add_file(c, path, DSC_FILE_MAIN, err))
        goto fail;
    parse_magic(&c->files[0], c->arch_text, &c->info.arch, &c->info.is64, NULL);
    c->info.arch_name = c->info.arch == DSC_ARCH_UNKNOWN ? c->arch_text : dsc_arch_name(c->info.arch);
    if (open_subcaches(c, err) || open_symbols(c, err))
        goto fail;
    for (unsigned i = 0; i < c->nfiles; i++)
        if (c->files[i].info.role != DSC_FILE_SYMBOLS && file_read_mappings(c, i, err))
            goto fail;
    if (c->nmaps == 0) {
        dsc_fail(err, path, "cache has no mappings");
        goto fail;
    }
    if (index_mappings(c, err))
        goto fail;
    if (c->info.arch == DSC_ARCH_UNKNOWN && dsc_images_guess_arch(c, err))
        goto fail;
    fill_info(c);
    if (check_subcache_bases(c, err) || dsc_images_load(c, err))
        goto fail;
    fill_info(c);
    *out = c;
    return 0;
fail:
    dsc_cache_close(c);
    return -1;
}

void dsc_cache_close(dsc_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nfiles; i++)
        file_close(&c->files[i]);
    free(c->files);
    free(c->maps);
    free(c->by_addr);
    free(c->images);
    free(c->aliases);
    free(c->paths);
    free(c->alias_pool);
    free(c->warning);
    if (c->memo)
        c->memo_free(c->memo);
    pthread_mutex_destroy(&c->memo_lock);
    free(c->path);
    free(c);
}

const dsc_cache_info *dsc_cache_get_info(const dsc_cache *c) { return &c->info; }

const dsc_file_info *dsc_cache_get_file(const dsc_cache *c, unsigned i)
{
    return i < c->nfiles ? &c->files[i].info : NULL;
}

const dsc_mapping_info *dsc_cache_get_mapping(const dsc_cache *c, unsigned i)
{
    return i < c->nmaps ? &c->maps[i].info : NULL;
}

bool dsc_cache_unchanged(const dsc_cache *c)
{
    for (unsigned i = 0; i < c->nfiles; i++) {
        const struct dsc_file *f = &c->files[i];
        struct stat st;
        if (fstat(f->fd, &st) != 0 || st.st_size != f->st_size ||
            st.st_mtim.tv_sec != f->mtime.tv_sec || st.st_mtim.tv_nsec != f->mtime.tv_nsec)
            return false;
    }
    return true;
}

void dsc_cache_release_pages(const dsc_cache *c)
{
    /* The mappings are read-only and private, never written: dropping them
     * loses nothing, and a reader racing this just faults the page back. */
    for (unsigned i = 0; i < c->nfiles; i++)
        if (c->files[i].bytes.data)
            madvise((void *)c->files[i].bytes.data, c->files[i].bytes.size, MADV_DONTNEED);
}

/* ---- address translation ---- */

const struct dsc_map *dsc_vm_map(const dsc_cache *c, uint64_t addr)
{
    unsigned lo = 0, hi = c->nmaps;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct dsc_map *m = &c->maps[c->by_addr[mid]];
        if (addr < m->info.address)
            hi = mid;
        else if (addr - m->info.address >= m->info.size)
            lo = mid + 1;
        else
            return m;
    }
    return NULL;
}

bool dsc_vm_span(const dsc_cache *c, uint64_t addr, uint64_t len, dsc_span *out)
{
    const struct dsc_map *m = dsc_vm_map(c, addr);
    return m && span_sub(m->bytes, addr - m->info.address, len, out);
}

bool dsc_vm_u32(const dsc_cache *c, uint64_t addr, uint32_t *v)
{
    dsc_span s;
    if (!dsc_vm_span(c, addr, 4, &s))
        return false;
    *v = dsc_le32(s.data);
    return true;
}

bool dsc_vm_ptr_raw(const dsc_cache *c, uint64_t addr, uint64_t *v)
{
    dsc_span s;
    return dsc_vm_span(c, addr, dsc_ptr_size(c), &s) && span_ptr(s, 0, dsc_ptr_size(c), v);
}

bool dsc_vm_cstr(const dsc_cache *c, uint64_t addr, uint64_t max_len, const char **str)
{
    const struct dsc_map *m = dsc_vm_map(c, addr);
    return m && span_cstr(m->bytes, addr - m->info.address, max_len, str, NULL);
}

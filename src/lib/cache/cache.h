/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache.h — libdsc's internal model of an opened cache set.
 *
 * The set is immutable after dsc_cache_open(): every pointer here stays valid
 * until dsc_cache_close(), and all readers may share it without locks.
 * Bytes of the set are reached only through spans (reader.h) and the VM
 * helpers below, which translate an unslid address to a mapped file range.
 */
#ifndef DSC_CACHE_H
#define DSC_CACHE_H

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "base/reader.h"

/* The largest header we know (dyld-1284+); older ones are zero-filled. */
#define DSC_HEADER_MAX 0x228

/* Header field offsets (see docs: dyld_cache_header). */
enum {
    HDR_MAPPING_OFFSET = 0x10,
    HDR_MAPPING_COUNT = 0x14,
    HDR_IMAGES_OFFSET_OLD = 0x18,
    HDR_IMAGES_COUNT_OLD = 0x1c,
    HDR_CODE_SIG_OFFSET = 0x28,
    HDR_CODE_SIG_SIZE = 0x30,
    HDR_SLIDE_INFO_OFFSET = 0x38,
    HDR_SLIDE_INFO_SIZE = 0x40,
    HDR_LOCAL_SYMBOLS_OFFSET = 0x48,
    HDR_LOCAL_SYMBOLS_SIZE = 0x50,
    HDR_UUID = 0x58,
    HDR_CACHE_TYPE = 0x68,
    HDR_BRANCH_POOLS_OFFSET = 0x70,
    HDR_BRANCH_POOLS_COUNT = 0x74,
    HDR_IMAGES_TEXT_OFFSET = 0x88,
    HDR_IMAGES_TEXT_COUNT = 0x90,
    HDR_PATCH_INFO_ADDR = 0x98,
    HDR_PLATFORM = 0xd8,
    HDR_FORMAT_VERSION = 0xdc,
    HDR_SHARED_REGION_START = 0xe0,
    HDR_SHARED_REGION_SIZE = 0xe8,
    HDR_MAX_SLIDE = 0xf0,
    HDR_DYLIBS_TRIE_ADDR = 0x108,
    HDR_DYLIBS_TRIE_SIZE = 0x110,
    HDR_MAPPING_WITH_SLIDE_OFFSET = 0x138,
    HDR_MAPPING_WITH_SLIDE_COUNT = 0x13c,
    HDR_OS_VERSION = 0x16c,
    HDR_ALT_PLATFORM = 0x170,
    HDR_ALT_OS_VERSION = 0x174,
    HDR_SUBCACHE_ARRAY_OFFSET = 0x188,
    HDR_SUBCACHE_ARRAY_COUNT = 0x18c,
    HDR_SYMBOL_FILE_UUID = 0x190,
    HDR_IMAGES_OFFSET = 0x1c0,
    HDR_IMAGES_COUNT = 0x1c4,
    HDR_CACHE_SUBTYPE = 0x1c8,
    HDR_OBJC_OPTS_OFFSET = 0x1d0,
    HDR_OBJC_OPTS_SIZE = 0x1d8,
};

/* One file of the set, mapped read-only. */
struct dsc_file {
    dsc_file_info info;         /* info.path is owned (malloc'ed) */
    int fd;
    dsc_span bytes;             /* the whole file */
    off_t st_size;
    struct timespec mtime;
    uint8_t header[DSC_HEADER_MAX]; /* min(mappingOffset, MAX) bytes, zero-filled */
    uint32_t header_size;       /* mappingOffset */
};

/* One mapping, with its bytes and slide-info blob already range-checked. */
struct dsc_map {
    dsc_mapping_info info;
    dsc_span bytes;             /* size == info.size */
    dsc_span slide;             /* empty when there is none */
};

struct dsc_path_entry {
    const char *path;
    uint32_t image;
};

struct dsc_cache {
    char *path;                 /* main file, as given */
    dsc_cache_info info;
    struct dsc_file *files;     /* [0] main, then subcaches, then .symbols */
    unsigned nfiles;
    int symbols_file;           /* index into files, or -1 */
    struct dsc_map *maps;       /* file order, table order */
    unsigned nmaps;
    unsigned *by_addr;          /* indices into maps, sorted by address */
    dsc_image *images;
    uint32_t nimages;
    dsc_alias *aliases;
    uint32_t naliases;
    struct dsc_path_entry *paths; /* images and aliases, sorted by path */
    uint32_t npaths;
    char *alias_pool;           /* text of trie-only aliases */
    char *warning;
    char arch_text[9];          /* an architecture the table does not know */
    /* Derived data a later layer builds on first use and owns (the symbol
     * index, index/symbols.c): the cache only guards its publication with
     * the lock (never held while mapped bytes are read) and frees the memo
     * through the destructor stored with it. */
    void *memo;
    void (*memo_free)(void *memo);
    pthread_mutex_t memo_lock;
};

static inline uint32_t dsc_hdr32(const struct dsc_file *f, unsigned off) { return dsc_le32(f->header + off); }
static inline uint64_t dsc_hdr64(const struct dsc_file *f, unsigned off) { return dsc_le64(f->header + off); }
/* True when the file's header is long enough to hold [off, off+len). */
static inline bool dsc_hdr_has(const struct dsc_file *f, unsigned off, unsigned len)
{
    return (uint64_t)off + len <= f->header_size;
}

static inline const struct dsc_file *dsc_main_file(const dsc_cache *c) { return &c->files[0]; }
static inline unsigned dsc_ptr_size(const dsc_cache *c) { return c->info.is64 ? 8 : 4; }

/* ---- unslid VM address -> bytes (O(log n) over all mappings of the set) ---- */

/* The mapping holding `addr`, or NULL. */
const struct dsc_map *dsc_vm_map(const dsc_cache *c, uint64_t addr);
/* `len` contiguous bytes at `addr`, inside one mapping. */
bool dsc_vm_span(const dsc_cache *c, uint64_t addr, uint64_t len, dsc_span *out);
bool dsc_vm_u32(const dsc_cache *c, uint64_t addr, uint32_t *v);
/* The pointer-sized word at `addr` as stored (not unslid; see cache/slide.h). */
bool dsc_vm_ptr_raw(const dsc_cache *c, uint64_t addr, uint64_t *v);
bool dsc_vm_cstr(const dsc_cache *c, uint64_t addr, uint64_t max_len, const char **s);

/* Add a non-fatal problem found at open to info.warning (joined by "; " so
 * that it stays one line); -1 only when out of memory. */
int dsc_cache_warn(dsc_cache *c, dsc_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* images.c: fill images, aliases and the path index. */
int dsc_images_load(dsc_cache *c, dsc_error *err);
/* An architecture the magic does not name: the first image's Mach-O header
 * gives the pointer width and, where it names a CPU we know, the arch
 * whose codecs read the code (c->info.is64, .arch); a warning says so. */
int dsc_images_guess_arch(dsc_cache *c, dsc_error *err);

#endif

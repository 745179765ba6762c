/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * images.c — the image table: install paths, UUIDs, aliases, path lookup.
 *
 * Aliases come in two eras: dyld-421 writes them as extra image_info records
 * sharing a real image's address; dyld-625+ keeps them only as extra keys in
 * the dylibs trie. Both end up in c->aliases. Path strings point into the
 * mapped main file (checked NUL-terminated), so nothing is copied.
 */
#include "cache/cache.h"
#include "base/macho_format.h"
#include "base/trie.h"
#include "base/sort.h"
#include "base/grow.h"

#include <stdlib.h>
#include <string.h>

#define IMAGE_INFO_SIZE 32
#define IMAGE_TEXT_INFO_SIZE 32
#define MAX_PATH_LEN 1024

static int add_alias(dsc_cache *c, const char *path, uint32_t image, size_t *cap, dsc_error *err)
{
    if (!DSC_GROW(c->aliases, c->naliases, *cap, 16))
        return dsc_fail_oom(err, c->path);
    c->aliases[c->naliases++] = (dsc_alias){path, image};
    return 0;
}

static int cmp_path_entry(const void *a, const void *b)
{
    const struct dsc_path_entry *x = a, *y = b;
    int r = strcmp(x->path, y->path);
    /* Real images (listed first) win over aliases of the same path. */
    return r ? r : (x < y ? -1 : x > y);
}

struct addr_rec {
    uint64_t address;
    uint32_t record;    /* index in the image table */
};

static int cmp_addr_rec(const void *a, const void *b)
{
    const struct addr_rec *x = a, *y = b;
    if (x->address != y->address)
        return x->address < y->address ? -1 : 1;
    return x->record < y->record ? -1 : x->record > y->record;
}

/* The image whose header is at `addr`, by binary search over `by_addr`. */
static dsc_image *image_by_address(dsc_cache *c, const struct addr_rec *by_addr, uint32_t n, uint64_t addr)
{
    size_t lo = dsc_lower_bound(by_addr, n, sizeof *by_addr, offsetof(struct addr_rec, address), addr);
    return lo < n && by_addr[lo].address == addr ? &c->images[by_addr[lo].record] : NULL;
}

static int table_location(const dsc_cache *c, uint32_t *off, uint32_t *count)
{
    const struct dsc_file *m = dsc_main_file(c);
    if (dsc_hdr_has(m, HDR_IMAGES_COUNT, 4) && dsc_hdr32(m, HDR_IMAGES_OFFSET)) {
        *off = dsc_hdr32(m, HDR_IMAGES_OFFSET);
        *count = dsc_hdr32(m, HDR_IMAGES_COUNT);
    } else {
        *off = dsc_hdr32(m, HDR_IMAGES_OFFSET_OLD);
        *count = dsc_hdr32(m, HDR_IMAGES_COUNT_OLD);
    }
    return 0;
}

/* The architecture a Mach-O CPU type names (mach/machine.h), for caches
 * whose magic names none we know. */
static enum dsc_arch arch_of_cpu(uint32_t cputype, uint32_t subtype)
{
    switch (cputype) {
    case 0x01000007u: return (subtype & 0xff) == 8 ? DSC_ARCH_X86_64H : DSC_ARCH_X86_64;
    case 0x0100000cu: return (subtype & 0xff) == 2 ? DSC_ARCH_ARM64E : DSC_ARCH_ARM64;
    case 0x0200000cu: return DSC_ARCH_ARM64_32;
    default: return DSC_ARCH_UNKNOWN;
    }
}

int dsc_images_guess_arch(dsc_cache *c, dsc_error *err)
{
    uint32_t off, count, magic = 0, cputype = 0, subtype = 0;
    uint64_t addr;
    table_location(c, &off, &count);
    if (count == 0 || !span_u64(dsc_main_file(c)->bytes, off, &addr) || !dsc_vm_u32(c, addr, &magic) ||
        (magic != MH_MAGIC_64 && magic != MH_MAGIC) || !dsc_vm_u32(c, addr + 4, &cputype) ||
        !dsc_vm_u32(c, addr + 8, &subtype))
        return dsc_fail(err, c->path, "unknown architecture '%s', and no image header gives its pointer size",
                        c->info.arch_name);
    c->info.is64 = magic == MH_MAGIC_64;
    c->info.arch = arch_of_cpu(cputype, subtype);
    if (c->info.arch != DSC_ARCH_UNKNOWN &&
        (c->info.arch == DSC_ARCH_ARM64_32 ? c->info.is64 : !c->info.is64))
        c->info.arch = DSC_ARCH_UNKNOWN;    /* a header that contradicts itself: decode no code */
    if (c->info.arch == DSC_ARCH_UNKNOWN)
        return dsc_cache_warn(c, err, "unknown architecture '%s': read as a %d-bit cache of an unknown CPU",
                              c->info.arch_name, c->info.is64 ? 64 : 32);
    return dsc_cache_warn(c, err, "unknown architecture '%s': read as %s (its images' CPU type)", c->info.arch_name,
                          dsc_arch_name(c->info.arch));
}

/* Image-table records: real images, plus dyld-421 style aliases (a record
 * whose address repeats an earlier one). Records are first placed at their
 * table index, then compacted so that real images are numbered densely;
 * `image_of_out` maps each record to its image (UINT32_MAX: an alias, or
 * skipped for an overlong path). */
static int read_image_table(dsc_cache *c, struct addr_rec **by_addr_out, uint32_t **image_of_out, size_t *alias_cap,
                            dsc_error *err)
{
    const struct dsc_file *m = dsc_main_file(c);
    uint32_t off, count;
    table_location(c, &off, &count);
    dsc_span table;
    if (!span_sub(m->bytes, off, (uint64_t)count * IMAGE_INFO_SIZE, &table))
        return dsc_fail(err, c->path, "image table (%u entries at 0x%x) is out of the file", count, off);
    struct addr_rec *recs = malloc((count ? count : 1) * sizeof *recs);
    uint32_t *alias_of = malloc((count ? count : 1) * sizeof *alias_of);
    uint32_t *image_of = malloc((count ? count : 1) * sizeof *image_of); /* record -> image */
    c->images = calloc(count ? count : 1, sizeof *c->images);
    int rc = 0;
    if (!recs || !alias_of || !image_of || !c->images) {
        rc = dsc_fail_oom(err, c->path);
        goto out;
    }
    for (uint32_t i = 0; i < count; i++) {
        recs[i] = (struct addr_rec){dsc_le64(table.data + (uint64_t)i * IMAGE_INFO_SIZE), i};
        alias_of[i] = UINT32_MAX;
    }
    qsort(recs, count, sizeof *recs, cmp_addr_rec);
    for (uint32_t i = 1; i < count; i++)
        if (recs[i].address == recs[i - 1].address)
            alias_of[recs[i].record] = alias_of[recs[i - 1].record] != UINT32_MAX
                                           ? alias_of[recs[i - 1].record] : recs[i - 1].record;
    uint32_t skipped = 0, first_skipped = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        const uint8_t *e = table.data + (uint64_t)i * IMAGE_INFO_SIZE;
        uint32_t path_off = dsc_le32(e + 24);
        const char *path;
        size_t len;
        image_of[i] = UINT32_MAX;
        if (path_off < m->bytes.size && !span_cstr(m->bytes, path_off, MAX_PATH_LEN, &path, &len)) {
            /* No NUL in the first MAX_PATH_LEN + 1 bytes: no front can
             * serve such a path, but the other images are still good. */
            if (!skipped++)
                first_skipped = i;
        } else if (path_off >= m->bytes.size || len == 0) {
            rc = dsc_fail(err, c->path, "image %u: path at 0x%x is out of the file or empty", i, path_off);
        } else if (alias_of[i] != UINT32_MAX) {
            /* The real record has a lower index, so it is numbered already
             * (or skipped, and its aliases with it). */
            if (image_of[alias_of[i]] != UINT32_MAX)
                rc = add_alias(c, path, image_of[alias_of[i]], alias_cap, err);
        } else if (!dsc_vm_map(c, dsc_le64(e))) {
            char esc[201];
            rc = dsc_fail(err, c->path, "image %u (%s): header address 0x%llx is in no mapping", i,
                          dsc_path_escape(esc, sizeof esc, path), (unsigned long long)dsc_le64(e));
        } else {
            dsc_image *img = &c->images[c->nimages];
            image_of[i] = img->index = c->nimages++;
            img->path = path;
            img->address = dsc_le64(e);
        }
    }
    if (skipped && rc == 0)
        rc = dsc_cache_warn(c, err, "%u image%s skipped (first: record %u): install path longer than %d bytes",
                            skipped, skipped == 1 ? "" : "s", first_skipped, MAX_PATH_LEN);
    /* Re-key the address index by image number for later lookups. */
    uint32_t n = 0;
    for (uint32_t i = 0; rc == 0 && i < count; i++)
        if (alias_of[recs[i].record] == UINT32_MAX && image_of[recs[i].record] != UINT32_MAX)
            recs[n++] = (struct addr_rec){recs[i].address, image_of[recs[i].record]};
    *image_of_out = image_of;
    image_of = NULL;
out:
    free(image_of);
    free(alias_of);
    if (rc) {
        free(recs);
        return -1;
    }
    *by_addr_out = recs;
    return 0;
}

/* UUIDs from the images-text table, matched by __TEXT address. */
static int read_text_table(dsc_cache *c, struct addr_rec *by_addr, dsc_error *err)
{
    const struct dsc_file *m = dsc_main_file(c);
    if (!dsc_hdr_has(m, HDR_IMAGES_TEXT_COUNT, 8))
        return 0;
    uint64_t off = dsc_hdr64(m, HDR_IMAGES_TEXT_OFFSET), count = dsc_hdr64(m, HDR_IMAGES_TEXT_COUNT);
    uint64_t bytes;
    dsc_span table;
    if (count == 0)
        return 0;
    if (!dsc_mul_ok(count, IMAGE_TEXT_INFO_SIZE, &bytes) || !span_sub(m->bytes, off, bytes, &table))
        return dsc_fail(err, c->path, "images-text table is out of the file");
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = table.data + i * IMAGE_TEXT_INFO_SIZE;
        dsc_image *img = image_by_address(c, by_addr, c->nimages, dsc_le64(e + 16));
        if (img) {
            memcpy(img->uuid, e, 16);
            img->has_uuid = true;
        }
    }
    return 0;
}

/* dyld-625+ aliases: keys of the dylibs trie that are not image paths. Key
 * text exists only in the trie's edge labels, so it is copied into one pool
 * owned by the cache: a first walk sizes the pool, a second fills it. */
struct alias_walk {
    dsc_cache *c;
    const uint32_t *image_of; /* trie values are image-table records */
    uint32_t nrecords;
    size_t *alias_cap;
    dsc_error *err;
    size_t need;    /* pass 1: bytes the pool needs */
    char *pool;     /* pass 2: where keys go */
    size_t used;
};

static int on_trie_key(void *vctx, const char *key, size_t key_len, dsc_span term)
{
    struct alias_walk *w = vctx;
    uint64_t off = 0, record;
    char esc[201];
    if (!span_uleb(term, &off, &record) || record >= w->nrecords)
        return dsc_fail(w->err, w->c->path, "dylibs trie: '%s' names no image", dsc_path_escape(esc, sizeof esc, key));
    uint32_t index = w->image_of[record];
    if (index == UINT32_MAX)
        return 0; /* an alias of a skipped image */
    /* Keys of a trie are unique, so only the image's own path is not an
     * alias (dyld-421 record aliases predate the trie). */
    if (key_len == 0 || strcmp(key, w->c->images[index].path) == 0)
        return 0;
    if (!w->pool) {
        w->need += key_len + 1;
        return 0;
    }
    if (w->used + key_len + 1 > w->need)
        return dsc_fail(w->err, w->c->path, "dylibs trie changed between two walks");
    char *copy = w->pool + w->used;
    memcpy(copy, key, key_len + 1);
    w->used += key_len + 1;
    return add_alias(w->c, copy, index, w->alias_cap, w->err);
}

static int read_dylibs_trie(dsc_cache *c, const uint32_t *image_of, size_t *alias_cap, dsc_error *err)
{
    const struct dsc_file *m = dsc_main_file(c);
    if (!dsc_hdr_has(m, HDR_DYLIBS_TRIE_SIZE, 8) || !dsc_hdr64(m, HDR_DYLIBS_TRIE_ADDR))
        return 0;
    dsc_span trie;
    if (!dsc_vm_span(c, dsc_hdr64(m, HDR_DYLIBS_TRIE_ADDR), dsc_hdr64(m, HDR_DYLIBS_TRIE_SIZE), &trie))
        return dsc_fail(err, c->path, "dylibs trie is outside the cache's mappings");
    uint32_t off, nrecords;
    table_location(c, &off, &nrecords);
    struct alias_walk w = {c, image_of, nrecords, alias_cap, err, 0, NULL, 0};
    if (dsc_trie_walk(trie, on_trie_key, &w, c->path, err))
        return -1;
    if (w.need == 0)
        return 0;
    c->alias_pool = w.pool = malloc(w.need);
    if (!w.pool)
        return dsc_fail_oom(err, c->path);
    /* Pass 2 sees exactly the keys pass 1 sized. */
    return dsc_trie_walk(trie, on_trie_key, &w, c->path, err) ? -1 : 0;
}

static int build_path_index(dsc_cache *c, dsc_error *err)
{
    c->npaths = c->nimages + c->naliases;
    c->paths = malloc((c->npaths ? c->npaths : 1) * sizeof *c->paths);
    if (!c->paths)
        return dsc_fail_oom(err, c->path);
    for (uint32_t i = 0; i < c->nimages; i++)
        c->paths[i] = (struct dsc_path_entry){c->images[i].path, i};
    for (uint32_t i = 0; i < c->naliases; i++)
        c->paths[c->nimages + i] = (struct dsc_path_entry){c->aliases[i].path, c->aliases[i].image};
    qsort(c->paths, c->npaths, sizeof *c->paths, cmp_path_entry);
    return 0;
}

int dsc_images_load(dsc_cache *c, dsc_error *err)
{
    size_t alias_cap = 0;
    struct addr_rec *by_addr = NULL;
    uint32_t *image_of = NULL;
    int rc = -1;
    if (read_image_table(c, &by_addr, &image_of, &alias_cap, err) == 0 && read_text_table(c, by_addr, err) == 0 &&
        read_dylibs_trie(c, image_of, &alias_cap, err) == 0 && build_path_index(c, err) == 0)
        rc = 0;
    free(image_of);
    free(by_addr);
    return rc;
}

const dsc_image *dsc_cache_get_image(const dsc_cache *c, uint32_t i)
{
    return i < c->nimages ? &c->images[i] : NULL;
}

const dsc_alias *dsc_cache_get_alias(const dsc_cache *c, uint32_t i)
{
    return i < c->naliases ? &c->aliases[i] : NULL;
}

int64_t dsc_cache_find_image(const dsc_cache *c, const char *path)
{
    size_t lo = 0, hi = c->npaths;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(path, c->paths[mid].path);
        if (r == 0) {
            /* Several entries may share a path: take the first. */
            while (mid > 0 && strcmp(path, c->paths[mid - 1].path) == 0)
                mid--;
            return c->paths[mid].image;
        }
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

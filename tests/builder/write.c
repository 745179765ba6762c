/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * write.c — headers and tables of every file of the set, the .symbols file,
 * UUIDs, and the files themselves.
 *
 * A header field is written only when the chosen header size holds it
 * (mappingOffset == header size, as Apple's builder does), so one writer
 * serves every era. Main-file tables follow the new builder's order:
 * mapping_info[], mapping_and_slide_info[], image_info[], image_text_info[],
 * sub-cache entries, path pool (the dylibs trie lives in LINKEDIT, as in
 * the real caches). UUIDs are digests of
 * each file's bytes: the .symbols and sub-cache UUIDs are written into the
 * main header before the main UUID is computed.
 */
#include "bld.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SLIDE 0x10000000ULL

static bool has(const struct cache *c, unsigned off, unsigned len) { return off + len <= c->opt.header_size; }
static bool trie_era(const struct cache *c) { return has(c, 0x108, 16); }

static unsigned subcache_entry_size(const struct cache *c) { return c->opt.header_size > 0x1c8 ? 56 : 24; }

/* Apple's builder places mapping_and_slide_info[] at mappingOffset +
 * count * 56 (sized by the wrong struct), leaving a gap after
 * mapping_info[]; the real caches in testdata show it. So do we. */
static unsigned slide_table_offset(const struct cache *c, unsigned nmappings)
{
    return c->opt.header_size + nmappings * 56;
}

uint64_t mapping_tables_size(const struct cache *c, unsigned nmappings)
{
    return has(c, 0x138, 8) ? 2ULL * nmappings * 56 : nmappings * 32ULL;
}

static unsigned alias_records(const struct cache *c)
{
    unsigned n = 0;
    if (trie_era(c))
        return 0;
    for (size_t i = 0; i < c->nimages; i++)
        n += c->images[i].naliases;
    return n;
}

static void build_dylibs_trie(struct cache *c)
{
    size_t n = 0, cap = c->nimages;
    for (size_t i = 0; i < c->nimages; i++)
        cap += c->images[i].naliases;
    struct trie_entry *e = xcalloc(cap, sizeof *e);
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        for (unsigned a = 0; a <= img->naliases; a++) {
            e[n].key = a == 0 ? img->cache_path : img->aliases[a - 1];
            buf_uleb(&e[n++].payload, i);
        }
    }
    trie_write(e, n, &c->dylibs_trie);
    for (size_t i = 0; i < n; i++)
        buf_free(&e[i].payload);
    free(e);
}

/* dyld-1231.3: {unslidAddress, size} of every TPRO_CONST mapping, after
 * the sub-cache entries (SubCache::addCacheHeaderImageInfo). */
static unsigned tpro_mappings(const struct cache *c)
{
    unsigned n = 0;
    for (unsigned i = 0; has(c, 0x200, 8) && i < c->nregions; i++)
        n += c->regions[i].kind == RK_TPRO_CONST;
    return n;
}

static void put_tpro_mappings(const struct cache *c, uint8_t *h)
{
    if (!has(c, 0x200, 8))
        return;
    unsigned n = 0;
    for (unsigned i = 0; i < c->nregions; i++) {
        const struct region *r = &c->regions[i];
        if (r->kind != RK_TPRO_CONST)
            continue;
        dsc_put64(h + c->mt.tpro + n * 16, r->addr);
        dsc_put64(h + c->mt.tpro + n * 16 + 8, r->size);
        n++;
    }
    dsc_put32(h + 0x200, (uint32_t)c->mt.tpro);
    dsc_put32(h + 0x204, n);
}

uint64_t header_tables_size(struct cache *c)
{
    uint64_t at = c->opt.header_size + mapping_tables_size(c, c->files[0].nregions);
    c->mt.images = at;
    c->mt.nrecords = c->nimages + alias_records(c);
    at += c->mt.nrecords * 32;
    c->mt.text = at;
    if (has(c, 0x88, 16))
        at += c->nimages * 32;
    c->mt.subcaches = at;
    at += (uint64_t)(c->nfiles - 1) * subcache_entry_size(c);
    c->mt.tpro = at;
    at += tpro_mappings(c) * 16ULL;
    c->mt.paths = at;
    for (size_t i = 0; i < c->nimages; i++) {
        at += strlen(c->images[i].cache_path) + 1;
        if (!trie_era(c))
            for (unsigned a = 0; a < c->images[i].naliases; a++)
                at += strlen(c->images[i].aliases[a]) + 1;
    }
    if (trie_era(c))
        build_dylibs_trie(c);   /* placed in LINKEDIT by linkedit_build */
    return at - c->opt.header_size - mapping_tables_size(c, c->files[0].nregions);
}

/* ---- pieces of a header ---- */

static void put_mapping_tables(const struct cache *c, const struct outfile *f, uint8_t *h)
{
    unsigned n = f->nregions, hs = c->opt.header_size;
    for (unsigned j = 0; j < n; j++) {
        const struct region *r = &c->regions[f->regions[j]];
        uint8_t *m = h + hs + j * 32;
        dsc_put64(m, r->addr);
        dsc_put64(m + 8, r->size);
        dsc_put64(m + 16, r->fileoff);
        dsc_put32(m + 24, r->maxprot);
        dsc_put32(m + 28, r->initprot);
        if (!has(c, 0x138, 8))
            continue;
        uint8_t *s = h + slide_table_offset(c, n) + j * 56;
        dsc_put64(s, r->addr);
        dsc_put64(s + 8, r->size);
        dsc_put64(s + 16, r->fileoff);
        dsc_put64(s + 24, r->slide.len ? r->slide_fileoff : 0);
        dsc_put64(s + 32, r->slide.len);
        dsc_put64(s + 40, r->flags);
        dsc_put32(s + 48, r->maxprot);
        dsc_put32(s + 52, r->initprot);
    }
    if (has(c, 0x138, 8)) {
        dsc_put32(h + 0x138, slide_table_offset(c, n));
        dsc_put32(h + 0x13c, n);
    }
}

/* Fields every file of the set carries. */
static void put_common_header(const struct cache *c, const struct outfile *f, uint8_t *h)
{
    memcpy(h, c->ai->magic, 16);
    dsc_put32(h + 0x10, c->opt.header_size);
    dsc_put32(h + 0x14, f->nregions);
    put_mapping_tables(c, f, h);
    if (has(c, 0x38, 16) && !has(c, 0x138, 8)) {
        /* Before dyld-832: the one slide blob, for mappings[1]. */
        for (unsigned j = 0; j < f->nregions; j++) {
            const struct region *r = &c->regions[f->regions[j]];
            if (r->slide.len) {
                dsc_put64(h + 0x38, r->slide_fileoff);
                dsc_put64(h + 0x40, r->slide.len);
            }
        }
    }
    if (has(c, 0x68, 8))
        dsc_put64(h + 0x68, c->opt.universal ? 2 : 1);     /* universal or production */
    if (has(c, 0xd8, 4))
        dsc_put32(h + 0xd8, c->opt.platform);
    if (has(c, 0xdc, 4) && c->opt.packed_tlvs)
        dsc_put32(h + 0xdc, 1u << 12);  /* newFormatTLVs (dyld-1284+) */
    if (has(c, 0xe0, 8) && f->nregions)
        dsc_put64(h + 0xe0, c->regions[f->regions[0]].addr);
    if (has(c, 0x16c, 4))
        dsc_put32(h + 0x16c, c->opt.platform == 4 ? 0x090000 : 0x0d0000);
}

static void put_image_tables(struct cache *c, uint8_t *h)
{
    uint64_t path = c->mt.paths;
    size_t rec = 0;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        uint8_t *e = h + c->mt.images + rec++ * 32;
        dsc_put64(e, img->segs[0].addr);
        dsc_put32(e + 24, (uint32_t)path);
        uint64_t own_path = path;
        memcpy(h + path, img->cache_path, strlen(img->cache_path) + 1);
        path += strlen(img->cache_path) + 1;
        if (has(c, 0x88, 16)) {
            uint8_t *t = h + c->mt.text + i * 32;
            memcpy(t, img->uuid, 16);
            dsc_put64(t + 16, img->segs[0].addr);
            dsc_put32(t + 24, (uint32_t)img->segs[0].size);
            dsc_put32(t + 28, (uint32_t)own_path);
        }
    }
    /* dyld-421 style alias records: same address, path before the images. */
    for (size_t i = 0; i < c->nimages && !trie_era(c); i++)
        for (unsigned a = 0; a < c->images[i].naliases; a++) {
            uint8_t *e = h + c->mt.images + rec++ * 32;
            dsc_put64(e, c->images[i].segs[0].addr);
            dsc_put32(e + 24, (uint32_t)path);
            memcpy(h + path, c->images[i].aliases[a], strlen(c->images[i].aliases[a]) + 1);
            path += strlen(c->images[i].aliases[a]) + 1;
        }
    if (has(c, 0x1c0, 8)) {
        dsc_put32(h + 0x1c0, (uint32_t)c->mt.images);
        dsc_put32(h + 0x1c4, (uint32_t)c->mt.nrecords);
    } else {
        dsc_put32(h + 0x18, (uint32_t)c->mt.images);
        dsc_put32(h + 0x1c, (uint32_t)c->mt.nrecords);
    }
    if (has(c, 0x88, 16)) {
        dsc_put64(h + 0x88, c->mt.text);
        dsc_put64(h + 0x90, c->nimages);
    }
    if (trie_era(c)) {
        dsc_put64(h + 0x108, c->trie_addr);
        dsc_put64(h + 0x110, c->dylibs_trie.len);
    }
}

/* `dev`: the development main of a universal set, which lists the
 * .development variants of the TEXT_STUBS files. */
static void put_main_header(struct cache *c, uint8_t *h, bool dev)
{
    const struct outfile *f = &c->files[0];
    put_common_header(c, f, h);
    if (c->opt.universal)
        dsc_put32(h + 0x1c8, dev ? 0 : 1);     /* cacheSubType */
    put_image_tables(c, h);
    put_tpro_mappings(c, h);
    if (f->tail.len && c->opt.local_symbols && c->symbols_file == UINT32_MAX) {
        dsc_put64(h + 0x48, c->local_syms_off);
        dsc_put64(h + 0x50, c->local_syms.len);
    }
    const struct region *last = &c->regions[c->nregions - 1];
    if (has(c, 0xe8, 16)) {
        dsc_put64(h + 0xe8, last->addr + last->size - c->ai->base);
        dsc_put64(h + 0xf0, MAX_SLIDE);
    }
    if (c->nfiles > 1 && has(c, 0x188, 8)) {
        unsigned esize = subcache_entry_size(c), nsub = 0;
        for (unsigned fi = 1; fi < c->nfiles; fi++) {
            if (fi == c->symbols_file)
                continue;
            const struct outfile *sf = &c->files[fi];
            bool dev_variant = dev && sf->mirror_of >= 0;
            char suffix[32];
            uint8_t *e = h + c->mt.subcaches + nsub++ * esize;
            memcpy(e, dev_variant ? sf->dev_uuid : sf->uuid, 16);
            dsc_put64(e + 16, c->regions[sf->regions[0]].addr - c->ai->base);
            snprintf(suffix, sizeof suffix, "%s%s", sf->suffix, dev_variant ? ".development" : "");
            if (esize == 56) {
                memset(e + 24, 0, 32);  /* the other main's suffix may be here */
                memcpy(e + 24, suffix, strlen(suffix));
            }
        }
        dsc_put32(h + 0x188, (uint32_t)c->mt.subcaches);
        dsc_put32(h + 0x18c, nsub);
    }
    if (c->symbols_file != UINT32_MAX)
        memcpy(h + 0x190, c->files[c->symbols_file].uuid, 16);
    if (c->objc_opts_offset && has(c, 0x1d0, 16)) {
        dsc_put64(h + 0x1d0, c->objc_opts_offset);
        dsc_put64(h + 0x1d8, objc_opts_size_field(c));
    }
}

/* ---- tails: slide blobs and moved local symbols, after the mappings ---- */

static void place_tails(struct cache *c)
{
    for (unsigned fi = 0; fi < c->nfiles; fi++) {
        struct outfile *f = &c->files[fi];
        const struct region *last = &c->regions[f->regions[f->nregions - 1]];
        f->tail_off = last->fileoff + last->size;
        for (unsigned j = 0; j < f->nregions; j++) {
            struct region *r = &c->regions[f->regions[j]];
            if (!r->slide.len)
                continue;
            buf_align(&f->tail, 8);
            r->slide_fileoff = f->tail_off + f->tail.len;
            buf_put(&f->tail, r->slide.data, r->slide.len);
        }
    }
    if (c->opt.local_symbols && c->symbols_file == UINT32_MAX) {
        struct outfile *f = &c->files[0];
        buf_align(&f->tail, 8);
        c->local_syms_off = f->tail_off + f->tail.len;
        buf_put(&f->tail, c->local_syms.data, c->local_syms.len);
    }
}

/* The .symbols file: a header without mappings, then the blob. */
static void make_symbols_file(struct cache *c)
{
    c->symbols_file = c->nfiles;
    struct outfile *f = &c->files[c->nfiles++];
    memset(f, 0, sizeof *f);
    f->mirror_of = -1;
    snprintf(f->suffix, sizeof f->suffix, ".symbols");
    uint64_t off = dsc_align_up(c->opt.header_size, 16);
    f->tail_off = 0;
    buf_zero(&f->tail, off);
    buf_put(&f->tail, c->local_syms.data, c->local_syms.len);
    uint8_t *h = f->tail.data;
    put_common_header(c, f, h);
    dsc_put64(h + 0x48, off);
    dsc_put64(h + 0x50, c->local_syms.len);
}

/* ---- files ---- */

/* A file's bytes: its regions (the development variant of TEXT_STUBS
 * regions when `dev`), then its tail. */
static const uint8_t *region_bytes(const struct region *r, bool dev) { return dev && r->dev_mem ? r->dev_mem : r->mem; }

static void file_digest(const struct cache *c, const struct outfile *f, bool dev, uint8_t out[16])
{
    struct hasher hs;
    hasher_init(&hs);
    for (unsigned j = 0; j < f->nregions; j++) {
        const struct region *r = &c->regions[f->regions[j]];
        hasher_update(&hs, region_bytes(r, dev), r->size);
    }
    hasher_update(&hs, f->tail.data, f->tail.len);
    hasher_final(&hs, out);
}

static uint8_t *file_header(struct cache *c, struct outfile *f)
{
    return f->nregions ? c->regions[f->regions[0]].mem : f->tail.data;
}

static void write_all(int fd, const void *p, size_t n, uint64_t off, const char *path)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n > (1u << 30) ? (1u << 30) : n, (off_t)off);
        if (w <= 0)
            die("%s: write failed: %s", path, strerror(errno));
        b += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
}

static void write_file(struct cache *c, const struct outfile *f, const char *extra_suffix, bool dev)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", c->opt.out, f->suffix, extra_suffix);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("%s: cannot create: %s", path, strerror(errno));
    for (unsigned j = 0; j < f->nregions; j++) {
        const struct region *r = &c->regions[f->regions[j]];
        write_all(fd, region_bytes(r, dev), r->size, r->fileoff, path);
    }
    write_all(fd, f->tail.data, f->tail.len, f->tail_off, path);
    if (close(fd) != 0)
        die("%s: close failed: %s", path, strerror(errno));
}

/* The .development variant of a TEXT_STUBS file: same header, own UUID. */
static void stubs_dev_variant(struct cache *c, struct outfile *f)
{
    struct region *r = &c->regions[f->regions[0]];
    memcpy(r->dev_mem, r->mem, r->header_area);
    memset(r->dev_mem + 0x58, 0, 16);
    file_digest(c, f, true, f->dev_uuid);
    memcpy(r->dev_mem + 0x58, f->dev_uuid, 16);
}

static void finish_main(struct cache *c, bool dev)
{
    uint8_t *h = file_header(c, &c->files[0]);
    memset(h + 0x58, 0, 16);
    put_main_header(c, h, dev);
    file_digest(c, &c->files[0], false, c->files[0].uuid);
    if (has(c, 0x58, 16))
        memcpy(h + 0x58, c->files[0].uuid, 16);
    write_file(c, &c->files[0], dev ? ".development" : "", false);
}

void cache_write(struct cache *c)
{
    c->symbols_file = UINT32_MAX;
    place_tails(c);
    if (c->opt.local_symbols && c->opt.split)
        make_symbols_file(c);
    /* Every file but the main one is final once its own header is in. */
    for (unsigned fi = 1; fi < c->nfiles; fi++) {
        struct outfile *f = &c->files[fi];
        uint8_t *h = file_header(c, f);
        if (fi != c->symbols_file)
            put_common_header(c, f, h);
        file_digest(c, f, false, f->uuid);
        memcpy(h + 0x58, f->uuid, 16);
        if (f->mirror_of >= 0)
            stubs_dev_variant(c, f);
    }
    for (unsigned fi = 1; fi < c->nfiles; fi++) {
        write_file(c, &c->files[fi], "", false);
        if (c->files[fi].mirror_of >= 0)
            write_file(c, &c->files[fi], ".development", true);
    }
    if (c->opt.universal)
        finish_main(c, true);
    finish_main(c, false);  /* last, so files[0].uuid names the customer main */
}

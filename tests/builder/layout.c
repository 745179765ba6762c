/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layout.c — where everything goes: files, mappings (regions) and each
 * image segment's cache address.
 *
 * Segments are grouped by kind into one mapping per kind (TEXT, DATA_CONST,
 * DATA, AUTH_CONST, AUTH, LINKEDIT), in image order, each 4 KiB aligned.
 * Before dyld-832 (header < 0x140) a cache has exactly three mappings, so
 * all writable kinds share one. Split caches (dyld-940+ layout for arm64):
 * TEXT sub-caches of N images, then a DATA sub-cache, then a LINKEDIT one;
 * every sub-cache starts with its own header page. VM is contiguous from
 * the arch's base; regions are 16 KiB aligned (the v5 slide page size).
 * Universal caches (dyld-1042+): the main file holds no images, and each
 * TEXT sub-cache is followed by a TEXT_STUBS one of the same size, whose
 * customer and development variants share that VM range (universal.c).
 * The dyld-1231 eras (header 0x208, followed: dyld-1245.1; 0x228, followed:
 * dyld-1284.13) add TPRO_CONST and READ_ONLY mappings, order the data
 * mappings DATA_CONST, TPRO_CONST (arm64), DATA, TPRO_CONST (arm64e), AUTH,
 * AUTH_CONST, READ_ONLY, put __DATA_DIRTY segments first in their mapping,
 * split READ_ONLY into a file of its own, name data/read-only/LINKEDIT
 * sub-caches .NN.dylddata/.NN.dyldreadonly/.NN.dyldlinkedit off macOS, and
 * leave 32 MiB of VM wherever Region::needsRegionPadding asks for it.
 */
#include "bld.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGION_ALIGN 0x4000
#define SEG_ALIGN 0x1000
/* Keep the first image past offset 0x8000 from the base: v4 slide info reads
 * values below 0x8000 as small integers, not pointers. */
#define MIN_HEADER_AREA 0x8000
/* Unsplit arm64/arm64e caches leave 32 MiB of VM between mappings (seen in
 * the dyld-832 caches of testdata). */
#define ARM64_MAPPING_GAP 0x2000000ULL

enum {
    MAPPING_AUTH = 1, MAPPING_CONST = 4, MAPPING_TEXT_STUBS = 8, MAPPING_READ_ONLY = 0x20, MAPPING_CONST_TPRO = 0x40
};

static bool tpro_era(const struct cache *c) { return c->opt.header_size >= 0x208; }

/* dyld-832 (header 0x140) split writable data only into DATA and AUTH, as
 * the real caches in testdata show; CONST mappings came with the split era.
 * Before dyld-1231 __TPRO_CONST is one more _CONST segment; on x86_64
 * (discontiguous layout, dyld-1245.1 addTPROConstChunk/addReadOnlyChunk)
 * TPRO goes to DATA and read-only segments to TEXT. */
static enum region_kind effective_kind(const struct cache *c, enum region_kind k)
{
    bool x86 = c->opt.arch == ARCH_X86_64;
    if (k == RK_TPRO_CONST && !tpro_era(c))
        k = RK_DATA_CONST;
    else if (k == RK_TPRO_CONST && x86)
        return RK_DATA;
    if (k == RK_READ_ONLY && !tpro_era(c))
        die("read-only segments other than __LINKEDIT need --header 0x208 or later");
    if (k == RK_READ_ONLY && x86)
        return RK_TEXT;
    if (k == RK_TEXT || k == RK_LINKEDIT || k == RK_TPRO_CONST || k == RK_READ_ONLY)
        return k;
    if (c->opt.header_size < 0x140)
        return RK_DATA;
    if (c->opt.header_size == 0x140)
        return k == RK_AUTH_CONST || k == RK_AUTH ? RK_AUTH : RK_DATA;
    return k;
}

static unsigned new_file(struct cache *c, const char *suffix)
{
    if (c->nfiles == sizeof c->files / sizeof c->files[0])
        die("too many sub-caches (raise --text-per-file)");
    struct outfile *f = &c->files[c->nfiles];
    memset(f, 0, sizeof *f);
    f->mirror_of = -1;
    snprintf(f->suffix, sizeof f->suffix, "%s", suffix);
    return c->nfiles++;
}

static unsigned new_region(struct cache *c, unsigned file, enum region_kind kind)
{
    if (c->nregions == sizeof c->regions / sizeof c->regions[0])
        die("too many mappings");
    struct outfile *f = &c->files[file];
    struct region *r = &c->regions[c->nregions];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->file = file;
    bool is_const = kind == RK_DATA_CONST || kind == RK_AUTH_CONST || kind == RK_TPRO_CONST;
    switch (kind) {
    case RK_TEXT: r->maxprot = r->initprot = 5; break;
    case RK_LINKEDIT: case RK_READ_ONLY: r->maxprot = r->initprot = 1; break;
    default:
        r->maxprot = 3;
        /* dyld-1231.3 Region::initProt: the CONST mappings start read-only */
        r->initprot = is_const && tpro_era(c) ? 1 : 3;
        break;
    }
    if (is_const)
        r->flags |= MAPPING_CONST;
    if (kind == RK_AUTH || kind == RK_AUTH_CONST)
        r->flags |= MAPPING_AUTH;
    if (kind == RK_TPRO_CONST)
        r->flags |= MAPPING_CONST_TPRO;     /* never AUTH, also on arm64e */
    if (kind == RK_READ_ONLY)
        r->flags |= MAPPING_READ_ONLY;
    f->regions[f->nregions++] = c->nregions;
    return c->nregions++;
}

/* Bytes in front of the first image in a file's first mapping. */
static uint64_t header_area(const struct cache *c, unsigned file, unsigned nmappings, uint64_t main_extra)
{
    uint64_t n = c->opt.header_size + mapping_tables_size(c, nmappings);
    if (file == 0)
        n += main_extra;
    n = dsc_align_up(n, SEG_ALIGN);
    return n < MIN_HEADER_AREA ? MIN_HEADER_AREA : n;
}

/* `front` cache-owned bytes (at r->addr + r->header_area), images [first,
 * end) of the region's kind, then `extra` cache-owned bytes (returned in
 * *extra_addr). */
static void place_segments(struct cache *c, struct region *r, size_t first, size_t end, uint64_t front,
                           uint64_t extra, uint64_t *extra_addr)
{
    uint64_t cursor = r->addr + r->header_area + front;
    /* __DATA_DIRTY segments first (dyld-1245.1 sortSubCacheSegments) */
    for (int dirty = 1; dirty >= 0; dirty--)
        for (size_t i = first; i < end; i++) {
            struct image *img = &c->images[i];
            for (unsigned s = 0; s < img->nsegs; s++) {
                if (effective_kind(c, img->segs[s].kind) != r->kind || img->segs[s].kind == RK_LINKEDIT ||
                    img->segs[s].dirty != (dirty == 1))
                    continue;
                cursor = dsc_align_up(cursor, SEG_ALIGN);
                img->segs[s].addr = cursor;
                cursor += img->segs[s].size;
            }
        }
    if (extra) {
        cursor = dsc_align_up(cursor, SEG_ALIGN);
        *extra_addr = cursor;
        cursor += extra;
    }
    r->size = dsc_align_up(cursor - r->addr, REGION_ALIGN);
}

/* The cache-owned ObjC read-only area, in Apple's Chunk::Kind order
 * (dyld-1042.1 .. dyld-1378 cache_builder/Chunk.h: objcOptsHeader,
 * objcHeaderInfoRO, objcImageInfo, objcStrings, the hash tables,
 * objcIMPCaches, objcPreAttachedCategories): header info RO (with the
 * image-info copies from dyld-1122), selector (then method type) strings,
 * the selector hash table, preattached categories' lists; from the 1284 era
 * also the ObjC optimisation header, first, and the IMP caches, after the
 * hash table (dyld-1284.13 and 1378 SubCache::addObjCOptsHeaderChunk and
 * addObjCIMPCachesChunk call addReadOnlyChunk). Before it (dyld-1042.1 ..
 * 1245.1) those two are LINKEDIT chunks (the same functions call
 * addLinkeditChunk): linkedit_build puts them after the images' LINKEDIT
 * data, as the Kind order sorts them. Of the hash tables only the selector
 * table is built (objc_opts.c), after the strings. */
bool objc_opts_in_linkedit(const struct cache *c) { return objc_era(c) < 1284; }

static uint64_t objc_area_size(const struct cache *c)
{
    uint64_t own = objc_opts_in_linkedit(c) ? 0 : c->objc_ro_size + c->impc_size;
    return own + c->hinfo_size + dsc_align_up(c->selbuf_size + c->typebuf_size, 8) + c->selopt_size + c->cats_size;
}

/* The area is in the TEXT mapping of libobjc's file before dyld-1231
 * (dyld-1042.1..1165.3 SubCache::addObjCReadOnlyChunk; objc_text_file) and in the READ_ONLY mapping from it
 * (dyld-1231.3/1245.1 addReadOnlyChunk), except on x86_64, whose
 * discontiguous layout puts read-only chunks in TEXT. */
static bool objc_area_read_only(const struct cache *c)
{
    return tpro_era(c) && c->opt.arch != ARCH_X86_64 && objc_area_size(c) > 0;
}

/* The TEXT file whose images include libobjc: where the area goes when it
 * is in TEXT (dyld-940 SharedCacheBuilder _objcReadOnlyMetadataSubCache;
 * dyld-1042.1 .. 1165.3 makeLargeLayoutSubCaches, whose universal main
 * files hold no images and so none of it); the main file without libobjc. */
static unsigned objc_text_file(struct cache *c)
{
    const struct image *lib = objc_libobjc(c);
    size_t i = lib ? (size_t)(lib - c->images) : 0;
    for (unsigned f = 0; lib && f < c->nfiles; f++)
        if (c->files[f].mirror_of < 0 && i - c->files[f].first_image < c->files[f].end_image - c->files[f].first_image)
            return f;
    return 0;
}

static void place_objc_area(struct cache *c, uint64_t at)
{
    bool own = !objc_opts_in_linkedit(c);
    if (own) {
        c->objc_ro_addr = at;
        at += c->objc_ro_size;
    }
    c->hinfo_addr = at;
    c->selbuf_addr = at + c->hinfo_size;
    at = c->selbuf_addr + dsc_align_up(c->selbuf_size + c->typebuf_size, 8);
    c->selopt_addr = at;
    at += c->selopt_size;
    if (own) {
        c->impc_addr = at;
        at += c->impc_size;
    }
    c->cats_addr = at;
}

uint64_t objc_ro_end(const struct cache *c) { return c->cats_addr + c->cats_size; }

/* Header info RW and the canonical protocols (adjacent, for __OBJC_RW).
 * dyld-940 appends its ObjC RW buffer to the DATA region, after the
 * segments (SharedCacheBuilder::assignDataSegmentAddresses). From
 * dyld-1042.1 (to 1378) addObjCReadWriteChunk puts them in AUTH where the
 * layout has one (arm64e), else in DATA, and Chunk::Kind order
 * (objcHeaderInfoRW < objcCanonicalProtocols < dylibDataDirty, dylibData,
 * dylibAuth) sorts them before every image segment of the region. */
static bool objc_rw_first(const struct cache *c) { return c->opt.header_size >= 0x200; }

static enum region_kind objc_rw_kind(const struct cache *c)
{
    return objc_rw_first(c) && c->opt.arch == ARCH_ARM64E ? RK_AUTH : RK_DATA;
}

static uint64_t objc_rw_area_size(const struct cache *c) { return c->objc_rw_size + c->proto_area_size; }

static bool kind_used(const struct cache *c, enum region_kind k)
{
    if (k == RK_READ_ONLY && objc_area_read_only(c))
        return true;
    if (k == objc_rw_kind(c) && objc_rw_area_size(c))
        return true;
    for (size_t i = 0; i < c->nimages; i++)
        for (unsigned s = 0; s < c->images[i].nsegs; s++)
            if (effective_kind(c, c->images[i].segs[s].kind) == k)
                return true;
    return false;
}

/* A sub-cache's file suffix: ".N" (dyld-940), ".NN" (dyld-1042); from
 * dyld-1231.3 SubCache::setSuffix adds ".dylddata", ".dyldreadonly" or
 * ".dyldlinkedit" to files of those mappings, except on macOS and
 * DriverKit (as in dyld-1284.13; dyld-1378 decides by simulator/x86_64). */
static void suffix_for(const struct cache *c, unsigned index, const char *role, char out[32])
{
    bool plain = c->opt.platform == 1 || c->opt.platform == 10 || !tpro_era(c);
    if (c->opt.header_size > 0x1c8)
        snprintf(out, 32, ".%02u%s%s", index, plain || !*role ? "" : ".", plain ? "" : role);
    else
        snprintf(out, 32, ".%u", index);
}

/* Files and their regions, in VM order. */
/* A TEXT file holding images [first, end). */
static unsigned text_file(struct cache *c, const char *suffix, size_t first, size_t end)
{
    unsigned f = new_file(c, suffix);
    c->files[f].first_image = first;
    c->files[f].end_image = end;
    new_region(c, f, RK_TEXT);
    return f;
}

/* Universal caches: a TEXT_STUBS file mirroring TEXT file `text`. */
static void stubs_file(struct cache *c, const char *suffix, unsigned text)
{
    unsigned f = new_file(c, suffix);
    c->files[f].mirror_of = (int)text;
    c->regions[new_region(c, f, RK_TEXT)].flags |= MAPPING_TEXT_STUBS;
}

/* Files and their regions, in VM order. */
static void plan_files(struct cache *c)
{
    static const enum region_kind old_kinds[] = {RK_DATA_CONST, RK_DATA, RK_AUTH_CONST, RK_AUTH};
    /* dyld-1231.3 Region::Kind order; TPRO next to the dirty data it precedes */
    static const enum region_kind arm64_kinds[] = {RK_DATA_CONST, RK_TPRO_CONST, RK_DATA, RK_AUTH, RK_AUTH_CONST};
    static const enum region_kind arm64e_kinds[] = {RK_DATA_CONST, RK_DATA, RK_TPRO_CONST, RK_AUTH, RK_AUTH_CONST};
    const enum region_kind *kinds = !tpro_era(c) ? old_kinds : c->opt.arch == ARCH_ARM64E ? arm64e_kinds : arm64_kinds;
    unsigned nkinds = tpro_era(c) ? 5 : 4;
    char suffix[32];
    size_t per = c->opt.split ? c->opt.text_per_file : c->nimages;
    /* universal and --large-vm main files hold only headers and cache tables */
    size_t first = c->opt.universal || c->opt.large_vm ? 0 : per < c->nimages ? per : c->nimages;
    unsigned f = text_file(c, "", 0, first), sub = 1;
    for (size_t i = first; c->opt.split && i < c->nimages; i += per) {
        suffix_for(c, sub++, "", suffix);
        unsigned t = text_file(c, suffix, i, i + per < c->nimages ? i + per : c->nimages);
        if (c->opt.universal) {
            suffix_for(c, sub++, "", suffix);
            stubs_file(c, suffix, t);
        }
    }
    if (c->opt.split) {
        suffix_for(c, sub++, "dylddata", suffix);
        f = text_file(c, suffix, 0, 0);
    }
    for (unsigned k = 0; k < nkinds; k++)
        if (kind_used(c, kinds[k]))
            new_region(c, f, kinds[k]);
    if (kind_used(c, RK_READ_ONLY)) {
        /* dyld-1245.1 splitSubCachesWithStubs: read-only in a file of its own */
        if (c->opt.split) {
            suffix_for(c, sub++, "dyldreadonly", suffix);
            f = text_file(c, suffix, 0, 0);
        }
        new_region(c, f, RK_READ_ONLY);
    }
    if (c->opt.split) {
        suffix_for(c, sub, "dyldlinkedit", suffix);
        f = text_file(c, suffix, 0, 0);
    }
    new_region(c, f, RK_LINKEDIT);
}

/* dyld-1245.1 Region::needsRegionPadding: 32 MiB between mappings where
 * writability changes (contiguous arm64* layouts of the 0x208+ eras). */
static bool needs_padding(const struct region *prev, const struct region *next)
{
    bool next_init_w = next->initprot & 2, next_max_w = next->maxprot & 2;
    switch (prev->kind) {
    case RK_TEXT:
        return next_init_w;
    case RK_DATA:
    case RK_AUTH:
    case RK_TPRO_CONST:
        if ((prev->kind == RK_AUTH && next->kind == RK_AUTH_CONST) || next->kind == RK_TPRO_CONST)
            return false;
        return !next_init_w;
    case RK_DATA_CONST:
    case RK_AUTH_CONST:
        if (next->kind == RK_TPRO_CONST)
            return true;
        return !(!next_init_w && next_max_w);
    default:    /* READ_ONLY, LINKEDIT */
        return next_max_w;
    }
}

/* VM between the previous mapping and `r`. */
static uint64_t gap_before(const struct cache *c, const struct region *prev, const struct region *r, unsigned j)
{
    if (!prev)
        return 0;
    if (tpro_era(c))
        return c->opt.arch != ARCH_X86_64 && needs_padding(prev, r) ? ARM64_MAPPING_GAP : 0;
    return j > 0 && !c->opt.split && c->ai->ptr_size == 8 && c->ai->base == 0x180000000ULL ? ARM64_MAPPING_GAP : 0;
}

/* --large-vm: the cache spans more than 4 GiB of VM without 4 GiB files
 * (file offsets stay packed; only addresses jump). It stands in for the
 * large layout of dyld-1284.13 makeLargeLayoutSubCaches, whose sub-caches
 * of up to 2 GB of TEXT+DATA each (Layout::contiguous subCacheTextDataLimit)
 * put later images above 4 GiB and made SlideInfo choose v5 (cacheSize >
 * 4 GB): the main file holds only headers (as its universal main caches
 * do; ObjC tables in TEXT go with libobjc), the TEXT sub-caches start 3 GiB above the
 * base, the first data mapping 4 GiB above it (so pointers into DATA need
 * v5 runtime-offset bits 32-33; TEXT and DATA of every image stay within
 * that 2 GB), and the LINKEDIT sub-cache more than 4 GiB past the first
 * TEXT sub-cache, which Apple's layout never does by itself: it is the
 * test's own stress, so every image's LINKEDIT is beyond 32-bit reach of
 * its TEXT. Returns the lowest address file `fi` may start at. */
#define LARGE_TEXT_START (3ULL << 30)
#define FOUR_GIB (1ULL << 32)
/* A sub-cache's role: its last mapping's kind (each starts with a header TEXT). */
static enum region_kind file_role(const struct cache *c, unsigned fi)
{
    const struct outfile *f = &c->files[fi];
    return c->regions[f->regions[f->nregions - 1]].kind;
}

static uint64_t large_vm_floor(const struct cache *c, unsigned fi, uint64_t text0)
{
    if (!c->opt.large_vm || fi == 0)
        return 0;
    enum region_kind role = file_role(c, fi);
    if (role == RK_TEXT)
        return fi == 1 ? c->ai->base + LARGE_TEXT_START : 0;
    if (role == RK_LINKEDIT)
        return text0 + FOUR_GIB + ARM64_MAPPING_GAP;
    return role == RK_READ_ONLY ? 0 : c->ai->base + FOUR_GIB;
}

/* --large-vm keeps Apple's rule that a sub-cache's TEXT and DATA fit in
 * 2 GB (ADRP and 32-bit relative fields reach across). */
static void large_vm_check(const struct cache *c, uint64_t text0)
{
    for (unsigned i = 0; c->opt.large_vm && i < c->nregions; i++) {
        const struct region *r = &c->regions[i];
        enum region_kind role = file_role(c, r->file);
        if (role != RK_LINKEDIT && role != RK_READ_ONLY && r->file > 0 && r->addr + r->size - text0 > (2ULL << 30))
            die("--large-vm: TEXT and DATA of the sub-caches exceed 2 GB");
    }
}

void layout_plan(struct cache *c)
{
    if (c->opt.split && c->opt.header_size < 0x1c8)
        die("sub-caches need a header of 0x1c8 bytes or more");
    if (c->opt.universal && (!c->opt.split || c->opt.header_size < 0x200))
        die("universal caches need --split and a header of 0x200 bytes");
    plan_files(c);
    uint64_t main_extra = header_tables_size(c);
    uint64_t cursor = c->ai->base;
    unsigned nmappings_main = c->files[0].nregions;
    const struct region *prev = NULL;
    uint64_t text0 = 0; /* the first TEXT sub-cache's address */
    for (unsigned fi = 0; fi < c->nfiles; fi++) {
        struct outfile *f = &c->files[fi];
        uint64_t fileoff = 0;
        for (unsigned j = 0; j < f->nregions; j++) {
            struct region *r = &c->regions[f->regions[j]];
            cursor += gap_before(c, prev, r, j);
            uint64_t floor = j == 0 ? large_vm_floor(c, fi, text0) : 0;
            r->addr = dsc_align_up(cursor > floor ? cursor : floor, REGION_ALIGN);
            if (fi == 1)
                text0 = r->addr;
            r->fileoff = fileoff;
            if (j == 0)
                r->header_area = header_area(c, fi, fi == 0 ? nmappings_main : f->nregions, main_extra);
            if (r->kind == RK_LINKEDIT) {
                r->size = 0;    /* sized by linkedit_build */
            } else if (f->mirror_of >= 0) {
                /* stub copies sit at their stubs' offsets in the TEXT file */
                const struct region *t = &c->regions[c->files[f->mirror_of].regions[0]];
                r->header_area = t->header_area;
                r->size = t->size;
            } else if (r->kind == RK_TEXT) {
                /* cache-owned TEXT: the ObjC read-only area before dyld-1231, after libobjc's file's images */
                uint64_t objc = fi == objc_text_file(c) && !objc_area_read_only(c) ? objc_area_size(c) : 0, extra = 0;
                place_segments(c, r, f->first_image, f->end_image, 0, objc, &extra);
                if (objc)
                    place_objc_area(c, extra);
            } else {
                /* cache-owned areas: header info RW and the canonical protocols (objc_rw_kind),
                 * before (0x200+) or after the images; after them the ObjC read-only area
                 * (READ_ONLY, dyld-1231+) and the GOT twins */
                uint64_t objc = r->kind == RK_READ_ONLY && objc_area_read_only(c) ? objc_area_size(c) : 0;
                uint64_t rw = r->kind == objc_rw_kind(c) ? objc_rw_area_size(c) : 0, extra = 0;
                uint64_t front = objc_rw_first(c) ? rw : 0, back = rw - front;
                uint64_t got = c->got_area_size[r->kind];
                place_segments(c, r, 0, c->nimages, front, objc + back + got, &extra);
                if (objc)
                    place_objc_area(c, extra);
                if (rw) {
                    c->objc_rw_addr = front ? r->addr + r->header_area : extra + objc;
                    c->proto_addr = c->objc_rw_addr + c->objc_rw_size;
                }
                c->got_addr[r->kind] = extra + objc + back;
            }
            cursor = r->addr + r->size;
            fileoff += r->size;
            prev = r;
        }
    }
    large_vm_check(c, text0);
    for (unsigned i = 0; i < c->nregions; i++)
        if (c->regions[i].kind != RK_LINKEDIT)
            c->regions[i].mem = xcalloc(1, c->regions[i].size);
}

struct region *region_of(struct cache *c, uint64_t addr)
{
    for (unsigned i = 0; i < c->nregions; i++)
        if (addr - c->regions[i].addr < c->regions[i].size)
            return &c->regions[i];
    return NULL;
}

uint8_t *cache_bytes(struct cache *c, uint64_t addr, uint64_t len)
{
    struct region *r = region_of(c, addr);
    if (!r || !r->mem || len > r->size - (addr - r->addr))
        die("internal: 0x%llx+0x%llx is not in a built mapping", (unsigned long long)addr,
            (unsigned long long)len);
    return r->mem + (addr - r->addr);
}

void layout_copy_segments(struct cache *c)
{
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        for (unsigned s = 0; s < img->nsegs; s++) {
            const struct seg *sg = &img->segs[s];
            if (sg->kind == RK_LINKEDIT)
                continue;
            uint64_t n = sg->in_filesize < sg->size ? sg->in_filesize : sg->size;
            memcpy(cache_bytes(c, sg->addr, sg->size), img->file.data + sg->in_fileoff, n);
        }
    }
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * input.c — read one input dylib: its segments, sections, dependents,
 * LINKEDIT pieces and exports. Every read goes through reader.h spans, so a
 * truncated or odd input stops the build with a message, not a crash.
 */
#include "bld.h"
#include "base/trie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rd32(const struct image *img, uint64_t off)
{
    uint32_t v;
    if (!span_u32(img->file, off, &v))
        die("%s: truncated at 0x%llx", img->in_path, (unsigned long long)off);
    return v;
}

static uint64_t rd64(const struct image *img, uint64_t off)
{
    uint64_t v;
    if (!span_u64(img->file, off, &v))
        die("%s: truncated at 0x%llx", img->in_path, (unsigned long long)off);
    return v;
}

static void read_name16(const struct image *img, uint64_t off, char out[17])
{
    if (!span_copy(img->file, off, out, 16))
        die("%s: truncated name at 0x%llx", img->in_path, (unsigned long long)off);
    out[16] = 0;
}

static void read_file(struct image *img, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: cannot open", path);
    struct buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(&b, chunk, n);
    fclose(f);
    img->file = (dsc_span){b.data, b.len};
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The mapping kind of a segment, by name and protection as dyld-1284.13
 * CacheDylib::categorizeSegments does: read-only segments other than
 * __LINKEDIT go to READ_ONLY, __TPRO_CONST to TPRO_CONST, __OBJC_CONST and
 * __DATA_DIRTY to the auth mappings on arm64e, names ending in _CONST to
 * the CONST mappings. Eras before a kind existed fold it (layout.c). */
static enum region_kind seg_kind(struct seg *s, const struct arch_info *ai)
{
    bool arm64e = strcmp(ai->name, "arm64e") == 0;
    const char *name = s->name;
    if (strcmp(name, "__LINKEDIT") == 0)
        return RK_LINKEDIT;
    if (strcmp(name, "__TEXT") == 0 || (s->maxprot & 4))
        return RK_TEXT;
    if (!(s->initprot & 2))
        return RK_READ_ONLY;
    if (strcmp(name, "__TPRO_CONST") == 0)
        return RK_TPRO_CONST;
    if (strcmp(name, "__OBJC_CONST") == 0)
        return arm64e ? RK_AUTH_CONST : RK_DATA_CONST;
    if (strcmp(name, "__DATA_DIRTY") == 0) {
        s->dirty = true;
        return arm64e ? RK_AUTH : RK_DATA;
    }
    if (strncmp(name, "__AUTH_CONST", 12) == 0)
        return arm64e ? RK_AUTH_CONST : RK_DATA_CONST;
    if (strncmp(name, "__AUTH", 6) == 0)
        return arm64e ? RK_AUTH : RK_DATA;
    if (strncmp(name, "__DATA_CONST", 12) == 0 || ends_with(name, "_CONST"))
        return RK_DATA_CONST;
    return RK_DATA;
}

static void read_segment(struct image *img, uint64_t off, bool is64, const struct arch_info *ai)
{
    if (img->nsegs == MAX_SEGS)
        die("%s: more than %d segments", img->in_path, MAX_SEGS);
    struct seg *s = &img->segs[img->nsegs];
    memset(s, 0, sizeof *s);
    read_name16(img, off + 8, s->name);
    s->lc_off = off;
    uint32_t nsects;
    uint64_t sect_off, sect_size;
    if (is64) {
        s->in_addr = rd64(img, off + 24);
        s->in_vmsize = rd64(img, off + 32);
        s->in_fileoff = rd64(img, off + 40);
        s->in_filesize = rd64(img, off + 48);
        s->maxprot = rd32(img, off + 56);
        s->initprot = rd32(img, off + 60);
        nsects = rd32(img, off + 64);
        sect_off = off + 72;
        sect_size = 80;
    } else {
        s->in_addr = rd32(img, off + 24);
        s->in_vmsize = rd32(img, off + 28);
        s->in_fileoff = rd32(img, off + 32);
        s->in_filesize = rd32(img, off + 36);
        s->maxprot = rd32(img, off + 40);
        s->initprot = rd32(img, off + 44);
        nsects = rd32(img, off + 48);
        sect_off = off + 56;
        sect_size = 68;
    }
    if (!dsc_range_ok(img->file.size, s->in_fileoff, s->in_filesize))
        die("%s: segment %s is beyond the end of the file", img->in_path, s->name);
    s->kind = seg_kind(s, ai);
    uint64_t end = s->in_addr + 1;  /* at least one byte, so a segment is never empty */
    for (uint32_t i = 0; i < nsects; i++, sect_off += sect_size) {
        if (img->nsects == MAX_SECTS)
            die("%s: more than %d sections", img->in_path, MAX_SECTS);
        struct sect *x = &img->sects[img->nsects++];
        read_name16(img, sect_off, x->name);
        read_name16(img, sect_off + 16, x->seg);
        x->in_addr = is64 ? rd64(img, sect_off + 32) : rd32(img, sect_off + 32);
        x->size = is64 ? rd64(img, sect_off + 40) : rd32(img, sect_off + 36);
        uint64_t tail = is64 ? sect_off + 64 : sect_off + 56;
        x->flags = rd32(img, tail);
        x->reserved1 = rd32(img, tail + 4);
        x->reserved2 = rd32(img, tail + 8);
        x->segi = img->nsegs;
        if (x->in_addr + x->size > end)
            end = x->in_addr + x->size;
    }
    if (nsects == 0 && s->in_addr + s->in_filesize > end)
        end = s->in_addr + s->in_filesize;
    /* The cache keeps only what the sections use, rounded to 4 KiB. */
    s->size = dsc_align_up(end - s->in_addr, 4096);
    if (s->kind == RK_TEXT && s->size > dsc_align_up(s->in_vmsize, 4096))
        die("%s: __TEXT sections exceed the segment", img->in_path);
    img->nsegs++;
}

static const char *dylib_name(const struct image *img, uint64_t off, uint32_t cmdsize)
{
    uint32_t name_off = rd32(img, off + 8);
    const char *s;
    dsc_span cmd;
    if (!span_sub(img->file, off, cmdsize, &cmd) || !span_cstr(cmd, name_off, cmdsize, &s, NULL))
        die("%s: bad dylib load command", img->in_path);
    return s;
}

static void add_dep(struct image *img, const char *name, bool reexport)
{
    img->deps = xrealloc(img->deps, (img->ndeps + 1) * sizeof *img->deps);
    img->dep_reexport = xrealloc(img->dep_reexport, (img->ndeps + 1) * sizeof *img->dep_reexport);
    img->deps[img->ndeps] = name;
    img->dep_reexport[img->ndeps++] = reexport;
}

static void read_command(struct image *img, uint64_t off, uint32_t cmd, uint32_t cmdsize, bool is64,
                         const struct arch_info *ai)
{
    switch (cmd) {
    case LC_SEGMENT:
    case LC_SEGMENT_64:
        read_segment(img, off, is64, ai);
        break;
    case LC_SYMTAB:
        img->symoff = rd32(img, off + 8);
        img->nsyms = rd32(img, off + 12);
        img->stroff = rd32(img, off + 16);
        img->strsize = rd32(img, off + 20);
        break;
    case LC_DYSYMTAB:
        img->ilocal = rd32(img, off + 8);
        img->nlocal = rd32(img, off + 12);
        img->iextdef = rd32(img, off + 16);
        img->nextdef = rd32(img, off + 20);
        img->iundef = rd32(img, off + 24);
        img->nundef = rd32(img, off + 28);
        img->indirectoff = rd32(img, off + 56);
        img->nindirect = rd32(img, off + 60);
        break;
    case LC_ID_DYLIB:
        img->install_name = dylib_name(img, off, cmdsize);
        break;
    case LC_LOAD_DYLIB:
    case LC_LOAD_WEAK_DYLIB:
    case LC_LOAD_UPWARD_DYLIB:
    case LC_LAZY_LOAD_DYLIB:
    case LC_REEXPORT_DYLIB:
        add_dep(img, dylib_name(img, off, cmdsize), cmd == LC_REEXPORT_DYLIB);
        break;
    case LC_UUID:
        if (!span_copy(img->file, off + 8, img->uuid, 16))
            die("%s: truncated LC_UUID", img->in_path);
        break;
    case LC_DYLD_INFO:
    case LC_DYLD_INFO_ONLY:
        img->has_dyld_info = true;
        img->rebase_off = rd32(img, off + 8);
        img->rebase_size = rd32(img, off + 12);
        img->bind_off = rd32(img, off + 16);
        img->bind_size = rd32(img, off + 20);
        img->weak_off = rd32(img, off + 24);
        img->weak_size = rd32(img, off + 28);
        img->lazy_off = rd32(img, off + 32);
        img->lazy_size = rd32(img, off + 36);
        img->export_off = rd32(img, off + 40);
        img->export_size = rd32(img, off + 44);
        break;
    case LC_DYLD_EXPORTS_TRIE:
        img->has_exports_trie_lc = true;
        img->export_off = rd32(img, off + 8);
        img->export_size = rd32(img, off + 12);
        break;
    case LC_FUNCTION_STARTS:
        img->fstarts_off = rd32(img, off + 8);
        img->fstarts_size = rd32(img, off + 12);
        break;
    case LC_DATA_IN_CODE:
        img->dic_off = rd32(img, off + 8);
        img->dic_size = rd32(img, off + 12);
        break;
    case LC_DYLD_CHAINED_FIXUPS:    /* chained_in.c read it */
    default:
        break;
    }
}

/* ---- exports ---- */

struct export_walk {
    struct image *img;
    size_t cap;
};

static int on_export(void *ctx, const char *key, size_t key_len, dsc_span t)
{
    struct export_walk *w = ctx;
    struct image *img = w->img;
    struct export_sym e = {xstrdup(key), 0, 0, 0, NULL};
    uint64_t off = 0;
    bool ok = span_uleb(t, &off, &e.flags);
    if (ok && (e.flags & EXPORT_SYMBOL_FLAGS_REEXPORT)) {
        const char *name;
        ok = span_uleb(t, &off, &e.other) && span_cstr(t, off, t.size, &name, NULL);
        if (ok && name[0])
            e.import_name = xstrdup(name);
    } else if (ok) {
        ok = span_uleb(t, &off, &e.value);
        if (ok && (e.flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER))
            ok = span_uleb(t, &off, &e.other);
    }
    if (!ok)
        die("%s: bad export entry for %.*s", img->in_path, (int)key_len, key);
    if (img->nexports == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        img->exports = xrealloc(img->exports, w->cap * sizeof *img->exports);
    }
    img->exports[img->nexports++] = e;
    return 0;
}

static int cmp_export(const void *a, const void *b)
{
    return strcmp(((const struct export_sym *)a)->name, ((const struct export_sym *)b)->name);
}

static void read_exports(struct image *img)
{
    if (!img->export_size)
        return;
    dsc_span trie;
    dsc_error err;
    if (!span_sub(img->file, img->export_off, img->export_size, &trie))
        die("%s: export trie is out of the file", img->in_path);
    struct export_walk w = {img, 0};
    if (dsc_trie_walk(trie, on_export, &w, img->in_path, &err))
        die("%s", err.msg);
    if (img->nexports)
        qsort(img->exports, img->nexports, sizeof *img->exports, cmp_export);
}

const struct export_sym *image_export(const struct image *img, const char *name)
{
    struct export_sym key = {(char *)name, 0, 0, 0, NULL};
    if (!img->nexports)
        return NULL;
    return bsearch(&key, img->exports, img->nexports, sizeof key, cmp_export);
}

static bool has_chained_fixups(const struct image *img, uint64_t off, uint64_t end)
{
    for (uint32_t i = 0; i < img->ncmds && off + 8 <= end; i++) {
        uint32_t cmdsize = rd32(img, off + 4);
        if (rd32(img, off) == LC_DYLD_CHAINED_FIXUPS)
            return true;
        if (cmdsize < 8)
            return false;   /* the load-command loop reports it */
        off += cmdsize;
    }
    return false;
}

void image_load(struct image *img, const char *path, const struct arch_info *ai)
{
    memset(img, 0, sizeof *img);
    img->in_path = path;
    read_file(img, path);
    uint32_t magic = rd32(img, 0);
    bool is64 = magic == MH_MAGIC_64;
    if (!is64 && magic != MH_MAGIC)
        die("%s: not a thin little-endian Mach-O file", path);
    /* ld64.lld-19 writes arm64e dylibs with the plain arm64 subtype. */
    uint32_t sub = rd32(img, 8) & 0xff;
    bool sub_ok = sub == ai->cpusubtype || (ai->cpusubtype == 2 && sub == 0);
    if (is64 != (ai->ptr_size == 8) || rd32(img, 4) != ai->cputype || !sub_ok)
        die("%s: not an %s Mach-O file", path, ai->name);
    if (rd32(img, 12) != MH_DYLIB)
        die("%s: not a dylib", path);
    img->ncmds = rd32(img, 16);
    img->sizeofcmds = rd32(img, 20);
    uint64_t off = is64 ? 32 : 28, end = off + img->sizeofcmds;
    /* before anything points into the bytes, which the conversion replaces */
    if (has_chained_fixups(img, off, end))
        chained_input_convert(img);
    for (uint32_t i = 0; i < img->ncmds; i++) {
        uint32_t cmd = rd32(img, off), cmdsize = rd32(img, off + 4);
        if (cmdsize < 8 || off + cmdsize > end)
            die("%s: load command %u overruns the load commands", path, i);
        read_command(img, off, cmd, cmdsize, is64, ai);
        off += cmdsize;
    }
    if (!img->install_name)
        die("%s: no LC_ID_DYLIB", path);
    if (!img->has_dyld_info && !img->chained_in)
        die("%s: neither LC_DYLD_INFO_ONLY nor LC_DYLD_CHAINED_FIXUPS", path);
    if (img->nsegs == 0 || img->segs[0].kind != RK_TEXT || img->segs[0].in_fileoff != 0)
        die("%s: first segment must be __TEXT at file offset 0", path);
    img->cache_path = xstrdup(img->install_name);
    read_exports(img);
}

const struct sect *image_sect(const struct image *img, const char *seg, const char *name)
{
    for (unsigned i = 0; i < img->nsects; i++)
        if (strcmp(img->sects[i].seg, seg) == 0 && strcmp(img->sects[i].name, name) == 0)
            return &img->sects[i];
    return NULL;
}

bool image_in_bytes(const struct image *img, uint64_t in_addr, uint64_t len, dsc_span *out)
{
    for (unsigned i = 0; i < img->nsegs; i++) {
        const struct seg *s = &img->segs[i];
        if (in_addr >= s->in_addr && in_addr - s->in_addr < s->in_filesize)
            return span_sub(img->file, s->in_fileoff + (in_addr - s->in_addr), len, out) &&
                   in_addr - s->in_addr + len <= s->in_filesize;
    }
    return false;
}

bool image_reloc(const struct image *img, uint64_t in_addr, uint64_t *out)
{
    /* Prefer a segment containing the address; accept one-past-the-end. */
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < img->nsegs; i++) {
            const struct seg *s = &img->segs[i];
            if (s->kind == RK_LINKEDIT)
                continue;
            if (in_addr >= s->in_addr && (in_addr - s->in_addr < s->size || (pass && in_addr - s->in_addr == s->size))) {
                *out = s->addr + (in_addr - s->in_addr);
                return true;
            }
        }
    return false;
}

void image_free(struct image *img)
{
    free(img->ptrs);
    free(img->cache_path);
    for (unsigned a = 0; a < img->naliases; a++)
        free(img->aliases[a]);
    free(img->aliases);
    if (img->is_clone)
        return;
    for (size_t i = 0; i < img->nexports; i++) {
        free(img->exports[i].name);
        free(img->exports[i].import_name);
    }
    free(img->exports);
    free(img->deps);
    free(img->dep_reexport);
    free((void *)img->file.data);
}

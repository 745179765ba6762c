/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * input.c — read one input dylib: its segments, sections, dependents,
 * LINKEDIT pieces and exports, through libdsc's one Mach-O reader
 * (base/macho_view.h), so a truncated or odd input stops the build with a
 * message, not a crash.
 */
#include "bld.h"
#include "base/macho_view.h"
#include "base/trie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_file(struct image *img, const char *path)
{
    struct buf b = {0};
    buf_read_file(&b, path);
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

/* One segment and its sections, as base/macho_view read them. */
static void read_segment(struct image *img, const struct dsc_macho *mo, const struct dsc_segment *in,
                         const struct arch_info *ai)
{
    if (img->nsegs == MAX_SEGS)
        die("%s: more than %d segments", img->in_path, MAX_SEGS);
    struct seg *s = &img->segs[img->nsegs];
    memset(s, 0, sizeof *s);
    memcpy(s->name, in->name, sizeof s->name);
    s->in_addr = in->vmaddr;
    s->in_vmsize = in->vmsize;
    s->in_fileoff = in->fileoff;
    s->in_filesize = in->filesize;
    s->maxprot = in->maxprot;
    s->initprot = in->initprot;
    s->kind = seg_kind(s, ai);
    uint64_t end = s->in_addr + 1;  /* at least one byte, so a segment is never empty */
    for (uint32_t i = 0; i < in->nsects; i++) {
        const struct dsc_section *y = &mo->sects[in->first_section + i];
        if (img->nsects == MAX_SECTS)
            die("%s: more than %d sections", img->in_path, MAX_SECTS);
        struct sect *x = &img->sects[img->nsects++];
        memcpy(x->name, y->sectname, sizeof x->name);
        memcpy(x->seg, y->segname, sizeof x->seg);
        x->in_addr = y->addr;
        x->size = y->size;
        x->flags = y->flags;
        x->reserved1 = y->reserved1;
        x->reserved2 = y->reserved2;
        x->segi = img->nsegs;
        if (x->in_addr + x->size > end)
            end = x->in_addr + x->size;
    }
    if (in->nsects == 0 && s->in_addr + s->in_filesize > end)
        end = s->in_addr + s->in_filesize;
    /* The cache keeps only what the sections use, rounded to 4 KiB. */
    s->size = dsc_align_up(end - s->in_addr, 4096);
    if (s->kind == RK_TEXT && s->size > dsc_align_up(s->in_vmsize, 4096))
        die("%s: __TEXT sections exceed the segment", img->in_path);
    img->nsegs++;
}

static void add_dep(struct image *img, const char *name, bool reexport)
{
    img->deps = xrealloc(img->deps, (img->ndeps + 1) * sizeof *img->deps);
    img->dep_reexport = xrealloc(img->dep_reexport, (img->ndeps + 1) * sizeof *img->dep_reexport);
    img->deps[img->ndeps] = name;
    img->dep_reexport[img->ndeps++] = reexport;
}

/* Dependents, in load-command order (their ordinals). */
static void read_deps(struct image *img, const struct dsc_macho *mo)
{
    struct dsc_lc lc;
    for (uint64_t cur = 0; dsc_lc_next(mo, &cur, &lc);) {
        const char *name;
        if (lc.cmd != LC_LOAD_DYLIB && lc.cmd != LC_LOAD_WEAK_DYLIB && lc.cmd != LC_LOAD_UPWARD_DYLIB &&
            lc.cmd != LC_LAZY_LOAD_DYLIB && lc.cmd != LC_REEXPORT_DYLIB)
            continue;
        if (!dsc_macho_dylib_name(&lc, &name))
            die("%s: bad dylib load command", img->in_path);
        add_dep(img, name, lc.cmd == LC_REEXPORT_DYLIB);
    }
}

static uint32_t lc_u32(const struct image *img, const struct dsc_lc *lc, uint32_t off)
{
    uint32_t v;
    if (!span_u32(lc->body, off, &v))
        die("%s: load command 0x%x is too short", img->in_path, lc->cmd);
    return v;
}

/* LINKEDIT pieces: symbol tables, opcode streams, the export trie,
 * function starts, data in code. */
static void read_linkedit_cmds(struct image *img, const struct dsc_macho *mo)
{
    struct dsc_symtab_cmd st = {0};
    struct dsc_dysymtab_cmd dy = {0};
    struct dsc_lc lc;
    int info;
    if (dsc_macho_symtab(mo, &st) < 0 || dsc_macho_dysymtab(mo, &dy) < 0 || (info = dsc_macho_dyld_info(mo, &lc)) < 0 ||
        dsc_macho_export_trie(mo, &img->export_off, &img->export_size) < 0 ||
        dsc_macho_linkedit_data(mo, LC_FUNCTION_STARTS, &img->fstarts_off, &img->fstarts_size) < 0 ||
        dsc_macho_linkedit_data(mo, LC_DATA_IN_CODE, &img->dic_off, &img->dic_size) < 0 ||
        dsc_macho_linkedit_data(mo, LC_FUNCTION_VARIANTS, &img->fvin_off, &img->fvin_size) < 0 ||
        dsc_macho_linkedit_data(mo, LC_FUNCTION_VARIANT_FIXUPS, &img->fvfix_off, &img->fvfix_size) < 0)
        die("%s: a LINKEDIT load command is too short", img->in_path);
    img->symoff = st.symoff;
    img->nsyms = st.nsyms;
    img->stroff = st.stroff;
    img->strsize = st.strsize;
    img->ilocal = dy.ilocalsym;
    img->nlocal = dy.nlocalsym;
    img->iextdef = dy.iextdefsym;
    img->nextdef = dy.nextdefsym;
    img->iundef = dy.iundefsym;
    img->nundef = dy.nundefsym;
    img->indirectoff = dy.indirectsymoff;
    img->nindirect = dy.nindirectsyms;
    if (info) {
        img->has_dyld_info = true;
        img->rebase_off = lc_u32(img, &lc, DYLD_INFO_REBASE);
        img->rebase_size = lc_u32(img, &lc, DYLD_INFO_REBASE + 4);
        img->bind_off = lc_u32(img, &lc, DYLD_INFO_BIND);
        img->bind_size = lc_u32(img, &lc, DYLD_INFO_BIND + 4);
        img->weak_off = lc_u32(img, &lc, DYLD_INFO_WEAK_BIND);
        img->weak_size = lc_u32(img, &lc, DYLD_INFO_WEAK_BIND + 4);
        img->lazy_off = lc_u32(img, &lc, DYLD_INFO_LAZY_BIND);
        img->lazy_size = lc_u32(img, &lc, DYLD_INFO_LAZY_BIND + 4);
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

/* The input's Mach-O view (base/macho_view.h, the one reader); dies on a
 * malformed file. */
static void read_macho(struct image *img, struct dsc_macho *mo)
{
    dsc_error err;
    if (dsc_macho_read_file(img->file, img->in_path, mo, &err))
        die("%s", err.msg);
}

void image_load(struct image *img, const char *path, const struct arch_info *ai)
{
    memset(img, 0, sizeof *img);
    img->in_path = path;
    read_file(img, path);
    struct dsc_macho mo;
    struct dsc_lc lc;
    read_macho(img, &mo);
    /* ld64.lld-19 writes arm64e dylibs with the plain arm64 subtype. */
    uint32_t sub = mo.cpusubtype & 0xff;
    bool sub_ok = sub == ai->cpusubtype || (ai->cpusubtype == 2 && sub == 0);
    if (mo.is64 != (ai->ptr_size == 8) || mo.cputype != ai->cputype || !sub_ok)
        die("%s: not an %s Mach-O file", path, ai->name);
    if (mo.filetype != MH_DYLIB)
        die("%s: not a dylib", path);
    /* before anything points into the bytes, which the conversion replaces */
    if (dsc_lc_find(&mo, LC_DYLD_CHAINED_FIXUPS, &lc)) {
        dsc_macho_free(&mo);
        chained_input_convert(img);
        read_macho(img, &mo);
    }
    img->ncmds = mo.ncmds;
    img->sizeofcmds = mo.sizeofcmds;
    for (unsigned i = 0; i < mo.nsegs; i++)
        read_segment(img, &mo, &mo.segs[i], ai);
    img->install_name = mo.install_name;
    memcpy(img->uuid, mo.uuid, sizeof img->uuid);
    read_deps(img, &mo);
    read_linkedit_cmds(img, &mo);
    dsc_macho_free(&mo);
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

uint64_t image_in_header(const struct image *img)
{
    for (unsigned i = 0; i < img->nsegs; i++)
        if (img->segs[i].in_fileoff == 0 && img->segs[i].in_filesize)
            return img->segs[i].in_addr;
    die("%s: no segment maps the mach_header", img->in_path);
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

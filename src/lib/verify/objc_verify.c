/*
 * objc_verify.c — walk the ObjC metadata of an EXTRACTED file, reading the
 * file's own bytes, and count what does not resolve inside it.
 *
 * The file is parsed here from scratch (header, LC_SEGMENT_64/LC_SEGMENT,
 * LC_DYLD_CHAINED_FIXUPS' pointer format), every offset checked against the
 * file. Pointers are decoded as the file stores them: plain values (rebase
 * opcodes) or chained-fixup entries (DYLD_CHAINED_PTR_ARM64E and friends);
 * a bind has no address and reads as unresolved. Reads the file cannot
 * satisfy fall back to the cache so that one bad reference does not hide
 * the rest; the callback then counts the item as outside the file.
 */
#include "verify/objc_verify.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 255u

enum ptr_kind { PTR_PLAIN, PTR_ARM64E, PTR_ARM64E_OFFSET, PTR_64, PTR_64_OFFSET, PTR_32 };

struct outfile {
    const dsc_cache *cache;
    dsc_span bytes;
    struct dsc_segment segs[MAX_SEGS];
    unsigned nsegs;
    struct dsc_macho mo;        /* sections of the file, for the walker */
    uint64_t base;              /* vmaddr of __TEXT (chained offsets are from it) */
    enum ptr_kind ptrs;
    bool outside;               /* a read fell back to the cache */
};

/* The file bytes of [addr, addr+len), or false. */
static bool file_span(const struct outfile *f, uint64_t addr, uint64_t len, dsc_span *out)
{
    for (unsigned i = 0; i < f->nsegs; i++) {
        const struct dsc_segment *s = &f->segs[i];
        if (addr >= s->vmaddr && dsc_range_ok(s->filesize, addr - s->vmaddr, len))
            return span_sub(f->bytes, s->fileoff + (addr - s->vmaddr), len, out);
    }
    return false;
}

static bool out_span(void *ctx, uint64_t addr, uint64_t len, dsc_span *out)
{
    struct outfile *f = ctx;
    if (file_span(f, addr, len, out))
        return true;
    f->outside = true;
    return dsc_vm_span(f->cache, addr, len, out);
}

/* A chained-fixup entry or plain pointer, as the loader would resolve a rebase. */
static bool decode(const struct outfile *f, uint64_t raw, uint64_t *v)
{
    switch (f->ptrs) {
    case PTR_ARM64E:
    case PTR_ARM64E_OFFSET:
        if (raw >> 62 & 1)
            return false; /* bind */
        if (raw >> 63)
            *v = f->base + (raw & 0xFFFFFFFFu);
        else if (f->ptrs == PTR_ARM64E)
            *v = (raw & 0x7FFFFFFFFFFull) | ((raw >> 43) & 0xFF) << 56;
        else
            *v = f->base + (raw & 0x7FFFFFFFFFFull);
        return true;
    case PTR_64:
    case PTR_64_OFFSET:
        if (raw >> 63)
            return false;
        *v = (raw & 0xFFFFFFFFFull) + (f->ptrs == PTR_64_OFFSET ? f->base : 0);
        return true;
    case PTR_32:
        if (raw >> 31)
            return false;
        *v = raw & 0x3FFFFFFu;
        return true;
    default:
        *v = raw;
        return true;
    }
}

static bool out_ptr(void *ctx, uint64_t addr, uint64_t *v)
{
    struct outfile *f = ctx;
    unsigned ps = f->mo.is64 ? 8 : 4;
    dsc_span s;
    uint64_t raw;
    if (file_span(f, addr, ps, &s) && span_ptr(s, 0, ps, &raw))
        return decode(f, raw, v);
    f->outside = true;
    return dsc_cache_ptr(f->cache, addr, v);
}

static bool out_cstr(void *ctx, uint64_t addr, uint64_t max_len, const char **str)
{
    struct outfile *f = ctx;
    for (unsigned i = 0; i < f->nsegs; i++) {
        const struct dsc_segment *s = &f->segs[i];
        dsc_span seg;
        if (addr >= s->vmaddr && addr - s->vmaddr < s->filesize &&
            span_sub(f->bytes, s->fileoff, s->filesize, &seg))
            return span_cstr(seg, addr - s->vmaddr, max_len, str, NULL);
    }
    f->outside = true;
    return dsc_vm_cstr(f->cache, addr, max_len, str);
}

/* ---- parsing the file ---- */

static int parse_segment(struct outfile *f, dsc_span lc, dsc_error *err, const char *name)
{
    bool is64 = f->mo.is64;
    unsigned fixed = is64 ? 72 : 56, ssize = is64 ? 80 : 68;
    if (lc.size < fixed || f->nsegs == MAX_SEGS)
        return dsc_fail(err, name, "extracted file has a malformed segment command");
    const uint8_t *p = lc.data;
    struct dsc_segment *s = &f->segs[f->nsegs++];
    memcpy(s->name, p + 8, 16);
    s->vmaddr = is64 ? dsc_le64(p + 24) : dsc_le32(p + 24);
    s->vmsize = is64 ? dsc_le64(p + 32) : dsc_le32(p + 28);
    s->fileoff = is64 ? dsc_le64(p + 40) : dsc_le32(p + 32);
    s->filesize = is64 ? dsc_le64(p + 48) : dsc_le32(p + 36);
    s->nsects = dsc_le32(p + (is64 ? 64 : 48));
    dsc_span check;
    if (!span_sub(f->bytes, s->fileoff, s->filesize, &check) || s->nsects > (lc.size - fixed) / ssize)
        return dsc_fail(err, name, "extracted file: segment %.16s is out of the file", s->name);
    if (strcmp(s->name, "__TEXT") == 0)
        f->base = s->vmaddr;
    struct dsc_section *grown = realloc(f->mo.sects, (f->mo.nsects + s->nsects + 1) * sizeof *grown);
    if (!grown)
        return dsc_fail(err, name, "out of memory");
    f->mo.sects = grown;
    for (uint32_t i = 0; i < s->nsects; i++) {
        const uint8_t *q = p + fixed + (uint64_t)i * ssize;
        struct dsc_section *x = &f->mo.sects[f->mo.nsects++];
        memset(x, 0, sizeof *x);
        memcpy(x->sectname, q, 16);
        memcpy(x->segname, q + 16, 16);
        x->addr = is64 ? dsc_le64(q + 32) : dsc_le32(q + 32);
        x->size = is64 ? dsc_le64(q + 40) : dsc_le32(q + 36);
        x->flags = dsc_le32(q + (is64 ? 64 : 56));
    }
    return 0;
}

/* The pointer format of the first segment with chain starts. */
static void parse_chained(struct outfile *f, dsc_span lc)
{
    uint32_t dataoff, starts, segcount, seginfo;
    uint16_t format;
    if (lc.size < 16)
        return;
    dataoff = dsc_le32(lc.data + 8);
    dsc_span blob;
    if (!span_sub(f->bytes, dataoff, dsc_le32(lc.data + 12), &blob) || !span_u32(blob, 4, &starts) ||
        !span_u32(blob, starts, &segcount))
        return;
    for (uint32_t i = 0; i < segcount && i < MAX_SEGS; i++) {
        if (!span_u32(blob, starts + 4 + 4 * (uint64_t)i, &seginfo) || !seginfo)
            continue;
        if (!span_u16(blob, (uint64_t)starts + seginfo + 6, &format))
            return;
        static const enum ptr_kind kinds[] = {
            [1] = PTR_ARM64E, [2] = PTR_64, [3] = PTR_32, [6] = PTR_64_OFFSET,
            [9] = PTR_ARM64E_OFFSET, [12] = PTR_ARM64E_OFFSET,
        };
        f->ptrs = format < sizeof kinds / sizeof kinds[0] && kinds[format] ? kinds[format] : PTR_PLAIN;
        return;
    }
}

static int parse_file(struct outfile *f, dsc_error *err)
{
    const char *name = f->cache->path;
    uint32_t magic, ncmds, sizeofcmds;
    if (!span_u32(f->bytes, 0, &magic) || (magic != MH_MAGIC_64 && magic != MH_MAGIC) ||
        !span_u32(f->bytes, 16, &ncmds) || !span_u32(f->bytes, 20, &sizeofcmds))
        return dsc_fail(err, name, "extracted file is not a Mach-O file");
    f->mo.is64 = magic == MH_MAGIC_64;
    dsc_span cmds;
    if (!span_sub(f->bytes, f->mo.is64 ? 32 : 28, sizeofcmds, &cmds))
        return dsc_fail(err, name, "extracted file's load commands are out of the file");
    uint64_t cur = 0;
    for (uint32_t i = 0; i < ncmds; i++) {
        uint32_t cmd, size;
        dsc_span lc;
        if (!span_u32(cmds, cur, &cmd) || !span_u32(cmds, cur + 4, &size) || size < 8 ||
            !span_sub(cmds, cur, size, &lc))
            return dsc_fail(err, name, "extracted file: load command %u is out of range", i);
        if (cmd == (f->mo.is64 ? LC_SEGMENT_64 : LC_SEGMENT) && parse_segment(f, lc, err, name))
            return -1;
        if (cmd == LC_DYLD_CHAINED_FIXUPS)
            parse_chained(f, lc);
        cur += size;
    }
    return 0;
}

/* ---- counting ---- */

struct count_ctx {
    struct outfile *f;
    struct dsc_objc_verify *v;
    dsc_objc_visit_fn fn;
    void *ctx;
};

static bool in_file_sections(const struct outfile *f, uint64_t addr)
{
    for (unsigned i = 0; i < f->mo.nsects; i++)
        if (addr >= f->mo.sects[i].addr && addr - f->mo.sects[i].addr < f->mo.sects[i].size)
            return true;
    return false;
}

static int count_item(void *ctx, const struct dsc_objc_item *it)
{
    struct count_ctx *c = ctx;
    struct dsc_objc_verify *v = c->v;
    bool out = c->f->outside;
    c->f->outside = false;
    switch (it->kind) {
    case DSC_OBJC_CLASS: v->classes++; break;
    case DSC_OBJC_CATEGORY: v->categories++; break;
    case DSC_OBJC_PROTOCOL: v->protocols++; break;
    case DSC_OBJC_METHOD:
        v->methods++;
        v->method_names_outside += out || !in_file_sections(c->f, it->sel_addr) ||
                                   !in_file_sections(c->f, it->target);
        break;
    case DSC_OBJC_SELREF:
        v->selrefs++;
        v->selrefs_outside += out || !in_file_sections(c->f, it->target);
        break;
    case DSC_OBJC_NAME_REF:
        v->strings_outside += out || !in_file_sections(c->f, it->target);
        break;
    case DSC_OBJC_PROTOREF:
        v->protorefs_outside += out || !in_file_sections(c->f, it->target);
        break;
    default:
        break;
    }
    return c->fn ? c->fn(c->ctx, it) : 0;
}

int dsc_objc_verify_file(const dsc_cache *c, uint32_t image, const uint8_t *file, size_t size,
                         dsc_objc_visit_fn fn, void *ctx, struct dsc_objc_verify *out, dsc_error *err)
{
    memset(out, 0, sizeof *out);
    struct outfile *f = calloc(1, sizeof *f);
    if (!f)
        return dsc_fail(err, c->path, "out of memory");
    f->cache = c;
    f->bytes = (dsc_span){file, size};
    f->mo.cache = c;
    f->mo.image = image;
    int rc = parse_file(f, err);
    if (rc == 0) {
        struct dsc_objc_opt opt;
        struct dsc_objc_image img = {&f->mo, {f, out_span, out_ptr, out_cstr}, f->mo.is64 ? 8 : 4, NULL, -1};
        rc = dsc_objc_opt_load(c, &opt, err);
        img.opt = &opt;
        struct count_ctx cc = {f, out, fn, ctx};
        if (rc == 0)
            rc = dsc_objc_walk(&img, count_item, &cc, err);
    }
    free(f->mo.sects);
    free(f);
    return rc;
}

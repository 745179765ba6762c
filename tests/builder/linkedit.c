/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * linkedit.c — the merged LINKEDIT and moved local symbols.
 *
 * Per image, in the shared LINKEDIT mapping: (before dyld-1042) copies of the
 * bind/weak-bind/lazy-bind opcodes, the rebuilt export trie, function starts,
 * data-in-code, the nlist array and the indirect table; then one string pool
 * for all images, then the cache's dylibs trie. With --local-symbols, locals move to a
 * dyld_cache_local_symbols_info blob and only "<redacted>" nlists for locals
 * in section 1 (__text) stay, as Apple's builder does.
 */
#include "bld.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

struct nlist_in {
    uint32_t strx;
    uint8_t type, sect;
    uint16_t desc;
    uint64_t value;
};

static unsigned nlist_size(const struct cache *c) { return c->ai->ptr_size == 8 ? 16 : 12; }

static struct nlist_in read_nlist(const struct cache *c, const struct image *img, uint32_t i)
{
    unsigned sz = nlist_size(c);
    dsc_span e;
    if (!span_sub(img->file, img->symoff + (uint64_t)i * sz, sz, &e))
        die("%s: symbol %u is out of the file", img->in_path, i);
    struct nlist_in n = {dsc_le32(e.data), e.data[4], e.data[5], dsc_le16(e.data + 6), 0};
    n.value = sz == 16 ? dsc_le64(e.data + 8) : dsc_le32(e.data + 8);
    return n;
}

static const char *nlist_name(const struct image *img, uint32_t strx)
{
    const char *s;
    dsc_span strs;
    if (!span_sub(img->file, img->stroff, img->strsize, &strs) || !span_cstr(strs, strx, img->strsize, &s, NULL))
        die("%s: symbol name at 0x%x is out of the string table", img->in_path, strx);
    return s;
}

static void put_nlist(const struct cache *c, struct buf *b, uint32_t strx, const struct nlist_in *n, uint64_t value)
{
    buf_u32(b, strx);
    buf_u8(b, n->type);
    buf_u8(b, n->sect);
    buf_u16(b, n->desc);
    if (nlist_size(c) == 16)
        buf_u64(b, value);
    else
        buf_u32(b, (uint32_t)value);
}

static uint64_t moved_value(const struct image *img, const struct nlist_in *n)
{
    uint64_t v = n->value;
    if ((n->type & N_STAB) || (n->type & N_TYPE_MASK) == N_SECT)
        image_reloc(img, n->value, &v);
    return v;
}

/* ---- local symbols blob ---- */

struct locals {
    struct buf entries, nlists;
    struct strpool strings;
    uint32_t count;
};

static void locals_finish(struct cache *c, struct locals *l)
{
    struct buf *b = &c->local_syms;
    uint32_t hdr = 24;
    uint32_t entries_off = hdr, nlist_off = entries_off + (uint32_t)l->entries.len;
    uint32_t strings_off = nlist_off + (uint32_t)l->nlists.len;
    buf_u32(b, nlist_off);
    buf_u32(b, l->count);
    buf_u32(b, strings_off);
    buf_u32(b, (uint32_t)l->strings.bytes.len);
    buf_u32(b, entries_off);
    buf_u32(b, (uint32_t)c->nimages);
    buf_put(b, l->entries.data, l->entries.len);
    buf_put(b, l->nlists.data, l->nlists.len);
    buf_put(b, l->strings.bytes.data, l->strings.bytes.len);
    buf_align(b, 8);
    buf_free(&l->entries);
    buf_free(&l->nlists);
    strpool_free(&l->strings);
}

/* ---- export trie ---- */

static void rebuild_exports(const struct image *img, struct buf *out)
{
    struct trie_entry *e = xcalloc(img->nexports, sizeof *e);
    size_t n = 0;
    uint64_t mh = img->segs[0].addr, in_mh = img->segs[0].in_addr;
    for (size_t i = 0; i < img->nexports; i++) {
        const struct export_sym *x = &img->exports[i];
        if (strncmp(x->name, "$ld$", 4) == 0 || strncmp(x->name, ".objc_class_name", 16) == 0 ||
            strncmp(x->name, ".objc_category_name", 19) == 0)
            continue;
        struct buf *p = &e[n].payload;
        e[n++].key = x->name;
        buf_uleb(p, x->flags);
        uint64_t a;
        if (x->flags & EXPORT_SYMBOL_FLAGS_REEXPORT) {
            buf_uleb(p, x->other);
            buf_str(p, x->import_name ? x->import_name : "");
        } else if ((x->flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE) {
            buf_uleb(p, x->value);
        } else {
            if (!image_reloc(img, in_mh + x->value, &a))
                die("%s: export %s is outside the image", img->in_path, x->name);
            buf_uleb(p, a - mh);
            if (x->flags & EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT)
                buf_uleb(p, 0);  /* its FunctionVariants table (fvariants.c) */
            if (x->flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER) {
                if (!image_reloc(img, in_mh + x->other, &a))
                    die("%s: resolver of %s is outside the image", img->in_path, x->name);
                buf_uleb(p, a - mh);
            }
        }
    }
    if (n)
        trie_write(e, n, out);
    for (size_t i = 0; i < n; i++)
        buf_free(&e[i].payload);
    free(e);
}

static uint64_t copy_blob(struct buf *le, uint64_t le_fileoff, const struct image *img, uint32_t off, uint32_t size)
{
    dsc_span s;
    if (!size)
        return 0;
    if (!span_sub(img->file, off, size, &s))
        die("%s: LINKEDIT blob at 0x%x is out of the file", img->in_path, off);
    buf_align(le, 8);
    uint64_t at = le_fileoff + le->len;
    buf_put(le, s.data, s.size);
    return at;
}

/* Symbols and indirect table of one image, into the shared LINKEDIT. */
static void merge_symbols(struct cache *c, struct image *img, struct buf *le, uint64_t le_fileoff,
                          struct strpool *pool, struct locals *loc)
{
    uint32_t new_locals = 0;
    buf_align(le, 8);
    img->le_symoff = le_fileoff + le->len;
    if (loc) {
        img->local_start = loc->count;
        uint64_t dylib_off = img->segs[0].addr - c->ai->base;
        if (c->opt.header_size >= 0x190) {
            buf_u64(&loc->entries, dylib_off);
        } else {
            buf_u32(&loc->entries, (uint32_t)dylib_off);
        }
    }
    for (uint32_t i = 0; i < img->nsyms; i++) {
        struct nlist_in n = read_nlist(c, img, i);
        const char *name = nlist_name(img, n.strx);
        uint64_t value = moved_value(img, &n);
        bool local = i >= img->ilocal && i - img->ilocal < img->nlocal;
        if (local && loc) {
            put_nlist(c, &loc->nlists, strpool_add(&loc->strings, name), &n, value);
            loc->count++;
            if (n.sect != 1 || (n.type & N_STAB))
                continue;
            name = "<redacted>";
        }
        if (local)
            new_locals++;
        put_nlist(c, le, strpool_add(pool, name), &n, value);
    }
    if (loc) {
        img->local_count = loc->count - img->local_start;
        buf_u32(&loc->entries, img->local_start);
        buf_u32(&loc->entries, img->local_count);
    }
    uint32_t removed = img->nlocal - new_locals;
    img->le_nsyms = img->nsyms - removed;
    img->le_nlocal = new_locals;
    img->le_iextdef = img->iextdef - removed;
    img->le_iundef = img->iundef - removed;
    buf_align(le, 4);
    img->le_indirectoff = le_fileoff + le->len;
    for (uint32_t i = 0; i < img->nindirect; i++) {
        uint32_t v;
        if (!span_u32(img->file, img->indirectoff + (uint64_t)i * 4, &v))
            die("%s: indirect symbol %u is out of the file", img->in_path, i);
        if (!(v & (INDIRECT_SYMBOL_LOCAL | INDIRECT_SYMBOL_ABS)))
            v -= removed;
        buf_u32(le, v);
    }
}

/* Before the 1284 era the ObjC optimisation header and the IMP caches are
 * LINKEDIT chunks (dyld-1042.1 .. 1245.1 SubCache::addObjCOptsHeaderChunk
 * and addObjCIMPCachesChunk call addLinkeditChunk), which Chunk::Kind
 * order (objcOptsHeader, objcIMPCaches after every linkedit* and
 * optimizedSymbol* kind) puts after the images' LINKEDIT data, each 8-byte
 * aligned (Alignment::struct64, impCaches). Zeros here: objc_opts_write and
 * objc_impcaches_emit fill them. */
static void objc_linkedit_chunks(struct cache *c, const struct region *r, struct buf *le)
{
    if (!c->objc_ro_size || !objc_opts_in_linkedit(c))
        return;
    buf_align(le, 8);
    c->objc_ro_addr = r->addr + le->len;
    buf_zero(le, c->objc_ro_size);
    if (c->impc_size) {
        buf_align(le, 8);
        c->impc_addr = r->addr + le->len;
        buf_zero(le, c->impc_size);
    }
}

void linkedit_build(struct cache *c)
{
    struct region *r = NULL;
    for (unsigned i = 0; i < c->nregions; i++)
        if (c->regions[i].kind == RK_LINKEDIT) {
            r = &c->regions[i];
            c->le_region = i;
        }
    struct buf le = {0};
    struct strpool pool;
    struct locals loc = {0};
    strpool_init(&pool);
    if (c->opt.local_symbols)
        strpool_init(&loc.strings);
    bool keep_binds = c->opt.header_size < 0x200;
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        if (keep_binds && !img->chained_in) {
            img->le_bindoff = copy_blob(&le, r->fileoff, img, img->bind_off, img->bind_size);
            img->le_weakoff = copy_blob(&le, r->fileoff, img, img->weak_off, img->weak_size);
            img->le_lazyoff = copy_blob(&le, r->fileoff, img, img->lazy_off, img->lazy_size);
        }
        struct buf ex = {0};
        rebuild_exports(img, &ex);
        img->le_exportsize = ex.len;
        buf_align(&le, 8);
        img->le_exportoff = ex.len ? r->fileoff + le.len : 0;
        buf_put(&le, ex.data, ex.len);
        buf_free(&ex);
        img->le_fstartsoff = copy_blob(&le, r->fileoff, img, img->fstarts_off, img->fstarts_size);
        img->le_dicoff = copy_blob(&le, r->fileoff, img, img->dic_off, img->dic_size);
        struct buf fv = {0};
        fv_blob(c, img, &fv);
        buf_align(&le, 8);
        img->le_fvoff = fv.len ? r->fileoff + le.len : 0;
        img->le_fvsize = fv.len;
        buf_put(&le, fv.data, fv.len);
        buf_free(&fv);
        merge_symbols(c, img, &le, r->fileoff, &pool, c->opt.local_symbols ? &loc : NULL);
    }
    buf_align(&le, 8);
    c->le_stroff = r->fileoff + le.len;
    c->le_strsize = pool.bytes.len;
    buf_put(&le, pool.bytes.data, pool.bytes.len);
    if (c->dylibs_trie.len) {
        buf_align(&le, 8);
        c->trie_addr = r->addr + le.len;
        buf_put(&le, c->dylibs_trie.data, c->dylibs_trie.len);
    }
    objc_linkedit_chunks(c, r, &le);
    r->size = dsc_align_up(le.len, 0x4000);
    r->mem = xcalloc(1, r->size);
    memcpy(r->mem, le.data, le.len);
    buf_free(&le);
    strpool_free(&pool);
    if (c->opt.local_symbols)
        locals_finish(c, &loc);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imports.c — resolve an image's indirect symbol table. See imports.h.
 */
#include "index/imports.h"

#include "base/bindinfo.h"
#include "base/sort.h"
#include "base/grow.h"

#include <stdlib.h>
#include <string.h>

struct tables {
    dsc_span syms, strs, indirect;
    unsigned nlist_size;
};

static int read_tables(const struct dsc_macho *mo, struct tables *t, dsc_error *err)
{
    struct dsc_symtab_cmd st;
    struct dsc_dysymtab_cmd dy;
    memset(t, 0, sizeof *t);
    t->nlist_size = mo->is64 ? NLIST_SIZE_64 : NLIST_SIZE;
    int has_st = dsc_macho_symtab(mo, &st), has_dy = dsc_macho_dysymtab(mo, &dy);
    if (!has_st || !has_dy)
        return 0; /* no symbols: no indirect entries either */
    if (has_st < 0 || has_dy < 0)
        return dsc_image_fail(err, mo->cache, mo->image, "LC_SYMTAB or LC_DYSYMTAB is too short");
    if (!dsc_macho_linkedit(mo, st.symoff, (uint64_t)st.nsyms * t->nlist_size, &t->syms) ||
        !dsc_macho_linkedit(mo, st.stroff, st.strsize, &t->strs) ||
        !dsc_macho_linkedit(mo, dy.indirectsymoff, (uint64_t)dy.nindirectsyms * 4, &t->indirect))
        return dsc_image_fail(err, mo->cache, mo->image, "symbol, string or indirect table is outside its LINKEDIT");
    return 0;
}

static bool typed_section(const struct dsc_section *x, unsigned *elem, unsigned ptr_size)
{
    switch (x->flags & 0xFF) {
    case S_SYMBOL_STUBS:
        *elem = x->reserved2;
        return x->reserved2 != 0;
    case S_NON_LAZY_SYMBOL_POINTERS:
    case S_LAZY_SYMBOL_POINTERS:
    case S_LAZY_DYLIB_SYMBOL_POINTERS:
    case S_THREAD_LOCAL_VARIABLE_POINTERS:
        *elem = ptr_size;
        return true;
    default:
        return false;
    }
}

/* (The names compared with their NULs: fixed-size compares, no calls;
 * sectname always holds a NUL, at 16 at the latest.) */
static bool is_retyped_got(const struct dsc_section *x)
{
    return (x->flags & 0xFF) == 0 &&
           (memcmp(x->sectname, "__got", sizeof "__got") == 0 || memcmp(x->sectname, "__auth_got", sizeof "__auth_got") == 0);
}

/* Sections the indirect table indexes. GOTs the new builder retyped to
 * S_REGULAR keep their reserved1, but it cannot be told from a cleared one:
 * such a GOT counts only if its range fits the table and overlaps no typed
 * section's. */
static bool indexed_section(const struct dsc_macho *mo, unsigned i, uint64_t nind, unsigned *elem)
{
    const struct dsc_section *x = &mo->sects[i];
    unsigned ptr = mo->is64 ? 8 : 4, e;
    if (typed_section(x, elem, ptr))
        return true;
    if (!is_retyped_got(x))
        return false;
    uint64_t lo = x->reserved1, hi = lo + x->size / ptr;
    if (hi > nind)
        return false;
    for (unsigned k = 0; k < mo->nsects; k++) {
        const struct dsc_section *y = &mo->sects[k];
        if (typed_section(y, &e, ptr) && y->reserved1 < hi && lo < y->reserved1 + y->size / e)
            return false;
    }
    *elem = ptr;
    return true;
}

static int fill_entry(const struct dsc_macho *mo, const struct tables *t, uint64_t index, struct dsc_indirect *e,
                      dsc_error *err)
{
    uint32_t sym;
    if (!span_u32(t->indirect, index * 4, &sym))
        return dsc_image_fail(err, mo->cache, mo->image, "indirect symbol %llu is out of the table",
                              (unsigned long long)index);
    if (sym & (INDIRECT_SYMBOL_LOCAL | INDIRECT_SYMBOL_ABS))
        return 0;
    dsc_span nl;
    const char *name;
    if (!span_sub(t->syms, (uint64_t)sym * t->nlist_size, t->nlist_size, &nl) ||
        !span_cstr(t->strs, dsc_le32(nl.data), t->strs.size, &name, NULL))
        return dsc_image_fail(err, mo->cache, mo->image, "indirect symbol %llu names a bad symbol %u",
                              (unsigned long long)index, sym);
    e->name = name;
    e->symbol = sym;
    e->n_type = nl.data[4];
    e->n_desc = dsc_le16(nl.data + 6);
    return 0;
}

static int cmp_addr(const void *a, const void *b)
{
    const struct dsc_indirect *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

static int cmp_name(const void *a, const void *b)
{
    const struct dsc_indirect *x = *(const struct dsc_indirect *const *)a, *y = *(const struct dsc_indirect *const *)b;
    int r = strcmp(x->name, y->name);
    return r ? r : cmp_addr(x, y);
}

/* ---- original bind opcodes ---- */

struct bind_ctx {
    struct dsc_imports *im;
    size_t cap;
    bool lazy, weak;
};

static int on_orig_bind(void *vctx, const struct dsc_bind_rec *r)
{
    struct bind_ctx *b = vctx;
    struct dsc_imports *im = b->im;
    if (!DSC_GROW(im->binds, im->nbinds, b->cap, 64))
        return 1;
    im->binds[im->nbinds++] = (struct dsc_orig_bind){r->address, r->name, r->ordinal, r->flags, r->addend,
                                                     b->lazy, b->weak, r->entry_offset, r->segment};
    return 0;
}

static int cmp_bind(const void *a, const void *b)
{
    const struct dsc_orig_bind *x = a, *y = b;
    if (x->address != y->address)
        return x->address < y->address ? -1 : 1;
    return x->weak - y->weak;
}

/* The image's segments as dsc_bind_walk checks bind targets against
 * them; NULL when out of memory. */
static struct dsc_bind_seg *bind_segs(const struct dsc_macho *mo)
{
    struct dsc_bind_seg *segs = calloc(mo->nsegs ? mo->nsegs : 1, sizeof *segs);
    for (unsigned i = 0; segs && i < mo->nsegs; i++)
        segs[i] = (struct dsc_bind_seg){mo->segs[i].vmaddr, mo->segs[i].vmsize, mo->segs[i].filesize};
    return segs;
}

static int load_orig_binds(const struct dsc_macho *mo, struct dsc_imports *im, dsc_error *err)
{
    struct dsc_lc lc;
    int found = dsc_macho_dyld_info(mo, &lc);
    if (found <= 0)
        return found ? dsc_image_fail(err, mo->cache, mo->image, "LC_DYLD_INFO is too short") : 0;
    struct dsc_bind_seg *segs = NULL; /* made for the first stream that binds something */
    struct bind_ctx b = {im, 0, false, false};
    const unsigned at[3] = {DYLD_INFO_BIND, DYLD_INFO_WEAK_BIND, DYLD_INFO_LAZY_BIND};
    char path[DSC_ERROR_MAX];
    int rc = 0;
    for (unsigned k = 0; k < 3 && rc == 0; k++) {
        dsc_span stream;
        const uint8_t *p = lc.body.data + at[k];
        b.weak = k == 1;
        b.lazy = k == 2;
        if (!dsc_macho_linkedit(mo, dsc_le32(p), dsc_le32(p + 4), &stream)) {
            rc = dsc_image_fail(err, mo->cache, mo->image, "bind opcodes are outside the LINKEDIT");
            break;
        }
        if (b.lazy)
            im->lazy_stream = stream;
        if (!stream.size)
            continue; /* binds nothing: a cache's images mostly keep empty streams */
        if (!segs && !(segs = bind_segs(mo))) {
            rc = dsc_image_fail_code(err, DSC_ERR_NOMEM, mo->cache, mo->image, "out of memory");
            break;
        }
        rc = dsc_bind_walk(stream, segs, mo->nsegs, mo->is64 ? 8 : 4, b.lazy, on_orig_bind, &b,
                           dsc_path_escape(path, sizeof path, mo->path), err);
        if (rc > 0)
            rc = dsc_image_fail_code(err, DSC_ERR_NOMEM, mo->cache, mo->image, "out of memory");
    }
    free(segs);
    if (rc == 0 && im->nbinds)
        dsc_sort(im->binds, im->nbinds, sizeof *im->binds, cmp_bind);
    return rc ? -1 : 0;
}

static size_t first_bind(const struct dsc_imports *im, uint64_t address)
{
    return dsc_lower_bound(im->binds, im->nbinds, sizeof *im->binds, offsetof(struct dsc_orig_bind, address),
                           address);
}

const struct dsc_orig_bind *dsc_imports_bind_search(const struct dsc_imports *im, uint64_t address)
{
    for (size_t i = first_bind(im, address); i < im->nbinds && im->binds[i].address == address; i++)
        if (!im->binds[i].weak)
            return &im->binds[i];
    return NULL;
}

/* Entries the sections claim, at most one per entry of the indirect table. */
static int count_entries(const struct dsc_macho *mo, const struct tables *t, size_t *n, dsc_error *err)
{
    uint64_t total = 0, nind = t->indirect.size / 4;
    unsigned elem;
    for (unsigned i = 0; i < mo->nsects; i++) {
        const struct dsc_section *x = &mo->sects[i];
        if (!indexed_section(mo, i, nind, &elem))
            continue;
        uint64_t k = x->size / elem;
        if (k > nind || x->reserved1 > nind - k)
            return dsc_image_fail(err, mo->cache, mo->image, "section %s,%s indexes past the indirect table",
                                  x->segname, x->sectname);
        total += k;
    }
    /* Each indexed section has its own range of the table: more entries
     * than the table holds means sections sharing it, and a table of
     * entries as many times over. */
    if (total > nind)
        return dsc_image_fail(err, mo->cache, mo->image, "sections index %llu indirect symbols, the table has %llu",
                              (unsigned long long)total, (unsigned long long)nind);
    *n = (size_t)total;
    return 0;
}

int dsc_imports_load(const struct dsc_macho *mo, struct dsc_imports *out, dsc_error *err)
{
    struct tables t;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    if (read_tables(mo, &t, err) || count_entries(mo, &t, &n, err))
        return -1;
    out->entries = calloc(n ? n : 1, sizeof *out->entries);
    out->by_name = calloc(n ? n : 1, sizeof *out->by_name);
    if (!out->entries || !out->by_name) {
        dsc_imports_free(out);
        return dsc_image_fail_code(err, DSC_ERR_NOMEM, mo->cache, mo->image, "out of memory");
    }
    unsigned elem;
    for (unsigned i = 0; i < mo->nsects; i++) {
        const struct dsc_section *x = &mo->sects[i];
        if (!indexed_section(mo, i, t.indirect.size / 4, &elem))
            continue;
        /* A retyped GOT reads as the non-lazy pointer section it was. */
        uint8_t type = is_retyped_got(x) ? S_NON_LAZY_SYMBOL_POINTERS : (uint8_t)(x->flags & 0xFF);
        for (uint64_t k = 0; k < x->size / elem; k++) {
            struct dsc_indirect *e = &out->entries[out->count++];
            *e = (struct dsc_indirect){.address = x->addr + k * elem, .sect_type = type, .section = i, .size = elem};
            if (fill_entry(mo, &t, x->reserved1 + k, e, err)) {
                dsc_imports_free(out);
                return -1;
            }
            if (e->name)
                out->by_name[out->named++] = e;
        }
    }
    dsc_sort(out->entries, out->count, sizeof *out->entries, cmp_addr);
    /* Entries moved: rebuild the name index on their final places. */
    out->named = 0;
    for (size_t i = 0; i < out->count; i++)
        if (out->entries[i].name)
            out->by_name[out->named++] = &out->entries[i];
    dsc_sort(out->by_name, out->named, sizeof *out->by_name, cmp_name);
    if (load_orig_binds(mo, out, err)) {
        dsc_imports_free(out);
        return -1;
    }
    return 0;
}

int dsc_imports_each_undefined(const struct dsc_macho *mo, dsc_undefined_fn fn, void *ctx, dsc_error *err)
{
    struct tables t;
    struct dsc_dysymtab_cmd dy;
    if (read_tables(mo, &t, err))
        return -1;
    if (!t.syms.size || dsc_macho_dysymtab(mo, &dy) <= 0)
        return 0;
    for (uint64_t i = dy.iundefsym; i < (uint64_t)dy.iundefsym + dy.nundefsym; i++) {
        dsc_span nl;
        const char *name;
        if (!span_sub(t.syms, i * t.nlist_size, t.nlist_size, &nl) ||
            !span_cstr(t.strs, dsc_le32(nl.data), t.strs.size, &name, NULL))
            return dsc_image_fail(err, mo->cache, mo->image, "undefined symbol %llu is out of the symbol table",
                                  (unsigned long long)i);
        int rc = fn(ctx, name, dsc_le16(nl.data + 6));
        if (rc)
            return rc;
    }
    return 0;
}

void dsc_imports_free(struct dsc_imports *im)
{
    free(im->binds);
    free(im->entries);
    free(im->by_name);
    memset(im, 0, sizeof *im);
}

const struct dsc_indirect *dsc_imports_at(const struct dsc_imports *im, uint64_t address)
{
    size_t lo = dsc_lower_bound(im->entries, im->count, sizeof *im->entries,
                                offsetof(struct dsc_indirect, address), address);
    return lo < im->count && im->entries[lo].address == address ? &im->entries[lo] : NULL;
}

/* First by_name index with `name`, or im->named. */
static size_t first_named(const struct dsc_imports *im, const char *name)
{
    size_t lo = 0, hi = im->named;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(im->by_name[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static unsigned slot_rank(const struct dsc_indirect *e, const struct dsc_macho *mo, bool auth)
{
    if (e->sect_type == S_LAZY_SYMBOL_POINTERS)
        return 0;
    if (strcmp(mo->sects[e->section].sectname, "__auth_got") == 0)
        return auth ? 1 : 3;
    return 2;
}

const struct dsc_indirect *dsc_imports_slot_for(const struct dsc_imports *im, const struct dsc_macho *mo,
                                                const char *name, bool auth)
{
    const struct dsc_indirect *best = NULL;
    for (size_t i = first_named(im, name); i < im->named && strcmp(im->by_name[i]->name, name) == 0; i++) {
        const struct dsc_indirect *e = im->by_name[i];
        if (dsc_indirect_is_stub(e) || e->sect_type == S_THREAD_LOCAL_VARIABLE_POINTERS)
            continue;
        if (!best || slot_rank(e, mo, auth) < slot_rank(best, mo, auth))
            best = e;
    }
    return best;
}

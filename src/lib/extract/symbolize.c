/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * symbolize.c — point indirect symbol entries at the right symbols. See
 * symbolize.h. Works on the plan's LINKEDIT blobs, so a size plan and a full
 * plan grow the symbol table identically.
 */
#include "extract/symbolize.h"

#include <stdlib.h>
#include <string.h>

#include "index/imports.h"
#include "base/sort.h"


/* Names are kept as string-table offsets: the blob may move as it grows. */
struct sym_ref {
    uint32_t strx;
    uint32_t index;
};

struct symtab_view {
    struct dsc_plan *p;
    unsigned nl_size;
    struct sym_ref *refs;   /* external and undefined symbols, sorted by name */
    size_t nrefs, cap;
};

static const char *ref_name(const struct symtab_view *v, const struct sym_ref *r)
{
    return (const char *)v->p->le.strtab.data + r->strx;
}

static int cmp_ref(const void *a, const void *b, void *ctx)
{
    return strcmp(ref_name(ctx, a), ref_name(ctx, b));
}

static int load_view(struct symtab_view *v)
{
    struct dsc_plan *p = v->p;
    struct dsc_linkedit *le = &p->le;
    v->nl_size = p->mo.is64 ? 16 : 12;
    v->cap = le->nsyms + (size_t)p->nimports + 1;
    v->refs = malloc(v->cap * sizeof *v->refs);
    if (!v->refs)
        return plan_oom(p);
    dsc_span strs = {le->strtab.data, le->strtab.size};
    for (uint32_t i = le->nlocal; i < le->nsyms; i++) {
        uint32_t strx = dsc_le32(le->symtab.data + (uint64_t)i * v->nl_size);
        const char *name;
        if (span_cstr(strs, strx, strs.size, &name, NULL))
            v->refs[v->nrefs++] = (struct sym_ref){strx, i};
    }
    dsc_sort_r(v->refs, v->nrefs, sizeof *v->refs, cmp_ref, v);
    return 0;
}

/* First ref whose name is >= name. */
static size_t lower_ref(const struct symtab_view *v, const char *name)
{
    size_t lo = 0, hi = v->nrefs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ref_name(v, &v->refs[mid]), name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* An undefined nlist for an import the symtab lacks (undefineds are last,
 * so appending keeps the LC_DYSYMTAB ranges contiguous). */
static int add_undefined(struct symtab_view *v, const struct dsc_import *im, uint32_t *index)
{
    struct dsc_linkedit *le = &v->p->le;
    uint8_t nl[16] = {0};
    unsigned ord = im->lib_ordinal > 0 ? (unsigned)im->lib_ordinal
                   : im->lib_ordinal == DSC_ORDINAL_FLAT_LOOKUP ? DYNAMIC_LOOKUP_ORDINAL : 0;
    uint16_t desc = (uint16_t)(ord << 8 | (im->weak_import ? N_WEAK_REF : 0));
    dsc_put32(nl, (uint32_t)le->strtab.size);
    nl[4] = N_UNDF | N_EXT;
    nl[6] = (uint8_t)desc;
    nl[7] = (uint8_t)(desc >> 8);
    uint32_t strx = (uint32_t)le->strtab.size;
    if (le->strtab.size > UINT32_MAX - strlen(im->name) - 1 || v->nrefs == v->cap ||
        !blob_add(&le->symtab, nl, v->nl_size) || !blob_add(&le->strtab, im->name, strlen(im->name) + 1))
        return plan_oom(v->p);
    *index = le->nsyms++;
    le->nundef++;
    size_t at = lower_ref(v, im->name);
    memmove(v->refs + at + 1, v->refs + at, (v->nrefs - at) * sizeof *v->refs);
    v->refs[at] = (struct sym_ref){strx, *index};
    v->nrefs++;
    return 0;
}

static const struct dsc_fixup *fixup_at(const struct dsc_plan *p, const uint64_t *addrs, const size_t *order,
                                        uint64_t address)
{
    size_t lo = dsc_lower_bound(addrs, p->nfixups, sizeof *addrs, 0, address);
    return lo < p->nfixups && addrs[lo] == address ? &p->fixups[order[lo]] : NULL;
}

static const char *stub_name(const struct dsc_stub_name *stubs, size_t n, uint64_t address)
{
    size_t lo = dsc_lower_bound(stubs, n, sizeof *stubs, offsetof(struct dsc_stub_name, address), address);
    return lo < n && stubs[lo].address == address ? stubs[lo].name : NULL;
}

static int cmp_slot(const void *a, const void *b)
{
    const struct dsc_stub_name *x = a, *y = b;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* The name of the stub that loads `slot` (a lazy pointer rebased to its
 * helper has no bind to name it); `by_slot` is sorted by slot. */
static const char *slot_name(const struct dsc_stub_name *by_slot, size_t n, uint64_t slot)
{
    struct dsc_stub_name key = {NULL, 0, slot};
    const struct dsc_stub_name *s = n ? bsearch(&key, by_slot, n, sizeof *by_slot, cmp_slot) : NULL;
    return s ? s->name : NULL;
}

/* The symbol index for `name` (an import when `im` is given), adding an
 * undefined symbol when needed; false when there is none to point at. */
static int symbol_for(struct symtab_view *v, const char *name, const struct dsc_import *im, uint32_t *index,
                      bool *found)
{
    size_t at = lower_ref(v, name);
    *found = true;
    if (at < v->nrefs && strcmp(ref_name(v, &v->refs[at]), name) == 0) {
        *index = v->refs[at].index;
        return 0;
    }
    if (!im) {
        *found = false;
        return 0;
    }
    return add_undefined(v, im, index);
}

struct fixup_order {
    uint64_t *addrs;
    size_t *order;
};

static int cmp_by_addr(const void *a, const void *b, void *ctx)
{
    const struct dsc_fixup *f = ctx;
    uint64_t x = f[*(const size_t *)a].address, y = f[*(const size_t *)b].address;
    return x < y ? -1 : x > y;
}

static int sort_fixups(struct dsc_plan *p, struct fixup_order *fo)
{
    size_t n = p->nfixups ? p->nfixups : 1;
    fo->addrs = malloc(n * sizeof *fo->addrs);
    fo->order = malloc(n * sizeof *fo->order);
    if (!fo->addrs || !fo->order)
        return plan_oom(p);
    for (size_t i = 0; i < p->nfixups; i++)
        fo->order[i] = i;
    dsc_sort_r(fo->order, p->nfixups, sizeof *fo->order, cmp_by_addr, p->fixups);
    for (size_t i = 0; i < p->nfixups; i++)
        fo->addrs[i] = p->fixups[fo->order[i]].address;
    return 0;
}

int dsc_symbolize_indirect(struct dsc_plan *p, const struct dsc_stub_name *stubs, size_t nstubs)
{
    struct symtab_view v = {.p = p};
    struct fixup_order fo = {0};
    struct dsc_stub_name *by_slot = malloc((nstubs ? nstubs : 1) * sizeof *by_slot);
    int rc = !by_slot ? plan_oom(p) : load_view(&v) || sort_fixups(p, &fo) ? -1 : 0;
    if (rc == 0 && nstubs) {
        memcpy(by_slot, stubs, nstubs * sizeof *stubs);
        qsort(by_slot, nstubs, sizeof *by_slot, cmp_slot);
    }
    unsigned elem;
    for (unsigned s = 0; rc == 0 && s < p->mo.nsects; s++) {
        const struct dsc_section *x = &p->mo.sects[s];
        uint32_t type = x->flags & 0xFF;
        if (type == S_SYMBOL_STUBS)
            elem = x->reserved2;
        else if (type == S_NON_LAZY_SYMBOL_POINTERS || type == S_LAZY_SYMBOL_POINTERS)
            elem = p->ptr_size;
        else
            continue;
        for (uint64_t k = 0; elem && rc == 0 && k < x->size / elem; k++) {
            uint64_t at = x->addr + k * elem, slot = (uint64_t)x->reserved1 + k;
            if (slot >= p->le.nindirect)
                break;
            const char *name = NULL;
            const struct dsc_import *im = NULL;
            if (type == S_SYMBOL_STUBS) {
                name = stub_name(stubs, nstubs, at);
            } else {
                const struct dsc_fixup *f = fixup_at(p, fo.addrs, fo.order, at);
                if (f && f->kind == DSC_FIXUP_BIND) {
                    im = &p->imports[f->import];
                    name = im->name;
                } else {
                    name = slot_name(by_slot, nstubs, at);
                }
            }
            if (!name)
                continue;
            /* A stub's import: the one its name is bound under, if any. */
            for (uint32_t i = 0; !im && i < p->nimports; i++)
                if (strcmp(p->imports[i].name, name) == 0)
                    im = &p->imports[i];
            uint32_t index = 0;
            bool found = false;
            rc = symbol_for(&v, name, im, &index, &found);
            if (rc == 0 && found)
                dsc_put32(p->le.indirect.data + slot * 4, index);
        }
    }
    /* Every other import gets its undefined symbol too, as a linker writes. */
    for (uint32_t i = 0; rc == 0 && i < p->nimports; i++) {
        uint32_t index;
        bool found;
        if (p->imports[i].lib_ordinal != DSC_ORDINAL_SELF)
            rc = symbol_for(&v, p->imports[i].name, &p->imports[i], &index, &found);
    }
    if (rc == 0 && !blob_align(&p->le.strtab, p->ptr_size))
        rc = plan_oom(p);
    free(v.refs);
    free(fo.addrs);
    free(fo.order);
    free(by_slot);
    return rc;
}

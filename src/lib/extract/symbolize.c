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


/* The external and undefined symbols by name: an open-addressing hash
 * table, built on the first lookup (most images look up a few names among
 * hundreds of extdefs: hashing each name once is cheaper than sorting
 * them). Names are kept as string-table offsets: the blob may move as it
 * grows. Every n_strx here was written by pass_linkedit or add_undefined,
 * each to a NUL-terminated name inside the table. */
struct sym_ref {
    uint32_t hash;
    uint32_t strx;
    uint32_t index;   /* the symbol's, plus one; 0: empty */
};

struct symtab_view {
    struct dsc_plan *p;
    unsigned nl_size;
    struct sym_ref *refs;   /* NULL until the first lookup */
    size_t mask;            /* capacity - 1, a power of two minus one */
};

/* Any hash will do (the table answers exact names); this one reads the
 * name a word at a time. */
static uint32_t name_hash(const char *name)
{
    size_t len = strlen(name), i = 0;
    uint64_t h = len, w;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, name + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15u;
        h ^= h >> 29;
    }
    for (w = 0; i < len; i++)
        w = w << 8 | (uint8_t)name[i];
    h = (h ^ w) * 0x9E3779B97F4A7C15u;
    return (uint32_t)(h >> 32);
}

/* The slot holding `name` (hash `hash`), or the empty slot where it goes. */
static struct sym_ref *slot_of(const struct symtab_view *v, const char *name, uint32_t hash)
{
    const char *strs = (const char *)v->p->le.strtab.data;
    for (size_t k = hash & v->mask;; k = (k + 1) & v->mask) {
        struct sym_ref *r = &v->refs[k];
        if (!r->index || (r->hash == hash && strcmp(strs + r->strx, name) == 0))
            return r;
    }
}

/* Room for every symbol from the first external one on, and an undefined
 * symbol for each import: the table stays at most half full. */
static int load_view(struct symtab_view *v)
{
    struct dsc_plan *p = v->p;
    struct dsc_linkedit *le = &p->le;
    size_t want = 2 * ((size_t)le->nsyms - le->nlocal + p->nimports + 1), cap = 16;
    while (cap < want)
        cap *= 2;
    v->nl_size = p->mo.is64 ? 16 : 12;
    v->mask = cap - 1;
    v->refs = calloc(cap, sizeof *v->refs);
    if (!v->refs)
        return plan_oom(p);
    for (uint32_t i = le->nlocal; i < le->nsyms; i++) {
        uint32_t strx = dsc_le32(le->symtab.data + (uint64_t)i * v->nl_size);
        if (strx >= le->strtab.size)
            continue;
        uint32_t hash = name_hash((const char *)le->strtab.data + strx);
        struct sym_ref *r = slot_of(v, (const char *)le->strtab.data + strx, hash);
        if (!r->index) /* the first symbol of a name is the one named */
            *r = (struct sym_ref){hash, strx, i + 1};
    }
    return 0;
}

/* An undefined nlist for an import the symtab lacks (undefineds are last,
 * so appending keeps the LC_DYSYMTAB ranges contiguous), put in slot `r`. */
static int add_undefined(struct symtab_view *v, const struct dsc_import *im, struct sym_ref *r, uint32_t hash,
                         uint32_t *index)
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
    if (le->strtab.size > UINT32_MAX - strlen(im->name) - 1 || le->nsyms >= UINT32_MAX - 1 ||
        !blob_add(&le->symtab, nl, v->nl_size) || !blob_add(&le->strtab, im->name, strlen(im->name) + 1))
        return plan_oom(v->p);
    *index = le->nsyms++;
    le->nundef++;
    *r = (struct sym_ref){hash, strx, *index + 1};
    return 0;
}

const struct dsc_fixup *dsc_fixup_lookup(const struct dsc_plan *p, const struct dsc_fixup_ref *by_addr,
                                         uint64_t address)
{
    size_t n = p->nfixups, lo;
    if (!by_addr) {
        lo = dsc_lower_bound(p->fixups, n, sizeof *p->fixups, offsetof(struct dsc_fixup, address), address);
        return lo < n && p->fixups[lo].address == address ? &p->fixups[lo] : NULL;
    }
    lo = dsc_lower_bound(by_addr, n, sizeof *by_addr, offsetof(struct dsc_fixup_ref, address), address);
    return lo < n && by_addr[lo].address == address ? &p->fixups[by_addr[lo].index] : NULL;
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

/* The symbol index for `name`, adding an undefined symbol for the import
 * bound under it (`im`, else the first import of that name) when the
 * symtab has none; false when there is none to point at. */
static int symbol_for(struct symtab_view *v, const char *name, const struct dsc_import *im, uint32_t *index,
                      bool *found)
{
    const struct dsc_plan *p = v->p;
    if (!v->refs && load_view(v))
        return -1;
    uint32_t hash = name_hash(name);
    struct sym_ref *r = slot_of(v, name, hash);
    *found = true;
    if (r->index) {
        *index = r->index - 1;
        return 0;
    }
    for (uint32_t i = 0; !im && i < p->nimports; i++)
        if (strcmp(p->imports[i].name, name) == 0)
            im = &p->imports[i];
    if (!im) {
        *found = false;
        return 0;
    }
    return add_undefined(v, im, r, hash, index);
}

int dsc_symbolize_indirect(struct dsc_plan *p, const struct dsc_stub_name *stubs, size_t nstubs,
                           const struct dsc_fixup_ref *by_addr)
{
    struct symtab_view v = {.p = p};
    struct dsc_stub_name *by_slot = malloc((nstubs ? nstubs : 1) * sizeof *by_slot);
    int rc = by_slot ? 0 : plan_oom(p);
    if (rc == 0 && nstubs) {
        memcpy(by_slot, stubs, nstubs * sizeof *stubs);
        dsc_sort(by_slot, nstubs, sizeof *by_slot, cmp_slot);
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
                const struct dsc_fixup *f = dsc_fixup_lookup(p, by_addr, at);
                if (f && f->kind == DSC_FIXUP_BIND) {
                    im = &p->imports[f->import];
                    name = im->name;
                } else {
                    name = slot_name(by_slot, nstubs, at);
                }
            }
            if (!name)
                continue;
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
    free(by_slot);
    return rc;
}

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
#include "index/symbols.h"
#include "base/grow.h"
#include "base/sort.h"


/* The lookups are gathered first, in the order a linker makes them (the
 * indirect entries, then every other import), and their few names found
 * in one pass over the symbols: hashing each symbol's name to look for it
 * among a dozen wanted names is cheaper than indexing hundreds of extdefs
 * for a dozen questions. They are then answered in order, each missing
 * import adding its undefined symbol as the first lookup of it asks. */

/* A name looked for: the first external or undefined symbol so named, or
 * the undefined symbol added for it. */
struct wanted {
    const char *name;
    uint32_t hash;
    uint32_t index;   /* the symbol's, plus one; 0: none yet */
};

#define NO_SLOT UINT64_MAX

/* One lookup: an indirect entry to point (NO_SLOT: none) at a name, with
 * the import bound under it, if any, to add when no symbol has it. */
struct lookup {
    uint64_t slot;
    const char *name;
    const struct dsc_import *im;
    uint32_t want;    /* its name in wanted[] */
};

struct lookups {
    struct dsc_plan *p;
    struct lookup *v;
    size_t n, cap;
    struct wanted *wanted;
    size_t nwanted;
    uint32_t *table;  /* wanted by hash: index plus one; 0: empty */
    size_t mask;      /* table size minus one, a power of two minus one */
};

/* Any hash will do (the table answers exact names); this one reads the
 * length and at most the first and last 8 bytes. */
static uint32_t name_hash(const char *name)
{
    size_t len = strlen(name);
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, name, 8);
        memcpy(&b, name + len - 8, 8);
    } else {
        for (size_t i = 0; i < len; i++)
            a = a << 8 | (uint8_t)name[i];
    }
    uint64_t h = (len ^ a) * 0x9E3779B97F4A7C15u;
    h = (h ^ (h >> 29) ^ b) * 0x9E3779B97F4A7C15u;
    return (uint32_t)(h >> 32);
}

/* The table's slot for `name`: where its wanted entry is, or the empty
 * one where it would go. */
static uint32_t *want_slot(const struct lookups *l, const char *name, uint32_t hash)
{
    for (size_t k = hash & l->mask;; k = (k + 1) & l->mask) {
        uint32_t *t = &l->table[k];
        if (!*t || (l->wanted[*t - 1].hash == hash && strcmp(l->wanted[*t - 1].name, name) == 0))
            return t;
    }
}

static int add_lookup(struct lookups *l, uint64_t slot, const char *name, const struct dsc_import *im)
{
    if (!DSC_GROW(l->v, l->n, l->cap, 16))
        return plan_oom(l->p);
    l->v[l->n++] = (struct lookup){slot, name, im, 0};
    return 0;
}

/* The wanted names of the lookups, each once, in a table at most half full. */
static int index_wanted(struct lookups *l)
{
    size_t cap = 16;
    while (cap < 2 * l->n)
        cap *= 2;
    l->mask = cap - 1;
    l->table = calloc(cap, sizeof *l->table);
    l->wanted = malloc((l->n ? l->n : 1) * sizeof *l->wanted);
    if (!l->table || !l->wanted)
        return plan_oom(l->p);
    for (size_t i = 0; i < l->n; i++) {
        uint32_t hash = name_hash(l->v[i].name), *t = want_slot(l, l->v[i].name, hash);
        if (!*t) {
            l->wanted[l->nwanted] = (struct wanted){l->v[i].name, hash, 0};
            *t = (uint32_t)++l->nwanted;
        }
        l->v[i].want = *t - 1;
    }
    return 0;
}

/* The name of symbol `i` of the rebuilt table, or NULL. Every n_strx
 * there was written by pass_linkedit, each to a NUL-terminated name. */
static const char *symbol_name(const struct dsc_linkedit *le, unsigned nl_size, uint32_t i)
{
    uint32_t strx = dsc_le32(le->symtab.data + (uint64_t)i * nl_size);
    return strx < le->strtab.size ? (const char *)le->strtab.data + strx : NULL;
}

/* The first external or undefined symbol of each wanted name. When the
 * extdefs are the trie's names, one each (pass_linkedit found that), a
 * name is an extdef only if the image's trie has it, which its export set
 * answers without reading the extdefs; a stub seldom calls its own image's
 * export, and only then are they read, up to the one so named. Else, and
 * for the undefined symbols, every name is hashed into the table. */
static void find_wanted(struct lookups *l)
{
    struct dsc_plan *p = l->p;
    const struct dsc_linkedit *le = &p->le;
    unsigned nl_size = p->mo.is64 ? 16 : 12;
    uint32_t from = le->nlocal, i;
    struct dsc_symbols *syms;
    if (le->extdefs_are_trie && plan_symbols(p, &syms) == 0) {
        from = le->nlocal + le->nextdef;
        for (size_t w = 0; w < l->nwanted; w++) {
            const char *want = l->wanted[w].name, *name;
            if (!dsc_symbols_find(syms, p->mo.image, want))
                continue;
            for (i = le->nlocal; i < from && !((name = symbol_name(le, nl_size, i)) && strcmp(name, want) == 0); i++)
                ;
            l->wanted[w].index = i < from ? i + 1 : 0;
        }
    }
    for (i = from; i < le->nsyms; i++) {
        const char *name = symbol_name(le, nl_size, i);
        uint32_t *t = name ? want_slot(l, name, name_hash(name)) : NULL;
        if (t && *t && !l->wanted[*t - 1].index)
            l->wanted[*t - 1].index = i + 1;
    }
}

/* An undefined nlist for an import the symtab lacks (undefineds are last,
 * so appending keeps the LC_DYSYMTAB ranges contiguous); its index plus
 * one in *index. */
static int add_undefined(struct dsc_plan *p, const struct dsc_import *im, uint32_t *index)
{
    struct dsc_linkedit *le = &p->le;
    uint8_t nl[16] = {0};
    unsigned ord = im->lib_ordinal > 0 ? (unsigned)im->lib_ordinal
                   : im->lib_ordinal == DSC_ORDINAL_FLAT_LOOKUP ? DYNAMIC_LOOKUP_ORDINAL : 0;
    uint16_t desc = (uint16_t)(ord << 8 | (im->weak_import ? N_WEAK_REF : 0));
    dsc_put32(nl, (uint32_t)le->strtab.size);
    nl[4] = N_UNDF | N_EXT;
    nl[6] = (uint8_t)desc;
    nl[7] = (uint8_t)(desc >> 8);
    if (le->strtab.size > UINT32_MAX - strlen(im->name) - 1 || le->nsyms >= UINT32_MAX - 1 ||
        !blob_add(&le->symtab, nl, p->mo.is64 ? 16 : 12) || !blob_add(&le->strtab, im->name, strlen(im->name) + 1))
        return plan_oom(p);
    *index = ++le->nsyms;
    le->nundef++;
    return 0;
}

/* Answer the lookups in order: point each entry at its name's symbol,
 * adding an undefined symbol for the import bound under it (else the
 * first import of that name) when the symtab has none. */
static int answer(struct lookups *l)
{
    struct dsc_plan *p = l->p;
    for (size_t i = 0; i < l->n; i++) {
        const struct lookup *q = &l->v[i];
        struct wanted *w = &l->wanted[q->want];
        const struct dsc_import *im = q->im;
        for (uint32_t k = 0; !w->index && !im && k < p->nimports; k++)
            if (strcmp(p->imports[k].name, q->name) == 0)
                im = &p->imports[k];
        if (!w->index && !im)
            continue; /* no symbol to point at */
        if (!w->index && add_undefined(p, im, &w->index))
            return -1;
        if (q->slot != NO_SLOT)
            dsc_put32(p->le.indirect.data + q->slot * 4, w->index - 1);
    }
    return 0;
}

const struct dsc_fixup *dsc_fixup_lookup(const struct dsc_plan *p, uint64_t address)
{
    size_t n = p->nfixups;
    size_t lo = dsc_lower_bound(p->fixups, n, sizeof *p->fixups, offsetof(struct dsc_fixup, address), address);
    return lo < n && p->fixups[lo].address == address ? &p->fixups[lo] : NULL;
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

/* The lookups of the indirect entries, in order. */
static int entry_lookups(struct lookups *l, const struct dsc_stub_name *stubs, size_t nstubs,
                         const struct dsc_stub_name *by_slot)
{
    struct dsc_plan *p = l->p;
    unsigned elem;
    for (unsigned s = 0; s < p->mo.nsects; s++) {
        const struct dsc_section *x = &p->mo.sects[s];
        uint32_t type = x->flags & 0xFF;
        if (type == S_SYMBOL_STUBS)
            elem = x->reserved2;
        else if (type == S_NON_LAZY_SYMBOL_POINTERS || type == S_LAZY_SYMBOL_POINTERS)
            elem = p->ptr_size;
        else
            continue;
        for (uint64_t k = 0; elem && k < x->size / elem; k++) {
            uint64_t at = x->addr + k * elem, slot = (uint64_t)x->reserved1 + k;
            if (slot >= p->le.nindirect)
                break;
            const char *name = NULL;
            const struct dsc_import *im = NULL;
            if (type == S_SYMBOL_STUBS) {
                name = stub_name(stubs, nstubs, at);
            } else {
                const struct dsc_fixup *f = dsc_fixup_lookup(p, at);
                if (f && f->kind == DSC_FIXUP_BIND) {
                    im = &p->imports[f->import];
                    name = im->name;
                } else {
                    name = slot_name(by_slot, nstubs, at);
                }
            }
            if (name && add_lookup(l, slot, name, im))
                return -1;
        }
    }
    return 0;
}

int dsc_symbolize_indirect(struct dsc_plan *p, const struct dsc_stub_name *stubs, size_t nstubs)
{
    struct lookups l = {.p = p};
    struct dsc_stub_name *by_slot = malloc((nstubs ? nstubs : 1) * sizeof *by_slot);
    int rc = by_slot ? 0 : plan_oom(p);
    if (rc == 0 && nstubs) {
        memcpy(by_slot, stubs, nstubs * sizeof *stubs);
        dsc_sort(by_slot, nstubs, sizeof *by_slot, cmp_slot);
    }
    rc = rc ? rc : entry_lookups(&l, stubs, nstubs, by_slot);
    /* Every other import gets its undefined symbol too, as a linker writes. */
    for (uint32_t i = 0; rc == 0 && i < p->nimports; i++)
        if (p->imports[i].lib_ordinal != DSC_ORDINAL_SELF)
            rc = add_lookup(&l, NO_SLOT, p->imports[i].name, &p->imports[i]);
    if (rc == 0 && l.n) {
        rc = index_wanted(&l);
        if (rc == 0) {
            find_wanted(&l);
            rc = answer(&l);
        }
    }
    if (rc == 0 && !blob_align(&p->le.strtab, p->ptr_size))
        rc = plan_oom(p);
    free(l.v);
    free(l.wanted);
    free(l.table);
    free(by_slot);
    return rc;
}

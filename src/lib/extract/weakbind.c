/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * weakbind.c — rebuild the weak-bind opcode stream. See weakbind.h.
 */
#include "extract/weakbind.h"

#include <stdlib.h>
#include <string.h>

#include "base/bindinfo.h"
#include "base/grow.h"
#include "base/sort.h"

enum {
    OP_DONE = 0x00,
    OP_SET_SYMBOL_TRAILING_FLAGS_IMM = 0x40,
    OP_SET_TYPE_IMM = 0x50,
    OP_SET_ADDEND_SLEB = 0x60,
    OP_SET_SEGMENT_AND_OFFSET_ULEB = 0x70,
    OP_DO_BIND = 0x90,
};

struct weak_ref {
    const char *name;
    uint64_t address;
    int64_t addend;
};

struct weak_list {
    struct weak_ref *v;
    size_t n, cap;
};

static bool add_ref(struct weak_list *l, const char *name, uint64_t address, int64_t addend)
{
    if (!DSC_GROW(l->v, l->n, l->cap, 32))
        return false;
    l->v[l->n++] = (struct weak_ref){name, address, addend};
    return true;
}

static int cmp_ref(const void *a, const void *b)
{
    const struct weak_ref *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x->address < y->address ? -1 : x->address > y->address);
}

const struct dsc_export *dsc_bound_definition(const struct dsc_plan *p, struct dsc_symbols *syms, const char *name,
                                              int ordinal)
{
    uint32_t ndeps;
    const struct dsc_dep *deps = dsc_symbols_deps(syms, p->mo.image, &ndeps);
    if (ordinal > 0 && (uint32_t)ordinal <= ndeps && deps[ordinal - 1].image >= 0)
        return dsc_symbols_lookup(syms, (uint32_t)deps[ordinal - 1].image, name);
    if (ordinal == DSC_ORDINAL_SELF)
        return dsc_symbols_lookup(syms, p->mo.image, name);
    return NULL;
}

/* This image's weak definition at `target`, or NULL. */
static const struct dsc_export *own_weak_def(const struct dsc_plan *p, struct dsc_symbols *syms, uint64_t target)
{
    const struct dsc_export *const *at;
    size_t n = dsc_symbols_by_address(syms, target, &at);
    for (size_t i = 0; i < n; i++)
        if (at[i]->image == p->mo.image && (at[i]->flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION))
            return at[i];
    return NULL;
}

static bool collect(const struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im,
                    struct weak_list *l)
{
    bool from_opcodes = false;
    for (size_t i = 0; i < im->nbinds; i++)
        if (im->binds[i].weak) {
            from_opcodes = true;
            if (plan_in_image(p, im->binds[i].address) &&
                !add_ref(l, im->binds[i].name, im->binds[i].address, im->binds[i].addend))
                return false;
        }
    /* Asked once: most images' tries have no weak definition, and each of
     * their rebases would ask. */
    bool own_weak = !from_opcodes && dsc_symbols_has_weak(syms, p->mo.image);
    for (size_t i = 0; !from_opcodes && i < p->nfixups; i++) {
        const struct dsc_fixup *f = &p->fixups[i];
        const struct dsc_export *def = NULL;
        const char *name = NULL;
        if (f->kind == DSC_FIXUP_BIND) {
            name = p->imports[f->import].name;
            def = dsc_bound_definition(p, syms, name, p->imports[f->import].lib_ordinal);
        } else if (f->kind == DSC_FIXUP_REBASE && own_weak && (def = own_weak_def(p, syms, f->target)) != NULL) {
            name = def->name;
        }
        if (def && (def->flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION) &&
            !add_ref(l, name, f->address, f->kind == DSC_FIXUP_BIND ? f->addend : 0))
            return false;
    }
    return true;
}

static bool emit(struct dsc_plan *p, const struct weak_list *l)
{
    struct dsc_blob *b = &p->le.weak_bind;
    bool ok = true;
    int64_t addend = 0;
    for (size_t i = 0; ok && i < l->n; i++) {
        const struct weak_ref *r = &l->v[i];
        const struct dsc_out_segment *seg = plan_segment_at(p, r->address, p->ptr_size);
        if (!seg)
            continue;
        if (i == 0 || strcmp(r->name, l->v[i - 1].name) != 0)
            ok = blob_u8(b, OP_SET_SYMBOL_TRAILING_FLAGS_IMM) && blob_add(b, r->name, strlen(r->name) + 1) &&
                 blob_u8(b, OP_SET_TYPE_IMM | BIND_TYPE_POINTER);
        if (ok && r->addend != addend)
            ok = blob_u8(b, OP_SET_ADDEND_SLEB) && blob_sleb(b, r->addend);
        addend = r->addend;
        ok = ok && blob_u8(b, OP_SET_SEGMENT_AND_OFFSET_ULEB | (uint8_t)(seg - p->segs)) &&
             blob_uleb(b, r->address - seg->vmaddr) && blob_u8(b, OP_DO_BIND);
    }
    return ok && (l->n == 0 || blob_u8(b, OP_DONE));
}

/* Make `f`, the fixup of r's slot, a bind of r->name through the
 * weak-lookup ordinal. */
static int weak_lookup(struct dsc_plan *p, const struct weak_ref *r, struct dsc_fixup *f)
{
    uint32_t idx;
    bool weak_import = f->kind == DSC_FIXUP_BIND && p->imports[f->import].weak_import;
    if (plan_add_import(p, r->name, DSC_ORDINAL_WEAK_LOOKUP, weak_import, &idx))
        return -1;
    f->kind = DSC_FIXUP_BIND;
    f->import = idx;
    f->addend = r->addend;
    f->target = 0;
    return 0;
}

/* Chained outputs have no weak-bind stream: there each slot that refers to
 * a weak definition, its own or another image's, binds the symbol through
 * BIND_SPECIAL_DYLIB_WEAK_LOOKUP (-3) instead, as ld64 and lld write it
 * (lld's ordinalForSymbol with chained fixups), so dyld coalesces it. A
 * slot without a fixup (a weak-bind opcode over a zero) gets one. */
static int weak_lookups(struct dsc_plan *p, const struct weak_list *l)
{
    if (fixups_sort(p))
        return -1;
    size_t n = p->nfixups; /* fixups added below go after these */
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        const struct weak_ref *r = &l->v[i];
        if (!plan_segment_at(p, r->address, p->ptr_size))
            continue;
        size_t at = dsc_lower_bound(p->fixups, n, sizeof *p->fixups, offsetof(struct dsc_fixup, address), r->address);
        if (at < n && p->fixups[at].address == r->address) {
            rc = weak_lookup(p, r, &p->fixups[at]);
            continue;
        }
        struct dsc_fixup f = {.address = r->address, .kind = DSC_FIXUP_EXTERNAL};
        rc = weak_lookup(p, r, &f);
        if (rc == 0 && f.kind == DSC_FIXUP_BIND)
            rc = plan_add_fixup(p, &f);
    }
    return rc;
}

int dsc_weak_binds(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im)
{
    struct weak_list l = {0};
    bool ok = collect(p, syms, im, &l);
    if (ok && l.n)
        dsc_sort(l.v, l.n, sizeof *l.v, cmp_ref);
    int rc = ok ? 0 : plan_oom(p);
    if (rc == 0 && p->encoding == DSC_ENCODE_CHAINED)
        rc = weak_lookups(p, &l);
    else if (rc == 0 && !emit(p, &l))
        rc = plan_oom(p);
    free(l.v);
    return rc;
}

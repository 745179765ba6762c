/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_binds.c — turn every pointer that leaves the image back into a bind.
 *
 * For each slot, the name comes from the best evidence the cache kept:
 *  1. the image's original bind / lazy-bind opcodes (caches up to dyld-9xx),
 *     which give name, ordinal, flags and addend exactly; a thread-local
 *     descriptor's thunk (tlv.h), which binds __tlv_bootstrap whatever the
 *     cache made it point at;
 *  2. the indirect symbol table, when it names an undefined symbol (GOT and
 *     lazy-pointer slots), with the ordinal its nlist records;
 *  3. the exports at the target (or just before it, with an addend) of the
 *     image holding it, and the re-exports visible to this image that end
 *     there, bound to the first dependency of this image through which that
 *     name is visible (so a symbol of libdyld binds to the libSystem
 *     umbrella that re-exports it).
 *  4. a target outside every image (an addend that leaves the symbol's
 *     image: &sym + 0x123456789): the image's undefined symbol (LC_DYSYMTAB)
 *     resolving, through its dependencies, to the greatest address at or
 *     below the target; a bind names one of its image's imports.
 * A slot that names nothing stays DSC_FIXUP_EXTERNAL (counted as unbound by
 * the fixups pass) and gets a warning. Self-binds recorded by the original
 * opcodes (an image calling its own interposable export through its GOT)
 * are restored too, over the rebase the pointers pass chose. Own GOT and
 * __auth_ptr slots the cache zeroed after coalescing them (dyld-1042+)
 * are bound again to what their twins hold (gotslots.c). Last, lazy
 * binding is restored where the cache kept it (lazybind.c), the
 * weak-bind stream is rebuilt (weakbind.c), GOTs the builder retyped
 * S_REGULAR become non-lazy pointer sections again, and thread-local
 * descriptors get their key 0 and linked offsets back (tlv.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"
#include "base/bindinfo.h"
#include "base/ptrfmt.h"
#include "base/sort.h"
#include "index/imports.h"
#include "extract/gotslots.h"
#include "extract/lazybind.h"
#include "index/symbols.h"
#include "extract/tlv.h"
#include "extract/weakbind.h"

/* What every thread-local descriptor's thunk binds (dyld.h). */
#define TLV_BOOTSTRAP "__tlv_bootstrap"

struct bind_name {
    const char *name;
    int ordinal;
    bool weak_import;
    int64_t addend;
};

/* The dependency through which `name` reaches this image; symbols found in
 * no dependency are left to a flat-namespace lookup. */
static int ordinal_for(const struct dsc_plan *p, struct dsc_symbols *syms, const char *name)
{
    uint32_t ord = dsc_symbols_ordinal(syms, p->mo.image, name);
    return ord ? (int)ord : DSC_ORDINAL_FLAT_LOOKUP;
}

/* Evidence 3: what some image exports at (or just before) `target`. */
static bool name_by_target(const struct dsc_plan *p, struct dsc_symbols *syms, uint64_t target,
                           struct bind_name *out)
{
    uint64_t addr = target & DSC_TBI_MASK;
    const struct dsc_export *const *at;
    size_t n = dsc_symbols_by_address(syms, addr, &at);
    const struct dsc_export *pick = NULL;
    for (size_t i = 0; i < n && !pick; i++)
        if (dsc_symbols_ordinal(syms, p->mo.image, at[i]->name))
            pick = at[i];
    if (!pick && n)
        pick = at[0];
    if (!pick)
        pick = dsc_symbols_preceding(syms, addr);
    if (!pick)
        return false;
    *out = (struct bind_name){pick->name, ordinal_for(p, syms, pick->name), false,
                              (int64_t)(target - pick->address)};
    return true;
}

/* False when the exports at `target` exist and none is called `name`: an
 * indirect table some builder zeroed names every slot after symbol 0. */
static bool agrees(const struct dsc_plan *p, struct dsc_symbols *syms, uint64_t target, const char *name)
{
    const struct dsc_export *const *at;
    size_t n = dsc_symbols_by_address(syms, target & DSC_TBI_MASK, &at);
    for (size_t i = 0; i < n; i++)
        if (strcmp(at[i]->name, name) == 0)
            return true;
    return n == 0;
}

/* Evidence 2: an undefined nlist, with the library ordinal it records
 * (0xFE: flat lookup); an ordinal out of range is chosen again. */
static void name_import(const struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_indirect *ind,
                        struct bind_name *out)
{
    uint32_t ndeps;
    dsc_symbols_deps(syms, p->mo.image, &ndeps);
    unsigned ord = dsc_indirect_ordinal(ind);
    int ordinal = ord >= 1 && ord <= ndeps ? (int)ord
                  : ord == DYNAMIC_LOOKUP_ORDINAL ? DSC_ORDINAL_FLAT_LOOKUP : ordinal_for(p, syms, ind->name);
    *out = (struct bind_name){ind->name, ordinal, (ind->n_desc & N_WEAK_REF) != 0, 0};
}

struct beyond {
    const struct dsc_plan *p;
    struct dsc_symbols *syms;
    uint64_t target;
    const struct dsc_export *best;
    struct bind_name *out;
};

static int on_undefined(void *ctx, const char *name, uint16_t n_desc)
{
    struct beyond *b = ctx;
    uint32_t ndeps;
    const struct dsc_dep *deps = dsc_symbols_deps(b->syms, b->p->mo.image, &ndeps);
    for (uint32_t i = 0; i < ndeps; i++) {
        const struct dsc_export *e = deps[i].image >= 0 ? dsc_symbols_lookup(b->syms, (uint32_t)deps[i].image, name)
                                                        : NULL;
        if (!e || e->address > b->target || (b->best && e->address <= b->best->address))
            continue;
        b->best = e;
        *b->out = (struct bind_name){name, (int)i + 1, (n_desc & N_WEAK_REF) != 0, (int64_t)(b->target - e->address)};
        break;
    }
    return 0;
}

/* Evidence 4: the import whose address is the greatest at or below a
 * target no image holds. */
static bool name_beyond(const struct dsc_plan *p, struct dsc_symbols *syms, uint64_t target, struct bind_name *out)
{
    struct beyond b = {p, syms, target & DSC_TBI_MASK, NULL, out};
    dsc_error ignored;
    if (dsc_symbols_image_of(syms, b.target) >= 0 ||
        dsc_imports_each_undefined(&p->mo, on_undefined, &b, &ignored))
        return false;
    return b.best != NULL;
}

static bool name_slot(const struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im,
                      uint64_t slot, uint64_t target, bool have_target, struct bind_name *out)
{
    const struct dsc_orig_bind *ob = dsc_imports_bind_at(im, slot);
    if (ob) {
        *out = (struct bind_name){ob->name, ob->ordinal, ob->flags & BIND_SYMBOL_FLAGS_WEAK_IMPORT, ob->addend};
        return true;
    }
    if (dsc_tlv_thunk(p, slot)) {
        *out = (struct bind_name){TLV_BOOTSTRAP, ordinal_for(p, syms, TLV_BOOTSTRAP), false, 0};
        return true;
    }
    const struct dsc_indirect *ind = dsc_imports_at(im, slot);
    if (ind && !dsc_indirect_is_stub(ind) && dsc_indirect_is_import(ind) &&
        (!have_target || agrees(p, syms, target, ind->name))) {
        name_import(p, syms, ind, out);
        return true;
    }
    return have_target && (name_by_target(p, syms, target, out) || name_beyond(p, syms, target, out));
}

static int make_bind(struct dsc_plan *p, struct dsc_fixup *f, const struct bind_name *b)
{
    uint32_t idx;
    if (plan_add_import(p, b->name, b->ordinal, b->weak_import, &idx))
        return -1;
    f->kind = DSC_FIXUP_BIND;
    f->import = idx;
    f->addend = b->addend;
    /* As a linker writes it: dyld stores the bound value, the file holds 0
     * (chained fixups overwrite the slot with the chain entry anyway). */
    if (p->encoding == DSC_ENCODE_OPCODES)
        plan_write_ptr(p, f->address, 0);
    return 0;
}

/* True when one of the first `n` fixups (sorted) is at `address`. */
static bool has_fixup(const struct dsc_plan *p, size_t n, uint64_t address)
{
    size_t at = dsc_lower_bound(p->fixups, n, sizeof *p->fixups, offsetof(struct dsc_fixup, address), address);
    return at < n && p->fixups[at].address == address;
}

/* Auth GOT slots sign with IA and address diversity, as the linker emits them. */
static struct dsc_fixup_auth linker_auth(bool auth) { return (struct dsc_fixup_auth){auth, 0, auth, 0}; }

/* A bind for a slot without a fixup. */
static int add_bind_fixup(struct dsc_plan *p, uint64_t address, const struct bind_name *b,
                          struct dsc_fixup_auth auth)
{
    struct dsc_fixup f = {.address = address, .kind = DSC_FIXUP_EXTERNAL, .auth = auth};
    return make_bind(p, &f, b) ? -1 : plan_add_fixup(p, &f);
}

/* Slots the slide info never recorded (a weak import that resolved to
 * nothing is stored as 0, not as a pointer), named by the original binds or
 * by the indirect table's undefined symbols. The fixups are sorted here
 * (fixups_sort: by address, which is all the later steps depend on, each
 * of which sorts or wants them sorted), so that slots are looked up among
 * them directly and the binds added here are one short run for the next
 * sort to merge. */
static int add_missing_binds(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im)
{
    if (fixups_sort(p))
        return -1;
    size_t n = p->nfixups;
    int rc = 0;
    for (size_t i = 0; i < im->nbinds && rc == 0; i++) {
        const struct dsc_orig_bind *ob = &im->binds[i];
        if (ob->weak || !plan_in_image(p, ob->address) || has_fixup(p, n, ob->address))
            continue;
        struct bind_name b = {ob->name, ob->ordinal, ob->flags & BIND_SYMBOL_FLAGS_WEAK_IMPORT, ob->addend};
        rc = add_bind_fixup(p, ob->address, &b, linker_auth(false));
    }
    for (size_t i = 0; i < im->count && rc == 0; i++) {
        const struct dsc_indirect *e = &im->entries[i];
        struct bind_name b;
        if (dsc_indirect_is_stub(e) || !dsc_indirect_is_import(e) || e->size != p->ptr_size ||
            !plan_in_image(p, e->address) || has_fixup(p, n, e->address) ||
            dsc_imports_bind_at(im, e->address))
            continue;
        name_import(p, syms, e, &b);
        bool auth = strcmp(p->mo.sects[e->section].sectname, "__auth_got") == 0;
        rc = add_bind_fixup(p, e->address, &b, linker_auth(auth));
    }
    return rc;
}

/* Own slots the cache zeroed after coalescing them (gotslots.c): named by
 * the indirect table where it names them, else by the twin's target; the
 * twin's authentication is the slot's. */
static int bind_coalesced(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im)
{
    struct dsc_got_recovered *rec;
    size_t n;
    if (dsc_got_recover(p, syms, im, &rec, &n))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct dsc_indirect *ind = rec[i].named_by_indirect ? dsc_imports_at(im, rec[i].address) : NULL;
        struct bind_name b;
        if (ind)
            name_import(p, syms, ind, &b);
        else if (!name_by_target(p, syms, rec[i].target, &b)) {
            plan_warn(p, "zeroed slot at 0x%llx: its twin's target 0x%llx names no exported symbol",
                      (unsigned long long)rec[i].address, (unsigned long long)rec[i].target);
            continue;
        }
        rc = add_bind_fixup(p, rec[i].address, &b, rec[i].auth);
    }
    free(rec);
    return rc;
}

/* The output section made from the image's section `index`, or NULL. */
static struct dsc_out_section *out_section_of(struct dsc_plan *p, unsigned index)
{
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct dsc_out_segment *seg = &p->segs[i];
        if (seg->source < 0)
            continue;
        const struct dsc_segment *in = &p->mo.segs[seg->source];
        if (index >= in->first_section && index - in->first_section < in->nsects)
            return &seg->sects[index - in->first_section];
    }
    return NULL;
}

/* GOTs the builder coalesced and retyped S_REGULAR (dyld-1042.1's
 * cache-builder/AdjustDylibSegments.cpp, coalesced sections) that the indirect
 * table still indexes (imports.c decides) are non-lazy pointer sections
 * again, as in the original dylib, so tools list their indirect symbols. */
static void restore_got_types(struct dsc_plan *p, const struct dsc_imports *im)
{
    for (size_t k = 0; k < im->count; k++) {
        const struct dsc_indirect *e = &im->entries[k];
        if (e->sect_type != S_NON_LAZY_SYMBOL_POINTERS || (p->mo.sects[e->section].flags & 0xFF) != 0)
            continue;
        struct dsc_out_section *y = out_section_of(p, e->section);
        if (y)
            y->flags = (y->flags & ~0xFFu) | S_NON_LAZY_SYMBOL_POINTERS;
    }
}

/* dsc_imports_bind_at, for addresses asked mostly in increasing order (the
 * slide walk makes fixups page by page): *at, the first bind at or above
 * the address asked last, moves forward while the addresses grow, so each
 * bind is passed once; a smaller address searches again. */
static const struct dsc_orig_bind *bind_at_from(const struct dsc_imports *im, uint64_t address, size_t *at)
{
    size_t i = *at;
    if (i > 0 && im->binds[i - 1].address >= address)
        i = dsc_lower_bound(im->binds, im->nbinds, sizeof *im->binds, offsetof(struct dsc_orig_bind, address), address);
    while (i < im->nbinds && im->binds[i].address < address)
        i++;
    *at = i;
    for (; i < im->nbinds && im->binds[i].address == address; i++)
        if (!im->binds[i].weak)
            return &im->binds[i];
    return NULL;
}

int pass_binds(struct dsc_plan *p)
{
    struct dsc_symbols *syms;
    struct dsc_imports im;
    if (plan_symbols(p, &syms) || dsc_imports_load(&p->mo, &im, p->err))
        return -1;
    int rc = 0;
    size_t n = p->nfixups, at = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct dsc_fixup *f = &p->fixups[i];
        struct bind_name b;
        if (f->kind == DSC_FIXUP_REBASE) {
            if (im.nbinds && bind_at_from(&im, f->address, &at) && name_slot(p, syms, &im, f->address, 0, false, &b))
                rc = make_bind(p, f, &b);
        } else if (f->kind == DSC_FIXUP_EXTERNAL) {
            if (name_slot(p, syms, &im, f->address, f->target, true, &b))
                rc = make_bind(p, f, &b);
            else
                plan_warn(p, "pointer at 0x%llx to 0x%llx names no exported symbol; left unbound",
                          (unsigned long long)f->address, (unsigned long long)f->target);
        }
    }
    if (rc == 0)
        rc = bind_coalesced(p, syms, &im);
    if (rc == 0)
        rc = add_missing_binds(p, syms, &im);
    if (rc == 0)
        rc = dsc_lazy_binds(p, syms, &im);
    if (rc == 0)
        rc = dsc_weak_binds(p, syms, &im);
    if (rc == 0)
        restore_got_types(p, &im);
    if (rc == 0)
        rc = dsc_tlv_restore(p);
    dsc_imports_free(&im);
    return rc;
}

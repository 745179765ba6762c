/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gotslots.c — zeroed own GOT / __auth_ptr slots tied back to the
 * cache-wide twins the image's code reads (contract: gotslots.h).
 *
 *  1. Twins: every pointer-sized load in the image's code (AArch64
 *     ADRP+LDR and LDR literal, x86_64 RIP-relative operands), and every
 *     personality reference of its unwind information, of a slid pointer
 *     outside the image in a non-executable mapping (coderefs.c), with its
 *     target and authentication from the slide info.
 *  2. Own slots still bound in GOT-like sections claim the twins whose
 *     target exports their name with the same authentication.
 *  3. Zeroed slots (no fixup, 0 in the cache) of __got/__auth_got claim
 *     the twin of the name the indirect table gives them; zeroed
 *     __auth_ptr slots share out the twins left, by name order.
 */
#include <stdlib.h>
#include <string.h>

#include "extract/gotslots.h"
#include "extract/coderefs.h"
#include "base/ptrfmt.h"
#include "base/sort.h"
#include "cache/slide.h"
#include "index/imports.h"
#include "index/symbols.h"

struct twin {
    uint64_t addr, target;
    struct dsc_fixup_auth auth;
    const char *name;   /* an export at the target, for the __auth_ptr order */
    bool claimed;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int on_twin_slot(void *ctx, const struct dsc_slide_slot *slot)
{
    struct twin *t = ctx;
    if (slot->address == t->addr && slot->ptr.auth)
        t->auth = (struct dsc_fixup_auth){true, slot->ptr.key, slot->ptr.addr_div, slot->ptr.diversity};
    return 0;
}

/* Step 1: the distinct twins, each with a target (others are no twins). */
static int find_twins(struct dsc_plan *p, struct dsc_symbols *syms, struct twin **out, size_t *n)
{
    const struct dsc_code_ref *refs;
    size_t nrefs, nslots = 0;
    if (plan_code_refs(p, &refs, &nrefs))
        return -1;
    uint64_t *slots = malloc((nrefs ? nrefs : 1) * sizeof *slots);
    struct twin *v = malloc((nrefs ? nrefs : 1) * sizeof *v);
    if (!slots || !v) {
        free(slots);
        free(v);
        return plan_oom(p);
    }
    for (size_t i = 0; i < nrefs; i++)
        if (refs[i].kind != DSC_REF_BRANCH)
            slots[nslots++] = refs[i].to;
    if (nslots)
        dsc_sort(slots, nslots, sizeof *slots, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < nslots; i++) {
        struct twin t = {.addr = slots[i]};
        const struct dsc_export *const *at;
        dsc_error ignored;
        if ((i && slots[i] == slots[i - 1]) || !dsc_vm_ptr_target(p->cache, t.addr, &t.target) || !t.target)
            continue;
        (void)dsc_slide_walk_range(p->cache, t.addr, t.addr + p->ptr_size, on_twin_slot, &t, &ignored);
        t.name = dsc_symbols_by_address(syms, t.target & DSC_TBI_MASK, &at) ? at[0]->name : "";
        v[k++] = t;
    }
    free(slots);
    *out = v;
    *n = k;
    return 0;
}

static bool exports_name(struct dsc_symbols *syms, uint64_t target, const char *name)
{
    const struct dsc_export *const *at;
    size_t n = dsc_symbols_by_address(syms, target & DSC_TBI_MASK, &at);
    for (size_t i = 0; i < n; i++)
        if (strcmp(at[i]->name, name) == 0)
            return true;
    return false;
}

static bool same_auth(const struct dsc_fixup_auth *a, const struct dsc_fixup_auth *b)
{
    return a->present == b->present &&
           (!a->present || (a->key == b->key && a->addr_div == b->addr_div && a->diversity == b->diversity));
}

static bool is_got(const struct dsc_section *s)
{
    return strcmp(s->sectname, "__got") == 0 || strcmp(s->sectname, "__auth_got") == 0;
}

static bool is_auth_ptr(const struct dsc_section *s) { return strcmp(s->sectname, "__auth_ptr") == 0; }

/* The unclaimed twin holding `name` (any auth when `auth` is NULL). */
static struct twin *twin_named(struct dsc_symbols *syms, struct twin *t, size_t nt, const char *name,
                               const struct dsc_fixup_auth *auth)
{
    for (size_t i = 0; i < nt; i++)
        if (!t[i].claimed && (!auth || same_auth(auth, &t[i].auth)) && exports_name(syms, t[i].target, name))
            return &t[i];
    return NULL;
}

struct recover {
    struct dsc_plan *p;
    struct dsc_symbols *syms;
    const struct dsc_imports *im;
    struct twin *twins;
    size_t ntwins;
    struct got_sect { uint64_t addr, size; unsigned index; } *gots; /* is_got or is_auth_ptr */
    unsigned ngots;
    uint64_t lo, last;      /* [lo, last] holds every one of them */
    uint64_t *fixed;        /* addresses of the fixups in them, sorted */
    size_t nfixed;
    size_t *bound;          /* those fixups that bind, no addend: indices, in order */
    size_t nbound;
    struct dsc_got_recovered *out;
    size_t nout;
    uint64_t *auth_ptrs;    /* zeroed __auth_ptr slots, in address order */
    size_t nauth_ptrs;
};

/* p->got_twins has room for every twin (recover_all): each is claimed once. */
static void claim(struct recover *r, struct twin *t, uint64_t own, bool recovered, bool by_indirect)
{
    t->claimed = true;
    if (recovered)
        r->out[r->nout++] = (struct dsc_got_recovered){own, t->target, t->auth, by_indirect};
    r->p->got_twins[r->p->ngot_twins++] = (struct dsc_got_twin){t->addr, own};
}

static const struct dsc_section *section_at(const struct dsc_macho *mo, uint64_t addr)
{
    for (unsigned i = 0; i < mo->nsects; i++)
        if (addr - mo->sects[i].addr < mo->sects[i].size)
            return &mo->sects[i];
    return NULL;
}

/* Is `addr` in one of the GOT-like sections? Most of an image's fixups
 * are elsewhere: the bytes from the first section to the end of the last
 * ([r->lo, r->last]) turn nearly all of them away by one compare. */
static bool in_gots(const struct recover *r, uint64_t addr)
{
    if (addr - r->lo > r->last - r->lo)
        return false;
    for (unsigned i = 0; i < r->ngots; i++)
        if (addr - r->gots[i].addr < r->gots[i].size)
            return true;
    return false;
}

/* Step 2: own slots still bound claim their twins (the first section
 * holding the slot decides, as everywhere: sections may overlap). */
static void claim_bound(struct recover *r)
{
    struct dsc_plan *p = r->p;
    for (size_t i = 0; i < r->nbound; i++) {
        const struct dsc_fixup *f = &p->fixups[r->bound[i]];
        const struct dsc_section *s = section_at(&p->mo, f->address);
        struct twin *t;
        if (!s || !(is_got(s) || is_auth_ptr(s)))
            continue;
        while ((t = twin_named(r->syms, r->twins, r->ntwins, p->imports[f->import].name, &f->auth)))
            claim(r, t, f->address, false, false);
    }
}

/* No fixup and 0 in the cache; asked of slots in r->gots only. */
static bool zeroed(struct recover *r, uint64_t slot)
{
    uint64_t raw;
    return !bsearch(&slot, r->fixed, r->nfixed, sizeof *r->fixed, cmp_u64) &&
           dsc_vm_ptr_raw(r->p->cache, slot, &raw) && raw == 0;
}

/* Step 3a: zeroed GOT slots, by the indirect table's name. */
static void claim_zeroed(struct recover *r, const struct dsc_section *s)
{
    for (uint64_t a = s->addr; a + r->p->ptr_size <= s->addr + s->size; a += r->p->ptr_size) {
        if (!zeroed(r, a))
            continue;
        if (is_auth_ptr(s)) {
            r->auth_ptrs[r->nauth_ptrs++] = a;
            continue;
        }
        const struct dsc_indirect *ind = dsc_imports_at(r->im, a);
        struct twin *t = ind && dsc_indirect_is_import(ind)
                             ? twin_named(r->syms, r->twins, r->ntwins, ind->name, NULL) : NULL;
        if (t)
            claim(r, t, a, true, true);
    }
}

static int cmp_twin_order(const void *a, const void *b)
{
    const struct twin *x = *(struct twin *const *)a, *y = *(struct twin *const *)b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->auth.key != y->auth.key)
        return x->auth.key < y->auth.key ? -1 : 1;
    return x->auth.diversity < y->auth.diversity ? -1 : x->auth.diversity > y->auth.diversity;
}

/* Step 3b: __auth_ptr slots take the twins nothing else explains, in the
 * order clang emits its signed-pointer slots (sorted by label: symbol,
 * key, discriminator), when there are exactly as many. */
static int share_auth_ptrs(struct recover *r)
{
    struct twin **left = malloc((r->ntwins ? r->ntwins : 1) * sizeof *left);
    size_t n = 0;
    if (!left)
        return plan_oom(r->p);
    for (size_t i = 0; i < r->ntwins; i++)
        if (!r->twins[i].claimed)
            left[n++] = &r->twins[i];
    if (n != r->nauth_ptrs) {
        plan_warn(r->p, "%zu zeroed __auth_ptr slots, %zu coalesced pointers the code reads: left unbound",
                  r->nauth_ptrs, n);
    } else {
        qsort(left, n, sizeof *left, cmp_twin_order);
        for (size_t i = 0; i < n; i++)
            claim(r, left[i], r->auth_ptrs[i], true, false);
    }
    free(left);
    return 0;
}

/* Widen [r->lo, r->last] to [addr, addr + size). A section running past
 * 2^64 holds low addresses too (in_gots' compare wraps): then all. */
static void bounds(struct recover *r, uint64_t addr, uint64_t size)
{
    if (!size)
        return;
    if (size - 1 > UINT64_MAX - addr) {
        r->lo = 0;
        r->last = UINT64_MAX;
        return;
    }
    r->lo = addr < r->lo ? addr : r->lo;
    r->last = addr + size - 1 > r->last ? addr + size - 1 : r->last;
}

/* The GOT-like sections, their slot count, and the fixups in them (one
 * pass over all fixups). */
static int find_gots(struct recover *r, size_t *slots)
{
    const struct dsc_plan *p = r->p;
    *slots = 0;
    r->gots = malloc((p->mo.nsects + 1) * sizeof *r->gots);
    r->fixed = malloc((p->nfixups + 1) * sizeof *r->fixed);
    r->bound = malloc((p->nfixups + 1) * sizeof *r->bound);
    if (!r->gots || !r->fixed || !r->bound)
        return plan_oom(r->p);
    r->lo = UINT64_MAX;
    r->last = 0;
    for (unsigned i = 0; i < p->mo.nsects; i++) {
        const struct dsc_section *s = &p->mo.sects[i];
        if (!is_got(s) && !is_auth_ptr(s))
            continue;
        r->gots[r->ngots++] = (struct got_sect){s->addr, s->size, i};
        *slots += s->size / p->ptr_size;
        bounds(r, s->addr, s->size);
    }
    for (size_t i = 0; r->ngots && i < p->nfixups; i++) {
        const struct dsc_fixup *f = &p->fixups[i];
        if (!in_gots(r, f->address))
            continue;
        r->fixed[r->nfixed++] = f->address;
        if (f->kind == DSC_FIXUP_BIND && !f->addend)
            r->bound[r->nbound++] = i;
    }
    dsc_sort(r->fixed, r->nfixed, sizeof *r->fixed, cmp_u64);
    return 0;
}

static int recover_all(struct recover *r)
{
    struct dsc_plan *p = r->p;
    size_t slots;
    struct dsc_got_twin *room = realloc(p->got_twins, (p->ngot_twins + r->ntwins + 1) * sizeof *room);
    if (!room)
        return plan_oom(p);
    p->got_twins = room;
    if (find_gots(r, &slots))
        return -1;
    r->out = malloc((r->ntwins + 1) * sizeof *r->out);
    r->auth_ptrs = malloc((slots + 1) * sizeof *r->auth_ptrs);
    if (!r->out || !r->auth_ptrs)
        return plan_oom(p);
    claim_bound(r);
    for (unsigned i = 0; i < r->ngots; i++) {
        const struct dsc_section *s = &p->mo.sects[r->gots[i].index];
        if ((is_got(s) && (s->flags & SECTION_TYPE) == S_REGULAR) || is_auth_ptr(s))
            claim_zeroed(r, s);
    }
    return r->nauth_ptrs ? share_auth_ptrs(r) : 0;
}

static int cmp_got_twin(const void *a, const void *b)
{
    const struct dsc_got_twin *x = a, *y = b;
    return x->twin < y->twin ? -1 : x->twin > y->twin;
}

int dsc_got_recover(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im,
                    struct dsc_got_recovered **out, size_t *n)
{
    struct recover r = {.p = p, .syms = syms, .im = im};
    *out = NULL;
    *n = 0;
    if (find_twins(p, syms, &r.twins, &r.ntwins))
        return -1;
    int rc = recover_all(&r);
    free(r.twins);
    free(r.gots);
    free(r.fixed);
    free(r.bound);
    free(r.auth_ptrs);
    if (rc) {
        free(r.out);
        return -1;
    }
    if (p->ngot_twins)
        qsort(p->got_twins, p->ngot_twins, sizeof *p->got_twins, cmp_got_twin);
    *out = r.out;
    *n = r.nout;
    return 0;
}

uint64_t dsc_got_own_slot(const struct dsc_plan *p, uint64_t twin)
{
    size_t i = dsc_lower_bound(p->got_twins, p->ngot_twins, sizeof *p->got_twins,
                               offsetof(struct dsc_got_twin, twin), twin);
    return i < p->ngot_twins && p->got_twins[i].twin == twin ? p->got_twins[i].own : 0;
}

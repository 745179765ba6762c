/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_impc_model.c — which classes get prebuilt IMP caches and which
 * methods each holds, as Apple's builder decides it in dyld-1378.
 *
 * Facts relied on (dyld-1378 cache_builder/NewSharedCacheBuilder.cpp
 * estimateIMPCaches, IMPCaches.cpp IMPCachesBuilder):
 *  - only images with chained fixups take part ("simplifies binding
 *    superclasses across dylibs"); their classes and metaclasses in
 *    forEachClassAndMetaClass order (a class, then its metaclass), with
 *    name, RO_ROOT and base methods; categories from __objc_catlist then
 *    __objc_catlist2;
 *  - a superclass (and a category's class) is a rebase to a class of the
 *    image or a bind: ordinal 0 is the image itself, a negative ordinal
 *    finds nothing, others the dependency, looked up with its re-exports
 *    (findTargetClass); a class with no superclass found that is not a
 *    root class is left out entirely (buildClassesMap: "missing weak
 *    superclasses");
 *  - classes are chosen by name and kind from neededClasses; a name (and
 *    kind) defined by two images is a duplicate, and so is every chosen
 *    class below one (buildTrackedClasses); every superclass of a chosen
 *    class is tracked (by name);
 *  - a chosen or tracked class gets its own methods, then those of its own
 *    image's categories on it (cross-image ones skipped), each selector once
 *    (addMethod); a class whose own list repeats a selector is dropped
 *    (isPartOfDuplicateSet);
 *  - flattening (inlineSelectors, findFlatteningRoot): up the superclass
 *    chain, across images, the first class named in flatteningRoots (of its
 *    kind) is the root; a chosen class at or below it gets every method of
 *    each class up to the root, .cxx_construct/.cxx_destruct apart, and the
 *    root's superclass as fallback; it keeps a cache even without methods;
 *  - removeUninterestingClasses drops the tracked-only classes and empty
 *    ones outside flattening, and selectors no class uses;
 *  - the IMP of a bucket comes from the methodMap of the image the method
 *    was taken from, keyed by class name, selector and kind, the last writer
 *    winning: the class's list, then that image's categories on it.
 * The selector-size budget (75% of 16 MB) is not modelled: test caches are
 * far below it.
 */
#include "impc.h"

#include <stdlib.h>
#include <string.h>

static uint64_t in_ptr(const struct image *img, uint64_t in_addr)
{
    dsc_span s;
    uint64_t v;
    if (!image_in_bytes(img, in_addr, 8, &s) || !span_ptr(s, 0, 8, &v))
        die("%s: pointer at 0x%llx is unreadable", img->in_path, (unsigned long long)in_addr);
    return v;
}

static uint32_t in_u32(const struct image *img, uint64_t in_addr)
{
    dsc_span s;
    if (!image_in_bytes(img, in_addr, 4, &s))
        die("%s: word at 0x%llx is unreadable", img->in_path, (unsigned long long)in_addr);
    return dsc_le32(s.data);
}

static struct objc_in_class list_at(uint64_t cls, uint64_t list, const struct image *img, uint64_t vtable)
{
    return (struct objc_in_class){cls, list, list ? in_u32(img, list + 4) : 0, vtable};
}

static struct objc_in_class class_at(const struct image *img, uint64_t cls)
{
    uint64_t ro = in_ptr(img, cls + 32) & ~7ULL;
    return list_at(cls, in_ptr(img, ro + 0x20), img, in_ptr(img, cls + 24));
}

void objc_each_input_class(const struct image *img, objc_in_class_fn fn, void *ctx)
{
    const struct sect *x = objc_sect(img, "__objc_classlist");
    for (uint64_t k = 0; x && k + 8 <= x->size; k += 8) {
        uint64_t cls = in_ptr(img, x->in_addr + k);
        fn(ctx, img, class_at(img, cls));
        fn(ctx, img, class_at(img, in_ptr(img, cls)));
    }
}

struct objc_in_method objc_in_method(const struct image *img, const struct objc_in_class *k, uint32_t i)
{
    uint32_t flags = in_u32(img, k->list), entsize = flags & 0xFFFCu;
    uint64_t e = k->list + 8 + (uint64_t)i * entsize;
    if (i >= k->count || entsize < 12)
        die("%s: method list at 0x%llx is malformed", img->in_path, (unsigned long long)k->list);
    if (!(flags & 0x80000000u))
        return (struct objc_in_method){image_in_cstr(img, in_ptr(img, e)), in_ptr(img, e + 16)};
    uint64_t selref = e + (uint64_t)(int64_t)(int32_t)in_u32(img, e);
    return (struct objc_in_method){image_in_cstr(img, in_ptr(img, selref)),
                                   e + 8 + (uint64_t)(int64_t)(int32_t)in_u32(img, e + 8)};
}

/* ---- the input model (estimateIMPCaches) ---- */

struct bind {
    uint64_t slot;
    const char *symbol;
    int64_t ordinal;
};

struct walk {
    struct impc_model *m;
    struct cache *c;
    size_t img, first;          /* the image; index of its first class */
    struct bind *b;
    size_t nb;
};

static void add_class(void *ctx, const struct image *img, struct objc_in_class k)
{
    struct walk *w = ctx;
    struct impc_model *m = w->m;
    uint64_t ro = in_ptr(img, k.cls + 32) & ~7ULL;
    m->k = xrealloc(m->k, (m->nk + 1) * sizeof *m->k);
    bool meta = (m->nk - w->first) % 2 == 1;   /* a class, then its metaclass */
    m->k[m->nk] = (struct impc_class){w->img, k.cls, image_in_cstr(img, in_ptr(img, ro + 0x18)), meta,
                                      (in_u32(img, ro) & 2u) != 0, -1, k, false};
    m->nk++;
}

static void add_bind(void *ctx, const struct image *img, uint64_t slot, const char *symbol, int64_t ordinal)
{
    (void)img;
    struct walk *w = ctx;
    w->b = xrealloc(w->b, (w->nb + 1) * sizeof *w->b);
    w->b[w->nb++] = (struct bind){slot, symbol, ordinal};
}

/* The class of the model at input address `addr` of image `img`, -1. */
static long class_in(const struct impc_model *m, size_t img, uint64_t addr)
{
    for (size_t i = 0; i < m->nk; i++)
        if (m->k[i].img == img && m->k[i].addr == addr)
            return (long)i;
    return -1;
}

/* The class a pointer slot names: a bind through findTargetClass, else a
 * rebase into the image; -1 for none (null, or not a class we model). */
static long slot_class(struct walk *w, uint64_t slot)
{
    struct image *img = &w->c->images[w->img], *owner = NULL;
    for (size_t i = 0; i < w->nb; i++) {
        if (w->b[i].slot != slot)
            continue;
        const struct export_sym *e = fixups_export(w->c, img, w->b[i].ordinal, w->b[i].symbol, &owner);
        if (!e || (e->flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE)
            return -1;
        return class_in(w->m, (size_t)(owner - w->c->images), owner->segs[0].in_addr + e->value);
    }
    uint64_t v = in_ptr(img, slot);
    return v ? class_in(w->m, w->img, v) : -1;
}

static void add_cats(struct walk *w, const char *sect)
{
    struct impc_model *m = w->m;
    const struct image *img = &w->c->images[w->img];
    const struct sect *x = objc_sect(img, sect);
    for (uint64_t at = 0; x && at + 8 <= x->size; at += 8) {
        uint64_t cat = in_ptr(img, x->in_addr + at);
        m->cat = xrealloc(m->cat, (m->ncat + 1) * sizeof *m->cat);
        m->cat[m->ncat++] = (struct impc_cat){w->img, slot_class(w, cat + 8), list_at(0, in_ptr(img, cat + 16), img, 0),
                                              list_at(0, in_ptr(img, cat + 24), img, 0)};
    }
}

static void model_image(struct impc_model *m, struct cache *c, size_t i)
{
    struct image *img = &c->images[i];
    if (!img->chained_in && !c->opt.impc_unchained)
        return;
    struct walk w = {m, c, i, m->nk, NULL, 0};
    objc_each_input_class(img, add_class, &w);
}

/* Superclasses and categories once every image's classes are known. */
static void link_image(struct impc_model *m, struct cache *c, size_t i)
{
    struct image *img = &c->images[i];
    if (!img->chained_in && !c->opt.impc_unchained)
        return;
    struct walk w = {m, c, i, 0, NULL, 0};
    fixups_each_bind(c, img, add_bind, &w);
    for (size_t k = 0; k < m->nk; k++) {
        if (m->k[k].img != i)
            continue;
        m->k[k].super = slot_class(&w, m->k[k].addr + 8);
        m->k[k].in_map = m->k[k].super >= 0 || m->k[k].root;
    }
    add_cats(&w, "__objc_catlist");
    add_cats(&w, "__objc_catlist2");
    free(w.b);
}

/* ---- selectors ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static void rehash(struct impc_model *m)
{
    free(m->sel_hash);
    m->hash_cap = m->hash_cap ? m->hash_cap * 2 : 64;
    m->sel_hash = xcalloc(m->hash_cap, sizeof *m->sel_hash);
    for (size_t i = 0; i < m->nsel; i++) {
        size_t h = hash_str(m->sel[i].name) & (m->hash_cap - 1);
        while (m->sel_hash[h])
            h = (h + 1) & (m->hash_cap - 1);
        m->sel_hash[h] = (uint32_t)i + 1;
    }
}

/* The selector `name` (made when new: selectors.map try_emplace). */
static uint32_t impc_sel_index(struct impc_model *m, const char *name)
{
    if (2 * (m->nsel + 1) > m->hash_cap)
        rehash(m);
    size_t h = hash_str(name) & (m->hash_cap - 1);
    for (; m->sel_hash[h]; h = (h + 1) & (m->hash_cap - 1))
        if (strcmp(m->sel[m->sel_hash[h] - 1].name, name) == 0)
            return m->sel_hash[h] - 1;
    m->sel = xrealloc(m->sel, (m->nsel + 1) * sizeof *m->sel);
    m->sel[m->nsel] = (struct impc_sel){name, NULL, 0, 0, 0, 0, true, false, 0};
    m->sel_hash[h] = (uint32_t)m->nsel + 1;
    return (uint32_t)m->nsel++;
}

/* addMethod: false when the class has the selector already. */
static bool add_method(struct impc_model *m, long d, const char *name, struct impc_method me)
{
    struct impc_data *x = &m->d[d];
    me.sel = impc_sel_index(m, name);
    for (uint32_t i = 0; i < x->n; i++)
        if (x->m[i].sel == me.sel)
            return false;
    struct impc_sel *s = &m->sel[me.sel];
    s->classes = xrealloc(s->classes, (s->ncl + 1) * sizeof *s->classes);
    s->classes[s->ncl++] = d;
    x->m = xrealloc(x->m, (x->n + 1) * sizeof *x->m);
    x->m[x->n++] = me;
    return true;
}

/* ---- IMPCachesBuilder::parseDylibs ---- */

struct keys {
    struct impc_names tracked, dups;
};

static bool interesting(const struct impc_model *m, long k)
{
    return impc_names_find(&m->cf.needed, m->k[k].name, m->k[k].meta) >= 0;
}

static bool tracked(const struct impc_model *m, const struct keys *ks, long k)
{
    return interesting(m, k) || impc_names_find(&ks->tracked, m->k[k].name, m->k[k].meta) >= 0;
}

static void key_add(struct impc_names *v, const struct impc_class *k)
{
    if (impc_names_find(v, k->name, k->meta) >= 0)
        return;
    v->e = xrealloc(v->e, (v->n + 1) * sizeof *v->e);
    v->e[v->n++] = (struct impc_name){(char *)k->name, k->meta, 0};
}

static bool in_map(const struct impc_model *m, long k) { return k >= 0 && m->k[k].in_map; }

/* buildClassesMap's duplicates, then buildTrackedClasses. */
static void track(struct impc_model *m, struct keys *ks)
{
    struct impc_names seen = {0};
    for (size_t k = 0; k < m->nk; k++) {
        if (!m->k[k].in_map)
            continue;
        if (impc_names_find(&seen, m->k[k].name, m->k[k].meta) >= 0)
            key_add(&ks->dups, &m->k[k]);
        key_add(&seen, &m->k[k]);
    }
    free(seen.e);
    for (size_t k = 0; k < m->nk; k++) {
        if (!m->k[k].in_map || !interesting(m, (long)k))
            continue;
        for (long cur = (long)k;;) {
            if (impc_names_find(&ks->dups, m->k[cur].name, m->k[cur].meta) >= 0)
                key_add(&ks->dups, &m->k[k]);
            key_add(&ks->tracked, &m->k[cur]);
            if (m->k[cur].root || !in_map(m, m->k[cur].super))
                break;
            cur = m->k[cur].super;
        }
    }
}

/* The methods of list `l` of image `img` into class data `d`; true if one
 * repeated a selector already there. */
static bool add_list(struct impc_model *m, long d, size_t img, const struct objc_in_class *l, const char *class_name)
{
    bool dup = false;
    for (uint32_t i = 0; i < l->count; i++) {
        struct objc_in_method om = objc_in_method(&m->c->images[img], l, i);
        dup |= !add_method(m, d, om.name, (struct impc_method){0, img, class_name, false, false});
    }
    return dup;
}

/* populateMethodLists of image `img` */
static void populate(struct impc_model *m, const struct keys *ks, size_t img)
{
    for (size_t k = 0; k < m->nk; k++) {
        if (m->k[k].img != img || !m->k[k].in_map || !tracked(m, ks, (long)k))
            continue;
        for (size_t j = 0; j < k; j++)
            if (m->data_of[j] >= 0 && m->k[j].img == m->k[k].img && m->k[j].meta == m->k[k].meta &&
                strcmp(m->k[j].name, m->k[k].name) == 0)
                die("%s: two classes named %s (Apple's builder asserts against it)",
                    m->c->images[m->k[k].img].in_path, m->k[k].name);
        long d = (long)m->nd;
        m->d = xrealloc(m->d, (m->nd + 1) * sizeof *m->d);
        m->d[m->nd++] = (struct impc_data){.cls = (long)k, .live = true, .should_gen = interesting(m, (long)k),
                                           .root_super = -1};
        m->data_of[k] = d;
        bool dup = add_list(m, d, m->k[k].img, &m->k[k].list, m->k[k].name);
        m->d[d].dup_set = dup || impc_names_find(&ks->dups, m->k[k].name, m->k[k].meta) >= 0;
    }
}

/* attachCategories of image `img`: its categories on its own classes. */
static void attach(struct impc_model *m, const struct keys *ks, size_t img)
{
    for (size_t i = 0; i < m->ncat; i++) {
        const struct impc_cat *cat = &m->cat[i];
        long k = cat->cls;
        if (cat->img != img || k < 0 || m->k[k].meta || m->k[k].img != cat->img || !m->k[k].in_map)
            continue;
        /* the metaclass follows its class in the model */
        long mk = k + 1 < (long)m->nk && m->k[k + 1].meta && m->k[k + 1].img == cat->img ? k + 1 : -1;
        if (tracked(m, ks, k) && m->data_of[k] >= 0)
            add_list(m, m->data_of[k], cat->img, &cat->inst, m->k[k].name);
        if (mk >= 0 && m->k[mk].in_map && tracked(m, ks, mk) && m->data_of[mk] >= 0)
            add_list(m, m->data_of[mk], cat->img, &cat->cls_methods, m->k[k].name);
    }
}

static bool is_root(const struct impc_model *m, long k)
{
    return impc_names_find(&m->cf.roots, m->k[k].name, m->k[k].meta) >= 0;
}

/* findFlatteningRoot (with the superclasses recorded) into data `d`. */
static void find_root(struct impc_model *m, long d)
{
    struct impc_data *x = &m->d[d];
    for (long cur = x->cls; in_map(m, cur);) {
        x->flat_names = xrealloc(x->flat_names, (x->nflat + 1) * sizeof *x->flat_names);
        x->flat_names[x->nflat++] = m->k[cur].name;
        if (is_root(m, cur)) {
            if (m->k[cur].super < 0)
                die("%s: flattening root %s has no superclass (Apple's builder would dereference null)",
                    m->c->images[m->k[cur].img].in_path, m->k[cur].name);
            x->flat = true;
            x->root_name = m->k[cur].name;
            x->root_super = m->k[cur].super;
            return;
        }
        if (m->k[cur].root)
            break;
        cur = m->k[cur].super;
    }
    free(x->flat_names);
    x->flat_names = NULL;
    x->nflat = 0;
}

/* inlineSelectors for data `d`: up the chain, every method not inlined
 * itself, while flattening (selectorsToInline is empty). */
static void inline_selectors(struct impc_model *m, long d)
{
    bool *seen = xcalloc(m->nsel + 1, sizeof *seen);
    size_t nseen = m->nsel;
    for (uint32_t i = 0; i < m->d[d].n; i++)
        seen[m->d[d].m[i].sel] = true;
    find_root(m, d);
    bool flat = m->d[d].flat;
    for (long cur = m->d[d].cls; flat && in_map(m, cur);) {
        long from = m->data_of[cur];
        if (from < 0)
            die("internal: IMP caches: superclass %s is not tracked", m->k[cur].name);
        for (uint32_t i = 0, n = m->d[from].n; i < n; i++) {
            struct impc_method me = m->d[from].m[i];
            const char *name = m->sel[me.sel].name;
            if (me.inlined || !strcmp(name, ".cxx_construct") || !strcmp(name, ".cxx_destruct"))
                continue;
            if (me.sel < nseen && seen[me.sel])
                continue;
            if (me.sel >= nseen) {
                seen = xrealloc(seen, (m->nsel + 1) * sizeof *seen);
                memset(seen + nseen, 0, (m->nsel + 1 - nseen) * sizeof *seen);
                nseen = m->nsel;
            }
            seen[me.sel] = true;
            add_method(m, d, name, (struct impc_method){0, m->k[cur].img, me.class_name, true, true});
        }
        if (m->k[cur].root)
            break;
        flat = m->k[cur].super != m->d[d].root_super;
        cur = m->k[cur].super;
    }
    free(seen);
}

/* removeUninterestingClasses */
void impc_remove_uninteresting(struct impc_model *m)
{
    for (size_t d = 0; d < m->nd; d++) {
        struct impc_data *x = &m->d[d];
        if (!x->live || ((x->n || x->flat) && x->should_gen))
            continue;
        x->live = false;
        for (uint32_t i = 0; i < x->n; i++) {
            struct impc_sel *s = &m->sel[x->m[i].sel];
            size_t o = 0;
            for (size_t j = 0; j < s->ncl; j++)
                if (s->classes[j] != (long)d)
                    s->classes[o++] = s->classes[j];
            s->ncl = o;
        }
    }
    for (size_t i = 0; i < m->nsel; i++)
        m->sel[i].live &= m->sel[i].ncl > 0;
}

static unsigned ceil_log2(uint32_t n)
{
    unsigned b = 0;
    while ((1ULL << b) < n)
        b++;
    return b;
}

void impc_model_build(struct impc_model *m, struct cache *c, const char *opts_path)
{
    memset(m, 0, sizeof *m);
    m->c = c;
    impc_config_read(&m->cf, opts_path);
    if (!m->cf.any)
        return;         /* "Skip everything if the JSON file is empty" */
    for (size_t i = 0; i < c->nimages; i++)
        model_image(m, c, i);
    for (size_t i = 0; i < c->nimages; i++)
        link_image(m, c, i);
    struct keys ks = {{0}, {0}};
    track(m, &ks);
    m->data_of = xmalloc((m->nk + 1) * sizeof *m->data_of);
    for (size_t k = 0; k < m->nk; k++)
        m->data_of[k] = -1;
    for (size_t i = 0; i < c->nimages; i++) {   /* parseDylibs: image by image */
        populate(m, &ks, i);
        attach(m, &ks, i);
    }
    for (size_t d = 0; d < m->nd; d++)
        if (m->d[d].should_gen)     /* inlineSelectors: interesting classes */
            inline_selectors(m, (long)d);
    free(ks.tracked.e);
    free(ks.dups.e);
    impc_remove_uninteresting(m);
    for (size_t d = 0; d < m->nd; d++)
        m->d[d].bits = (int)ceil_log2(m->d[d].n);   /* didFinishAddingMethods */
}

uint64_t impc_method_imp(const struct impc_model *m, const struct impc_method *me, bool meta)
{
    uint64_t imp = 0;
    const char *sel = m->sel[me->sel].name;
    for (size_t k = 0; k < m->nk; k++) {
        const struct impc_class *x = &m->k[k];
        if (x->img != me->img || x->meta != meta || strcmp(x->name, me->class_name) != 0)
            continue;
        for (uint32_t i = 0; i < x->list.count; i++) {
            struct objc_in_method om = objc_in_method(&m->c->images[x->img], &x->list, i);
            if (strcmp(om.name, sel) == 0)
                imp = om.imp;
        }
    }
    for (size_t i = 0; i < m->ncat; i++) {
        const struct impc_cat *cat = &m->cat[i];
        if (cat->img != me->img || cat->cls < 0 || strcmp(m->k[cat->cls].name, me->class_name) != 0)
            continue;
        const struct objc_in_class *l = meta ? &cat->cls_methods : &cat->inst;
        for (uint32_t j = 0; j < l->count; j++) {
            struct objc_in_method om = objc_in_method(&m->c->images[cat->img], l, j);
            if (strcmp(om.name, sel) == 0)
                imp = om.imp;
        }
    }
    if (!imp)
        die("internal: IMP caches: no IMP for %s in %s", sel, me->class_name);
    return imp;
}

void impc_model_free(struct impc_model *m)
{
    for (size_t d = 0; d < m->nd; d++) {
        free(m->d[d].m);
        free(m->d[d].flat_names);
    }
    for (size_t i = 0; i < m->nsel; i++)
        free(m->sel[i].classes);
    free(m->d);
    free(m->sel);
    free(m->sel_hash);
    free(m->data_of);
    free(m->k);
    free(m->cat);
    impc_config_free(&m->cf);
    memset(m, 0, sizeof *m);
}

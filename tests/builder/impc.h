/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * impc.h — prebuilt IMP caches, shared by dscbuild and dsccheck: the
 * ObjC optimizations file (objc_impc_json.c), Apple's input model and
 * choice of classes and methods (objc_impc_model.c), the placement and
 * emission (objc_impcaches.c). Names in comments are dyld-1378's
 * (cache_builder/IMPCaches.cpp, IMPCaches.hpp, NewSharedCacheBuilder.cpp).
 */
#ifndef DSCBUILD_IMPC_H
#define DSCBUILD_IMPC_H

#include "bld.h"

/* The ObjC optimizations file (objc_impc_json.c). */
struct impc_name {
    char *name;
    bool meta;
    int prio;                   /* neededClasses order (priority) */
};
struct impc_names {
    struct impc_name *e;
    size_t n;
};
struct impc_config {
    struct impc_names needed;   /* neededClasses / neededMetaclasses */
    struct impc_names roots;    /* flatteningRoots (default OS_object) */
    bool any;                   /* not an empty object */
};
void impc_config_read(struct impc_config *cf, const char *path);
/* The number of (name, meta) in `v` (the last listed), -1 if absent. */
int impc_names_find(const struct impc_names *v, const char *name, bool meta);
void impc_config_free(struct impc_config *cf);

/* imp_caches::Class: a class or metaclass of an image with chained fixups,
 * in forEachClassAndMetaClass order (each class, then its metaclass). */
struct impc_class {
    size_t img;                 /* index in the cache's images */
    uint64_t addr;              /* input address of the class_t */
    const char *name;
    bool meta, root;            /* root: RO_ROOT */
    long super;                 /* its superclass (any image), -1: none found */
    struct objc_in_class list;  /* base methods; list.vtable: the input's vtable */
    bool in_map;                /* objcClasses: a superclass, or a root class */
};

/* imp_caches::Category (__objc_catlist, then __objc_catlist2). */
struct impc_cat {
    size_t img;
    long cls;                   /* the class it extends, -1: none found */
    struct objc_in_class inst, cls_methods;
};

/* ClassData::Method */
struct impc_method {
    uint32_t sel;               /* index in impc_model.sel */
    size_t img;                 /* installName: the image holding the IMP */
    const char *class_name;
    bool inlined, from_flat;
};

/* ClassData, one per class that is interesting or tracked. */
struct impc_data {
    long cls;
    bool live;                  /* not removed (removeUninterestingClasses) */
    bool should_gen, dup_set, dropped_by_flat;
    struct impc_method *m;
    uint32_t n;
    int bits, shift;            /* neededBits, shift */
    bool flat;                  /* in a flattening hierarchy */
    long root_super;            /* flatteningRootSuperclass */
    const char *root_name;
    const char **flat_names;    /* flattenedSuperclasses */
    size_t nflat;
};

/* Selector */
struct impc_sel {
    const char *name;
    long *classes;              /* impc_data indices, in addMethod order */
    size_t ncl;
    int fixed, idx, offset;     /* fixedBitsMask, inProgressBucketIndex, offset */
    bool live, placed;
    uint32_t seq;               /* placement order within its bag */
};

struct impc_model {
    struct cache *c;
    struct impc_config cf;
    struct impc_class *k;
    size_t nk;
    struct impc_cat *cat;
    size_t ncat;
    long *data_of;              /* per class: impc_data index, -1 */
    struct impc_data *d;
    size_t nd;
    struct impc_sel *sel;
    size_t nsel;
    uint32_t *sel_hash;         /* open addressing: sel index + 1, 0 empty */
    size_t hash_cap;
    uint64_t moved;             /* selectors moved out of a full bag */
    uint64_t discarded;         /* caches failing Apple's bucket check */
};

/* Whether the cache builds IMP caches: an ObjC optimizations file given
 * (estimateIMPCaches: 64-bit arm64/arm64e only, checked by main.c). */
bool impc_enabled(const struct cache *c);
/* estimateIMPCaches and IMPCachesBuilder::parseDylibs: the model of every
 * image with chained fixups (every image with --imp-unchained), the
 * classes chosen and their methods, flattening included. */
void impc_model_build(struct impc_model *m, struct cache *c, const char *opts_path);
void impc_model_free(struct impc_model *m);
/* The IMP the cache gives method `me` of a cache for a class (instance
 * methods unless `meta`): the image's methodMap, the last class or category
 * method of that class name and selector. */
uint64_t impc_method_imp(const struct impc_model *m, const struct impc_method *me, bool meta);
/* removeUninterestingClasses: data neither chosen nor (empty and outside
 * flattening) made dead, with the selectors no class uses any more. */
void impc_remove_uninteresting(struct impc_model *m);

/* objc_impc_cons.c: the merged Constraint of the classes of selector
 * `sel` that still get caches (false: none): bucket indices
 * ((base * (mask + 1) + v[i]) << shift) | k, v in libc++'s order. */
struct impc_allowed {
    int mask, shift;
    int *v;
    size_t n;
};
bool impc_merged(const struct impc_model *m, uint32_t sel, struct impc_allowed *out);

/* objc_impc_sort.c: std::sort by key as libc++ (LLVM 16+) orders equal keys. */
struct impc_key {
    int key;
    uint32_t sel;
};
void impc_libcxx_sort(struct impc_key *v, size_t n);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc.h — a bounds-checked walker of one image's Objective-C metadata.
 *
 * The walker reads through a `struct dsc_objc_mem`, so the same code walks a
 * cache image (dsc_objc_cache_mem: bytes via dsc_vm_*, pointers decoded from
 * slide info; what pass_objc reads) and an extracted file (objc_verify.c).
 * It visits classes, metaclasses, categories, protocols, their method lists
 * (pointer lists, relative lists in every era, lists of lists) and the
 * selector / protocol reference sections, reporting each item to a callback
 * together with the address of the field that refers to it, so a pass can
 * rewrite that field.
 *
 * Every count is bounded (DSC_OBJC_MAX_*), including the total number of
 * items of a walk (hostile lists can share entries), protocols are not
 * followed recursively, and every byte goes through the mem's checked reads.
 */
#ifndef DSC_OBJC_H
#define DSC_OBJC_H

#include "cache/macho.h"

#define DSC_OBJC_MAX_LIST 1000000u    /* entries of any one list */
#define DSC_OBJC_MAX_NAME 4096u       /* bytes of a class/selector name */
#define DSC_OBJC_MAX_ITEMS (1u << 22) /* items of one walk: lists may alias each other */
#define DSC_LIBOBJC_PATH "/usr/lib/libobjc.A.dylib"

/* Bytes and pointers at unslid addresses, from wherever the walker reads. */
struct dsc_objc_mem {
    void *ctx;
    /* `len` contiguous bytes at `addr`. */
    bool (*span)(void *ctx, uint64_t addr, uint64_t len, dsc_span *out);
    /* The target of the pointer stored at `addr` (unslid, tag bits removed). */
    bool (*ptr)(void *ctx, uint64_t addr, uint64_t *target);
    /* A NUL-terminated string at `addr`, at most `max_len` bytes before the NUL. */
    bool (*cstr)(void *ctx, uint64_t addr, uint64_t max_len, const char **s);
};

/* A mem that reads the cache itself. ctx is the dsc_cache. */
struct dsc_objc_mem dsc_objc_cache_mem(const dsc_cache *c);

/* The cache-wide ObjC optimisation data (libobjc's objc_opt_t and/or the
 * dyld-1042+ ObjCOptimizationHeader). */
struct dsc_objc_opt {
    bool present;
    uint32_t version;           /* objc_opt_t version, or header version */
    bool has_selector_base;     /* relative names are selectorBase + offset */
    uint64_t selector_base;
    uint64_t header_info_ro;    /* address of {count, entsize, entries}, 0 if none */
    uint32_t header_info_count;
    uint32_t header_info_entsize;
};

/* Whether segment s of image mo is one the cache builder added to libobjc
 * over the cache's ObjC tables: __OBJC_RO or __OBJC_RW without sections
 * (dyld-1042.1..1378 CacheDylib.cpp addObjcSegments, and the older
 * cache-builder/OptimizerObjC.cpp). The dylib has neither (objc4-951.1). */
bool dsc_objc_cache_segment(const struct dsc_macho *mo, const struct dsc_segment *s);
/* libobjc's __TEXT,__objc_opt_ro is objc4's objc_opt_t placeholder: a
 * version word, then zeros in the dylib (objc4-951.1 objc-sel-table.s). The
 * builder fills the bytes [4, 48): flags, 32-bit offsets from the section to
 * its tables (from byte 8), and relativeMethodSelectorBaseAddressOffset
 * (64-bit, byte 40; dyld-1378 NewSharedCacheBuilder.cpp emitObjCOptsHeader). */
#define DSC_OBJC_OPT_RO_FILLED 4u
#define DSC_OBJC_OPT_RO_OFFSETS 8u
#define DSC_OBJC_OPT_RO_SELBASE 40u
#define DSC_OBJC_OPT_RO_END 48u

/* Fill `opt` (present=false when the cache has no ObjC optimisation). */
int dsc_objc_opt_load(const dsc_cache *c, struct dsc_objc_opt *opt, dsc_error *err);
/* The ObjC header-info index of the image whose mach_header is at `mh`, or -1. */
int32_t dsc_objc_image_index(const dsc_cache *c, const struct dsc_objc_opt *opt, uint64_t mh);

/* What a visit reports. */
enum dsc_objc_kind {
    DSC_OBJC_CLASS,         /* addr = class_t; name = class name */
    DSC_OBJC_METACLASS,     /* addr = metaclass class_t; name = class name */
    DSC_OBJC_CATEGORY,      /* addr = category_t; name = category name; owner = class name */
    DSC_OBJC_PROTOCOL,      /* addr = protocol_t; name = protocol name */
    DSC_OBJC_METHOD_LIST,   /* addr = list; ref = field holding the list pointer */
    DSC_OBJC_METHOD,        /* addr = entry; name = selector; ref = its name field */
    DSC_OBJC_SELREF,        /* addr = selref slot; name = selector */
    DSC_OBJC_PROTOREF,      /* addr = slot (protorefs or a protocol list); target = protocol */
    DSC_OBJC_NAME_REF,      /* ref = pointer field to a C string (names, types, attributes);
                               section = where such strings live in a linked dylib */
    DSC_OBJC_CLASS_CACHE,   /* ref = class_t.cache, then .vtable field; target = its value */
    DSC_OBJC_LIST_OF_LISTS, /* ref = field pointing (bit 0 set) at the relative_list_list_t
                               at addr; target = the class's own list (its last entry),
                               or 0 where that is a placeholder */
};

/* Which list of its owner a method list is. */
enum dsc_objc_list_role {
    DSC_OBJC_INSTANCE = 0,
    DSC_OBJC_CLASS_METHODS,
    DSC_OBJC_OPT_INSTANCE,  /* protocols' optional lists */
    DSC_OBJC_OPT_CLASS,
};

struct dsc_objc_item {
    enum dsc_objc_kind kind;
    uint64_t addr;
    uint64_t ref;               /* address of the field that refers to this item, 0 if none */
    uint64_t target;            /* the address `ref` holds (string, list, protocol) */
    const char *name;           /* NUL-terminated, or NULL */
    const char *owner;          /* class / category "Class(Cat)" / protocol name */
    bool meta;                  /* class methods / metaclass */
    enum dsc_objc_list_role role;
    /* method lists */
    uint32_t entsize_flags;
    uint32_t count;
    bool relative;
    /* methods: how the name is encoded */
    uint64_t sel_addr;          /* address of the selector string */
    uint64_t types_addr;
    uint64_t imp;
    /* selector lists inside a relative_list_list_t carry the entry here */
    uint64_t list_of_lists;     /* address of the relative_list_list_t, or 0 */
    const char *section;        /* NAME_REF: "__objc_methname", "__objc_classname",
                                   "__objc_methtype" or "__cstring" */
};

typedef int (*dsc_objc_visit_fn)(void *ctx, const struct dsc_objc_item *item);

/* One image's metadata, read through `mem`. */
struct dsc_objc_image {
    const struct dsc_macho *mo;
    struct dsc_objc_mem mem;
    unsigned ptr_size;
    const struct dsc_objc_opt *opt;   /* may be NULL: no selector base */
    int32_t objc_index;               /* header-info index, -1 if unknown */
};

/* Set up `img` for image `mo` reading the cache. */
void dsc_objc_image_init(struct dsc_objc_image *img, const struct dsc_macho *mo,
                         const struct dsc_objc_opt *opt);

/* Visit everything; stops at the first callback returning non-zero (and
 * returns that value) or at the first malformed structure (returns -1 with
 * `err` filled, naming cache and image). */
int dsc_objc_walk(const struct dsc_objc_image *img, dsc_objc_visit_fn fn, void *ctx, dsc_error *err);

/* objc_image_info flags (objc-abi.h). */
#define DSC_OBJC_IMAGE_DYLD_CATEGORIES 0x1u
#define DSC_OBJC_IMAGE_OPTIMIZED_BY_DYLD 0x8u
#define DSC_OBJC_IMAGE_CATEGORY_CLASS_PROPS 0x40u

/* Method-list entsizeAndFlags bits. */
#define DSC_METHOD_LIST_RELATIVE 0x80000000u
#define DSC_METHOD_LIST_DIRECT_SELS 0x40000000u
#define DSC_METHOD_LIST_TYPE_OFFSETS 0x20000000u
#define DSC_METHOD_LIST_FIXED_UP 0x3u

#endif

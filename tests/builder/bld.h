/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bld.h — dscbuild, the test-cache builder: shared model.
 *
 * dscbuild turns a list of real Mach-O dylibs (linked by the test suite with
 * ld64.lld) into a dyld shared cache the way Apple's builder does: segments
 * grouped by kind into mappings, one merged LINKEDIT, binds resolved ahead
 * of time, pointers encoded with a chosen slide-info version, optional
 * sub-caches and a .symbols file. It is a test tool: inputs are trusted to
 * come from our own link step, yet every read of them is bounds-checked and
 * any surprise stops the build with one line naming the input (die()).
 */
#ifndef DSCBUILD_BLD_H
#define DSCBUILD_BLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macho_format.h"
#include "base/reader.h"
#include "base/unwind.h"

/* ---- growable byte buffer ---- */
struct buf {
    uint8_t *data;
    size_t len, cap;
};
void buf_reserve(struct buf *b, size_t extra);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_zero(struct buf *b, size_t n);
void buf_align(struct buf *b, size_t a);
void buf_u8(struct buf *b, uint8_t v);
void buf_u16(struct buf *b, uint16_t v);
void buf_u32(struct buf *b, uint32_t v);
void buf_u64(struct buf *b, uint64_t v);
void buf_uleb(struct buf *b, uint64_t v);
void buf_str(struct buf *b, const char *s); /* with its NUL */
void buf_free(struct buf *b);
/* The whole file at `path` appended to `b` (dies naming it if unreadable). */
void buf_read_file(struct buf *b, const char *path);

/* ---- prefix trie writer (export tries, the dylibs trie) ---- */
struct trie_entry {
    const char *key;
    struct buf payload; /* the terminal bytes */
};
/* Sorts `e` by key and emits a trie dyld and llvm-objdump can read. */
void trie_write(struct trie_entry *e, size_t n, struct buf *out);

/* ---- errors ---- */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* ---- architectures ---- */
enum bld_arch { ARCH_ARM64, ARCH_ARM64E, ARCH_ARM64_32, ARCH_X86_64 };
struct arch_info {
    const char *name;
    const char *magic;     /* exactly 15 characters */
    uint32_t cputype, cpusubtype;
    unsigned ptr_size;
    uint64_t base;         /* unslid cache base */
};
const struct arch_info *arch_get(enum bld_arch a);
bool arch_parse(const char *name, enum bld_arch *a);

/* ---- input dylibs ---- */
#define MAX_SEGS 16
#define MAX_SECTS 64

/* Where a segment goes: one cache mapping per kind. TPRO_CONST and
 * READ_ONLY mappings exist from dyld-1231.3 (header 0x208) on. */
enum region_kind {
    RK_TEXT, RK_DATA_CONST, RK_DATA, RK_AUTH_CONST, RK_AUTH, RK_LINKEDIT,
    RK_TPRO_CONST, RK_READ_ONLY, RK_COUNT
};

struct seg {
    char name[17];
    uint64_t in_addr, in_vmsize, in_fileoff, in_filesize;
    uint32_t maxprot, initprot;
    enum region_kind kind;
    bool dirty;             /* __DATA_DIRTY: first in its mapping (dyld-1231.3+) */
    uint64_t size;          /* bytes in the cache (4 KiB multiple) */
    uint64_t addr;          /* unslid cache address */
};

struct sect {
    char seg[17], name[17];
    uint64_t in_addr, size;
    uint32_t flags, reserved1, reserved2;
    unsigned segi;
};

/* One pointer slot of an image after binds and rebases are resolved. */
struct ptr {
    uint64_t addr;          /* cache address of the slot */
    uint64_t target;        /* cache address it points to (0: missing weak import) */
    bool auth;              /* arm64e: authenticated */
    uint8_t key;            /* 0 IA, 1 IB, 2 DA, 3 DB */
    bool addr_div;
    uint16_t diversity;
    bool bind;              /* from bind opcodes (GOT uniquing merges only these) */
    bool via_dep;           /* bound through a dependency (ordinal > 0), no addend */
};

struct export_sym {
    char *name;
    uint64_t flags;
    uint64_t value;         /* input offset from the mach_header, or absolute */
    uint64_t other;         /* re-export ordinal / resolver */
    char *import_name;      /* re-export: name in the other dylib (NULL = same) */
};

struct image {
    const char *in_path;
    bool is_clone;          /* shares file, exports and deps with its original */
    dsc_span file;          /* the whole input, read into memory */
    const char *install_name;
    char *cache_path;       /* path in the cache (install name unless renamed) */
    char **aliases;
    unsigned naliases;
    uint8_t uuid[16];
    uint32_t ncmds, sizeofcmds;
    struct seg segs[MAX_SEGS];
    unsigned nsegs;
    struct sect sects[MAX_SECTS];
    unsigned nsects;
    const char **deps;      /* install names of dependents, by ordinal-1 */
    bool *dep_reexport;
    unsigned ndeps;
    /* LINKEDIT pieces of the input, as file offsets/sizes */
    uint32_t symoff, nsyms, stroff, strsize;
    uint32_t ilocal, nlocal, iextdef, nextdef, iundef, nundef, indirectoff, nindirect;
    uint32_t rebase_off, rebase_size, bind_off, bind_size, weak_off, weak_size, lazy_off, lazy_size;
    uint32_t export_off, export_size;
    uint32_t fstarts_off, fstarts_size, dic_off, dic_size;
    bool has_dyld_info;
    bool chained_in;        /* linked with chained fixups: opcodes made in memory */
    struct export_sym *exports;  /* sorted by name */
    size_t nexports;
    struct ptr *ptrs;
    size_t nptrs;
    /* filled by the LINKEDIT merge: what the image's load commands point at */
    uint64_t le_symoff, le_nsyms, le_indirectoff, le_exportoff, le_exportsize;
    uint64_t le_fstartsoff, le_dicoff, le_bindoff, le_weakoff, le_lazyoff;
    uint32_t le_nlocal, le_iextdef, le_iundef;
    uint32_t local_start, local_count; /* in the moved local-symbols table */
    uint64_t fv_default, fv_impl;   /* --function-variant: input offsets, or 0 */
    uint32_t fvin_off, fvin_size;   /* the input's LC_FUNCTION_VARIANTS blob (file) */
    uint32_t fvfix_off, fvfix_size; /* the input's LC_FUNCTION_VARIANT_FIXUPS (dropped) */
    uint64_t le_fvoff, le_fvsize;   /* its FunctionVariants blob in LINKEDIT */
};

/* ---- the cache being built ---- */
struct region {
    enum region_kind kind;
    unsigned file;
    uint64_t addr, size, fileoff;
    uint32_t maxprot, initprot;
    uint64_t flags;         /* DYLD_CACHE_MAPPING_* */
    uint8_t *mem;           /* size bytes */
    uint8_t *dev_mem;       /* TEXT_STUBS: the development variant's bytes */
    uint64_t header_area;   /* bytes reserved at the start for the file header */
    struct buf slide;       /* encoded slide info blob (empty: none) */
    uint64_t slide_fileoff;
};

struct outfile {
    char suffix[32];        /* "" for the main file, ".01", ".1", ".symbols" */
    size_t first_image, end_image;  /* TEXT files: the images whose __TEXT they hold */
    int mirror_of;          /* TEXT_STUBS files: the TEXT file mirrored, else -1 */
    uint8_t dev_uuid[16];   /* TEXT_STUBS files: UUID of the .development variant */
    unsigned regions[8];
    unsigned nregions;
    uint8_t uuid[16];
    uint64_t size;
    struct buf tail;        /* bytes after the mappings (slide blobs, local symbols) */
    uint64_t tail_off;
};

struct options {
    enum bld_arch arch;
    unsigned slide;         /* 1..5 */
    uint32_t header_size;   /* 0x98 0x138 0x140 0x1c8 0x200 0x208 0x228 */
    bool split;             /* sub-caches */
    unsigned text_per_file; /* images per TEXT sub-cache when split */
    bool local_symbols;     /* move locals out (into the cache or .symbols) */
    bool optimize_stubs;    /* redirect stubs to direct branches (arm64, arm64e) */
    bool universal;         /* dyld-1042 universal set: .development main, TEXT_STUBS */
    bool preattach;         /* dyld-1122+ preattached categories (0x200, 64-bit) */
    bool coalesce_auth_ptr; /* dyld-1231.3+: __AUTH_CONST,__auth_ptr coalesced like GOTs */
    uint32_t objc_era;      /* dyld version whose ObjC optimiser we imitate (objc_era()) */
    bool type_offsets;      /* dyld-1376+: relative method types as type-buffer offsets */
    const char *objc_opts;  /* --objc-opts: Apple's ObjC optimizations file (IMP caches) */
    bool impc_unchained;    /* --imp-unchained: IMP caches for images without chained fixups */
    bool packed_tlvs;       /* dyld-1284+ TLV_Thunkv2 descriptors (newFormatTLVs) */
    bool large_vm;          /* over 4 GiB of VM: TEXT 3 GiB up, DATA past 4 GiB (layout.c) */
    char **fv_specs;        /* --function-variant "SYM=IMPL" */
    unsigned nfv_specs;
    const char *out;        /* main cache path */
    const char *manifest;   /* defaults to out + ".manifest" */
    unsigned clones;        /* scale mode: copies of each input under new names */
    uint32_t platform;
    char **alias_specs;     /* "ALIAS=PATH" */
    unsigned nalias_specs;
};

/* File offsets of the main file's tables (after the mapping tables). */
struct main_tables {
    uint64_t images, nrecords, text, subcaches, tpro, paths;
};

/* A class or protocol hash table and its name strings (objc_clsopt.c). */
struct objc_table {
    uint64_t names_addr, names_size;    /* the names, in the ObjC strings */
    uint64_t addr, size;                /* the table's chunk */
    struct objc_objs *objs;             /* what goes in (objc_clsopt.c) */
};

struct cache {
    struct options opt;
    struct main_tables mt;
    const struct arch_info *ai;
    struct image *images;
    size_t nimages;
    struct image **by_name; /* sorted by install name */
    struct region regions[128];
    unsigned nregions;
    struct outfile files[100];
    unsigned nfiles;
    unsigned symbols_file;  /* index in files or UINT32_MAX */
    struct buf local_syms;  /* dyld_cache_local_symbols_info blob */
    uint64_t local_syms_off; /* its file offset in the main file (unsplit) */
    struct buf dylibs_trie;
    unsigned le_region;     /* index of the LINKEDIT region */
    uint64_t le_stroff, le_strsize; /* the shared string pool (file offset) */
    uint64_t trie_addr;         /* where linkedit_build put the dylibs trie */
    unsigned stats_redirected;  /* branches sent straight to their target */
    struct strpool *selectors;  /* uniqued selector buffer (dyld-940+), or NULL */
    uint64_t selbuf_addr, selbuf_size;
    struct strpool *types;      /* --method-type-offsets: the type buffer after the selectors */
    uint64_t typebuf_size;      /* bytes (its pool minus the pool's leading NUL) */
    uint64_t stats_rel_lists;   /* relative method lists re-targeted */
    uint64_t impc_addr, impc_size;  /* prebuilt IMP caches' area (main TEXT) */
    struct impc_plan *impc;         /* their classes and selectors (objc_impcaches.c) */
    uint64_t stats_impcaches;
    uint64_t objc_ro_addr, objc_ro_size;    /* ObjCOptimizationHeader (objcOptsOffset/Size) */
    uint64_t hinfo_addr, hinfo_size;        /* header info RO (+ image-info copies from dyld-1122) */
    uint64_t selopt_addr, selopt_size;      /* the selector hash table (after the strings) */
    struct objc_table clsopt, protoopt;     /* class and protocol tables (after it) */
    uint64_t objc_rw_addr, objc_rw_size;    /* header info RW */
    uint64_t objc_opts_offset;              /* header objcOptsOffset (0: none) */
    uint64_t cats_addr, cats_size;          /* preattached categories' lists of lists */
    uint64_t stats_preattached;             /* class_ro_t fields made lists of lists */
    uint64_t stats_selrefs;     /* pointers re-pointed at canonical selectors */
    uint64_t proto_addr, proto_area_size, proto_used; /* canonical protocols */
    uint64_t protocol_class;    /* libobjc's Protocol class, or 0 */
    uint64_t stats_protorefs;   /* pointers re-pointed at canonical protocols */
    uint64_t stats_selloads;    /* selector loads turned into ADRP+ADD */
    bool got_uniquing;          /* dyld-940+: cache-wide GOT twins */
    uint64_t got_area_size[RK_COUNT], got_addr[RK_COUNT], got_used[RK_COUNT];
    uint64_t stats_gotloads;    /* code loads redirected to GOT twins */
    uint64_t stats_relrefs;     /* Swift relative references to GOT twins */
    uint64_t stats_gotzeroed;   /* own GOT slots zeroed (dyld-1042.1+) */
    uint64_t stats_stub_copies; /* universal: stubs copied to TEXT_STUBS */
    uint64_t stats_tlv_images;  /* images whose TLV descriptors got a key */
};

/* input.c */
void image_load(struct image *img, const char *path, const struct arch_info *ai);
void image_free(struct image *img);
/* Everything the cache owns, images included. */
void cache_free(struct cache *c);
const struct sect *image_sect(const struct image *img, const char *seg, const char *name);
/* Input address -> cache address (through the segment that holds it). */
bool image_reloc(const struct image *img, uint64_t in_addr, uint64_t *out);
/* `len` bytes of the input file at input address `in_addr` (file-backed). */
bool image_in_bytes(const struct image *img, uint64_t in_addr, uint64_t len, dsc_span *out);
/* The input address of the image's mach_header (its file-offset-0 segment). */
uint64_t image_in_header(const struct image *img);
const struct export_sym *image_export(const struct image *img, const char *name);

/* chained_in.c: an input with LC_DYLD_CHAINED_FIXUPS gets plain slot
 * values and rebase/bind opcodes in memory (img->rebase_off ...). */
void chained_input_convert(struct image *img);

/* fixups.c: rebases and binds of every image -> img->ptrs (binds resolved). */
void fixups_resolve(struct cache *c);
/* Before layout: every bind of the image's bind opcodes (not lazy, not
 * weak), with the input address of its slot, unresolved. */
typedef void (*fixups_bind_fn)(void *ctx, const struct image *img, uint64_t in_slot, const char *symbol,
                               int64_t ordinal);
void fixups_each_bind(struct cache *c, struct image *img, fixups_bind_fn fn, void *ctx);
/* The export `name` that a bind of `img` with library ordinal `ordinal`
 * (0: itself) finds, following re-exports (*owner: whose export), or NULL. */
const struct export_sym *fixups_export(struct cache *c, struct image *img, int64_t ordinal, const char *name,
                                       struct image **owner);
/* The pointer slot at cache address `addr` (img->ptrs is sorted), or NULL. */
const struct ptr *image_ptr_at(const struct image *img, uint64_t addr);
/* Sort img->ptrs by address again after slots were added. */
void image_sort_ptrs(struct image *img);

/* layout.c */
void layout_plan(struct cache *c);
struct region *region_of(struct cache *c, uint64_t addr);
/* `len` built bytes at cache address `addr` (dies when not inside one mapping). */
uint8_t *cache_bytes(struct cache *c, uint64_t addr, uint64_t len);
void layout_copy_segments(struct cache *c);
/* End of the ObjC read-only area: libobjc's __OBJC_RO runs from header info
 * RO (c->hinfo_addr) to it (objc_segs.c). */
uint64_t objc_ro_end(const struct cache *c);
/* Whether the ObjC optimisation header and the IMP caches are LINKEDIT
 * chunks (before the 1284 era; layout.c), placed by linkedit_build. */
bool objc_opts_in_linkedit(const struct cache *c);

/* objc.c: selector uniquing. objc_plan sizes the buffer before layout;
 * objc_unique_selectors fills it and re-points pointers after fixups. */
struct strpool;
void objc_plan(struct cache *c);
void objc_unique_selectors(struct cache *c);
/* Same for protocols: the area is sized before layout, filled after. */
void objc_plan_protocols(struct cache *c);
void objc_unique_protocols(struct cache *c);
/* Input address and name of each protocol of the image's __objc_protolist. */
typedef void (*objc_protocol_fn)(void *ctx, const struct image *img, uint64_t in_addr, const char *name);
void objc_each_protocol(const struct cache *c, const struct image *img, objc_protocol_fn fn, void *ctx);
/* The canonical copy of the k-th protocol name (first seen first, in image
 * and __objc_protolist order). */
uint64_t objc_protocol_copy(const struct cache *c, size_t k);
/* objc_clsopt.c: the class and protocol hash tables, sized by
 * objc_opts_plan before layout and written by objc_opts_write. */
void objc_tables_plan(struct cache *c);
void objc_tables_write(struct cache *c);
void objc_tables_free(struct cache *c);
/* objc_opts.c: the ObjCOptimizationHeader (dyld-1042+), sized before layout
 * and written after objc_mark_images. */
void objc_opts_plan(struct cache *c);
void objc_opts_write(struct cache *c);
/* The header's objcOptsSize: the opts header's size, or before the 1231 era
 * sizeof(SwiftOptimizationHeader), as Apple's header writer left it. */
uint64_t objc_opts_size_field(const struct cache *c);
/* The cache's /usr/lib/libobjc.A.dylib (the first of that name), or NULL. */
struct image *objc_libobjc(struct cache *c);
/* The image's ObjC section `name` in __DATA_CONST, else __DATA, or NULL. */
const struct sect *objc_sect(const struct image *img, const char *name);
const struct sect *objc_image_info_of(const struct image *img); /* __objc_imageinfo */
/* objc_cats.c: preattached categories (--preattach-categories). The area is
 * sized before layout (after objc_opts_plan), filled after the protocols. */
void objc_cats_plan(struct cache *c);
void objc_preattach_categories(struct cache *c);
/* objc_methlists.c: relative method lists (__TEXT,__objc_methlist). The
 * type buffer is sized before layout; after the selectors are uniqued every
 * entry's offsets are re-targeted, and with an ObjC optimisation header its
 * names (and with --method-type-offsets its types) become buffer offsets. */
void objc_methlists_plan(struct cache *c);
void objc_methlists_fix(struct cache *c);
/* Every relative list of the image's input __objc_methlist: fn gets its input
 * address, its input bytes (header and entries) and its flags. */
typedef void (*objc_rel_list_fn)(struct cache *c, const struct image *img, uint64_t in, dsc_span list, uint32_t flags);
void objc_each_relative_list(struct cache *c, const struct image *img, objc_rel_list_fn fn);
/* The NUL-terminated input string at input address `in_addr` (dies if none). */
const char *image_in_cstr(const struct image *img, uint64_t in_addr);
/* The ObjC optimiser's dyld era: --objc-era, else the header's (0x228:
 * 1284, 0x208: 1231), else 1122 with preattached categories, else 1042.
 * Header info entries are 24 bytes from 1122, the ObjCOptimizationHeader
 * is version 2 from 1376. */
uint32_t objc_era(const struct cache *c);
/* Cache address of the relative-method selector base: the magic selector,
 * first string of the selector buffer (relativeMethodSelectorBaseAddressOffset). */
uint64_t objc_selector_base(const struct cache *c);

/* objc_hash.c: ObjC perfect hash tables of strings (dyld-1378
 * OptimizerObjC.h StringHashTable); dsccheck looks keys up with them. */
#define OBJC_HASH_TAB 1056u   /* tab[]: after the header and scramble[256] */
uint64_t objc_lookup8(const uint8_t *k, size_t len, uint64_t level);
uint8_t objc_hash_checkbyte(const char *key, size_t len);
/* The slot of `key` in the table t[0..size) (false: out of bounds). */
bool objc_hash_index(const uint8_t *t, size_t size, const char *key, uint32_t *slot);
/* Apple's chunk size for n keys of per_slot bytes' slot data
 * (hashTableSize: 5 for selectors, 13 for classes and protocols). */
uint64_t objc_hash_chunk_size(uint32_t n, unsigned per_slot);
/* Writes the table for keys[i] at offsets[i] from the table into t[0..room)
 * (zeros when n = 0), leaving slot_extra bytes a slot after the offsets. */
void objc_hash_write(uint8_t *t, uint64_t room, const char *const *keys, const int32_t *offsets, size_t n,
                     uint64_t slot_extra, const char *what);
/* Class and protocol tables (ObjectHashTable): the objects array's offset
 * in the table; the two kinds of its u64 entries (objc_hash.c). */
uint64_t objc_hash_objects(const uint8_t *t);
uint64_t objc_object_entry(uint64_t cache_offset, uint32_t dylib_index);
uint64_t objc_duplicate_entry(uint32_t index, uint32_t count);

/* objc_impcaches.c: prebuilt IMP caches (--objc-opts), sized before
 * layout, emitted after the selectors are uniqued. The input walk is shared
 * with dsccheck. */
struct objc_in_class {
    uint64_t cls;           /* input address of the class_t */
    uint64_t list;          /* its own method list (baseMethods), 0 if none */
    uint32_t count;
    uint64_t vtable;        /* the input's vtable field */
    bool meta;              /* the metaclass of a class of the list */
};
struct objc_in_method {
    const char *name;       /* selector */
    uint64_t imp;           /* input address */
};
typedef void (*objc_in_class_fn)(void *ctx, const struct image *img, struct objc_in_class k);
/* Every class of the input's __objc_classlist, then its metaclass. */
void objc_each_input_class(const struct image *img, objc_in_class_fn fn, void *ctx);
struct objc_in_method objc_in_method(const struct image *img, const struct objc_in_class *k, uint32_t i);
/* The name (class_ro_t name) of the input class_t at input address cls. */
const char *objc_in_class_name(const struct image *img, uint64_t cls);
/* objc_plan: choose the classes (objc_impc_model.c) and put their
 * selectors first in the selector buffer (the others follow). */
void objc_impcaches_place(struct cache *c);
void objc_impcaches_plan(struct cache *c);
void objc_impcaches_emit(struct cache *c);
void objc_impcaches_free(struct cache *c);
/* Selectors moved out of a full bag (where Apple's order is not followed). */
uint64_t objc_impcaches_moved(const struct cache *c);

/* objc_image_info.flags |= OptimizedByDyld in every image (dyld-940+), and
 * DyldCategoriesOptimized with preattached categories. */
void objc_mark_images(struct cache *c);
/* selloads.c, after code_fix: every ADRP+LDR of a selref -> ADRP+ADD of the
 * string (64-bit arm; pairs by data flow over each function). */
void objc_rewrite_selector_loads(struct cache *c);

/* got.c: GOT uniquing. got_plan sizes the areas before layout; got_unique
 * redirects code loads after code_fix. got_zeroed: the own slot `p` is
 * coalesced, zeroed and dropped from slide info (dyld-1042.1+ eras). */
bool got_section(const struct sect *x);
/* Input address `in_addr` lies in one of the image's GOT sections. */
bool got_in_section(const struct image *img, uint64_t in_addr);
bool got_zeroed(const struct cache *c, const struct image *img, const struct ptr *p);
/* The cache address `addr` is in the image's __AUTH_CONST,__auth_got. */
bool got_auth_got_at(const struct image *img, uint64_t addr);
void got_plan(struct cache *c);
void got_unique(struct cache *c);
/* The cache-wide twin of the image's bound GOT slot at cache address
 * `slot` (made on first use); 0 for any other slot or without uniquing. */
struct got_redirect;
uint64_t got_twin_at(struct got_redirect *r, uint64_t slot);
/* swiftrel.c: Swift's 32-bit relative references (base/relref.h) of image
 * `image` to its pointer slots re-aimed after segments moved: at the GOT
 * twin (got_twin_at), else at the slot's new address. Called by got_unique. */
void swiftrel_fix(struct cache *c, struct got_redirect *r, size_t image);
/* unwind.c: personality references of unwind information (base/unwind.h).
 * unwind_each calls fn for each one of the image's input: the cache
 * address of the field and of the mach_header, the slot it names in the
 * input and in the cache. unwind_fix re-aims image `image`'s after segments
 * moved, as swiftrel_fix does. */
struct unwind_ref {
    uint64_t field, in_slot, slot, header;
    enum dsc_unwind_kind kind;
};
typedef void (*unwind_ref_fn)(void *ctx, const struct image *img, struct unwind_ref u);
void unwind_each(const struct image *img, unwind_ref_fn fn, void *ctx);
void unwind_fix(struct cache *c, struct got_redirect *r, size_t image);

/* tlv.c: TLV descriptors keyed, thunks at _tlv_get_addr (dyld-1042+),
 * after layout_copy_segments and before slide_encode. */
void tlv_optimize(struct cache *c);

/* fvariants.c: function variants (--function-variant). fv_plan marks the
 * exports before layout; fv_blob writes an image's FunctionVariants. */
void fv_plan(struct cache *c);
void fv_blob(const struct cache *c, const struct image *img, struct buf *out);

/* universal.c: stub copies in TEXT_STUBS files, calls sent to them. */
void universal_stubs(struct cache *c);

/* code.c: ADRP pages after segments moved; optional stub redirection. */
void code_fix(struct cache *c);
/* The LDR-literal or ADR at `off` of instruction bytes `code` (`size`
 * long), at cache address `pc`, and a NOP beside it become ADRP +
 * LDR/ADD of `target` (lld's optimisation hint undone); false when no NOP
 * is beside it or the form has no unsigned-offset twin. */
bool code_widen_literal(uint8_t *code, uint64_t size, uint64_t off, uint64_t pc, uint64_t target);
/* Offset of the one instruction (an LDR Wt|Xt, [Xn, #imm] of `load_size`
 * bytes) that uses the register the ADRP at `at` sets, before a branch or
 * a new ADRP of it within 16 instructions; -1 when there is none or another
 * use. (Instruction words: libdsc's base/insn.h.) */
long arm64_sole_load(const uint8_t *code, uint64_t size, uint64_t at, unsigned load_size);
/* Every RIP-relative operand of an x86_64 code section, in the built cache
 * (decoded and re-encoded by libdsc's base/x86.h): fn gets the address it
 * names as the input has it and as the cache has it now, and re-aims it by
 * returning true with `to`; one that cannot reach `to` stops the build. */
typedef bool (*x86_rip_fn)(void *ctx, const struct image *img, uint64_t in_target, uint64_t target, uint64_t *to);
void x86_each_rip(struct cache *c, const struct image *img, const struct sect *x, x86_rip_fn fn, void *ctx);
/* Each B/BL in the image's __text (arm64*) whose target `aim` re-aims
 * (true, with the new target) is re-encoded to branch there; one that
 * cannot reach it stays as it was, or stops the build when `must_reach`.
 * Returns how many were re-aimed. */
typedef bool (*branch_aim_fn)(void *ctx, uint64_t target, uint64_t *to);
unsigned redirect_text_branches(struct cache *c, const struct image *img, branch_aim_fn aim, void *ctx,
                                bool must_reach);

/* linkedit.c */
void linkedit_build(struct cache *c);
/* loadcmds.c: segment addresses, LINKEDIT offsets, removed commands, flags. */
void loadcmds_rewrite(struct cache *c);
/* objc_segs.c: libobjc's __OBJC_RO/__OBJC_RW segment commands (after loadcmds_rewrite). */
void objc_segments_add(struct cache *c);
uint64_t file_offset_of(struct cache *c, uint64_t addr);

/* slide.c */
void slide_encode(struct cache *c);

/* write.c */
/* Bytes the main file needs after its mapping tables: image tables, sub-cache
 * entries, path pool; also builds the dylibs trie into c->dylibs_trie. */
uint64_t header_tables_size(struct cache *c);
/* Bytes of the mapping tables after a header, for `nmappings` mappings. */
uint64_t mapping_tables_size(const struct cache *c, unsigned nmappings);
void cache_write(struct cache *c);

/* util.c: a stable content digest shaped as a UUID */
struct hasher {
    uint64_t h1, h2, n;
};
void hasher_init(struct hasher *h);
void hasher_update(struct hasher *h, const uint8_t *p, size_t n);
void hasher_final(struct hasher *h, uint8_t out[16]);

#endif

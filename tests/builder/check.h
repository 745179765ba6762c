/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check.h — dsccheck: verify a cache dscbuild wrote against its inputs,
 * reading the cache only through libdsc and its own slide decoder.
 */
#ifndef DSCBUILD_CHECK_H
#define DSCBUILD_CHECK_H

#include "bld.h"
#include "cache/cache.h"

struct decoded_ptr {
    uint64_t addr, value;
    bool auth;
    uint8_t key;        /* auth only: 0 IA, 1 IB, 2 DA, 3 DB */
    bool addr_div;
    uint16_t diversity;
};

struct decoded {
    struct decoded_ptr *v;  /* sorted by addr */
    size_t n, cap;
};

struct manifest {
    char arch[32];
    uint32_t header;
    bool stubs_optimized;
    int universal;      /* enum universal_kind */
    unsigned slide;
    char *main_path;
    char **paths, **inputs;
    size_t n;
    char **alias_from, **alias_to;
    size_t naliases;
    char **fv_specs;    /* function-variant SYM=IMPL */
    unsigned nfv_specs;
    bool large_vm;      /* layout large-vm */
};

/* What the cache says about one image. */
struct cached {
    uint64_t mh;
    uint64_t le_vmaddr, le_fileoff;
    uint32_t symoff, nsyms, stroff, strsize, nlocal, iextdef, nextdef;
    uint32_t export_off, export_size;
    uint32_t fv_off, fv_size;   /* LC_FUNCTION_VARIANTS */
};

struct counts {
    size_t ptrs, nulls, exports, symbols, locals, adrps, direct_stubs, direct_calls, selectors, protocols, rip_refs;
    size_t selector_loads, literals, auth, redacted, got_loads, stub_copies, image_infos, header_infos;
    size_t preattached, rel_methods, impcaches, tlvs, fvariants, zeroed_gots, relrefs, far_ptrs;
    size_t unwind_refs, hashed_classes, hashed_protocols;
};

/* The uniqued selector buffer, from libobjc's objc_opt_offsets[0..1]. */
struct selbuf {
    uint64_t start, end;
    size_t slots;   /* decoded pointers that are objc_opt_offsets */
};

/* dsccheck's state, shared by its parts (one run, one cache). */
extern dsc_cache *cache;
extern struct cache bc;         /* the inputs, re-read, with cache addresses */
extern struct cached *cached;   /* per image of bc */
extern bool stubs_optimized;
enum universal_kind { NOT_UNIVERSAL, UNIVERSAL_CUSTOMER, UNIVERSAL_DEVELOPMENT };
extern int universal;           /* which main of a universal set we check */
extern bool gots_uniqued;       /* dyld-940+ eras: GOTs uniqued, ObjC optimised */
extern struct selbuf sb;        /* found by check_pointers, used by check_code */
extern struct decoded dec;      /* every slid pointer of the cache */
extern size_t explained;        /* decoded pointers matched to a reason so far */
extern size_t ntwins;           /* distinct GOT twins reached by redirected loads */
extern uint64_t cats_addr, cats_size; /* preattached categories' area (manifest), or 0 */

/* check_largevm.c: --large-vm caches (after check_pointers). */
void check_large_vm(struct counts *n);

/* check.c */
dsc_span vm(uint64_t addr, uint64_t len, const char *what);
dsc_span linkedit(size_t image, uint64_t off, uint64_t len, const char *what);

/* check_ptrs.c: slots, selectors, protocols; GOT twins are proven by
 * check_code.c through got_twin. */
void check_pointers(struct counts *n);
bool uniqued_selector(uint64_t target, uint64_t got);
bool got_twin(const struct image *img, uint64_t want, uint64_t t, struct counts *n);
void not_zeroed(const struct image *img, uint64_t addr, uint64_t slot);
void free_twins(void);
void check_objc_opts(struct counts *n);

/* check_objchash.c: the selector hash table (after check_objc_opts, which
 * sets types_size); selector_hashed: whether the table finds `s` at `at`. */
extern uint64_t selopt_addr, selopt_size;
void check_selector_table(void);
bool selector_hashed(const char *s, uint64_t at);
/* The string the table t (at cache address `at`) finds for s (0: none), and
 * its slot; the table's slots that name a string. */
uint64_t hash_lookup(dsc_span t, uint64_t at, const char *s, uint32_t *slot);
uint32_t hash_used_slots(dsc_span t);

/* check_objcobjs.c: the class and protocol tables and their names (after
 * check_selector_table); where the ObjC strings end (the names' end) and
 * the protocol table's chunk ends. */
uint64_t objc_names_end(void);
uint64_t objc_tables_end(void);
void check_object_tables(struct counts *n);

/* check_objcsegs.c: the ObjC optimisation header's address (0: none). */
uint64_t opts_header(void);
/* check_objcsegs.c: libobjc's __OBJC_RO/__OBJC_RW (true: lc was one,
 * checked); then whether the image has all it should. */
bool check_objc_segment(const struct image *img, const uint8_t *lc, unsigned *seen);
void check_objc_segments_seen(const struct image *img, unsigned seen);
/* After check_objc_opts: __OBJC_RO's end per ObjC era, and libobjc's
 * __objc_opt_ro as the builder fills it. */
void check_objc_ro_bounds(void);

/* check_cats.c: preattached categories. preattached_slot proves a slot
 * that check_pointers finds changed; check_preattached the rest, after it. */
bool preattached_slot(const struct ptr *p, const struct decoded_ptr *got);
void check_preattached(struct counts *n);

/* check_methlists.c: relative method lists. */
extern uint32_t objc_era_m;     /* manifest: dyld era of the ObjC optimisation header, 0 if none */
extern bool type_offsets_m;     /* manifest: method types as type-buffer offsets */
extern uint64_t types_size;     /* the v2 header's type buffer size (check_objc_opts) */
void check_relative_lists(struct counts *n);

/* check_impcaches.c: prebuilt IMP caches; proves the vtable slots it finds. */
extern uint64_t impc_addr, impc_size;   /* manifest "impcaches", or 0 */
void check_impcaches(struct counts *n);

/* check_tlv.c: TLV descriptors (dyld-1042+); before check_pointers, whose
 * expected thunk targets it sets. */
void check_tlvs(uint32_t header, struct counts *n);

/* check_syms.c */
void check_exports(struct counts *n);
void check_symbols(struct counts *n);
void check_locals(struct counts *n);
void check_objc_image_info(struct counts *n);

/* check_swiftrel.c: Swift's relative references to pointer slots. */
void check_swiftrel(struct counts *n);
/* check_unwind.c: unwind personality references to pointer slots. */
void check_unwind(struct counts *n);

/* check_code.c */
void check_code(struct counts *n);
void check_rip_refs(const char *path, const struct manifest *m, struct counts *n);

/* Every pointer the slide info of every mapping names, decoded. */
void slide_decode_all(const dsc_cache *c, struct decoded *d);
const struct decoded_ptr *decoded_at(const struct decoded *d, uint64_t addr);

#endif

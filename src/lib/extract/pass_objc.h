/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_objc.h — state shared by the Objective-C pass's files.
 *
 * pass_objc.c    walks the image's metadata (objc.c) over the plan, decides
 *                every edit, lays out the added __OBJC_EXTRA segment and
 *                applies the edits;
 * objc_view.c    the bytes the pass reads: the cache with the image's slid
 *                segments decoded (the same in full and size plans);
 * objc_strings.c interned strings per section and name-keyed maps;
 * objc_selloads.c turns the builder's ADRP+ADD selector loads back into
 *                ADRP+LDR from a selref of this image.
 */
#ifndef DSC_PASS_OBJC_H
#define DSC_PASS_OBJC_H

#include "extract/extract.h"
#include "index/objc.h"

/* String sections the pass fills (property strings go with the method
 * names: every image already has these three, empty, in the cache). */
enum objc_strsect { STR_METHNAME, STR_CLASSNAME, STR_METHTYPE, STR_NSECT };

/* The open-addressing table behind both maps below (objc_strings.c): a
 * slot holds a name (namemap) or a nonzero key (addrmap). */
struct objc_map {
    struct objc_map_slot {
        const char *name;
        uint64_t key, value;
    } *slots;
    size_t nslots, count;
};

/* name -> u64 value map (names are borrowed; they must outlive the map). */
struct objc_namemap {
    struct objc_map m;
};

/* Value of `name`, or false. */
bool objc_namemap_get(const struct objc_namemap *m, const char *name, uint64_t *value);
/* Insert if absent (an existing value is kept). False on out of memory. */
bool objc_namemap_put(struct objc_namemap *m, const char *name, uint64_t value);
/* Insert, or replace an existing value. False on out of memory. */
bool objc_namemap_set(struct objc_namemap *m, const char *name, uint64_t value);
void objc_namemap_free(struct objc_namemap *m);

/* address -> u64 value map; address 0 is never a key. */
struct objc_addrmap {
    struct objc_map m;
};

bool objc_addrmap_get(const struct objc_addrmap *m, uint64_t key, uint64_t *value);
bool objc_addrmap_put(struct objc_addrmap *m, uint64_t key, uint64_t value);
void objc_addrmap_free(struct objc_addrmap *m);

/* A set of strings laid out one after another, each NUL-terminated. */
struct objc_strtab {
    struct dsc_blob bytes;
    struct objc_namemap offsets;
};

/* Intern `s`; *off gets its offset in tab->bytes. False on out of memory. */
bool objc_strtab_add(struct objc_strtab *tab, const char *s, uint64_t *off);
void objc_strtab_free(struct objc_strtab *tab);

/* A selector reference the image will hold: an existing slot's address, or
 * SELREF_NEW | index of a selref added in __OBJC_EXTRA,__objc_selrefs. */
#define SELREF_NEW (1ull << 63)

/* Where a rewritten field must point. */
enum objc_target { TGT_ADDR, TGT_STR, TGT_SELREF };

enum objc_edit_kind {
    ED_PTR,     /* pointer slot := target (and its fixup a rebase to it) */
    ED_REL32,   /* i32 field := target - field address */
    ED_U32,     /* u32 := value */
    ED_ZERO,    /* pointer slot := 0, its fixup dropped */
};

struct objc_edit {
    enum objc_edit_kind kind;
    enum objc_target tgt;
    uint8_t sect;               /* TGT_STR: enum objc_strsect */
    uint64_t at;
    uint64_t value;             /* address, string offset, selref value, or u32 */
    size_t seq;                 /* order of recording */
};

/* A selector the image needs a selref for, found by name later. */
struct objc_selneed {
    uint64_t at;                /* relative method name field, or 0 for a code load */
    const char *name;
    uint64_t sel_addr;          /* the string as the cache holds it */
};

/* One instruction of a group the builder made of selector loads: an ADRP
 * of the group, or an ADD that loads a selref again. The entries of one
 * group are adjacent in objc_pass.loads, in address order. */
struct objc_selload {
    uint64_t group;             /* address of the group's first ADRP */
    uint64_t insn;              /* address of the ADRP or the ADD */
    uint64_t selref;            /* for an ADD: selref value it loads again */
    bool is_adrp;
};

/* The decoded view the pass reads (objc_view.c). */
struct objc_view_seg {
    uint64_t vmaddr, size;
    uint8_t *bytes;
};

struct objc_view {
    const dsc_cache *cache;
    struct objc_view_seg *segs;
    unsigned nsegs;
};

int objc_view_init(struct objc_view *v, struct dsc_plan *p);
void objc_view_free(struct objc_view *v);
bool objc_view_span(const struct objc_view *v, uint64_t addr, uint64_t len, dsc_span *out);
struct dsc_objc_mem objc_view_mem(struct objc_view *v);

struct objc_pass {
    struct dsc_plan *p;
    struct objc_view view;              /* what the pass reads */
    struct dsc_objc_opt opt;
    struct dsc_macho libobjc;           /* for class cache targets; valid when has_libobjc */
    bool has_libobjc;

    struct objc_edit *edits;
    size_t nedits, edits_cap;
    struct objc_selneed *needs;
    size_t nneeds, needs_cap;
    struct objc_selload *loads;
    size_t nloads, loads_cap;
    struct objc_adrload { uint64_t insn, selref; } *adrs; /* ADR Xd, string (was LDR Xd, selref) */
    size_t nadrs, adrs_cap;

    struct objc_namemap sel_by_name;    /* selector -> selref value (the first selref of a name) */
    struct objc_namemap last_sel_by_name; /* selector -> the last selref of that name */
    struct objc_addrmap sel_by_addr;    /* cache string address -> selref value */
    struct objc_namemap protocols;      /* this image's protocols by name */
    struct objc_namemap own_strings;    /* this image's C strings -> address */
    struct objc_namemap own_methnames;  /* ... those in __objc_methname */
    struct objc_strtab str[STR_NSECT];
    struct { enum objc_target tgt; uint64_t value; } *new_selrefs; /* their targets: TGT_ADDR or TGT_STR methname */
    size_t nnew_selrefs, new_selrefs_cap;

    uint64_t budget;                    /* most bytes of strings + selrefs to add: the cache's mapped bytes */
    uint64_t extra_addr;                /* added selrefs (in __OBJC_EXTRA), 0 if none */
    uint64_t str_addr[STR_NSECT];       /* start of each filled string section */
    uint64_t selectors_fixed, loads_fixed, loads_unfixed, protorefs_unresolved, foreign_fields;
};

/* Address an edit target stands for, once the added segment is laid out. */
uint64_t objc_target_addr(const struct objc_pass *op, enum objc_target tgt, uint8_t sect, uint64_t value);
/* Selref value for the selector `name` (string at cache address `sel_addr`),
 * adding a new selref when the image has none. -1 on out of memory. */
int objc_selref_for(struct objc_pass *op, const char *name, uint64_t sel_addr, uint64_t *value);

/* objc_selloads.c: find the builder's selector loads (reads the cache's
 * code, so size plans make the same selref decisions) and rewrite them in a
 * full plan once selref addresses are known. */
int objc_find_selector_loads(struct objc_pass *op);
void objc_write_selector_loads(struct objc_pass *op);

#endif

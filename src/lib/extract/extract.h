/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * extract.h — the extraction plan every pass receives, and the pass API.
 *
 * Pipeline (extract.c): plan_init → layout → pointers → [binds, stubs, objc]
 * → linkedit → fixups (encode) → out_finish (file offsets, load commands,
 * exact size, room for the code signature) → out_write (serialise, then
 * sign: the page hashes are taken of the finished bytes, so signing is
 * the very last step).
 *
 * Contract:
 *  - A plan belongs to one extraction on one thread; the cache is shared and
 *    read-only. Nothing here is global.
 *  - Addresses are the cache's unslid VM addresses. The output keeps them:
 *    every segment stays at its cache vmaddr, so pointers, export-trie
 *    offsets, function starts and symbol values stay valid without being
 *    rewritten. Only file offsets change (see out.c for the file layout).
 *  - A "size plan" (plan->copy_bytes == false, used by dsc_extract_size) runs
 *    every pass but copies no segment bytes: plan_seg_bytes() returns NULL
 *    and passes must skip byte edits while still producing every record that
 *    decides the output's size (fixups, imports, LINKEDIT blobs, segments).
 *    Read pointers with plan_read_ptr(), which works in both kinds of plan.
 *    The chained encoder sizes its blob but writes no chain entries there
 *    (pass_fixups.c chain_segment says why that cannot change a size).
 *  - Every failure fills plan->err through plan_fail() ("<cache>: <image>:
 *    message") and makes the pass return -1; the pipeline stops there.
 *
 * Writing a pass (like objc, binds): add it to passes[] in extract.c
 * between pass_pointers and pass_linkedit. (pass_stubs is the exception: it
 * runs after pass_linkedit because it names stubs and slots in the rebuilt
 * symbol and indirect tables; pass_binds also fills the weak- and lazy-bind
 * opcode streams of opcode outputs.) It sees every decoded pointer as
 * a fixup (REBASE inside the image, EXTERNAL elsewhere, auth bits kept).
 *  - To bind a slot: set kind = DSC_FIXUP_BIND, import from plan_add_import(),
 *    addend; keep auth. Any addend will do: the chained encoder moves what
 *    an arm64e pointer cannot hold into the import table.
 *  - To change bytes: plan_seg_bytes()/plan_write_ptr(); both do nothing
 *    useful in a size plan, which is fine as long as sizes do not depend on
 *    the bytes.
 *  - To add data: plan_alloc_vm() + plan_add_segment() + plan_add_section();
 *    pointers stored there need a REBASE fixup each.
 */
#ifndef DSC_EXTRACT_H
#define DSC_EXTRACT_H

#include "cache/macho.h"

/* ---- fixups: what dyld must do to each pointer slot of the output ---- */

enum dsc_fixup_kind {
    DSC_FIXUP_REBASE,   /* slot holds `target`, an address inside this image */
    DSC_FIXUP_BIND,     /* slot binds to imports[import] + addend */
    DSC_FIXUP_EXTERNAL, /* slot holds `target` outside this image and nothing
                           binds it yet: left a plain pointer, not encoded,
                           counted in stats.unbound_pointers. The binds pass
                           turns these into DSC_FIXUP_BIND. */
};

/* arm64e pointer authentication, kept from the cache's slide info. */
struct dsc_fixup_auth {
    bool present;      /* an authenticated pointer */
    uint8_t key;       /* 0 IA, 1 IB, 2 DA, 3 DB */
    bool addr_div;
    uint16_t diversity;
};

/* 40 bytes: the 8-byte members first, so no padding falls between them
 * (a plan holds one per pointer slot, and sorts and copies them). */
struct dsc_fixup {
    uint64_t address;  /* unslid vmaddr of the pointer slot */
    uint64_t target;   /* REBASE/EXTERNAL: unslid target, including TBI high8 bits */
    int64_t addend;    /* BIND */
    uint32_t import;   /* BIND: index into plan->imports */
    enum dsc_fixup_kind kind;
    struct dsc_fixup_auth auth;
};

/* Special library ordinals (as in <mach-o/loader.h>). */
#define DSC_ORDINAL_SELF 0
#define DSC_ORDINAL_MAIN_EXECUTABLE (-1)
#define DSC_ORDINAL_FLAT_LOOKUP (-2)
#define DSC_ORDINAL_WEAK_LOOKUP (-3)

struct dsc_import {
    char *name;        /* owned by the plan */
    int lib_ordinal;   /* 1-based index of LC_LOAD_*DYLIB, or DSC_ORDINAL_* */
    bool weak_import;
    int64_t addend;    /* chained outputs: an addend the bind's pointer cannot
                          hold moves here (DYLD_CHAINED_IMPORT_ADDEND*); dyld
                          adds it to the pointer's */
    bool used;         /* chained outputs: some bind names it (pass_fixups.c) */
};

/* A lazy pointer rebased to its stub-helper entry (lazybind.c): dyld binds
 * it to imports[import] on the first call through its stub. */
struct dsc_lazy_slot {
    uint64_t address;
    uint32_t import;
};

/* An own slot the cache coalesced into a cache-wide twin (gotslots.c). */
struct dsc_got_twin {
    uint64_t twin, own;
};

/* ---- output segments ---- */

struct dsc_out_section {
    char sectname[17];
    char segname[17];
    uint64_t addr, size;
    uint32_t align, flags, reserved1, reserved2, reserved3;
};

struct dsc_out_segment {
    char name[17];
    uint64_t vmaddr, vmsize;
    uint64_t filesize;      /* bytes stored in the file (<= vmsize) */
    uint64_t fileoff;       /* assigned by out_finish */
    uint32_t maxprot, initprot, flags;
    uint8_t *bytes;         /* filesize writable bytes; NULL in a size plan */
    struct dsc_out_section *sects;
    unsigned nsects;
    int source;             /* index into plan->mo.segs, or -1 for an added one */
    uint64_t cmd_offset;    /* its load command in the cache image (source >= 0) */
};

/* A growable byte buffer (LINKEDIT pieces, opcode streams). */
struct dsc_blob {
    uint8_t *data;
    size_t size, cap;
};

/* The rebuilt LINKEDIT, piece by piece, in file order. */
struct dsc_linkedit {
    struct dsc_blob chained;    /* LC_DYLD_CHAINED_FIXUPS payload (arm64e) */
    struct dsc_blob rebase, bind, weak_bind, lazy_bind; /* LC_DYLD_INFO_ONLY */
    struct dsc_blob exports;    /* export trie */
    struct dsc_blob fstarts;    /* LC_FUNCTION_STARTS */
    struct dsc_blob dic;        /* LC_DATA_IN_CODE */
    struct dsc_blob symtab;     /* nlist / nlist_64 */
    struct dsc_blob indirect;   /* u32 indices */
    struct dsc_blob strtab;
    uint32_t nsyms, nlocal, nextdef, nundef, nindirect;
    bool extdefs_are_trie;      /* the extdefs are the export trie's names, one
                                   each (pass_linkedit; symbolize.c relies on it) */
};

enum dsc_fixup_encoding {
    DSC_ENCODE_OPCODES, /* LC_DYLD_INFO_ONLY rebase/bind opcodes */
    DSC_ENCODE_CHAINED, /* LC_DYLD_CHAINED_FIXUPS in plan->chained_format */
};

struct dsc_symbols;

struct dsc_code_ref;

struct dsc_plan {
    const dsc_cache *cache;
    struct dsc_macho mo;          /* the cache image, parsed */
    uint64_t base;                /* vmaddr of its mach_header */
    unsigned ptr_size;            /* 4 or 8 */
    uint32_t page_size;           /* file alignment of segments */
    bool copy_bytes;              /* false: size plan, no segment bytes */
    bool sign;                    /* end LINKEDIT with an ad-hoc signature (out.c) */
    enum dsc_fixup_encoding encoding;
    unsigned chained_format;      /* DSC_CHAINED_PTR_ARM64E or _64 */

    struct dsc_out_segment *segs; /* file order; LINKEDIT is not in here */
    unsigned nsegs;
    uint64_t linkedit_vmaddr;     /* where the rebuilt LINKEDIT goes */
    uint64_t next_free_vmaddr;    /* first address no segment of the image uses */
    uint64_t next_free_low;       /* first address after every segment below LINKEDIT */

    struct dsc_fixup *fixups;
    size_t nfixups, fixups_cap;
    size_t fixups_sorted;         /* fixups[0, this) are in strictly ascending
                                     address order, as fixups_sort left them;
                                     appending keeps that true. A pass that
                                     removes, reorders or moves fixups after
                                     a fixups_sort sets it to 0. */
    struct dsc_import *imports;
    uint32_t nimports;
    size_t imports_cap;
    struct dsc_lazy_slot *lazy;   /* restored lazy pointers, by address */
    size_t nlazy;
    struct dsc_got_twin *got_twins; /* twin -> own slot, by twin (gotslots.c) */
    size_t ngot_twins;
    struct dsc_code_ref *code_refs; /* references leaving the image (coderefs.c) */
    size_t ncode_refs;
    bool code_refs_read;

    struct dsc_linkedit le;
    struct dsc_symbols *syms;     /* symbol view, opened by plan_symbols */
    dsc_extract_stats stats;
    struct dsc_blob warnings;     /* newline-separated text */

    /* Filled by out_finish. */
    uint64_t linkedit_fileoff, linkedit_size, file_size;
    uint64_t sign_size;           /* bytes of the signature, 0 unsigned */
    struct dsc_blob cmds;         /* the new load commands */
    uint32_t ncmds;

    dsc_error *err;
};

/* ---- plan life cycle (extract.c) ---- */

int plan_init(struct dsc_plan *p, const dsc_cache *c, uint32_t image, bool copy_bytes, dsc_error *err);
void plan_free(struct dsc_plan *p);
/* The plan's symbol view (index/symbols.h), opened on first use and closed
 * by plan_free; -1 only when out of memory. */
int plan_symbols(struct dsc_plan *p, struct dsc_symbols **out);

/* ---- helpers for passes (plan.c) ---- */

int plan_fail(struct dsc_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int plan_fail_code(struct dsc_plan *p, enum dsc_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int plan_oom(struct dsc_plan *p); /* DSC_ERR_NOMEM, "out of memory" */
void plan_warn(struct dsc_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The output segment holding [vmaddr, vmaddr+len) (inside its vmsize), or NULL. */
struct dsc_out_segment *plan_segment_at(struct dsc_plan *p, uint64_t vmaddr, uint64_t len);
/* True when `addr` lies inside one of the image's (non-LINKEDIT) segments. */
bool plan_in_image(const struct dsc_plan *p, uint64_t addr);
/* Writable bytes [vmaddr, vmaddr+len) of one output segment, or NULL when
 * out of every segment's file bytes or in a size plan. */
uint8_t *plan_seg_bytes(struct dsc_plan *p, uint64_t vmaddr, uint64_t len);
/* Pointer-sized value at `vmaddr` as the output holds it so far (the copy
 * in a full plan, the cache in a size plan — the same until a pass writes). */
bool plan_read_ptr(struct dsc_plan *p, uint64_t vmaddr, uint64_t *v);
/* Store a pointer-sized value (no-op in a size plan). False when out of range. */
bool plan_write_ptr(struct dsc_plan *p, uint64_t vmaddr, uint64_t v);

/* Room for `n` more fixups without another allocation (a pass that knows
 * how many it may add reserves them once); -1 (plan->err set) when out of
 * memory. */
int plan_reserve_fixups(struct dsc_plan *p, size_t n);
/* Append a fixup (copied). Encoders sort; two fixups at one address fail. */
int plan_add_fixup(struct dsc_plan *p, const struct dsc_fixup *f);
/* The one order of struct dsc_fixup records: by address (qsort comparator). */
int plan_cmp_fixup(const void *a, const void *b);
/* Index of the import (name, ordinal, weak, import addend 0), added if new. */
int plan_add_import(struct dsc_plan *p, const char *name, int lib_ordinal, bool weak_import, uint32_t *index);
/* The same with an import-table addend (the chained encoder's). */
int plan_add_import_addend(struct dsc_plan *p, const char *name, int lib_ordinal, bool weak_import, int64_t addend,
                           uint32_t *index);

/* Add a segment before LINKEDIT at `vmaddr` (use plan_alloc_vm for a free
 * range); its bytes are zeroed, filesize = vmsize. prot: R=1 W=2 X=4.
 * It moves plan->segs: pointers to segments taken before are invalid. */
struct dsc_out_segment *plan_add_segment(struct dsc_plan *p, const char *name, uint64_t vmaddr, uint64_t vmsize,
                                         uint32_t prot);
/* Add a section to a segment; [addr, addr+size) must lie inside it. */
struct dsc_out_section *plan_add_section(struct dsc_plan *p, struct dsc_out_segment *seg, const char *sectname,
                                         uint64_t addr, uint64_t size, uint32_t align, uint32_t flags);
/* A page-aligned, unused VM range of `size` bytes after every segment, or
 * after every segment below LINKEDIT when only there every 32-bit field of
 * the image reaches it (see plan.c). */
uint64_t plan_alloc_vm(struct dsc_plan *p, uint64_t size);
/* [start, end) now holds bytes of the image (a segment added or grown). */
void plan_note_vm(struct dsc_plan *p, uint64_t start, uint64_t end);

/* Blob helpers: false on allocation failure. */
bool blob_reserve(struct dsc_blob *b, size_t extra);
bool blob_add(struct dsc_blob *b, const void *data, size_t len);
bool blob_u8(struct dsc_blob *b, uint8_t v);
bool blob_u16(struct dsc_blob *b, uint16_t v);
bool blob_u32(struct dsc_blob *b, uint32_t v);
bool blob_u64(struct dsc_blob *b, uint64_t v);
bool blob_uleb(struct dsc_blob *b, uint64_t v);
bool blob_sleb(struct dsc_blob *b, int64_t v);
bool blob_align(struct dsc_blob *b, size_t align);
void blob_free(struct dsc_blob *b);

/* ---- passes, in pipeline order; each returns 0 or -1 (plan->err set) ---- */

int pass_layout(struct dsc_plan *p);    /* segments out of the cache */
int pass_pointers(struct dsc_plan *p);  /* slide info → plain pointers + fixups */
int pass_objc(struct dsc_plan *p);      /* ObjC metadata made self-contained (pass_objc.c); before binds */
int pass_binds(struct dsc_plan *p);     /* pointers into other images → binds */
int pass_linkedit(struct dsc_plan *p);  /* symtab, strings, indirect, exports, ... */
int pass_stubs(struct dsc_plan *p);     /* stubs, lazy pointers, branches → own stubs */
int pass_fixups(struct dsc_plan *p);    /* fixups → opcodes or chained fixups */

/* ---- output builder (out.c) ---- */

/* Assign file offsets, build load commands, compute the exact file size. */
int out_finish(struct dsc_plan *p);
/* Write the file into `buf` of exactly p->file_size bytes (full plan only),
 * signed last when p->sign. */
int out_write(struct dsc_plan *p, uint8_t *buf);

/* ---- encoders (pass_fixups.c), exposed for unit tests ---- */

/* Sort fixups by address; fail on duplicates. Only the fixups appended
 * since the last call are compared (plan->fixups_sorted). */
int fixups_sort(struct dsc_plan *p);
/* The bind opcode selecting library `ordinal` (special ordinals <= 0). */
bool blob_bind_ordinal(struct dsc_blob *b, int ordinal);
/* Rebase and bind opcode streams for LC_DYLD_INFO_ONLY. */
int encode_opcodes(struct dsc_plan *p);
/* LC_DYLD_CHAINED_FIXUPS payload; rewrites each slot as a chain entry. */
int encode_chained(struct dsc_plan *p);

#endif

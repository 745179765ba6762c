/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imports.h — an image's indirect symbol table, resolved: for every slot of
 * its pointer sections (__got, __la_symbol_ptr, __auth_got, ...) and every
 * stub of its stub sections, the symbol the linker put there.
 *
 * Read from the cache image's (shared) LINKEDIT through the checked reader:
 * LC_SYMTAB, LC_DYSYMTAB and the sections' reserved1/reserved2. Entries whose
 * indices are out of range are an error naming the image; local and
 * absolute entries (INDIRECT_SYMBOL_LOCAL/ABS) are kept with name == NULL.
 * Some builders zero the indirect table and drop undefined symbols: only
 * entries naming an undefined symbol (dsc_indirect_is_import) are evidence.
 *
 * Caches up to dyld-9xx also kept each image's bind, weak-bind and lazy-bind
 * opcodes (LC_DYLD_INFO): those are decoded into `binds`, the most faithful
 * record of what the original file bound where.
 * The result owns only its arrays; names point into the cache.
 */
#ifndef DSC_IMPORTS_H
#define DSC_IMPORTS_H

#include "cache/macho.h"

struct dsc_indirect {
    uint64_t address;     /* the slot, or the stub */
    const char *name;     /* NULL for a local or absolute entry */
    uint32_t symbol;      /* nlist index (valid when name != NULL) */
    uint8_t n_type;
    uint16_t n_desc;
    uint8_t sect_type;    /* S_* of its section */
    unsigned section;     /* index into the dsc_macho's sects */
    unsigned size;        /* slot or stub size */
};

/* One bind the image's original opcodes recorded. */
struct dsc_orig_bind {
    uint64_t address;
    const char *name;
    int ordinal;
    uint32_t flags;           /* BIND_SYMBOL_FLAGS_* */
    int64_t addend;
    bool lazy;                /* from the lazy-bind stream */
    bool weak;                /* from the weak-bind stream (no ordinal) */
    uint64_t lazy_offset;     /* lazy: the entry's offset in its stream */
    unsigned segment;         /* the image's segment index the opcodes named */
};

struct dsc_imports {
    struct dsc_orig_bind *binds;      /* sorted by address; weak after regular */
    size_t nbinds;
    dsc_span lazy_stream;             /* the original lazy-bind opcodes, or empty */
    struct dsc_indirect *entries;     /* sorted by address */
    size_t count;
    const struct dsc_indirect **by_name; /* named entries, sorted by name */
    size_t named;
};

int dsc_imports_load(const struct dsc_macho *mo, struct dsc_imports *out, dsc_error *err);
void dsc_imports_free(struct dsc_imports *im);

/* fn(ctx, name, n_desc) for each undefined symbol of the image (LC_DYSYMTAB's
 * iundefsym/nundefsym range), until fn returns non-zero; -1 with `err` set
 * when the tables are bad. */
typedef int (*dsc_undefined_fn)(void *ctx, const char *name, uint16_t n_desc);
int dsc_imports_each_undefined(const struct dsc_macho *mo, dsc_undefined_fn fn, void *ctx, dsc_error *err);

/* The original regular or lazy bind of the slot at `address`, or NULL.
 * Inline for the common answer: pass_binds asks it of every pointer slot,
 * and most images (every one of a cache newer than dyld-9xx) have no
 * original binds to search. */
const struct dsc_orig_bind *dsc_imports_bind_search(const struct dsc_imports *im, uint64_t address);
static inline const struct dsc_orig_bind *dsc_imports_bind_at(const struct dsc_imports *im, uint64_t address)
{
    return im->nbinds ? dsc_imports_bind_search(im, address) : NULL;
}

/* The entry whose slot or stub starts at `address`, or NULL. */
const struct dsc_indirect *dsc_imports_at(const struct dsc_imports *im, uint64_t address);
/* True for entries of stub sections. */
static inline bool dsc_indirect_is_stub(const struct dsc_indirect *e) { return e->sect_type == S_SYMBOL_STUBS; }
/* Undefined (imported) rather than defined in the image. */
static inline bool dsc_indirect_is_import(const struct dsc_indirect *e)
{
    return e->name && (e->n_type & N_TYPE_MASK) == N_UNDF;
}
/* Library ordinal an undefined nlist records (0 when none). */
static inline unsigned dsc_indirect_ordinal(const struct dsc_indirect *e) { return e->n_desc >> 8; }

/* The image's own pointer slot for `name`: a lazy pointer first, then, on
 * arm64e (`auth`), __auth_got, then any other slot. NULL if it has none. */
const struct dsc_indirect *dsc_imports_slot_for(const struct dsc_imports *im, const struct dsc_macho *mo,
                                                const char *name, bool auth);

#endif

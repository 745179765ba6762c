/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_linkedit.c — rebuild the image's private LINKEDIT pieces out of the
 * cache's shared LINKEDIT: symbol table (locals, then exported, then
 * undefined, with LC_DYSYMTAB ranges to match), a private string table, the
 * indirect symbol table remapped to the new symbol order, and verbatim
 * copies of the export trie, function starts and data in code (their
 * contents are relative to the image's base address, which is unchanged).
 *
 * Locals come from the cache's unmapped local symbols when it has them for
 * this image (restoring the names the in-cache "<redacted>" entries hide),
 * else from the in-cache symtab.
 */
#include "extract/extract.h"
#include "cache/locals.h"
#include "base/sort.h"
#include "base/trie.h"
#include "index/symbols.h"

#include <stdlib.h>
#include <string.h>

/* The cache's symtab of the image, located and range-checked. */
struct src_symtab {
    dsc_span syms;          /* nsyms nlists */
    dsc_span strs;
    uint32_t nsyms;
    unsigned nl_size;
    bool has_dysymtab;
    uint32_t ilocal, nlocal, iext, next, iundef, nundef;
    dsc_span indirect;
    uint32_t nindirect;
};

/* A LINKEDIT range [off, off+size) of the cache image as bytes. */
static int linkedit_span(struct dsc_plan *p, uint64_t off, uint64_t size, const char *what, dsc_span *out)
{
    if (!dsc_macho_linkedit(&p->mo, off, size, out))
        return plan_fail(p, "%s (0x%llx bytes at file offset 0x%llx) is outside LINKEDIT", what,
                         (unsigned long long)size, (unsigned long long)off);
    return 0;
}

/* The payload of a linkedit_data_command (function starts, data in code...). */
static int copy_data_command(struct dsc_plan *p, uint32_t cmd, const char *what, struct dsc_blob *dst)
{
    uint32_t off, size;
    dsc_span bytes;
    int found = dsc_macho_linkedit_data(&p->mo, cmd, &off, &size);
    if (found <= 0)
        return found ? plan_fail(p, "%s command is too short", what) : 0;
    if (linkedit_span(p, off, size, what, &bytes))
        return -1;
    if (!blob_add(dst, bytes.data, bytes.size))
        return plan_oom(p);
    return 0;
}

static int copy_exports(struct dsc_plan *p)
{
    uint32_t off = 0, size = 0;
    if (dsc_macho_export_trie(&p->mo, &off, &size) < 0)
        return plan_fail(p, "export trie command is too short");
    dsc_span bytes;
    if (linkedit_span(p, off, size, "export trie", &bytes))
        return -1;
    struct dsc_symbols *syms;
    if (!blob_add(&p->le.exports, bytes.data, bytes.size) || plan_symbols(p, &syms))
        return plan_oom(p);
    /* Function variants (dyld-1284+): the output has no LC_FUNCTION_VARIANTS
     * (out.c drops it), so their exports become plain ones of the default.
     * The image's export set, parsed from the same bytes (pass_binds made
     * it for any image with pointers), knows when the walk would find none. */
    if (dsc_symbols_trie_plain(syms, p->mo.image))
        return 0;
    dsc_error walk_err;
    if (dsc_trie_plain_variants(p->le.exports.data, p->le.exports.size, "export trie", &walk_err) < 0)
        return plan_fail(p, "%s", walk_err.msg);
    return 0;
}

static int read_symtab(struct dsc_plan *p, struct src_symtab *st)
{
    memset(st, 0, sizeof *st);
    st->nl_size = p->mo.is64 ? NLIST_SIZE_64 : NLIST_SIZE;
    struct dsc_symtab_cmd sc;
    struct dsc_dysymtab_cmd dc;
    int found = dsc_macho_symtab(&p->mo, &sc);
    if (found <= 0)
        return found ? plan_fail(p, "LC_SYMTAB is too short") : 0;
    st->nsyms = sc.nsyms;
    if (linkedit_span(p, sc.symoff, (uint64_t)st->nsyms * st->nl_size, "symbol table", &st->syms) ||
        linkedit_span(p, sc.stroff, sc.strsize, "string table", &st->strs))
        return -1;
    found = dsc_macho_dysymtab(&p->mo, &dc);
    if (found <= 0)
        return found ? plan_fail(p, "LC_DYSYMTAB is too short") : 0;
    st->has_dysymtab = true;
    st->ilocal = dc.ilocalsym;
    st->nlocal = dc.nlocalsym;
    st->iext = dc.iextdefsym;
    st->next = dc.nextdefsym;
    st->iundef = dc.iundefsym;
    st->nundef = dc.nundefsym;
    st->nindirect = dc.nindirectsyms;
    if (!dsc_range_ok(st->nsyms, st->ilocal, st->nlocal) || !dsc_range_ok(st->nsyms, st->iext, st->next) ||
        !dsc_range_ok(st->nsyms, st->iundef, st->nundef))
        return plan_fail(p, "LC_DYSYMTAB ranges exceed the %u symbols", st->nsyms);
    return linkedit_span(p, dc.indirectsymoff, (uint64_t)st->nindirect * 4, "indirect symbol table", &st->indirect);
}

/* Append `s` and its NUL (s[len], as span_cstr and trie keys have it) to
 * the new string table; its index in *strx. */
static bool add_string(struct dsc_plan *p, const char *s, size_t len, uint32_t *strx)
{
    if (p->le.strtab.size > UINT32_MAX - len - 1)
        return false;
    *strx = (uint32_t)p->le.strtab.size;
    return blob_add(&p->le.strtab, s, len + 1);
}

/* Where add_range also notes each symbol's name and value (NULL: not). */
struct sym_notes {
    const char **names;
    uint64_t *values;
};

/* Append the nlists [first, first+count) of `syms` (nl_size bytes each: a
 * constant where add_range calls this, so that each copy is two moves),
 * their names (indices in `strs`) copied to the new string table; names and
 * values noted in `notes` when it is given. The room for the nlists is
 * taken at once, and each is written in place; names that follow each
 * other in `strs` (as a linker writes them) are copied as one run. */
static inline __attribute__((always_inline)) int add_nlists(struct dsc_plan *p, dsc_span syms, unsigned nl_size,
                                                            uint32_t first, uint32_t count, dsc_span strs,
                                                            const struct sym_notes *notes)
{
    struct dsc_blob *symtab = &p->le.symtab, *strtab = &p->le.strtab;
    const char *run = NULL;   /* names not yet copied: from here to `next` */
    const char *next = NULL;
    if (!count) /* the spans and blobs may have no bytes at all */
        return 0;
    if (!blob_reserve(symtab, (size_t)count * nl_size))
        return plan_fail_code(p, DSC_ERR_NOMEM, "out of memory building the symbol table");
    const uint8_t *nl = syms.data + (uint64_t)first * nl_size;
    uint8_t *out = symtab->data + symtab->size;
    uint64_t strx_out = strtab->size; /* where the next name goes in the new table */
    for (uint32_t i = 0; i < count; i++, nl += nl_size, out += nl_size) {
        const char *name;
        size_t len;
        uint32_t strx = dsc_le32(nl);
        if (!span_cstr(strs, strx, strs.size, &name, &len))
            return plan_fail(p, "symbol name at string index %u is out of its string table", strx);
        if (name != next) {
            if (run != next && !blob_add(strtab, run, (size_t)(next - run)))
                return plan_fail_code(p, DSC_ERR_NOMEM, "out of memory building the symbol table");
            run = name;
        }
        next = name + len + 1;
        if (strx_out + len + 1 > UINT32_MAX)
            return plan_fail_code(p, DSC_ERR_NOMEM, "out of memory building the symbol table");
        memcpy(out, nl, nl_size);
        dsc_put32(out, (uint32_t)strx_out);
        strx_out += len + 1;
        if (notes) {
            notes->names[i] = name;
            notes->values[i] = nl_size == NLIST_SIZE_64 ? dsc_le64(nl + 8) : dsc_le32(nl + 8);
        }
    }
    if (run != next && !blob_add(strtab, run, (size_t)(next - run)))
        return plan_fail_code(p, DSC_ERR_NOMEM, "out of memory building the symbol table");
    symtab->size += (size_t)count * nl_size;
    p->le.nsyms += count;
    return 0;
}

static int add_range(struct dsc_plan *p, dsc_span syms, unsigned nl_size, uint32_t first, uint32_t count,
                     dsc_span strs, const struct sym_notes *notes)
{
    if (nl_size == NLIST_SIZE_64)
        return add_nlists(p, syms, NLIST_SIZE_64, first, count, strs, notes);
    return add_nlists(p, syms, NLIST_SIZE, first, count, strs, notes);
}

/* New index of old symbol `old`, or INDIRECT_SYMBOL_LOCAL when it is gone. */
static uint32_t remap_symbol(const struct src_symtab *st, const struct dsc_linkedit *le, bool locals_replaced,
                             uint32_t old)
{
    if (!st->has_dysymtab)
        return old;
    if (old - st->iext < st->next)
        return le->nlocal + (old - st->iext);
    if (old - st->iundef < st->nundef)
        return le->nlocal + le->nextdef + (old - st->iundef);
    if (old - st->ilocal < st->nlocal && !locals_replaced)
        return old - st->ilocal;
    return INDIRECT_SYMBOL_LOCAL;
}

static int build_indirect(struct dsc_plan *p, const struct src_symtab *st, bool locals_replaced)
{
    for (uint32_t i = 0; i < st->nindirect; i++) {
        uint32_t v = dsc_le32(st->indirect.data + (uint64_t)i * 4);
        if (!(v & (INDIRECT_SYMBOL_LOCAL | INDIRECT_SYMBOL_ABS))) {
            if (v >= st->nsyms)
                return plan_fail(p, "indirect symbol %u names symbol %u of %u", i, v, st->nsyms);
            v = remap_symbol(st, &p->le, locals_replaced, v);
        }
        if (!blob_u32(&p->le.indirect, v))
            return plan_oom(p);
    }
    p->le.nindirect = st->nindirect;
    return 0;
}

/* Exported names the cache's symtab lacks (the builder drops some, e.g.
 * absolute symbols) are added as external symbols so that the symbol
 * table lists every export of the trie. */
struct export_ctx {
    struct dsc_plan *p;
    const char **names;   /* the extdefs' names, sorted */
    uint32_t nnames;
    uint32_t cursor;      /* the names before it sort before the last key */
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1-based section number holding `addr` in the output, or 0. */
static unsigned section_number(const struct dsc_plan *p, uint64_t addr)
{
    unsigned n = 0;
    for (unsigned i = 0; i < p->nsegs; i++)
        for (unsigned j = 0; j < p->segs[i].nsects; j++) {
            n++;
            const struct dsc_out_section *x = &p->segs[i].sects[j];
            if (addr >= x->addr && addr - x->addr < x->size)
                return n;
        }
    return 0;
}

/* True when `key` is one of the extdefs' names. A trie written in order
 * walks its keys sorted: then a cursor moving along the names answers
 * with a comparison or two; a key not above the name before the cursor
 * is searched for. */
static bool is_extdef(struct export_ctx *e, const char *key)
{
    int c = 1;
    if (e->cursor > 0 && strcmp(e->names[e->cursor - 1], key) >= 0)
        return bsearch(&key, e->names, e->nnames, sizeof *e->names, cmp_name) != NULL;
    while (e->cursor < e->nnames && (c = strcmp(e->names[e->cursor], key)) < 0)
        e->cursor++;
    return e->cursor < e->nnames && c == 0;
}

static int add_export(void *ctx, const char *key, size_t key_len, dsc_span term)
{
    struct export_ctx *e = ctx;
    struct dsc_plan *p = e->p;
    if (is_extdef(e, key))
        return 0;
    uint64_t off = 0, flags, value = 0;
    if (!span_uleb(term, &off, &flags))
        return plan_fail(p, "export %s has a malformed terminal", key);
    uint8_t type = N_EXT | N_SECT, sect = 0;
    uint32_t strx, indirect_strx = 0;
    if (flags & EXPORT_SYMBOL_FLAGS_REEXPORT) {
        uint64_t ordinal;
        const char *imported = "";
        size_t imported_len = 0;
        if (!span_uleb(term, &off, &ordinal) || !span_cstr(term, off, term.size, &imported, &imported_len))
            return plan_fail(p, "re-export %s has a malformed terminal", key);
        type = N_EXT | N_INDR;
        if (!add_string(p, imported_len ? imported : key, imported_len ? imported_len : key_len, &indirect_strx))
            return plan_oom(p);
        value = indirect_strx;
    } else {
        if (!span_uleb(term, &off, &value))
            return plan_fail(p, "export %s has a malformed terminal", key);
        if ((flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE) {
            type = N_EXT | N_ABS;
        } else {
            value += p->base;
            sect = (uint8_t)section_number(p, value);
            if (!sect)
                type = N_EXT | N_ABS;
        }
    }
    uint16_t desc = (flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION) ? N_WEAK_DEF : 0;
    uint8_t nl[16] = {0};
    unsigned nl_size = p->mo.is64 ? 16 : 12;
    if (!add_string(p, key, key_len, &strx))
        return plan_oom(p);
    dsc_put32(nl, strx);
    nl[4] = type;
    nl[5] = sect;
    nl[6] = (uint8_t)desc;
    nl[7] = (uint8_t)(desc >> 8);
    if (p->mo.is64)
        dsc_put64(nl + 8, value);
    else
        dsc_put32(nl + 8, (uint32_t)value);
    if (!blob_add(&p->le.symtab, nl, nl_size))
        return plan_oom(p);
    p->le.nsyms++;
    p->le.nextdef++;
    return 0;
}

/* True when the walk below would add nothing, as it usually would not:
 * every name of the trie is an extdef, which the image's export set
 * (parsed whole from this trie, and kept) tells without a sort. It also
 * tells whether the extdefs are the trie's names, one each, for
 * symbolize.c (le.extdefs_are_trie). `ext`: the extdefs' names and values
 * (their addresses, a hint to the set). */
static bool none_missing(struct dsc_plan *p, const struct src_symtab *st, const struct sym_notes *ext)
{
    struct dsc_symbols *syms;
    return plan_symbols(p, &syms) == 0 &&
           dsc_symbols_trie_within(syms, p->mo.image, ext->names, ext->values, st->next, &p->le.extdefs_are_trie);
}

/* `ext`: the extdefs' names and values, as add_range noted them (it may
 * sort the names). */
static int add_missing_exports(struct dsc_plan *p, const struct src_symtab *st, const struct sym_notes *ext)
{
    if (!p->le.exports.size || none_missing(p, st, ext))
        return 0;
    struct export_ctx e = {.p = p, .names = ext->names, .nnames = st->next};
    dsc_sort(e.names, e.nnames, sizeof *e.names, cmp_name);
    dsc_span trie = {p->le.exports.data, p->le.exports.size};
    dsc_error walk_err = {0};
    int rc = dsc_trie_walk(trie, add_export, &e, "export trie", &walk_err);
    if (rc && walk_err.code) /* else add_export has set p->err */
        return plan_fail_code(p, walk_err.code, "%s", walk_err.msg);
    return rc ? -1 : 0;
}

static int build_symtab(struct dsc_plan *p)
{
    struct src_symtab st;
    struct dsc_locals locals;
    dsc_error locals_err;
    if (read_symtab(p, &st))
        return -1;
    if (dsc_locals_find(p->cache, p->base, p->mo.image, &locals, &locals_err))
        return plan_fail_code(p, locals_err.code, "%s", locals_err.msg);
    if (!blob_u8(&p->le.strtab, 0))
        return plan_oom(p);
    struct dsc_linkedit *le = &p->le;
    if (!st.has_dysymtab) {
        if (add_range(p, st.syms, st.nl_size, 0, st.nsyms, st.strs, NULL))
            return -1;
        le->nlocal = st.nsyms;
        return build_indirect(p, &st, false);
    }
    if (locals.found) {
        if (add_range(p, locals.nlists, st.nl_size, 0, locals.count, locals.strings, NULL))
            return -1;
        p->stats.local_symbols = locals.count;
    } else if (add_range(p, st.syms, st.nl_size, st.ilocal, st.nlocal, st.strs, NULL)) {
        return -1;
    }
    le->nlocal = le->nsyms;
    /* The extdefs' names and values, for add_missing_exports, which needs them with a trie. */
    struct sym_notes ext = {NULL, NULL};
    size_t room = st.next ? st.next : 1;
    if (le->exports.size && (!(ext.names = malloc(room * sizeof *ext.names)) ||
                             !(ext.values = malloc(room * sizeof *ext.values)))) {
        free(ext.names);
        return plan_oom(p);
    }
    int rc = add_range(p, st.syms, st.nl_size, st.iext, st.next, st.strs, ext.names ? &ext : NULL);
    le->nextdef = st.next;
    rc = rc ? rc : add_missing_exports(p, &st, &ext);
    free(ext.names);
    free(ext.values);
    if (rc || add_range(p, st.syms, st.nl_size, st.iundef, st.nundef, st.strs, NULL))
        return -1;
    le->nundef = st.nundef;
    return build_indirect(p, &st, locals.found);
}

int pass_linkedit(struct dsc_plan *p)
{
    if (copy_exports(p) || build_symtab(p) ||
        copy_data_command(p, LC_FUNCTION_STARTS, "function starts", &p->le.fstarts) ||
        copy_data_command(p, LC_DATA_IN_CODE, "data in code", &p->le.dic))
        return -1;
    /* The string table's size is a multiple of the pointer size, as ld64 writes it. */
    if (!blob_align(&p->le.strtab, p->ptr_size))
        return plan_oom(p);
    return 0;
}

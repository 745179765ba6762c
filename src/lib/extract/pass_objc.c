/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_objc.c — undo the cache builder's Objective-C optimisations so the
 * extracted image's ObjC metadata is self-contained (the optimisations of
 * dyld-1042.1's cache-builder/OptimizerObjC.cpp: uniqued selector and
 * class-name strings, relative method lists pointing into the cache):
 *
 *  - every selref, method name, class/category/protocol name, method type,
 *    ivar and property string the metadata points at must lie in a section
 *    of this image. A reference to a string elsewhere (the builder's
 *    uniqued copy) goes back to the image's own copy when the builder left
 *    one; otherwise the string is copied into the image's own (emptied)
 *    __TEXT,__objc_methname/__objc_classname/__objc_methtype, growing
 *    __TEXT as a linker would lay it out; only when __TEXT cannot grow do
 *    the strings go to an added segment __OBJC_EXTRA with the same sections;
 *  - relative method lists name their selectors again through a selref of
 *    this image (an existing one, or one added in __OBJC_EXTRA,__objc_selrefs)
 *    and lose the builder's flags (direct selectors, uniqued/sorted); pointer
 *    lists lose the uniqued/sorted bits;
 *  - lists of lists (preattached categories) become plain pointers to the
 *    class's own list, or NULL where the builder put a placeholder;
 *  - protocol references go back to this image's own protocol_t of the same
 *    name instead of the builder's canonical copy;
 *  - class `cache` and `vtable` fields that point at prebuilt caches are
 *    zeroed (the runtime's empty cache stays, as a rebase or for the binds
 *    pass);
 *  - libobjc's __objc_scoffs (objc_opt_offsets, zeros in the dylib) loses
 *    the builder's pointers to its selector buffer: zeros again, no fixup;
 *    its __objc_opt_ro (objc_opt_t) loses the flags and offsets to the
 *    cache's tables: zeros after the version, as in the dylib (the tables'
 *    __OBJC_RO/__OBJC_RW segments are left out by pass_layout);
 *  - objc_image_info loses OptimizedByDyld and DyldCategoriesOptimized;
 *  - selector loads the builder pointed at strings (ADRP+ADD, ADR) load
 *    from a selref again (objc_selloads.c).
 *
 * Malformed ObjC metadata (or optimisation data), or metadata that would
 * make the pass add more bytes than the cache maps, does not fail the
 * extraction: the pass then changes nothing and leaves a warning, so the
 * image is still served; --verify counts what stays outside.
 *
 * The pass reads a decoded view of the cache (objc_view.c), never the
 * plan's copy, so full and size plans decide alike and dsc_extract_size
 * stays exact. It runs before the binds pass: pointers it redirects into
 * the image stop being external.
 */
#include "extract/pass_objc.h"
#include "base/sort.h"
#include "base/grow.h"
#include "base/ptrfmt.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const strsect_names[STR_NSECT] = {
    "__objc_methname", "__objc_classname", "__objc_methtype",
};

#define LIST_BUILDER_FLAGS (DSC_METHOD_LIST_DIRECT_SELS | DSC_METHOD_LIST_TYPE_OFFSETS | DSC_METHOD_LIST_FIXED_UP)

/* ---- reading: through op->view (objc_view.c), never the plan's copy ---- */

static bool types_string(const struct objc_pass *op, uint64_t addr, const char **s)
{
    struct dsc_objc_mem m = objc_view_mem((struct objc_view *)&op->view);
    return m.cstr(m.ctx, addr, DSC_OBJC_MAX_NAME, s);
}

/* ---- recording edits ---- */

static int push_edit(struct objc_pass *op, enum objc_edit_kind kind, uint64_t at, enum objc_target tgt, uint8_t sect,
                     uint64_t value)
{
    if (!plan_segment_at(op->p, at, kind == ED_PTR || kind == ED_ZERO ? op->p->ptr_size : 4)) {
        op->foreign_fields++; /* metadata read through another image: not ours to edit */
        return 0;
    }
    if (!DSC_GROW(op->edits, op->nedits, op->edits_cap, 256))
        return plan_oom(op->p);
    op->edits[op->nedits] = (struct objc_edit){kind, tgt, sect, at, value, op->nedits};
    op->nedits++;
    return 0;
}

/* True when `addr` lies inside a (non-empty) section of the image. */
static bool in_sections(const struct dsc_macho *mo, uint64_t addr)
{
    for (unsigned i = 0; i < mo->nsects; i++)
        if (addr >= mo->sects[i].addr && addr - mo->sects[i].addr < mo->sects[i].size)
            return true;
    return false;
}

static enum objc_strsect strsect_of(const char *section)
{
    for (unsigned i = 0; i < STR_NSECT; i++)
        if (strcmp(section, strsect_names[i]) == 0)
            return (enum objc_strsect)i;
    return STR_METHNAME; /* property names and attributes */
}

/* Index the image's own C-string sections by content: where the builder
 * pointed a reference at a canonical copy but left the image's own string
 * in place, the reference goes back to it and nothing is added. */
static int index_own_strings(struct objc_pass *op)
{
    const struct dsc_macho *mo = &op->p->mo;
    for (unsigned i = 0; i < mo->nsects; i++) {
        const struct dsc_section *x = &mo->sects[i];
        dsc_span b;
        if ((x->flags & 0xFFu) != S_CSTRING_LITERALS || !x->size || !objc_view_span(&op->view, x->addr, x->size, &b))
            continue;
        for (uint64_t at = 0; at < b.size;) {
            const char *str;
            size_t len;
            if (!span_cstr(b, at, b.size, &str, &len))
                break; /* an unterminated tail */
            /* a terminator is also "", which the builder may have coalesced away */
            if (!objc_namemap_put(&op->own_strings, str, x->addr + at) ||
                !objc_namemap_put(&op->own_strings, str + len, x->addr + at + len) ||
                (strcmp(x->sectname, "__objc_methname") == 0 && !objc_namemap_put(&op->own_methnames, str, x->addr + at)))
                return plan_oom(op->p);
            at += len + 1;
        }
    }
    return 0;
}

/* ---- what the pass may add: bounded by the cache's bytes ---- */

static uint64_t strings_size(const struct objc_pass *op)
{
    uint64_t size = 0;
    for (unsigned s = 0; s < STR_NSECT; s++)
        size += op->str[s].bytes.size;
    return size;
}

/* Every byte the pass adds is a copy of a distinct string of the cache or a
 * selref for a distinct selector, so a real image never adds more than the
 * cache maps. Hostile metadata can: each byte of one 4 KiB run of non-NUL
 * bytes starts another distinct string, up to DSC_OBJC_MAX_NAME long, so N
 * references to it would intern N times 4 KiB. 1 (skip, with a warning) when
 * adding `more` bytes would pass op->budget. */
static int over_budget(struct objc_pass *op, uint64_t more)
{
    uint64_t added = strings_size(op) + op->nnew_selrefs * op->p->ptr_size;
    if (more <= op->budget && added <= op->budget - more)
        return 0;
    plan_warn(op->p, "ObjC metadata left as the cache has it: the strings and selector references to add "
              "exceed the cache's %llu mapped bytes", (unsigned long long)op->budget);
    return 1;
}

/* Intern a copy of `s` in string section `sect`: its offset there. */
static int intern(struct objc_pass *op, enum objc_strsect sect, const char *s, uint64_t *off)
{
    if (objc_namemap_get(&op->str[sect].offsets, s, off))
        return 0;
    int rc = over_budget(op, strlen(s) + 1);
    if (rc)
        return rc;
    return objc_strtab_add(&op->str[sect], s, off) ? 0 : plan_oom(op->p);
}

static uint64_t mapped_bytes(const dsc_cache *c)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < c->nmaps; i++)
        n += c->maps[i].info.size;
    return n;
}

/* A string the metadata refers to: keep it when it is in one of the image's
 * sections, point it at the image's own copy when there is one, otherwise
 * intern a copy; record an edit of `kind` at `at` for the latter two. */
static int string_ref(struct objc_pass *op, enum objc_edit_kind kind, uint64_t at, uint64_t str, const char *s,
                      enum objc_strsect sect)
{
    uint64_t off, own;
    if (in_sections(&op->p->mo, str))
        return 0;
    if (objc_namemap_get(&op->own_strings, s, &own))
        return push_edit(op, kind, at, TGT_ADDR, 0, own);
    int rc = intern(op, sect, s, &off);
    return rc ? rc : push_edit(op, kind, at, TGT_STR, (uint8_t)sect, off);
}

/* The image's own __objc_methname copy of selector `s`, where ld64 puts
 * every selector (a C string of the same text elsewhere, such as libobjc's
 * "load" in __cstring, must not be taken for it). */
static bool own_methname(const struct objc_pass *op, const char *s, uint64_t *addr)
{
    return objc_namemap_get(&op->own_methnames, s, addr);
}

/* A selector string reference (selref, method name): the image's own
 * __objc_methname copy, else a copy interned there (never a C string of
 * the same text in another section). */
static int selector_ref(struct objc_pass *op, enum objc_edit_kind kind, uint64_t at, uint64_t str, const char *s)
{
    uint64_t own, off;
    if (own_methname(op, s, &own))
        return own == str ? 0 : push_edit(op, kind, at, TGT_ADDR, 0, own);
    int rc = intern(op, STR_METHNAME, s, &off);
    return rc ? rc : push_edit(op, kind, at, TGT_STR, STR_METHNAME, off);
}

int objc_selref_for(struct objc_pass *op, const char *name, uint64_t sel_addr, uint64_t *value)
{
    if (objc_namemap_get(&op->sel_by_name, name, value))
        return 0;
    int rc = over_budget(op, op->p->ptr_size);
    if (rc)
        return rc;
    if (!DSC_GROW(op->new_selrefs, op->nnew_selrefs, op->new_selrefs_cap, 64))
        return plan_oom(op->p);
    uint64_t off, own;
    if (own_methname(op, name, &own)) {
        op->new_selrefs[op->nnew_selrefs].tgt = TGT_ADDR;
        op->new_selrefs[op->nnew_selrefs].value = own;
    } else if ((rc = intern(op, STR_METHNAME, name, &off)) == 0) {
        op->new_selrefs[op->nnew_selrefs].tgt = TGT_STR;
        op->new_selrefs[op->nnew_selrefs].value = off;
    } else {
        return rc;
    }
    *value = SELREF_NEW | op->nnew_selrefs++;
    if (!objc_namemap_put(&op->sel_by_name, name, *value) || !objc_addrmap_put(&op->sel_by_addr, sel_addr, *value))
        return plan_oom(op->p);
    return 0;
}

static int need_selref(struct objc_pass *op, uint64_t at, const char *name, uint64_t sel_addr)
{
    if (!DSC_GROW(op->needs, op->nneeds, op->needs_cap, 256))
        return plan_oom(op->p);
    op->needs[op->nneeds++] = (struct objc_selneed){at, name, sel_addr};
    return 0;
}

/* ---- what each walked item needs ---- */

static int on_method(struct objc_pass *op, const struct dsc_objc_item *it)
{
    unsigned ps = op->p->ptr_size;
    if (it->relative) {
        int rc = need_selref(op, it->addr, it->name, it->sel_addr);
        const char *types;
        if (rc == 0 && it->types_addr && types_string(op, it->types_addr, &types))
            rc = string_ref(op, ED_REL32, it->addr + 4, it->types_addr, types, STR_METHTYPE);
        return rc;
    }
    int rc = selector_ref(op, ED_PTR, it->addr, it->sel_addr, it->name);
    const char *types;
    if (rc == 0 && it->types_addr && types_string(op, it->types_addr, &types))
        rc = string_ref(op, ED_PTR, it->addr + ps, it->types_addr, types, STR_METHTYPE);
    return rc;
}

/* Prebuilt IMP caches live outside every image; the runtime's empty cache
 * is a libobjc symbol and stays (a rebase, or a bind made by the binds pass). */
static bool cache_target_kept(const struct objc_pass *op, uint64_t target)
{
    return plan_in_image(op->p, target) || (op->has_libobjc && in_sections(&op->libobjc, target));
}

/* Protocol references are resolved after the walk, when every protocol of
 * the image is known; they are kept as edits with tgt = the name's item. */
struct pending_protoref {
    uint64_t slot, target;
    const char *name;
};

struct collect {
    struct objc_pass *op;
    struct pending_protoref *prefs;
    size_t nprefs, cap;
};

static int add_protoref(struct collect *c, const struct dsc_objc_item *it)
{
    if (!DSC_GROW(c->prefs, c->nprefs, c->cap, 64))
        return plan_oom(c->op->p);
    c->prefs[c->nprefs++] = (struct pending_protoref){it->addr, it->target, it->name};
    return 0;
}

static int on_item(void *ctx, const struct dsc_objc_item *it)
{
    struct collect *c = ctx;
    struct objc_pass *op = c->op;
    switch (it->kind) {
    case DSC_OBJC_NAME_REF:
        return string_ref(op, ED_PTR, it->ref, it->target, it->name, strsect_of(it->section));
    case DSC_OBJC_METHOD_LIST: {
        uint32_t clear = LIST_BUILDER_FLAGS;
        if ((it->entsize_flags & DSC_METHOD_LIST_TYPE_OFFSETS) && !op->opt.has_selector_base) {
            /* type-buffer offsets without a base to read them from */
            clear &= ~DSC_METHOD_LIST_TYPE_OFFSETS;
            plan_warn(op->p, "method list at 0x%llx keeps type-buffer offsets", (unsigned long long)it->addr);
        }
        if (it->entsize_flags & clear)
            return push_edit(op, ED_U32, it->addr, TGT_ADDR, 0, it->entsize_flags & ~clear);
        return 0;
    }
    case DSC_OBJC_LIST_OF_LISTS:
        return push_edit(op, it->target ? ED_PTR : ED_ZERO, it->ref, TGT_ADDR, 0, it->target);
    case DSC_OBJC_METHOD:
        return on_method(op, it);
    case DSC_OBJC_SELREF:
        if (!objc_namemap_put(&op->sel_by_name, it->name, it->addr) ||
            !objc_namemap_set(&op->last_sel_by_name, it->name, it->addr) ||
            !objc_addrmap_put(&op->sel_by_addr, it->target, it->addr))
            return plan_oom(op->p);
        op->selectors_fixed += !in_sections(&op->p->mo, it->target);
        return selector_ref(op, ED_PTR, it->addr, it->target, it->name);
    case DSC_OBJC_PROTOCOL:
        if (!objc_namemap_put(&op->protocols, it->name, it->addr))
            return plan_oom(op->p);
        return 0;
    case DSC_OBJC_PROTOREF:
        return add_protoref(c, it);
    case DSC_OBJC_CLASS_CACHE:
        if (it->target && !cache_target_kept(op, it->target))
            return push_edit(op, ED_ZERO, it->ref, TGT_ADDR, 0, 0);
        return 0;
    default:
        return 0;
    }
}

static int resolve_protorefs(struct objc_pass *op, const struct collect *c)
{
    for (size_t i = 0; i < c->nprefs; i++) {
        const struct pending_protoref *r = &c->prefs[i];
        uint64_t own;
        if (objc_namemap_get(&op->protocols, r->name, &own)) {
            if (own != r->target && push_edit(op, ED_PTR, r->slot, TGT_ADDR, 0, own))
                return -1;
        } else if (!plan_in_image(op->p, r->target)) {
            op->protorefs_unresolved++;
            plan_warn(op->p, "protocol %s referenced at 0x%llx is not defined in this image", r->name,
                      (unsigned long long)r->slot);
        }
    }
    return 0;
}

/* libobjc's __DATA_CONST,__objc_scoffs is objc4's objc_opt_offsets[], a
 * zero-filled array in the dylib: the cache builder stores the bounds of its
 * selector-string buffer (and inlined selectors) there, pointers the runtime
 * reads only for the cache's prebuilt IMP caches. Slots pointing out of the
 * image go back to the dylib's zero, without a fixup. */
/* __objc_scoffs, looked up once per loop over the fixups (NULL: none). */
static const struct dsc_section *scoffs(const struct dsc_plan *p)
{
    return dsc_macho_section(&p->mo, "__DATA_CONST", "__objc_scoffs");
}

static bool in_section(const struct dsc_section *s, uint64_t slot)
{
    return s && slot >= s->addr && slot - s->addr < s->size;
}

static int clear_selector_offsets(struct objc_pass *op)
{
    const struct dsc_plan *p = op->p;
    const struct dsc_section *sc = scoffs(p);
    for (size_t i = 0; sc && i < p->nfixups; i++) {
        const struct dsc_fixup *f = &p->fixups[i];
        if (in_section(sc, f->address) && f->kind != DSC_FIXUP_BIND &&
            !plan_in_image(p, f->target & DSC_TBI_MASK) &&
            push_edit(op, ED_ZERO, f->address, TGT_ADDR, 0, 0))
            return -1;
    }
    return 0;
}

static bool in_cache_tables(const struct dsc_macho *mo, uint64_t addr)
{
    for (unsigned i = 0; i < mo->nsegs; i++)
        if (dsc_objc_cache_segment(mo, &mo->segs[i]) && addr - mo->segs[i].vmaddr < mo->segs[i].vmsize)
            return true;
    return false;
}

/* Pointers of libobjc into the cache's ObjC tables, which pass_layout leaves
 * out (__OBJC_RO/__OBJC_RW). Older builders coalesced libobjc's
 * __objc_classname strings into __OBJC_RO (in the real dyld-832-era caches
 * of testdata: the "" extended layouts of 11 block descriptors), so such a
 * pointer at a C string goes to the image's own string of that text (or a
 * copy in __objc_classname); --verify counts whatever else stays.
 * __objc_scoffs' pointers into the selector buffer are zeroed instead. */
static int retarget_into_cache_tables(struct objc_pass *op)
{
    const struct dsc_plan *p = op->p;
    const struct dsc_section *sc = scoffs(p);
    bool any = false; /* only libobjc has such segments: others skip the loop */
    for (unsigned i = 0; i < p->mo.nsegs; i++)
        any |= dsc_objc_cache_segment(&p->mo, &p->mo.segs[i]);
    for (size_t i = 0; any && i < p->nfixups; i++) {
        const struct dsc_fixup *f = &p->fixups[i];
        uint64_t t = f->target & DSC_TBI_MASK;
        const char *s;
        int rc = 0;
        if (f->kind != DSC_FIXUP_BIND && !in_section(sc, f->address) && in_cache_tables(&p->mo, t) &&
            dsc_vm_cstr(p->cache, t, DSC_OBJC_MAX_NAME, &s))
            rc = string_ref(op, ED_PTR, f->address, t, s, STR_CLASSNAME);
        if (rc)
            return rc; /* -1 failed, 1 over the pass's budget (warned) */
    }
    return 0;
}

/* libobjc's objc_opt_t placeholder (index/objc.h): what the builder filled
 * in names its tables in the cache, so it goes back to the dylib's zeros. */
static int clear_opt_ro(struct objc_pass *op)
{
    const struct dsc_section *s = dsc_macho_section(&op->p->mo, "__TEXT", "__objc_opt_ro");
    dsc_span b;
    if (!s || s->size < DSC_OBJC_OPT_RO_END || !objc_view_span(&op->view, s->addr, DSC_OBJC_OPT_RO_END, &b))
        return 0;
    for (uint64_t o = DSC_OBJC_OPT_RO_FILLED; o < DSC_OBJC_OPT_RO_END; o += 4)
        if (dsc_le32(b.data + o) && push_edit(op, ED_U32, s->addr + o, TGT_ADDR, 0, 0))
            return -1;
    return 0;
}

static int collect_edits(struct objc_pass *op)
{
    struct dsc_plan *p = op->p;
    struct dsc_objc_image img;
    dsc_objc_image_init(&img, &p->mo, &op->opt);
    img.mem = objc_view_mem(&op->view);
    struct collect c = {.op = op};
    dsc_error werr = {0};
    int rc = dsc_objc_walk(&img, on_item, &c, &werr);
    if (rc && werr.code == DSC_ERR_INPUT) { /* malformed metadata, not a failure of ours */
        plan_warn(p, "ObjC metadata left as the cache has it: %s", werr.msg);
        rc = 1;
    } else if (rc && werr.code) {
        rc = plan_fail_code(p, werr.code, "%s", werr.msg);
    }
    if (rc == 0)
        rc = resolve_protorefs(op, &c);
    free(c.prefs);
    if (rc == 0)
        rc = clear_selector_offsets(op);
    if (rc == 0)
        rc = clear_opt_ro(op);
    if (rc == 0)
        rc = retarget_into_cache_tables(op);
    for (size_t i = 0; rc == 0 && i < op->nneeds; i++) {
        uint64_t v;
        /* A relative method names the last selref of its selector: linkers
         * add the method lists' selrefs after the code's (ld64.lld-19 keeps
         * both when a selector is also messaged; ld64 keeps one). */
        if (op->needs[i].at && objc_namemap_get(&op->last_sel_by_name, op->needs[i].name, &v)) {
            rc = push_edit(op, ED_REL32, op->needs[i].at, TGT_SELREF, 0, v);
            continue;
        }
        rc = objc_selref_for(op, op->needs[i].name, op->needs[i].sel_addr, &v);
        if (rc == 0 && op->needs[i].at)
            rc = push_edit(op, ED_REL32, op->needs[i].at, TGT_SELREF, 0, v);
    }
    return rc;
}

/* ---- the added segment ---- */

uint64_t objc_target_addr(const struct objc_pass *op, enum objc_target tgt, uint8_t sect, uint64_t value)
{
    switch (tgt) {
    case TGT_STR:
        return op->str_addr[sect] + value;
    case TGT_SELREF:
        return value & SELREF_NEW ? op->extra_addr + (value & ~SELREF_NEW) * op->p->ptr_size : value;
    default:
        return value;
    }
}

/* The string sections of `seg` that are empty and followed only by empty
 * sections: where the builder left __objc_methname & co. after coalescing
 * their strings away. want[s] gets the index of section s, or -1. */
static void trailing_empty_sections(const struct dsc_out_segment *seg, int want[STR_NSECT])
{
    for (unsigned s = 0; s < STR_NSECT; s++)
        want[s] = -1;
    for (unsigned i = seg->nsects; i-- > 0 && seg->sects[i].size == 0;)
        for (unsigned s = 0; s < STR_NSECT; s++)
            if (strcmp(seg->sects[i].sectname, strsect_names[s]) == 0)
                want[s] = (int)i;
}

/* Put the strings where a linker would: at the end of __TEXT, in its own
 * (empty) __objc_methname/__objc_classname/__objc_methtype sections, growing
 * __TEXT into the free address range after it. This adds no load command,
 * so it works even when the header has no room to spare. False (nothing
 * changed) when __TEXT cannot grow or lacks the sections. */
static bool strings_into_text(struct objc_pass *op, uint64_t size)
{
    struct dsc_plan *p = op->p;
    struct dsc_out_segment *seg = NULL;
    for (unsigned i = 0; i < p->nsegs && !seg; i++)
        if (p->segs[i].source >= 0 && strcmp(p->segs[i].name, "__TEXT") == 0)
            seg = &p->segs[i];
    if (!seg || seg->filesize != seg->vmsize)
        return false;
    int want[STR_NSECT];
    trailing_empty_sections(seg, want);
    for (unsigned s = 0; s < STR_NSECT; s++)
        if (op->str[s].bytes.size && want[s] < 0)
            return false;
    uint64_t start = seg->vmaddr + seg->vmsize, grown = dsc_align_up(seg->vmsize + size, p->page_size);
    uint64_t end = seg->vmaddr + grown;
    for (unsigned i = 0; i < p->nsegs; i++)
        if (&p->segs[i] != seg && p->segs[i].vmaddr < end && start < p->segs[i].vmaddr + p->segs[i].vmsize)
            return false;
    if (p->copy_bytes) {
        uint8_t *b = realloc(seg->bytes, grown);
        if (!b)
            return false;
        memset(b + seg->vmsize, 0, grown - seg->vmsize);
        seg->bytes = b;
    }
    uint64_t at = start; /* in the order the section headers list them */
    for (unsigned i = 0; i < seg->nsects; i++)
        for (unsigned s = 0; s < STR_NSECT; s++)
            if (want[s] == (int)i) {
                seg->sects[i].addr = op->str_addr[s] = at;
                seg->sects[i].size = op->str[s].bytes.size;
                if (seg->bytes && op->str[s].bytes.size)
                    memcpy(seg->bytes + (at - seg->vmaddr), op->str[s].bytes.data, op->str[s].bytes.size);
                at += op->str[s].bytes.size;
            }
    seg->vmsize = seg->filesize = grown;
    plan_note_vm(p, start, end);
    return true;
}

/* Selrefs the image lacks, and the strings when __TEXT cannot take them, go
 * into an added segment __OBJC_EXTRA with real, named sections. */
static int add_extra_segment(struct objc_pass *op, bool with_strings)
{
    struct dsc_plan *p = op->p;
    uint64_t selrefs = op->nnew_selrefs * p->ptr_size;
    uint64_t size = selrefs + (with_strings ? strings_size(op) : 0);
    if (size == 0)
        return 0;
    uint64_t base = plan_alloc_vm(p, size);
    struct dsc_out_segment *seg = plan_add_segment(p, "__OBJC_EXTRA", base, size, 3);
    if (!seg)
        return -1;
    if (selrefs) {
        op->extra_addr = base;
        if (!plan_add_section(p, seg, "__objc_selrefs", base, selrefs, p->ptr_size == 8 ? 3 : 2,
                              S_LITERAL_POINTERS | S_ATTR_NO_DEAD_STRIP))
            return -1;
    }
    uint64_t at = base + selrefs;
    for (unsigned s = 0; with_strings && s < STR_NSECT; s++) {
        op->str_addr[s] = at;
        if (!op->str[s].bytes.size)
            continue;
        if (!plan_add_section(p, seg, strsect_names[s], at, op->str[s].bytes.size, 0, S_CSTRING_LITERALS))
            return -1;
        if (seg->bytes)
            memcpy(seg->bytes + (at - seg->vmaddr), op->str[s].bytes.data, op->str[s].bytes.size);
        at += op->str[s].bytes.size;
    }
    return 0;
}

static int place_added_data(struct objc_pass *op)
{
    uint64_t size = strings_size(op);
    bool in_text = size && strings_into_text(op, size);
    return add_extra_segment(op, size && !in_text);
}

/* ---- applying edits ---- */

static struct dsc_fixup *fixup_at(struct dsc_plan *p, size_t sorted, uint64_t at)
{
    size_t i = dsc_lower_bound(p->fixups, sorted, sizeof *p->fixups, offsetof(struct dsc_fixup, address), at);
    return i < sorted && p->fixups[i].address == at ? &p->fixups[i] : NULL;
}

/* Point the slot at `target` (in the image): a rebase, keeping arm64e auth. */
static int set_pointer(struct objc_pass *op, size_t sorted, uint64_t at, uint64_t target)
{
    struct dsc_plan *p = op->p;
    if (!plan_write_ptr(p, at, target))
        return plan_fail(p, "ObjC pointer at 0x%llx is outside the image's segments", (unsigned long long)at);
    struct dsc_fixup *f = fixup_at(p, sorted, at);
    if (f) {
        f->kind = DSC_FIXUP_REBASE;
        f->target = target;
        return 0;
    }
    struct dsc_fixup nf = {.address = at, .kind = DSC_FIXUP_REBASE, .target = target};
    return plan_add_fixup(p, &nf);
}

static int write_u32(struct objc_pass *op, uint64_t at, uint32_t v)
{
    if (!op->p->copy_bytes)
        return 0;
    uint8_t *b = plan_seg_bytes(op->p, at, 4);
    if (!b)
        return plan_fail(op->p, "ObjC field at 0x%llx is outside the image's segments", (unsigned long long)at);
    dsc_put32(b, v);
    return 0;
}

static int apply_edit(struct objc_pass *op, size_t sorted, uint8_t *dead, const struct objc_edit *e)
{
    struct dsc_plan *p = op->p;
    uint64_t target = objc_target_addr(op, e->tgt, e->sect, e->value);
    int64_t rel = (int64_t)(target - e->at);
    switch (e->kind) {
    case ED_PTR:
        return set_pointer(op, sorted, e->at, target);
    case ED_REL32:
        if (rel != (int32_t)rel) { /* the added segment is beyond +-2 GiB of this list */
            plan_warn(p, "relative ObjC field at 0x%llx cannot reach 0x%llx", (unsigned long long)e->at,
                      (unsigned long long)target);
            return 0;
        }
        return write_u32(op, e->at, (uint32_t)rel);
    case ED_U32:
        return write_u32(op, e->at, (uint32_t)e->value);
    case ED_ZERO: {
        struct dsc_fixup *f = fixup_at(p, sorted, e->at);
        if (f)
            dead[f - p->fixups] = 1;
        return plan_write_ptr(p, e->at, 0) ? 0 : plan_fail(p, "ObjC pointer at 0x%llx is outside the image",
                                                             (unsigned long long)e->at);
    }
    }
    return 0;
}

/* Remove the fixups of zeroed slots (dead[i] set, i < sorted). */
static void drop_dead_fixups(struct dsc_plan *p, size_t sorted, const uint8_t *dead)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nfixups; i++)
        if (i >= sorted || !dead[i])
            p->fixups[n++] = p->fixups[i];
    p->nfixups = n;
}

/* objc_image_info: the extracted image is no longer optimised by dyld. */
static int fix_image_info(struct objc_pass *op)
{
    for (unsigned i = 0; i < op->p->mo.nsects; i++) {
        const struct dsc_section *s = &op->p->mo.sects[i];
        if (strcmp(s->sectname, "__objc_imageinfo") != 0 || s->size < 8)
            continue;
        dsc_span b;
        if (!objc_view_span(&op->view, s->addr + 4, 4, &b))
            return plan_fail(op->p, "__objc_imageinfo at 0x%llx is out of range", (unsigned long long)s->addr);
        uint32_t flags = dsc_le32(b.data);
        return write_u32(op, s->addr + 4, flags & ~(DSC_OBJC_IMAGE_OPTIMIZED_BY_DYLD | DSC_OBJC_IMAGE_DYLD_CATEGORIES));
    }
    return 0;
}

/* Edits by address, then in the order they were made (a slot reached
 * twice, e.g. a protocol list shared by a class and its metaclass, is
 * edited once: the first decision wins). */
static int cmp_edit(const void *a, const void *b)
{
    const struct objc_edit *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool same_slot(const struct objc_edit *e, const struct objc_edit *prev)
{
    return prev && prev->at == e->at && prev->kind == e->kind;
}

static int apply_all(struct objc_pass *op)
{
    struct dsc_plan *p = op->p;
    /* Both arrive mostly in order (fixups page by page, edits by walk):
     * dsc_sort merges the runs. */
    dsc_sort(op->edits, op->nedits, sizeof *op->edits, cmp_edit);
    dsc_sort(p->fixups, p->nfixups, sizeof *p->fixups, plan_cmp_fixup);
    size_t sorted = p->nfixups;
    uint8_t *dead = calloc(sorted ? sorted : 1, 1);
    if (!dead)
        return plan_oom(p);
    for (size_t i = 0; i < op->nedits; i++) {
        if (same_slot(&op->edits[i], i ? &op->edits[i - 1] : NULL))
            continue;
        if (apply_edit(op, sorted, dead, &op->edits[i])) {
            free(dead);
            return -1;
        }
        op->selectors_fixed += op->edits[i].tgt == TGT_SELREF;
    }
    drop_dead_fixups(p, sorted, dead);
    free(dead);
    for (size_t i = 0; i < op->nnew_selrefs; i++) {
        uint64_t slot = op->extra_addr + i * p->ptr_size;
        uint64_t target = objc_target_addr(op, op->new_selrefs[i].tgt, STR_METHNAME, op->new_selrefs[i].value);
        struct dsc_fixup f = {.address = slot, .kind = DSC_FIXUP_REBASE, .target = target};
        if (!plan_write_ptr(p, slot, target) || plan_add_fixup(p, &f))
            return plan_fail(p, "cannot write added selref at 0x%llx", (unsigned long long)slot);
    }
    objc_write_selector_loads(op);
    return fix_image_info(op);
}

/* ---- the pass ---- */

static void objc_pass_free(struct objc_pass *op)
{
    free(op->edits);
    free(op->needs);
    free(op->loads);
    free(op->adrs);
    free(op->new_selrefs);
    objc_namemap_free(&op->sel_by_name);
    objc_namemap_free(&op->last_sel_by_name);
    objc_addrmap_free(&op->sel_by_addr);
    objc_namemap_free(&op->protocols);
    objc_namemap_free(&op->own_strings);
    objc_namemap_free(&op->own_methnames);
    objc_view_free(&op->view);
    for (unsigned s = 0; s < STR_NSECT; s++)
        objc_strtab_free(&op->str[s]);
    if (op->has_libobjc)
        dsc_macho_free(&op->libobjc);
}

/* True when the image has any ObjC section the walker reads. */
static bool has_objc(const struct dsc_macho *mo)
{
    for (unsigned i = 0; i < mo->nsects; i++)
        if (strncmp(mo->sects[i].sectname, "__objc_", 7) == 0)
            return true;
    return false;
}

int pass_objc(struct dsc_plan *p)
{
    if (!has_objc(&p->mo))
        return 0;
    struct objc_pass op = {.p = p, .budget = mapped_bytes(p->cache)};
    dsc_error oerr = {0};
    int rc = dsc_objc_opt_load(p->cache, &op.opt, &oerr);
    if (rc && oerr.code != DSC_ERR_INPUT)
        return plan_fail_code(p, oerr.code, "%s", oerr.msg);
    if (rc) {
        plan_warn(p, "ObjC metadata left as the cache has it: %s", oerr.msg);
        return 0;
    }
    int64_t lib = dsc_cache_find_image(p->cache, DSC_LIBOBJC_PATH);
    op.has_libobjc = lib >= 0 && dsc_macho_parse(p->cache, (uint32_t)lib, &op.libobjc, NULL) == 0;
    rc = objc_view_init(&op.view, p);
    if (rc == 0)
        rc = index_own_strings(&op);
    if (rc == 0)
        rc = collect_edits(&op);
    if (rc == 0)
        rc = objc_find_selector_loads(&op);
    if (rc == 0)
        rc = place_added_data(&op);
    if (rc == 0)
        rc = apply_all(&op);
    if (rc == 1) /* skipped, with a warning */
        rc = 0;
    else if (rc == 0) {
        p->stats.selectors_fixed += op.selectors_fixed + op.loads_fixed;
        if (op.foreign_fields)
            plan_warn(p, "%llu ObjC fields outside the image were left as they are",
                      (unsigned long long)op.foreign_fields);
        if (op.loads_unfixed)
            plan_warn(p, "%llu selector loads could not be pointed back at a selref",
                      (unsigned long long)op.loads_unfixed);
    }
    objc_pass_free(&op);
    return rc;
}

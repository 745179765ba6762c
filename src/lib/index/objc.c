/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc.c — walk one image's Objective-C metadata (see objc.h), and find the
 * cache-wide ObjC optimisation data (selector base, header-info table).
 *
 * Struct layouts follow objc4's objc-runtime-new.h (class_t, class_ro_t,
 * category_t, protocol_t, method_list_t, relative_list_list_t) for 64- and
 * 32-bit pointers. Nothing is trusted: every address goes through the mem's
 * checked span/ptr/cstr, every count is capped before use.
 */
#include "index/objc.h"

#include "base/ptrfmt.h"
#include "cache/slide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the cache as a mem ---- */

static bool cache_span(void *ctx, uint64_t addr, uint64_t len, dsc_span *out)
{
    return dsc_vm_span(ctx, addr, len, out);
}

static bool cache_ptr(void *ctx, uint64_t addr, uint64_t *target)
{
    return dsc_vm_ptr_value(ctx, addr, target);
}

static bool cache_cstr(void *ctx, uint64_t addr, uint64_t max_len, const char **s)
{
    return dsc_vm_cstr(ctx, addr, max_len, s);
}

struct dsc_objc_mem dsc_objc_cache_mem(const dsc_cache *c)
{
    return (struct dsc_objc_mem){(void *)c, cache_span, cache_ptr, cache_cstr};
}

/* ---- optimisation header ---- */

/* dyld-1042+: ObjCOptimizationHeader at base + objcOptsOffset, wherever
 * that lies (a LINKEDIT chunk before dyld-1284, READ_ONLY or TEXT from it).
 * objcOptsSize is not its size in every era: dyld-1042.1 .. 1165.3 store
 * the Swift opts header's size there (0x20), so, as dyld's
 * DyldSharedCache::objcOpts does, only the offset counts; the version-1
 * fields read here must be mapped. */
#define OBJC_OPTS_V1_SIZE 0x38
static int opt_from_header(const dsc_cache *c, struct dsc_objc_opt *opt, dsc_error *err)
{
    const struct dsc_file *m = dsc_main_file(c);
    uint64_t off = dsc_hdr64(m, HDR_OBJC_OPTS_OFFSET);
    uint64_t base = c->info.base_address;
    dsc_span h;
    if (!dsc_vm_span(c, base + off, OBJC_OPTS_V1_SIZE, &h))
        return dsc_fail(err, c->path, "ObjC optimisation header at offset 0x%llx is out of the cache",
                        (unsigned long long)off);
    opt->present = true;
    opt->version = dsc_le32(h.data);
    uint64_t hinfo = dsc_le64(h.data + 0x08), selbase = dsc_le64(h.data + 0x30);
    opt->header_info_ro = hinfo ? base + hinfo : 0;
    opt->has_selector_base = selbase != 0;
    opt->selector_base = selbase ? base + selbase : 0;
    return 0;
}

/* Legacy objc_opt_t in libobjc's __TEXT,__objc_opt_ro; offsets are from its start. */
static int opt_from_libobjc(const dsc_cache *c, const struct dsc_section *s, struct dsc_objc_opt *opt, dsc_error *err)
{
    dsc_span o;
    if (!dsc_vm_span(c, s->addr, s->size, &o) || o.size < 16)
        return dsc_fail(err, c->path, "libobjc's __objc_opt_ro is out of the cache");
    uint32_t version = dsc_le32(o.data);
    int32_t hinfo;
    switch (version) {
    case 12:
    case 13:
        hinfo = (int32_t)dsc_le32(o.data + 8);
        break;
    case 15:
    case 16:
        hinfo = (int32_t)dsc_le32(o.data + 12);
        break;
    default:
        return 0; /* unknown layout: walk without it */
    }
    opt->present = true;
    opt->version = version;
    opt->header_info_ro = hinfo ? s->addr + (uint64_t)(int64_t)hinfo : 0;
    uint64_t selbase;
    if (version == 16 && span_u64(o, DSC_OBJC_OPT_RO_SELBASE, &selbase) && selbase) {
        opt->has_selector_base = true;
        opt->selector_base = s->addr + selbase;
    }
    return 0;
}

static int load_header_info(const dsc_cache *c, struct dsc_objc_opt *opt, dsc_error *err)
{
    dsc_span h;
    if (!opt->header_info_ro)
        return 0;
    if (!dsc_vm_span(c, opt->header_info_ro, 8, &h))
        return dsc_fail(err, c->path, "ObjC header-info table at 0x%llx is out of the cache",
                        (unsigned long long)opt->header_info_ro);
    uint32_t count = dsc_le32(h.data), entsize = dsc_le32(h.data + 4);
    unsigned p = dsc_ptr_size(c);
    if (entsize < 2 * p || entsize > 64 || count > DSC_OBJC_MAX_LIST ||
        !dsc_vm_span(c, opt->header_info_ro + 8, (uint64_t)count * entsize, &h))
        return dsc_fail(err, c->path, "ObjC header-info table (%u entries of %u bytes) is malformed", count, entsize);
    opt->header_info_count = count;
    opt->header_info_entsize = entsize;
    return 0;
}

bool dsc_objc_cache_segment(const struct dsc_macho *mo, const struct dsc_segment *s)
{
    return s->nsects == 0 && mo->install_name && strcmp(mo->install_name, DSC_LIBOBJC_PATH) == 0 &&
           (strcmp(s->name, "__OBJC_RO") == 0 || strcmp(s->name, "__OBJC_RW") == 0);
}

/* objc_opt_t from image i's __TEXT,__objc_opt_ro, if it has one. */
static int opt_in_image(const dsc_cache *c, uint32_t i, struct dsc_objc_opt *opt, dsc_error *err)
{
    struct dsc_macho mo;
    if (dsc_macho_parse(c, i, &mo, NULL))
        return 0; /* a broken image is reported when it is extracted */
    const struct dsc_section *s = dsc_macho_section(&mo, "__TEXT", "__objc_opt_ro");
    int rc = s ? opt_from_libobjc(c, s, opt, err) : 0;
    dsc_macho_free(&mo);
    return rc;
}

int dsc_objc_opt_load(const dsc_cache *c, struct dsc_objc_opt *opt, dsc_error *err)
{
    memset(opt, 0, sizeof *opt);
    const struct dsc_file *m = dsc_main_file(c);
    int rc = 0;
    if (dsc_hdr_has(m, HDR_OBJC_OPTS_SIZE, 8) && dsc_hdr64(m, HDR_OBJC_OPTS_OFFSET)) {
        rc = opt_from_header(c, opt, err);
    } else {
        /* libobjc by its usual path first: scanning every image is the
         * fallback, not the rule, for caches with thousands of them */
        int64_t lib = dsc_cache_find_image(c, DSC_LIBOBJC_PATH);
        if (lib >= 0)
            rc = opt_in_image(c, (uint32_t)lib, opt, err);
        for (uint32_t i = 0; i < c->nimages && !opt->present && rc == 0; i++)
            if ((int64_t)i != lib)
                rc = opt_in_image(c, i, opt, err);
    }
    return rc ? rc : load_header_info(c, opt, err);
}

int32_t dsc_objc_image_index(const dsc_cache *c, const struct dsc_objc_opt *opt, uint64_t mh)
{
    unsigned p = dsc_ptr_size(c);
    dsc_span t; /* the entries, one span (load_header_info checked it is in the cache) */
    if (!opt ||
        !dsc_vm_span(c, opt->header_info_ro + 8, (uint64_t)opt->header_info_count * opt->header_info_entsize, &t))
        return -1;
    for (uint32_t i = 0; i < opt->header_info_count; i++) {
        uint64_t at = (uint64_t)i * opt->header_info_entsize, entry = opt->header_info_ro + 8 + at, off;
        if (!span_ptr(t, at, p, &off))
            return -1;
        int64_t rel = p == 8 ? (int64_t)off : (int64_t)(int32_t)off;
        if (entry + (uint64_t)rel == mh)
            return (int32_t)i;
    }
    return -1;
}

void dsc_objc_image_init(struct dsc_objc_image *img, const struct dsc_macho *mo, const struct dsc_objc_opt *opt)
{
    img->mo = mo;
    img->mem = dsc_objc_cache_mem(mo->cache);
    img->ptr_size = mo->is64 ? 8 : 4;
    img->opt = opt;
    const dsc_image *im = dsc_cache_get_image(mo->cache, mo->image);
    img->objc_index = im ? dsc_objc_image_index(mo->cache, opt, im->address) : -1;
}

/* ---- the walk ---- */

struct walk {
    const struct dsc_objc_image *img;
    dsc_objc_visit_fn fn;
    void *ctx;
    dsc_error *err;
    unsigned p;             /* pointer size */
    uint64_t data_mask;     /* class_t.bits -> class_ro_t */
    uint32_t items;         /* emitted so far */
    bool cat_class_props;   /* objc_image_info: HasCategoryClassProperties */
};

static int bad(struct walk *w, uint64_t addr, const char *what)
{
    const struct dsc_macho *mo = w->img->mo;
    return dsc_image_fail(w->err, mo->cache, mo->image, "ObjC %s at 0x%llx is malformed or out of range", what,
                          (unsigned long long)addr);
}

static bool rd32(struct walk *w, uint64_t addr, uint32_t *v)
{
    dsc_span s;
    if (!w->img->mem.span(w->img->mem.ctx, addr, 4, &s))
        return false;
    *v = dsc_le32(s.data);
    return true;
}

/* A pointer field; the top byte (TBI tag) is dropped. */
static bool rdptr(struct walk *w, uint64_t addr, uint64_t *v)
{
    if (!w->img->mem.ptr(w->img->mem.ctx, addr, v))
        return false;
    if (w->p == 8)
        *v &= DSC_TBI_MASK;
    return true;
}

static bool rdname(struct walk *w, uint64_t addr, const char **s)
{
    return addr && w->img->mem.cstr(w->img->mem.ctx, addr, DSC_OBJC_MAX_NAME, s);
}

static int emit(struct walk *w, const struct dsc_objc_item *it)
{
    if (++w->items > DSC_OBJC_MAX_ITEMS)
        return bad(w, it->addr, "metadata (more items than any real image has)");
    return w->fn(w->ctx, it);
}

/* Every section of the image called `sectname` in any segment, as a
 * pointer array: calls fn(w, slot, value, arg) per slot. */
typedef int (*slot_fn)(struct walk *w, uint64_t slot, uint64_t value, void *arg);

static int each_slot(struct walk *w, const char *sectname, slot_fn fn, void *arg)
{
    const struct dsc_macho *mo = w->img->mo;
    for (unsigned i = 0; i < mo->nsects; i++) {
        const struct dsc_section *s = &mo->sects[i];
        if (strcmp(s->sectname, sectname) != 0)
            continue;
        if (s->size % w->p || s->size / w->p > DSC_OBJC_MAX_LIST)
            return bad(w, s->addr, sectname);
        for (uint64_t off = 0; off < s->size; off += w->p) {
            uint64_t v;
            if (!rdptr(w, s->addr + off, &v))
                return bad(w, s->addr + off, sectname);
            int rc = fn(w, s->addr + off, v, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* --- method lists --- */

struct owner {
    const char *name;
    bool meta;
    enum dsc_objc_list_role role;
};

static int method_entry(struct walk *w, uint64_t e, uint32_t flags, const struct owner *o)
{
    struct dsc_objc_item it = {.kind = DSC_OBJC_METHOD, .addr = e, .ref = e, .owner = o->name,
                               .meta = o->meta, .role = o->role, .entsize_flags = flags,
                               .relative = flags & DSC_METHOD_LIST_RELATIVE};
    if (it.relative) {
        uint32_t name, types, imp;
        if (!rd32(w, e, &name) || !rd32(w, e + 4, &types) || !rd32(w, e + 8, &imp))
            return bad(w, e, "relative method");
        uint64_t at = e + (uint64_t)(int64_t)(int32_t)name;
        if (!(flags & DSC_METHOD_LIST_DIRECT_SELS)) {
            it.target = at; /* a selref */
            if (!rdptr(w, at, &it.sel_addr))
                return bad(w, e, "method selector reference");
        } else if (w->img->opt && w->img->opt->has_selector_base) {
            it.sel_addr = it.target = w->img->opt->selector_base + (uint64_t)(int64_t)(int32_t)name;
        } else {
            it.sel_addr = it.target = at;
        }
        /* dyld-1376+ type offsets count from the selector base too, into the
         * type buffer after the selectors (dyld-1378 ObjCVisitor.cpp getTypes) */
        if (!(flags & DSC_METHOD_LIST_TYPE_OFFSETS))
            it.types_addr = e + 4 + (uint64_t)(int64_t)(int32_t)types;
        else if (w->img->opt && w->img->opt->has_selector_base)
            it.types_addr = w->img->opt->selector_base + types;
        it.imp = imp ? e + 8 + (uint64_t)(int64_t)(int32_t)imp : 0;
    } else {
        if (!rdptr(w, e, &it.sel_addr) || !rdptr(w, e + w->p, &it.types_addr) || !rdptr(w, e + 2 * w->p, &it.imp))
            return bad(w, e, "method");
        it.target = it.sel_addr;
    }
    if (!rdname(w, it.sel_addr, &it.name))
        return bad(w, e, "method name");
    return emit(w, &it);
}

static int method_list(struct walk *w, uint64_t ref, uint64_t list, uint64_t lol, const struct owner *o)
{
    uint32_t flags, count;
    if (!rd32(w, list, &flags) || !rd32(w, list + 4, &count))
        return bad(w, list, "method list");
    uint32_t entsize = flags & 0xFFFCu;
    bool relative = flags & DSC_METHOD_LIST_RELATIVE;
    dsc_span body;
    if (count > DSC_OBJC_MAX_LIST || entsize < (relative ? 12u : 3 * w->p) ||
        !w->img->mem.span(w->img->mem.ctx, list + 8, (uint64_t)count * entsize, &body))
        return bad(w, list, "method list");
    struct dsc_objc_item it = {.kind = DSC_OBJC_METHOD_LIST, .addr = list, .ref = ref, .target = list,
                               .owner = o->name, .meta = o->meta, .role = o->role, .entsize_flags = flags,
                               .count = count, .relative = relative, .list_of_lists = lol};
    int rc = emit(w, &it);
    for (uint32_t i = 0; i < count && rc == 0; i++)
        rc = method_entry(w, list + 8 + (uint64_t)i * entsize, flags, o);
    return rc;
}

/* Whether `addr` lies in one of the image's segments. */
static bool in_image(const struct walk *w, uint64_t addr)
{
    const struct dsc_macho *mo = w->img->mo;
    for (unsigned i = 0; i < mo->nsegs; i++)
        if (addr >= mo->segs[i].vmaddr && addr - mo->segs[i].vmaddr < mo->segs[i].vmsize)
            return true;
    return false;
}

/* A relative_list_list_t (pointer with bit 0 set) referred to from `field`:
 * the class's own list, *list = 0 when it has none. Facts, from dyld-1378
 * cache_builder/NewSharedCacheBuilder.cpp (emitPreAttachedObjCCategories,
 * unchanged since dyld-1122) and objc4-951.1 runtime/objc-runtime-new.h
 * (relative_list_list_t): {u32 entsize 8, u32 count}, then entries of
 * {imageIndex: 16 low bits, signed offset from the entry: 48 high bits};
 * categories' lists (of this image or others, so the index alone does not
 * tell them apart) come first and the class's own list is always the last
 * entry. A class without an own list gets a placeholder there: the cache's
 * shared empty method list (outside every image) with the class's index,
 * or {0, 0}, an entry pointing at itself. */
static int own_list_of_lists(struct walk *w, uint64_t field, uint64_t lol, uint64_t *list)
{
    uint32_t flags, count;
    dsc_span s;
    *list = 0;
    if (!rd32(w, lol, &flags) || !rd32(w, lol + 4, &count) || count == 0 || count > DSC_OBJC_MAX_LIST ||
        (flags & 0xFFFCu) != 8)
        return bad(w, lol, "list of lists");
    uint64_t e = lol + 8 + (uint64_t)(count - 1) * 8;
    if (!w->img->mem.span(w->img->mem.ctx, e, 8, &s))
        return bad(w, e, "list of lists entry");
    uint64_t v = dsc_le64(s.data);
    int64_t off = (int64_t)v >> 16;
    bool own_index = w->img->objc_index < 0 || (int32_t)(v & 0xFFFF) == w->img->objc_index;
    if (off != 0 && own_index && in_image(w, e + (uint64_t)off))
        *list = e + (uint64_t)off;
    struct dsc_objc_item it = {.kind = DSC_OBJC_LIST_OF_LISTS, .addr = lol, .ref = field, .target = *list,
                               .list_of_lists = lol, .count = count};
    return emit(w, &it);
}

static int method_list_field(struct walk *w, uint64_t field, const struct owner *o)
{
    uint64_t list;
    if (!rdptr(w, field, &list))
        return bad(w, field, "method list pointer");
    if (!list)
        return 0;
    uint64_t lol = 0;
    if (list & 1) {
        lol = list & ~(uint64_t)1;
        int rc = own_list_of_lists(w, field, lol, &list);
        if (rc || !list)
            return rc;
    }
    return method_list(w, field, list, lol, o);
}

/* --- protocol lists --- */

static int protocol_ref(struct walk *w, uint64_t slot, uint64_t proto, void *arg)
{
    (void)arg;
    struct dsc_objc_item it = {.kind = DSC_OBJC_PROTOREF, .addr = slot, .ref = slot, .target = proto};
    uint64_t name;
    if (!proto || !rdptr(w, proto + w->p, &name) || !rdname(w, name, &it.name))
        return bad(w, slot, "protocol reference");
    return emit(w, &it);
}

static int protocol_list_field(struct walk *w, uint64_t field)
{
    uint64_t list, count;
    if (!rdptr(w, field, &list))
        return bad(w, field, "protocol list pointer");
    if (!list)
        return 0;
    if (list & 1) { /* preattached: the own entry is a plain protocol_list_t */
        int rc = own_list_of_lists(w, field, list & ~(uint64_t)1, &list);
        if (rc || !list)
            return rc;
    }
    if (!rdptr(w, list, &count) || count > DSC_OBJC_MAX_LIST)
        return bad(w, list, "protocol list");
    for (uint64_t i = 0; i < count; i++) {
        uint64_t slot = list + w->p * (i + 1), proto;
        if (!rdptr(w, slot, &proto))
            return bad(w, slot, "protocol list");
        int rc = protocol_ref(w, slot, proto, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* --- names --- */

/* Report a pointer field to a string of `section`, and return the string.
 * A NULL pointer is allowed only where `optional`. */
static int string_field(struct walk *w, uint64_t field, const char *section, bool optional, const char *what,
                        const char **str)
{
    uint64_t addr;
    *str = NULL;
    if (!rdptr(w, field, &addr))
        return bad(w, field, what);
    if (!addr && optional)
        return 0;
    if (!rdname(w, addr, str))
        return bad(w, field, what);
    struct dsc_objc_item it = {.kind = DSC_OBJC_NAME_REF, .addr = addr, .ref = field, .target = addr, .name = *str,
                               .section = section};
    return emit(w, &it);
}

static int name_field(struct walk *w, uint64_t field, const char *what, const char **name)
{
    return string_field(w, field, "__objc_classname", false, what, name);
}

/* A list header {u32 entsizeAndFlags; u32 count} whose entries are at least
 * `min_entsize` bytes and lie in range; pointer lists only. */
static int list_header(struct walk *w, uint64_t list, uint32_t min_entsize, const char *what, uint32_t *entsize,
                       uint32_t *count)
{
    uint32_t flags;
    dsc_span body;
    if (!rd32(w, list, &flags) || !rd32(w, list + 4, count))
        return bad(w, list, what);
    *entsize = flags & 0xFFFCu;
    if (*count > DSC_OBJC_MAX_LIST || *entsize < min_entsize ||
        !w->img->mem.span(w->img->mem.ctx, list + 8, (uint64_t)*count * *entsize, &body))
        return bad(w, list, what);
    return 0;
}

/* ivar_list_t: {offset*, name, type, alignment, size} entries. */
static int ivar_list_field(struct walk *w, uint64_t field)
{
    uint64_t list;
    uint32_t entsize, count;
    if (!rdptr(w, field, &list))
        return bad(w, field, "ivar list pointer");
    if (!list)
        return 0;
    int rc = list_header(w, list, 3 * w->p + 8, "ivar list", &entsize, &count);
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        uint64_t e = list + 8 + (uint64_t)i * entsize;
        const char *s;
        if (!(rc = string_field(w, e + w->p, "__objc_methname", false, "ivar name", &s)))
            rc = string_field(w, e + 2 * w->p, "__objc_methtype", true, "ivar type", &s);
    }
    return rc;
}

/* property_list_t: {name, attributes} entries; may be a list of lists. */
static int property_list_field(struct walk *w, uint64_t field)
{
    uint64_t list;
    uint32_t entsize, count;
    if (!rdptr(w, field, &list))
        return bad(w, field, "property list pointer");
    if (list & 1) {
        int rc = own_list_of_lists(w, field, list & ~(uint64_t)1, &list);
        if (rc)
            return rc;
    }
    if (!list)
        return 0;
    int rc = list_header(w, list, 2 * w->p, "property list", &entsize, &count);
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        uint64_t e = list + 8 + (uint64_t)i * entsize;
        const char *s;
        if (!(rc = string_field(w, e, "__cstring", false, "property name", &s)))
            rc = string_field(w, e + w->p, "__cstring", false, "property attributes", &s);
    }
    return rc;
}

/* --- classes --- */

/* class_ro_t field k (0 = ivarLayout, 1 = name, 2 = baseMethods, 3 = baseProtocols, ...). */
static uint64_t ro_field(const struct walk *w, uint64_t ro, unsigned k)
{
    return ro + (w->p == 8 ? 0x10 : 0x0C) + (uint64_t)k * w->p;
}

static int class_one(struct walk *w, uint64_t cls, bool meta, const char **name_out)
{
    uint64_t bits, cache, vtable;
    if (!rdptr(w, cls + 4 * w->p, &bits))
        return bad(w, cls, "class");
    if (!rdptr(w, cls + 2 * w->p, &cache))
        cache = 0; /* a bind in an extracted file (the runtime's empty cache) */
    if (!rdptr(w, cls + 3 * w->p, &vtable))
        vtable = 0;
    uint64_t ro = bits & w->data_mask;
    const char *name;
    int rc = name_field(w, ro_field(w, ro, 1), "class name", &name);
    if (rc)
        return rc;
    struct dsc_objc_item it = {.kind = meta ? DSC_OBJC_METACLASS : DSC_OBJC_CLASS, .addr = cls, .name = name,
                               .meta = meta, .target = ro};
    struct dsc_objc_item c = {.kind = DSC_OBJC_CLASS_CACHE, .addr = cls, .ref = cls + 2 * w->p, .target = cache,
                              .name = name, .meta = meta};
    struct dsc_objc_item vt = c;
    vt.ref = cls + 3 * w->p;
    vt.target = vtable;
    struct owner o = {name, meta, DSC_OBJC_INSTANCE};
    if ((rc = emit(w, &it)) || (rc = emit(w, &c)) || (rc = emit(w, &vt)) || (rc = method_list_field(w, ro_field(w, ro, 2), &o)) ||
        (rc = protocol_list_field(w, ro_field(w, ro, 3))) || (rc = ivar_list_field(w, ro_field(w, ro, 4))) ||
        (rc = property_list_field(w, ro_field(w, ro, 6))))
        return rc;
    if (name_out)
        *name_out = name;
    return 0;
}

static int class_slot(struct walk *w, uint64_t slot, uint64_t cls, void *arg)
{
    (void)arg;
    uint64_t isa;
    if (!cls || !rdptr(w, cls, &isa))
        return bad(w, slot, "class list entry");
    int rc = class_one(w, cls, false, NULL);
    return rc ? rc : class_one(w, isa, true, NULL);
}

/* --- categories --- */

static int category_slot(struct walk *w, uint64_t slot, uint64_t cat, void *arg)
{
    (void)arg;
    uint64_t cls;
    const char *name, *cls_name = "?";
    int rc = name_field(w, cat, "category name", &name);
    if (rc)
        return rc;
    if (!rdptr(w, cat + w->p, &cls))
        cls = 0; /* e.g. a bind in an extracted file: the class is elsewhere */
    if (cls) { /* the class's own name, read through its RO data */
        uint64_t bits, nameaddr;
        if (!rdptr(w, cls + 4 * w->p, &bits) || !rdptr(w, ro_field(w, bits & w->data_mask, 1), &nameaddr) ||
            !rdname(w, nameaddr, &cls_name))
            return bad(w, cat, "category class");
    }
    char owner[2 * DSC_OBJC_MAX_NAME + 4];
    snprintf(owner, sizeof owner, "%s(%s)", cls_name, name);
    struct dsc_objc_item it = {.kind = DSC_OBJC_CATEGORY, .addr = cat, .name = name, .owner = cls_name,
                               .target = cls};
    struct owner inst = {owner, false, DSC_OBJC_INSTANCE}, meta = {owner, true, DSC_OBJC_CLASS_METHODS};
    if ((rc = emit(w, &it)) || (rc = method_list_field(w, cat + 2 * w->p, &inst)) ||
        (rc = method_list_field(w, cat + 3 * w->p, &meta)) || (rc = protocol_list_field(w, cat + 4 * w->p)))
        return rc;
    if ((rc = property_list_field(w, cat + 5 * w->p)))
        return rc;
    /* category_t.classProperties exists only when the image says so */
    return w->cat_class_props ? property_list_field(w, cat + 6 * w->p) : 0;
}

/* --- protocols --- */

static int protocol_tail(struct walk *w, uint64_t proto, uint32_t nmethods);

static int protocol_slot(struct walk *w, uint64_t slot, uint64_t proto, void *arg)
{
    (void)arg;
    const char *name;
    if (!proto)
        return bad(w, slot, "protocol list entry");
    int rc = name_field(w, proto + w->p, "protocol name", &name);
    if (rc)
        return rc;
    struct dsc_objc_item it = {.kind = DSC_OBJC_PROTOCOL, .addr = proto, .name = name};
    if ((rc = emit(w, &it)) || (rc = protocol_list_field(w, proto + 2 * w->p)))
        return rc;
    static const struct { bool meta; enum dsc_objc_list_role role; } lists[4] = {
        {false, DSC_OBJC_INSTANCE}, {true, DSC_OBJC_CLASS_METHODS},
        {false, DSC_OBJC_OPT_INSTANCE}, {true, DSC_OBJC_OPT_CLASS},
    };
    uint32_t nmethods = 0;
    for (unsigned k = 0; k < 4 && rc == 0; k++) {
        struct owner o = {name, lists[k].meta, lists[k].role};
        rc = method_list_field(w, proto + (3 + k) * w->p, &o);
        uint64_t list;
        uint32_t n;
        if (rc == 0 && rdptr(w, proto + (3 + k) * w->p, &list) && list && !(list & 1) && rd32(w, list + 4, &n))
            nmethods += n;
    }
    return rc ? rc : protocol_tail(w, proto, nmethods);
}

/* protocol_t after the method lists: instanceProperties, then (when `size`
 * covers them) extendedMethodTypes, one string per method of the four lists
 * in order, and classProperties. */
static int protocol_tail(struct walk *w, uint64_t proto, uint32_t nmethods)
{
    uint32_t size;
    int rc = property_list_field(w, proto + 7 * w->p);
    if (rc || !rd32(w, proto + 8 * w->p, &size))
        return rc ? rc : bad(w, proto, "protocol");
    uint64_t types, ext = proto + 8 * w->p + 8, class_props = ext + 2 * w->p;
    if (size >= 9 * w->p + 8 && rdptr(w, ext, &types) && types) {
        for (uint32_t i = 0; i < nmethods && rc == 0; i++) {
            const char *s;
            rc = string_field(w, types + (uint64_t)i * w->p, "__objc_methtype", false, "extended method type", &s);
        }
    }
    if (rc == 0 && size >= 11 * w->p + 8)
        rc = property_list_field(w, class_props);
    return rc;
}

/* --- reference sections --- */

static int selref_slot(struct walk *w, uint64_t slot, uint64_t sel, void *arg)
{
    (void)arg;
    struct dsc_objc_item it = {.kind = DSC_OBJC_SELREF, .addr = slot, .ref = slot, .target = sel, .sel_addr = sel};
    if (!rdname(w, sel, &it.name))
        return bad(w, slot, "selector reference");
    return emit(w, &it);
}

int dsc_objc_walk(const struct dsc_objc_image *img, dsc_objc_visit_fn fn, void *ctx, dsc_error *err)
{
    struct walk w = {.img = img, .fn = fn, .ctx = ctx, .err = err, .p = img->ptr_size,
                     .data_mask = img->ptr_size == 8 ? 0x00007FFFFFFFFFF8ull : 0xFFFFFFFCull};
    const struct dsc_macho *mo = img->mo;
    for (unsigned i = 0; i < mo->nsects; i++) {
        uint32_t flags;
        if (strcmp(mo->sects[i].sectname, "__objc_imageinfo") == 0 && rd32(&w, mo->sects[i].addr + 4, &flags))
            w.cat_class_props = flags & DSC_OBJC_IMAGE_CATEGORY_CLASS_PROPS;
    }
    int rc;
    if ((rc = each_slot(&w, "__objc_classlist", class_slot, NULL)) ||
        (rc = each_slot(&w, "__objc_catlist", category_slot, NULL)) ||
        (rc = each_slot(&w, "__objc_catlist2", category_slot, NULL)) ||
        (rc = each_slot(&w, "__objc_protolist", protocol_slot, NULL)) ||
        (rc = each_slot(&w, "__objc_selrefs", selref_slot, NULL)))
        return rc;
    return each_slot(&w, "__objc_protorefs", protocol_ref, NULL);
}

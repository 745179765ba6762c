/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify.c — dsc_verify: extract an image, re-parse the output bytes with
 * our own reader, and count what still depends on the cache.
 *
 * The output is parsed independently of the plan that built it, once, with
 * the one Mach-O reader (base/macho_view.h); its code is read here, its
 * rebases and binds (opcodes or arm64e chained fixups) by fixup_decode.c,
 * its lazy binds by bindinfo.c, its ObjC metadata by objc_verify.c. Pointer locations come
 * from the cache's slide info (the output keeps every vmaddr), so a pointer
 * the extractor forgot still gets looked at.
 *
 *  pointers_outside  a slid slot of the image whose output value leaves the
 *                    image (null is no address) and that no bind covers;
 *  binds_unknown     a bind (not a weak import) whose symbol the dylib its
 *                    ordinal names (or, for special ordinals, any image)
 *                    does not export;
 *  stubs_bad_slot    a stub whose slot is outside the image, not bound, or
 *                    bound to another symbol than the cache stub reached;
 *  branches_outside  a B/BL in code whose target is outside the image;
 *  code_refs_outside an ADD or LDR adding to one page (one ADRP's, or a
 *                    group's whose ADRPs meet at joins; found by register
 *                    data flow over each function, base/a64flow.c),
 *                    an LDR literal or an ADR, addressing outside the image
 *                    (a uniqued GOT chunk, a string in another image);
 *  sel_loads_outside those of them (ADD, ADR) that address a selector string
 *                    outside the image: a string one of the output's selrefs
 *                    names, i.e. a selector load not restored;
 *  relrefs_outside   a Swift 32-bit relative reference (base/relref.h's
 *                    fields) naming a pointer slot outside every image that
 *                    points into one (a coalesced GOT chunk), or an entry
 *                    of __swift5_proto/types/protos leaving the image.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/a64flow.h"
#include "base/bindinfo.h"
#include "base/grow.h"
#include "base/insn.h"
#include "base/ptrfmt.h"
#include "base/relref.h"
#include "base/sized.h"
#include "base/x86.h"
#include "verify/fixup_decode.h"
#include "verify/objc_verify.h"
#include "index/imports.h"
#include "cache/slide.h"
#include "index/stubs.h"
#include "index/symbols.h"

struct out_bind {
    uint64_t address;
    const char *name;
    int ordinal;
    bool weak_import;
};

struct out_file {
    struct dsc_macho mo;             /* the output, read once */
    dsc_span lazy;                   /* LC_DYLD_INFO lazy-bind opcodes, or empty */
    unsigned ptr_size;               /* 8 (MH_MAGIC_64) or 4 */
    struct out_bind *binds;          /* sorted by address */
    size_t nbinds, cap;
    /* chained rebases: address -> target, sorted */
    struct { uint64_t address, target; } *rebases;
    size_t nrebases, rcap;
};

struct vctx {
    const dsc_cache *c;
    uint32_t image;
    struct dsc_symbols *syms;
    struct out_file *o;
    dsc_verify_report *rep;
    const char *path;                /* escaped, for messages */
    const char *who;                 /* "<cache>: <image>: extracted output" */
    dsc_error *err;
};

static int vfail(const struct vctx *v, enum dsc_errcode code, const char *what)
{
    return dsc_fail_code(v->err, code, v->who, "%s", what);
}

/* ---- output parsing ---- */

static int parse_output(struct vctx *v, dsc_span bytes)
{
    struct out_file *o = v->o;
    if (dsc_macho_read_file(bytes, v->who, &o->mo, v->err))
        return -1;
    o->mo.cache = v->c;
    o->mo.image = v->image;
    o->mo.path = v->path;
    o->ptr_size = o->mo.is64 ? 8 : 4;
    for (unsigned i = 0; i < o->mo.nsegs; i++)
        if (o->mo.segs[i].filesize > o->mo.segs[i].vmsize)
            return vfail(v, DSC_ERR_INPUT, "segment out of the file");
    struct dsc_lc lc;
    if (dsc_macho_dyld_info(&o->mo, &lc) > 0 &&
        !span_sub(bytes, dsc_le32(lc.body.data + DYLD_INFO_LAZY_BIND), dsc_le32(lc.body.data + DYLD_INFO_LAZY_BIND + 4),
                  &o->lazy))
        return vfail(v, DSC_ERR_INPUT, "lazy-bind opcodes out of the file");
    return 0;
}

static const struct dsc_segment *seg_of(const struct out_file *o, uint64_t addr)
{
    const struct dsc_segment *segs = o->mo.segs;
    for (unsigned i = 0; i < o->mo.nsegs; i++)
        if (addr >= segs[i].vmaddr && addr - segs[i].vmaddr < segs[i].vmsize &&
            strcmp(segs[i].name, "__LINKEDIT") != 0 && strcmp(segs[i].name, "__PAGEZERO") != 0)
            return &segs[i];
    return NULL;
}

/* `len` output bytes at vmaddr (inside a segment's file bytes), or NULL. */
static const uint8_t *out_at(const struct out_file *o, uint64_t addr, uint64_t len)
{
    const struct dsc_segment *s = seg_of(o, addr);
    if (!s || !dsc_range_ok(s->filesize, addr - s->vmaddr, len))
        return NULL;
    return o->mo.file.data + s->fileoff + (addr - s->vmaddr);
}

static int on_fixup(void *ctx, const struct dsc_decoded_fixup *d)
{
    struct out_file *o = ctx;
    if (d->f.kind == DSC_FIXUP_BIND) {
        if (!DSC_GROW(o->binds, o->nbinds, o->cap, 64))
            return 1;
        o->binds[o->nbinds++] = (struct out_bind){d->f.address, d->name, d->lib_ordinal, d->weak_import};
        return 0;
    }
    if (!DSC_GROW(o->rebases, o->nrebases, o->rcap, 64))
        return 1;
    o->rebases[o->nrebases].address = d->f.address;
    o->rebases[o->nrebases++].target = d->f.target;
    return 0;
}

static int on_lazy_bind(void *ctx, const struct dsc_bind_rec *r)
{
    struct dsc_decoded_fixup d = {.f = {.address = r->address, .kind = DSC_FIXUP_BIND}, .name = r->name,
                                  .lib_ordinal = r->ordinal, .weak_import = r->flags & BIND_SYMBOL_FLAGS_WEAK_IMPORT};
    return on_fixup(ctx, &d);
}

/* fixup_decode reads rebases and binds; lazy binds are walked here. */
static int lazy_binds(struct vctx *v)
{
    struct out_file *o = v->o;
    struct dsc_bind_seg *segs = calloc(o->mo.nsegs ? o->mo.nsegs : 1, sizeof *segs);
    if (!segs)
        return vfail(v, DSC_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < o->mo.nsegs; i++)
        segs[i] = (struct dsc_bind_seg){o->mo.segs[i].vmaddr, o->mo.segs[i].vmsize, o->mo.segs[i].filesize};
    int rc = dsc_bind_walk(o->lazy, segs, o->mo.nsegs, o->ptr_size, true, on_lazy_bind, o, v->who, v->err);
    free(segs);
    return rc > 0 ? vfail(v, DSC_ERR_NOMEM, "out of memory") : rc;
}

static int cmp_bind(const void *a, const void *b)
{
    const struct out_bind *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

static int cmp_rebase(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const struct out_bind *bind_at(const struct out_file *o, uint64_t addr)
{
    struct out_bind key = {addr, NULL, 0, false};
    return o->nbinds ? bsearch(&key, o->binds, o->nbinds, sizeof *o->binds, cmp_bind) : NULL;
}

/* What the output stores at a pointer slot: a rebase's target, else the
 * plain word (a pointer no fixup covers). */
static bool out_pointer(const struct out_file *o, uint64_t addr, uint64_t *target)
{
    const uint64_t *r = o->nrebases ? bsearch(&addr, o->rebases, o->nrebases, sizeof *o->rebases, cmp_rebase) : NULL;
    if (r) {
        *target = r[1] & DSC_TBI_MASK;
        return true;
    }
    const uint8_t *w = out_at(o, addr, o->ptr_size);
    if (w)
        *target = o->ptr_size == 8 ? dsc_le64(w) & DSC_TBI_MASK : dsc_le32(w);
    return w != NULL;
}

/* ---- checks ---- */

static bool in_output_image(const struct out_file *o, uint64_t addr) { return seg_of(o, addr) != NULL; }

static bool bind_known(const struct vctx *v, const struct out_bind *b)
{
    uint32_t ndeps;
    const struct dsc_dep *deps = dsc_symbols_deps(v->syms, v->image, &ndeps);
    if (b->ordinal > 0)
        return (uint32_t)b->ordinal <= ndeps && deps[b->ordinal - 1].image >= 0 &&
               dsc_symbols_lookup(v->syms, (uint32_t)deps[b->ordinal - 1].image, b->name);
    if (b->ordinal == 0)
        return dsc_symbols_find(v->syms, v->image, b->name) != NULL;
    return dsc_symbols_anywhere(v->syms, b->name); /* flat or weak lookup */
}

static int on_slid(void *ctx, const struct dsc_slide_slot *s)
{
    struct vctx *v = ctx;
    const struct out_file *o = v->o;
    if (!s->ptr.is_pointer)
        return 0;
    v->rep->pointers++;
    uint64_t target;
    if (bind_at(o, s->address))
        return 0;
    /* A null the extractor restored (a builder-filled slot the dylib held
     * as zero) depends on nothing. */
    if (!out_pointer(o, s->address, &target) || (target != 0 && !in_output_image(o, target)))
        v->rep->pointers_outside++;
    return 0;
}

static int check_pointers(struct vctx *v)
{
    const dsc_cache *c = v->c;
    struct dsc_macho mo;
    if (dsc_macho_parse(c, v->image, &mo, v->err))
        return -1;
    int rc = 0;
    for (unsigned si = 0; si < mo.nsegs && rc == 0; si++) {
        const struct dsc_segment *seg = &mo.segs[si];
        /* libobjc's __OBJC_RO/__OBJC_RW hold cache tables, not the image's slots */
        if (strcmp(seg->name, "__LINKEDIT") != 0 && !dsc_objc_cache_segment(&mo, seg))
            rc = dsc_slide_walk_range(c, seg->vmaddr, seg->vmaddr + seg->vmsize, on_slid, v, v->err);
    }
    dsc_macho_free(&mo);
    /* A weak import may name a symbol nothing exports: it binds to 0. */
    for (size_t i = 0; i < v->o->nbinds; i++)
        v->rep->binds_unknown_symbol += !v->o->binds[i].weak_import && !bind_known(v, &v->o->binds[i]);
    v->rep->binds = v->o->nbinds;
    return rc;
}

/* A stub is right when it loads its own slot, and that slot is bound to a
 * name the cache stub's function is exported under (or, for a call to the
 * image's own export, rebased to that very function). */
static bool stub_ok(struct vctx *v, uint64_t stub, unsigned size)
{
    const uint8_t *b = out_at(v->o, stub, size);
    enum dsc_arch arch = v->c->info.arch == DSC_ARCH_ARM64E && size == 12 ? DSC_ARCH_ARM64 : v->c->info.arch;
    struct dsc_stub st;
    uint64_t final, first, target;
    if (!b || !dsc_stub_decode(arch, b, size, stub, false, &st) || !st.slot || !in_output_image(v->o, st.slot) ||
        !dsc_stub_follow(v->c, v->syms, stub, &final, &first))
        return false;
    const struct out_bind *bind = bind_at(v->o, st.slot);
    if (!bind) /* only a call to the image's own export may go unbound */
        return out_pointer(v->o, st.slot, &target) && target == final && in_output_image(v->o, final);
    const struct dsc_export *const *at;
    size_t n = dsc_symbols_by_address(v->syms, final, &at);
    for (size_t i = 0; i < n; i++)
        if (strcmp(at[i]->name, bind->name) == 0)
            return true;
    /* A weak import that resolved to nothing reaches 0. */
    return final == 0 && bind->weak_import;
}

/* ---- code references (AArch64) ---- */

/* The output's selector names (what its selrefs point at), sorted. */
struct selnames {
    const char **v;
    size_t n, cap;
};

static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* A NUL-terminated string of the output at addr, or NULL. */
static const char *out_cstr(const struct out_file *o, uint64_t addr)
{
    const struct dsc_segment *s = seg_of(o, addr);
    dsc_span seg;
    const char *str;
    size_t len;
    if (!s || !span_sub(o->mo.file, s->fileoff, s->filesize, &seg) ||
        !span_cstr(seg, addr - s->vmaddr, seg.size - (addr - s->vmaddr), &str, &len))
        return NULL;
    return str;
}

/* Only selref sections whose bytes are in the file, and no more slots in
 * all than the file holds pointers: a section header may claim any size,
 * and any number of them the same bytes (found by fuzz_output: an 8 GiB
 * __objc_selrefs kept verify looping, and its names table growing). */
static bool collect_selnames(const struct out_file *o, struct selnames *sn)
{
    uint64_t budget = o->mo.file.size / o->ptr_size;
    for (unsigned i = 0; i < o->mo.nsects; i++) {
        const struct dsc_section *x = &o->mo.sects[i];
        if (strcmp(x->sectname, "__objc_selrefs") != 0 || !out_at(o, x->addr, x->size) ||
            x->size / o->ptr_size > budget)
            continue;
        budget -= x->size / o->ptr_size;
        for (uint64_t a = x->addr; a + o->ptr_size <= x->addr + x->size; a += o->ptr_size) {
            uint64_t t;
            const char *name = out_pointer(o, a, &t) ? out_cstr(o, t) : NULL;
            if (!name)
                continue;
            if (!DSC_GROW(sn->v, sn->n, sn->cap, 64))
                return false;
            sn->v[sn->n++] = name;
        }
    }
    if (sn->n)
        qsort(sn->v, sn->n, sizeof *sn->v, cmp_name);
    return true;
}

struct coderefs {
    struct vctx *v;
    struct selnames names;
};

/* A reference to `target`, outside the image: a selector load or another. */
static void ref_outside(struct coderefs *cr, uint64_t target, bool string_form)
{
    const char *s;
    if (string_form && cr->names.n && dsc_vm_cstr(cr->v->c, target, 4096, &s) &&
        bsearch(&s, cr->names.v, cr->names.n, sizeof *cr->names.v, cmp_name))
        cr->v->rep->sel_loads_outside++;
    else
        cr->v->rep->code_refs_outside++;
}

static int on_function(void *ctx, const struct dsc_a64_func *f)
{
    struct coderefs *cr = ctx;
    for (uint32_t i = 0; i < f->n; i++) {
        if (f->adrp[i] == DSC_A64_NO_ADRP)
            continue;
        uint32_t w = dsc_le32(f->code + (uint64_t)i * 4), off;
        unsigned rd, rn, size;
        uint64_t page = dsc_a64_adrp_target(dsc_le32(f->code + (uint64_t)f->adrp[i] * 4), f->pc + 4ull * f->adrp[i]);
        bool add = dsc_a64_is_add_imm(w, &rd, &rn, &off);
        if ((add || dsc_a64_is_ldr_imm(w, &rd, &rn, &off, &size)) && !in_output_image(cr->v->o, page + off))
            ref_outside(cr, page + off, add);
    }
    return 0;
}

/* ADRP users, by data flow over the output's functions. */
static int adrp_refs_outside(struct coderefs *cr, const struct dsc_section *s, const uint8_t *code)
{
    const struct out_file *o = cr->v->o;
    const struct dsc_segment *text = dsc_macho_segment(&o->mo, "__TEXT");
    struct dsc_a64_code c = {.bytes = {code, s->size & ~3ull}, .addr = s->addr, .text_addr = text ? text->vmaddr : 0};
    uint32_t off, size;
    if (text && dsc_macho_linkedit_data(&o->mo, LC_FUNCTION_STARTS, &off, &size) > 0)
        span_sub(o->mo.file, off, size, &c.fstarts);
    if (text && dsc_macho_linkedit_data(&o->mo, LC_DATA_IN_CODE, &off, &size) > 0)
        span_sub(o->mo.file, off, size, &c.dic);
    return s->addr % 4 ? 0 : dsc_a64_each_function(&c, on_function, cr);
}

/* LDR literal or ADR addressing outside the image (at *target). */
static bool pc_relative_outside(const struct out_file *o, uint32_t w, uint64_t pc, uint64_t *target)
{
    unsigned rt, size;
    if (dsc_a64_is_ldr_literal(w, &rt, &size))
        *target = dsc_a64_ldr_literal_target(w, pc);
    else if (dsc_a64_is_adr(w))
        *target = dsc_a64_adr_target(w, pc);
    else
        return false;
    return !in_output_image(o, *target);
}

/* x86_64: an instruction whose RIP-relative operand names, outside the
 * image, a pointer to an image of the cache — a uniqued GOT chunk. */
static bool x86_got_load_outside(const struct vctx *v, const uint8_t *p, uint64_t avail, uint64_t pc)
{
    uint64_t slot, target;
    struct dsc_x86_insn insn;
    const struct dsc_map *m;
    return dsc_x86_rip_operand(p, avail, pc, &insn, &slot) && !in_output_image(v->o, slot) &&
           (m = dsc_vm_map(v->c, slot)) &&
           !(m->info.max_prot & 4) && dsc_vm_ptr_target(v->c, slot, &target) &&
           dsc_symbols_image_of(v->syms, target) >= 0;
}

static int check_code(struct vctx *v)
{
    struct dsc_macho mo;
    struct coderefs cr = {v, {0}};
    int rc = 0;
    if (dsc_macho_parse(v->c, v->image, &mo, NULL))
        return 0;
    if (!collect_selnames(v->o, &cr.names))
        rc = -1;
    bool a64 = v->c->info.arch == DSC_ARCH_ARM64 || v->c->info.arch == DSC_ARCH_ARM64E ||
               v->c->info.arch == DSC_ARCH_ARM64_32;
    for (unsigned i = 0; rc == 0 && i < mo.nsects; i++) {
        const struct dsc_section *s = &mo.sects[i];
        if ((s->flags & 0xFF) == S_SYMBOL_STUBS && s->reserved2) {
            for (uint64_t a = s->addr; a + s->reserved2 <= s->addr + s->size; a += s->reserved2) {
                v->rep->stubs++;
                v->rep->stubs_bad_slot += !stub_ok(v, a, s->reserved2);
            }
        } else if (!a64 && (s->flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS))) {
            const uint8_t *code = out_at(v->o, s->addr, s->size);
            for (uint64_t o = 0; code && o < s->size; o++)
                v->rep->code_refs_outside += x86_got_load_outside(v, code + o, s->size - o, s->addr + o);
        } else if (a64 && (s->flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS))) {
            const uint8_t *code = out_at(v->o, s->addr, s->size);
            uint64_t t;
            for (uint64_t o = 0; code && o + 4 <= s->size; o += 4) {
                uint32_t w = dsc_le32(code + o);
                if (dsc_a64_is_branch(w, NULL) && !in_output_image(v->o, dsc_a64_branch_target(w, s->addr + o)))
                    v->rep->branches_outside++;
                else if (pc_relative_outside(v->o, w, s->addr + o, &t))
                    ref_outside(&cr, t, dsc_a64_is_adr(w));
            }
            if (code && adrp_refs_outside(&cr, s, code))
                rc = -1;
        }
    }
    free(cr.names.v);
    dsc_macho_free(&mo);
    return rc;
}

/* A pointer slot no image holds, in a non-executable mapping, pointing
 * into an image: where Apple's builder puts coalesced GOTs. */
static bool coalesced_got(const struct vctx *v, uint64_t slot)
{
    uint64_t target;
    const struct dsc_map *m = dsc_vm_map(v->c, slot);
    return m && !(m->info.max_prot & 4) && dsc_symbols_image_of(v->syms, slot) < 0 &&
           dsc_vm_ptr_target(v->c, slot, &target) && dsc_symbols_image_of(v->syms, target) >= 0;
}

struct relref_walk {
    struct vctx *v;
    bool list; /* every field is a reference that must stay in the image */
};

static int on_relref(void *ctx, uint64_t field, uint64_t target)
{
    struct relref_walk *w = ctx;
    const struct out_file *o = w->v->o;
    uint64_t slot = target & ~(uint64_t)DSC_RELREF_TAG_MASK, value;
    if (in_output_image(o, slot)) {
        w->v->rep->relrefs += w->list || bind_at(o, slot) ||
                              (out_pointer(o, slot, &value) && value && in_output_image(o, value));
        return 0;
    }
    bool outside = w->list || coalesced_got(w->v, slot);
    w->v->rep->relrefs += outside;
    w->v->rep->relrefs_outside += outside;
    (void)field;
    return 0;
}

static void check_relrefs(struct vctx *v)
{
    for (unsigned i = 0; i < v->o->mo.nsects; i++) {
        const struct dsc_section *s = &v->o->mo.sects[i];
        bool symbolic;
        const uint8_t *bytes;
        if (!dsc_relref_section(s->segname, s->sectname, &symbolic) || (s->flags & 0xFF) == S_ZEROFILL ||
            !(bytes = out_at(v->o, s->addr, s->size)))
            continue;
        struct relref_walk w = {v, strcmp(s->sectname, "__swift5_proto") == 0 ||
                                       strcmp(s->sectname, "__swift5_types") == 0 ||
                                       strcmp(s->sectname, "__swift5_protos") == 0};
        dsc_relref_each(bytes, s->size, s->addr, symbolic, on_relref, &w);
    }
    v->rep->checked |= DSC_VERIFY_RELREFS;
}

/* The first dsc_verify_report (0.1.0); later versions only append
 * (base/sized.h). */
#define REPORT_SIZE_0_1_0 (offsetof(dsc_verify_report, relrefs_outside) + sizeof(uint64_t))

static int report_ok(const dsc_cache *cache, const dsc_verify_report *rep, dsc_error *err)
{
    return dsc_sized_check(rep, REPORT_SIZE_0_1_0, "dsc_verify_report", "size", cache->path, err);
}

static void report_out(dsc_verify_report *rep, const dsc_verify_report *full)
{
    dsc_sized_out(rep, full, sizeof *full, REPORT_SIZE_0_1_0);
}

static int verify_output(const dsc_cache *cache, uint32_t image, const uint8_t *data, size_t size,
                         dsc_verify_report *rep, dsc_error *err);

int dsc_verify(const dsc_cache *cache, uint32_t image, dsc_verify_report *rep, dsc_error *err)
{
    if (report_ok(cache, rep, err))
        return -1;
    dsc_verify_report full = {.size = sizeof full, .image = image};
    dsc_output out = {.struct_size = sizeof out};
    int rc = dsc_extract(cache, image, &out, err);
    if (rc == 0) {
        rc = verify_output(cache, image, out.data, out.size, &full, err);
        dsc_output_free(&out);
    }
    report_out(rep, &full);
    return rc;
}

int dsc_verify_output(const dsc_cache *cache, uint32_t image, const uint8_t *data, size_t size,
                      dsc_verify_report *rep, dsc_error *err)
{
    if (report_ok(cache, rep, err))
        return -1;
    dsc_verify_report full = {.size = sizeof full, .image = image};
    int rc = verify_output(cache, image, data, size, &full, err);
    report_out(rep, &full);
    return rc;
}

/* The judgement itself, into a zeroed report of this version. */
static int verify_output(const dsc_cache *cache, uint32_t image, const uint8_t *data, size_t size,
                         dsc_verify_report *rep, dsc_error *err)
{
    if (!dsc_cache_get_image(cache, image))
        return dsc_fail_code(err, DSC_ERR_ARGUMENT, cache->path, "no image %u", image);
    struct out_file o = {0};
    char path[DSC_ERROR_MAX], who[2 * DSC_ERROR_MAX + 32]; /* only messages name the image */
    dsc_path_escape(path, sizeof path, dsc_cache_get_image(cache, image)->path);
    snprintf(who, sizeof who, "%s: %s: extracted output", cache->path, path);
    struct vctx v = {cache, image, NULL, &o, rep, path, who, err};
    int rc = dsc_symbols_open(cache, image, &v.syms, err) || parse_output(&v, (dsc_span){data, size}) ? -1 : 0;
    if (rc == 0) {
        rc = dsc_fixups_decode_macho(&o.mo, v.who, on_fixup, &o, err);
        if (rc > 0)
            rc = vfail(&v, DSC_ERR_NOMEM, "out of memory");
    }
    if (rc == 0 && o.lazy.size)
        rc = lazy_binds(&v);
    if (rc == 0) {
        if (o.nbinds) /* qsort/bsearch want a real array even when empty */
            qsort(o.binds, o.nbinds, sizeof *o.binds, cmp_bind);
        if (o.nrebases)
            qsort(o.rebases, o.nrebases, sizeof *o.rebases, cmp_rebase);
        rc = check_pointers(&v);
    }
    if (rc == 0) {
        rep->checked = DSC_VERIFY_BINDS | DSC_VERIFY_STUBS;
        check_relrefs(&v);
        if (check_code(&v) || dsc_symbols_failed(v.syms))
            rc = vfail(&v, DSC_ERR_NOMEM, "out of memory resolving symbols");
    }
    struct dsc_objc_verify ov;
    dsc_error objc_err;
    if (rc == 0) {
        /* ObjC metadata the walker cannot follow in the file is a finding
         * (counted once), not a failure to verify the rest. */
        bool readable = dsc_objc_verify_macho(&o.mo, NULL, NULL, &ov, &objc_err) == 0;
        rep->selrefs = ov.selrefs;
        rep->selrefs_outside = ov.selrefs_outside;
        rep->method_names_outside = ov.method_names_outside;
        rep->objc_other_outside = ov.strings_outside + ov.protorefs_outside + ov.opt_offsets_outside + !readable;
        rep->checked |= DSC_VERIFY_OBJC;
    }
    dsc_symbols_close(v.syms);
    free(o.binds);
    free(o.rebases);
    dsc_macho_free(&o.mo);
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fixups.c — every pointer slot of every image, resolved ahead of time.
 *
 * Rebase opcodes give slots holding input addresses (moved to their cache
 * addresses); bind, lazy-bind and weak-bind opcodes give slots naming a
 * symbol, which is looked up in the exporting image (following re-exports)
 * and replaced by its cache address, as Apple's builder binds eagerly. A
 * missing weak import becomes 0. On arm64e, slots in __AUTH* segments become
 * authenticated pointers (the inputs carry no PAC data: lld does not emit
 * arm64e auth fixups, so the builder assigns IA for code, DA for data).
 */
#include "bld.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REEXPORT_DEPTH 16

struct ptr_list {
    struct ptr *v;
    size_t n, cap;
};

static void push(struct ptr_list *l, struct ptr p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = p;
}

static int cmp_image_name(const void *a, const void *b)
{
    return strcmp((*(struct image *const *)a)->install_name, (*(struct image *const *)b)->install_name);
}

/* Install name -> image, by binary search over c->by_name. */
static struct image *image_named(struct cache *c, const char *install_name)
{
    struct image key = {.install_name = install_name}, *kp = &key;
    struct image **hit = bsearch(&kp, c->by_name, c->nimages, sizeof *c->by_name, cmp_image_name);
    return hit ? *hit : NULL;
}

static const struct export_sym *find(struct cache *c, struct image *img, const char *name, unsigned depth,
                                     struct image **owner);

static const struct export_sym *find_dep(struct cache *c, struct image *img, uint64_t ordinal, const char *name,
                                         unsigned depth, struct image **owner)
{
    if (ordinal == 0 || ordinal > img->ndeps)
        return NULL;
    struct image *dep = image_named(c, img->deps[ordinal - 1]);
    return dep ? find(c, dep, name, depth + 1, owner) : NULL;
}

/* `name` as exported by `img` or what it re-exports; *owner: the image
 * whose export it is. */
static const struct export_sym *find(struct cache *c, struct image *img, const char *name, unsigned depth,
                                     struct image **owner)
{
    if (depth > MAX_REEXPORT_DEPTH)
        die("%s: re-export chain for %s is too deep", img->in_path, name);
    const struct export_sym *e = image_export(img, name);
    if (e && (e->flags & EXPORT_SYMBOL_FLAGS_REEXPORT))
        return find_dep(c, img, e->other, e->import_name ? e->import_name : name, depth, owner);
    if (e) {
        *owner = img;
        return e;
    }
    for (unsigned i = 0; i < img->ndeps; i++)
        if (img->dep_reexport[i] && (e = find_dep(c, img, i + 1, name, depth, owner)))
            return e;
    return NULL;
}

/* The cache address export `e` of `owner` names. */
static bool export_addr(const struct image *owner, const struct export_sym *e, uint64_t *out)
{
    if (!e)
        return false;
    if ((e->flags & EXPORT_SYMBOL_FLAGS_KIND_MASK) == EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE) {
        *out = e->value;
        return true;
    }
    if (!image_reloc(owner, owner->segs[0].in_addr + e->value, out))
        die("%s: export %s is outside the image", owner->in_path, e->name);
    return true;
}

/* Cache address of `name` as exported by `img` or what it re-exports. */
static bool lookup(struct cache *c, struct image *img, const char *name, unsigned depth, uint64_t *out)
{
    struct image *owner = NULL;
    const struct export_sym *e = find(c, img, name, depth, &owner);
    return export_addr(owner, e, out);
}

static bool lookup_dep(struct cache *c, struct image *img, uint64_t ordinal, const char *name, unsigned depth,
                       uint64_t *out)
{
    struct image *owner = NULL;
    const struct export_sym *e = find_dep(c, img, ordinal, name, depth, &owner);
    return export_addr(owner, e, out);
}

struct bind_state {
    struct cache *c;
    struct image *img;
    struct ptr_list *out;
    int64_t ordinal;
    const char *symbol;
    uint8_t sym_flags;
    int64_t addend;
    unsigned segi;
    uint64_t offset;
    bool weak_table;
    fixups_bind_fn each;    /* fixups_each_bind: report, do not resolve */
    void *ctx;
};

static uint64_t slot_addr(const struct image *img, unsigned segi, uint64_t offset)
{
    if (segi >= img->nsegs || offset >= img->segs[segi].size)
        die("%s: fixup at segment %u offset 0x%llx is outside the segment", img->in_path, segi,
            (unsigned long long)offset);
    return img->segs[segi].addr + offset;
}

static void do_bind(struct bind_state *st)
{
    struct image *img = st->img;
    if (!st->symbol)
        die("%s: bind without a symbol", img->in_path);
    if (st->each) {
        if (st->segi >= img->nsegs || st->offset >= img->segs[st->segi].in_vmsize)
            die("%s: bind at segment %u offset 0x%llx is outside the segment", img->in_path, st->segi,
                (unsigned long long)st->offset);
        st->each(st->ctx, img, img->segs[st->segi].in_addr + st->offset, st->symbol, st->ordinal);
        return;
    }
    uint64_t target = 0;
    bool found;
    if (st->weak_table || st->ordinal == -2) {
        found = false;
        for (size_t i = 0; i < st->c->nimages && !found; i++)
            found = lookup(st->c, &st->c->images[i], st->symbol, 0, &target);
    } else if (st->ordinal == 0) {
        found = lookup(st->c, img, st->symbol, 0, &target);
    } else if (st->ordinal > 0) {
        found = lookup_dep(st->c, img, (uint64_t)st->ordinal, st->symbol, 0, &target);
    } else {
        found = false;
    }
    if (!found) {
        if (st->weak_table)
            return;     /* nobody else defines it: the image's own value stays */
        if (!(st->sym_flags & BIND_SYMBOL_FLAGS_WEAK_IMPORT))
            die("%s: cannot bind %s (ordinal %lld)", img->in_path, st->symbol, (long long)st->ordinal);
        push(st->out, (struct ptr){slot_addr(img, st->segi, st->offset), 0, false, 0, false, 0, true, false});
        return;
    }
    push(st->out, (struct ptr){slot_addr(img, st->segi, st->offset), target + (uint64_t)st->addend, false, 0, false, 0,
                               true, !st->weak_table && st->ordinal > 0 && st->addend == 0});
}

static void run_binds(struct bind_state *st, uint32_t off, uint32_t size, bool lazy)
{
    struct image *img = st->img;
    dsc_span ops;
    if (!size)
        return;
    if (!span_sub(img->file, off, size, &ops))
        die("%s: bind opcodes are out of the file", img->in_path);
    unsigned psz = st->c->ai->ptr_size;
    uint64_t pc = 0, a, b;
    int64_t s;
    const char *name;
    size_t len;
    while (pc < ops.size) {
        uint8_t byte = ops.data[pc++], op = byte & 0xf0, imm = byte & 0x0f;
        bool ok = true;
        switch (op) {
        case 0x00: /* DONE: lazy-bind streams continue with the next entry */
            if (!lazy)
                return;
            break;
        case 0x10: st->ordinal = imm; break;
        case 0x20: ok = span_uleb(ops, &pc, &a); st->ordinal = (int64_t)a; break;
        case 0x30: st->ordinal = imm ? (int8_t)(0xf0 | imm) : 0; break;
        case 0x40:
            ok = span_cstr(ops, pc, ops.size - pc, &name, &len);
            if (ok) {
                st->symbol = name;
                st->sym_flags = imm;
                pc += len + 1;
            }
            break;
        case 0x50: break; /* type: all our slots are pointers */
        case 0x60: ok = span_sleb(ops, &pc, &s); st->addend = s; break;
        case 0x70: ok = span_uleb(ops, &pc, &a); st->segi = imm; st->offset = a; break;
        case 0x80: ok = span_uleb(ops, &pc, &a); st->offset += a; break;
        case 0x90: do_bind(st); st->offset += psz; break;
        case 0xa0: do_bind(st); ok = span_uleb(ops, &pc, &a); st->offset += psz + a; break;
        case 0xb0: do_bind(st); st->offset += psz + (uint64_t)imm * psz; break;
        case 0xc0:
            ok = span_uleb(ops, &pc, &a) && span_uleb(ops, &pc, &b) && a <= 0x100000;
            for (uint64_t i = 0; ok && i < a; i++) {
                do_bind(st);
                st->offset += psz + b;
            }
            break;
        default:
            die("%s: unsupported bind opcode 0x%02x", img->in_path, byte);
        }
        if (!ok)
            die("%s: truncated bind opcodes", img->in_path);
    }
}

static void rebase_one(struct cache *c, struct image *img, unsigned segi, uint64_t offset, struct ptr_list *out)
{
    uint64_t addr = slot_addr(img, segi, offset), value, target;
    const struct seg *sg = &img->segs[segi];
    if (offset + c->ai->ptr_size > sg->in_filesize ||
        !span_ptr(img->file, sg->in_fileoff + offset, c->ai->ptr_size, &value))
        die("%s: rebase at %s+0x%llx is outside the file", img->in_path, sg->name, (unsigned long long)offset);
    if (!image_reloc(img, value, &target))
        die("%s: rebase at %s+0x%llx targets 0x%llx, outside the image", img->in_path, sg->name,
            (unsigned long long)offset, (unsigned long long)value);
    push(out, (struct ptr){addr, target, false, 0, false, 0, false, false});
}

static void run_rebases(struct cache *c, struct image *img, struct ptr_list *out)
{
    dsc_span ops;
    if (!img->rebase_size)
        return;
    if (!span_sub(img->file, img->rebase_off, img->rebase_size, &ops))
        die("%s: rebase opcodes are out of the file", img->in_path);
    unsigned psz = c->ai->ptr_size, segi = 0;
    uint64_t pc = 0, offset = 0, a, b;
    while (pc < ops.size) {
        uint8_t byte = ops.data[pc++], op = byte & 0xf0, imm = byte & 0x0f;
        bool ok = true;
        switch (op) {
        case 0x00: return;
        case 0x10: break;
        case 0x20: ok = span_uleb(ops, &pc, &a); segi = imm; offset = a; break;
        case 0x30: ok = span_uleb(ops, &pc, &a); offset += a; break;
        case 0x40: offset += (uint64_t)imm * psz; break;
        case 0x50:
            for (unsigned i = 0; i < imm; i++, offset += psz)
                rebase_one(c, img, segi, offset, out);
            break;
        case 0x60:
            ok = span_uleb(ops, &pc, &a) && a <= 0x1000000;
            for (uint64_t i = 0; ok && i < a; i++, offset += psz)
                rebase_one(c, img, segi, offset, out);
            break;
        case 0x70:
            ok = span_uleb(ops, &pc, &a);
            rebase_one(c, img, segi, offset, out);
            offset += psz + a;
            break;
        case 0x80:
            ok = span_uleb(ops, &pc, &a) && span_uleb(ops, &pc, &b) && a <= 0x1000000;
            for (uint64_t i = 0; ok && i < a; i++, offset += psz + b)
                rebase_one(c, img, segi, offset, out);
            break;
        default:
            die("%s: unsupported rebase opcode 0x%02x", img->in_path, byte);
        }
        if (!ok)
            die("%s: truncated rebase opcodes", img->in_path);
    }
}

static int cmp_ptr(const void *a, const void *b)
{
    const struct ptr *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void image_sort_ptrs(struct image *img)
{
    if (img->nptrs)
        qsort(img->ptrs, img->nptrs, sizeof *img->ptrs, cmp_ptr);
}

static enum region_kind kind_at(const struct image *img, uint64_t cache_addr)
{
    for (unsigned i = 0; i < img->nsegs; i++)
        if (cache_addr - img->segs[i].addr < img->segs[i].size)
            return img->segs[i].kind;
    return RK_DATA;
}

/* Later fixups of a slot win (binds over rebases); then arm64e auth. */
static void finish(struct cache *c, struct image *img, struct ptr_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        l->v[i].diversity = (uint16_t)i;   /* remember insertion order for the stable pick */
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, cmp_ptr);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (n && l->v[n - 1].addr == l->v[i].addr) {
            if (l->v[i].diversity > l->v[n - 1].diversity)
                l->v[n - 1] = l->v[i];
            continue;
        }
        if (l->v[i].addr % c->ai->ptr_size)
            die("%s: misaligned pointer at 0x%llx", img->in_path, (unsigned long long)l->v[i].addr);
        l->v[n++] = l->v[i];
    }
    bool arm64e = strcmp(c->ai->name, "arm64e") == 0;
    for (size_t i = 0; i < n; i++) {
        struct ptr *p = &l->v[i];
        p->diversity = 0;
        enum region_kind k = kind_at(img, p->addr);
        if (!arm64e || (k != RK_AUTH && k != RK_AUTH_CONST) || p->target == 0)
            continue;
        const struct region *r = region_of(c, p->target);
        bool code = r && r->kind == RK_TEXT;
        p->auth = true;
        p->key = code ? 0 : 2;
        p->addr_div = true;
        p->diversity = (uint16_t)((p->addr >> 3) * 0x9e37u);
        if (got_auth_got_at(img, p->addr)) {
            /* ld64's __auth_got slots: IA, address diversity, discriminator 0
             * (ld64-956.6 stub_arm64e.hpp NonLazyPointerAtom AuthData) */
            p->key = 0;
            p->diversity = 0;
        }
    }
    img->ptrs = l->v;
    img->nptrs = n;
}

/* c->by_name, once. */
static void index_names(struct cache *c)
{
    if (c->by_name)
        return;
    c->by_name = xmalloc(c->nimages * sizeof *c->by_name);
    for (size_t i = 0; i < c->nimages; i++)
        c->by_name[i] = &c->images[i];
    qsort(c->by_name, c->nimages, sizeof *c->by_name, cmp_image_name);
    for (size_t i = 1; i < c->nimages; i++)
        if (cmp_image_name(&c->by_name[i - 1], &c->by_name[i]) == 0)
            die("two inputs have the install name %s", c->by_name[i]->install_name);
}

void fixups_each_bind(struct cache *c, struct image *img, fixups_bind_fn fn, void *ctx)
{
    struct bind_state st = {.c = c, .img = img, .each = fn, .ctx = ctx};
    run_binds(&st, img->bind_off, img->bind_size, false);
}

const struct export_sym *fixups_export(struct cache *c, struct image *img, int64_t ordinal, const char *name,
                                       struct image **owner)
{
    index_names(c);
    if (ordinal == 0)
        return find(c, img, name, 0, owner);
    return ordinal > 0 ? find_dep(c, img, (uint64_t)ordinal, name, 0, owner) : NULL;
}

void fixups_resolve(struct cache *c)
{
    index_names(c);
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        struct ptr_list l = {0};
        run_rebases(c, img, &l);
        struct bind_state st = {.c = c, .img = img, .out = &l};
        run_binds(&st, img->bind_off, img->bind_size, false);
        st = (struct bind_state){.c = c, .img = img, .out = &l};
        run_binds(&st, img->lazy_off, img->lazy_size, true);
        st = (struct bind_state){.c = c, .img = img, .out = &l, .weak_table = true};
        run_binds(&st, img->weak_off, img->weak_size, false);
        finish(c, img, &l);
    }
}

const struct ptr *image_ptr_at(const struct image *img, uint64_t addr)
{
    size_t lo = 0, hi = img->nptrs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->ptrs[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < img->nptrs && img->ptrs[lo].addr == addr ? &img->ptrs[lo] : NULL;
}

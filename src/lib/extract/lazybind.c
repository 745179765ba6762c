/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lazybind.c — restore lazy pointers and the lazy-bind stream. See
 * lazybind.h.
 */
#include "extract/lazybind.h"

#include <stdlib.h>
#include <string.h>

#include "base/bindinfo.h"
#include "base/insn.h"
#include "base/sort.h"
#include "base/x86.h"
#include "extract/weakbind.h"

/* Stub-helper layout: the header (lld's and ld64's StubHelperHeader) and
 * one entry per lazy pointer: arm64 and arm64_32 LDR W16, #8; B header;
 * .long offset. x86_64: PUSH imm32; JMP rel32 header. `field`: where the
 * entry holds its lazy-bind offset. */
struct helper_shape {
    unsigned header, entry, field;
};

static struct helper_shape shape_of(enum dsc_arch arch)
{
    if (arch == DSC_ARCH_X86_64 || arch == DSC_ARCH_X86_64H)
        return (struct helper_shape){16, 10, 1};
    return (struct helper_shape){24, 12, 8};
}

/* True when byte `i` of the helper `h` (at `base`) starts an entry that
 * branches back to the helper's header at `base`; *off: what it pushes. */
static bool entry_at(enum dsc_arch arch, dsc_span h, uint64_t base, uint64_t i, uint32_t *off)
{
    struct helper_shape s = shape_of(arch);
    if (!dsc_range_ok(h.size, i, s.entry))
        return false;
    const uint8_t *e = h.data + i;
    *off = dsc_le32(e + s.field);
    uint32_t pushed;
    uint64_t to;
    if (s.entry == 10)
        return dsc_x86_is_push_jmp(e, s.entry, base + i, &pushed, &to) && to == base;
    bool link;
    uint32_t b = dsc_le32(e + 4);
    return dsc_le32(e) == A64_LDR_W16_LITERAL_8 && dsc_a64_is_branch(b, &link) && !link &&
           dsc_a64_branch_target(b, base + i + 4) == base;
}

/* The helper entry (offset in `h`) that pushes lazy-bind offset `off`, or
 * UINT64_MAX. */
static uint64_t entry_pushing(enum dsc_arch arch, dsc_span h, uint64_t base, uint64_t off)
{
    uint64_t step = shape_of(arch).entry == 10 ? 1 : 4;
    uint32_t got;
    for (uint64_t i = 0; i < h.size; i += step)
        if (entry_at(arch, h, base, i, &got) && got == off)
            return i;
    return UINT64_MAX;
}

/* The fixup at `address`; p->fixups are sorted (dsc_lazy_binds). */
static struct dsc_fixup *fixup_at(struct dsc_plan *p, uint64_t address)
{
    size_t i = dsc_lower_bound(p->fixups, p->nfixups, sizeof *p->fixups, offsetof(struct dsc_fixup, address), address);
    return i < p->nfixups && p->fixups[i].address == address ? &p->fixups[i] : NULL;
}

/* One lazy pointer to restore: its fixup, its helper entry (offset in the
 * helper section) and what it binds. */
struct lazy {
    struct dsc_fixup *f;
    uint64_t entry;
    uint32_t import;
};

/* The lazy pointers the original lazy binds name, each with the helper
 * entry pushing that bind's offset. False: not all of them can be. */
static bool from_stream(struct dsc_plan *p, const struct dsc_imports *im, dsc_span helper, uint64_t base,
                        struct lazy *v, size_t *n, int *rc)
{
    for (size_t i = 0; i < im->nbinds; i++) {
        const struct dsc_orig_bind *ob = &im->binds[i];
        if (!ob->lazy)
            continue;
        const struct dsc_out_segment *seg = plan_segment_at(p, ob->address, p->ptr_size);
        struct dsc_fixup *f = fixup_at(p, ob->address);
        uint64_t entry = entry_pushing(p->cache->info.arch, helper, base, ob->lazy_offset);
        if (!seg || (unsigned)(seg - p->segs) != ob->segment || !f || entry == UINT64_MAX)
            return false;
        uint32_t import;
        if ((*rc = plan_add_import(p, ob->name, ob->ordinal, ob->flags & BIND_SYMBOL_FLAGS_WEAK_IMPORT, &import)))
            return false;
        v[(*n)++] = (struct lazy){f, entry, import};
    }
    return true;
}

/* True for a lazy-pointer slot a linker binds lazily: bound (by pass_binds)
 * without an addend, to something other than a weak definition. */
static bool lazily_bound(const struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_fixup *f)
{
    if (!f || f->kind != DSC_FIXUP_BIND || f->addend)
        return false;
    const struct dsc_import *imp = &p->imports[f->import];
    const struct dsc_export *def = dsc_bound_definition(p, syms, imp->name, imp->lib_ordinal);
    return !def || !(def->flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION);
}

/* Without a stream: the lazily bound pointers in slot order, paired with
 * the helper entries in order, which must fill the helper after its header. */
static bool from_slots(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im,
                       dsc_span helper, uint64_t base, struct lazy *v, size_t *n)
{
    for (size_t i = 0; i < im->count; i++) {
        const struct dsc_indirect *e = &im->entries[i];
        struct dsc_fixup *f = fixup_at(p, e->address);
        if (e->sect_type == S_LAZY_SYMBOL_POINTERS && e->size == p->ptr_size && lazily_bound(p, syms, f))
            v[(*n)++] = (struct lazy){f, 0, f->import};
    }
    struct helper_shape s = shape_of(p->cache->info.arch);
    if (!*n || helper.size != s.header + *n * s.entry)
        return false;
    for (size_t k = 0; k < *n; k++) {
        uint32_t off;
        v[k].entry = s.header + k * s.entry;
        if (!plan_segment_at(p, v[k].f->address, p->ptr_size) ||
            !entry_at(p->cache->info.arch, helper, base, v[k].entry, &off))
            return false;
    }
    return true;
}

/* Lazy-bind entries for `v`, as ld64 and lld write them (lld's
 * LazyBindingSection::encode), each helper entry pushing the offset of its
 * own. */
static int write_stream(struct dsc_plan *p, const struct lazy *v, size_t n, uint64_t base)
{
    struct dsc_blob *b = &p->le.lazy_bind;
    struct helper_shape s = shape_of(p->cache->info.arch);
    for (size_t k = 0; k < n; k++) {
        const struct dsc_out_segment *seg = plan_segment_at(p, v[k].f->address, p->ptr_size);
        const struct dsc_import *imp = &p->imports[v[k].import];
        if (b->size > UINT32_MAX)
            return plan_fail(p, "lazy-bind stream too large");
        uint8_t *field = plan_seg_bytes(p, base + v[k].entry + s.field, 4);
        if (field)
            dsc_put32(field, (uint32_t)b->size);
        else if (p->copy_bytes)
            return plan_fail(p, "stub helper at 0x%llx is out of its segment",
                             (unsigned long long)(base + v[k].entry));
        bool ok = blob_u8(b, BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | (uint8_t)(seg - p->segs)) &&
                  blob_uleb(b, v[k].f->address - seg->vmaddr) && blob_bind_ordinal(b, imp->lib_ordinal) &&
                  blob_u8(b, BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM |
                                 (imp->weak_import ? BIND_SYMBOL_FLAGS_WEAK_IMPORT : 0)) &&
                  blob_add(b, imp->name, strlen(imp->name) + 1) && blob_u8(b, BIND_OPCODE_DO_BIND) &&
                  blob_u8(b, BIND_OPCODE_DONE);
        if (!ok)
            return plan_oom(p);
    }
    /* Padded to pointer size, as the linkers pad it. */
    return blob_align(b, p->ptr_size) ? 0 : plan_oom(p);
}

/* Rebase each lazy pointer to its helper entry and list it in p->lazy. */
static int restore(struct dsc_plan *p, const struct lazy *v, size_t n, uint64_t base)
{
    p->lazy = malloc(n * sizeof *p->lazy);
    if (!p->lazy)
        return plan_oom(p);
    for (size_t k = 0; k < n; k++) {
        struct dsc_fixup *f = v[k].f;
        *f = (struct dsc_fixup){.address = f->address, .kind = DSC_FIXUP_REBASE, .target = base + v[k].entry};
        plan_write_ptr(p, f->address, f->target);
        p->lazy[k] = (struct dsc_lazy_slot){f->address, v[k].import};
    }
    p->nlazy = n; /* in address order: both sources list slots so */
    return 0;
}

int dsc_lazy_binds(struct dsc_plan *p, struct dsc_symbols *syms, const struct dsc_imports *im)
{
    const struct dsc_section *h = dsc_macho_section(&p->mo, "__TEXT", "__stub_helper");
    dsc_span helper;
    if (p->encoding != DSC_ENCODE_OPCODES || !h || !dsc_vm_span(p->cache, h->addr, h->size, &helper))
        return 0;
    if (fixups_sort(p))
        return -1;
    size_t cap = im->nbinds + im->count;
    struct lazy *v = malloc((cap ? cap : 1) * sizeof *v);
    if (!v)
        return plan_oom(p);
    size_t n = 0;
    int rc = 0;
    bool all = im->lazy_stream.size ? from_stream(p, im, helper, h->addr, v, &n, &rc)
                                    : from_slots(p, syms, im, helper, h->addr, v, &n);
    if (rc == 0 && all) {
        if (im->lazy_stream.size)
            rc = blob_add(&p->le.lazy_bind, im->lazy_stream.data, im->lazy_stream.size) ? 0
                                                                                       : plan_oom(p);
        else
            rc = write_stream(p, v, n, h->addr);
        if (rc == 0 && n)
            rc = restore(p, v, n, h->addr);
    }
    free(v);
    return rc;
}

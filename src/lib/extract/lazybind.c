/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lazybind.c — restore lazy pointers and the lazy-bind stream. See
 * lazybind.h.
 */
#include "extract/lazybind.h"

#include <stdlib.h>

#include "base/insn.h"
#include "index/stubs.h"

#define A64_LDR_W16_LITERAL_8 0x18000050u

/* The stub-helper entry that pushes lazy-bind offset `off`, or 0.
 * arm64: LDR W16, #8; B helper-header; .long off. x86_64: PUSH imm32; JMP. */
static uint64_t helper_entry(enum dsc_arch arch, dsc_span h, uint64_t base, uint64_t off)
{
    if (arch == DSC_ARCH_X86_64 || arch == DSC_ARCH_X86_64H) {
        for (uint64_t i = 0; i + 10 <= h.size; i++)
            if (h.data[i] == 0x68 && dsc_le32(h.data + i + 1) == off && h.data[i + 5] == 0xE9)
                return base + i;
        return 0;
    }
    for (uint64_t i = 0; i + 12 <= h.size; i += 4) {
        bool link;
        if (dsc_le32(h.data + i) == A64_LDR_W16_LITERAL_8 && dsc_a64_is_branch(dsc_le32(h.data + i + 4), &link) &&
            !link && dsc_le32(h.data + i + 8) == off)
            return base + i;
    }
    return 0;
}

struct ref {
    uint64_t address;
    size_t index;
};

static int cmp_ref(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

static struct dsc_fixup *fixup_at(struct dsc_plan *p, const struct ref *refs, uint64_t address)
{
    struct ref key = {address, 0};
    const struct ref *r = p->nfixups ? bsearch(&key, refs, p->nfixups, sizeof *refs, cmp_ref) : NULL;
    return r ? &p->fixups[r->index] : NULL;
}

int dsc_lazy_binds(struct dsc_plan *p, const struct dsc_imports *im)
{
    const struct dsc_section *h = dsc_macho_section(&p->mo, "__TEXT", "__stub_helper");
    dsc_span helper;
    if (p->encoding != DSC_ENCODE_OPCODES || !im->lazy_stream.size || !h ||
        !dsc_vm_span(p->cache, h->addr, h->size, &helper))
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < im->nbinds; i++)
        n += im->binds[i].lazy;
    struct lazy { struct dsc_fixup *f; uint64_t entry; } *v = malloc((n ? n : 1) * sizeof *v);
    struct ref *refs = malloc((p->nfixups ? p->nfixups : 1) * sizeof *refs);
    if (!v || !refs) {
        free(v);
        free(refs);
        return plan_oom(p);
    }
    for (size_t i = 0; i < p->nfixups; i++)
        refs[i] = (struct ref){p->fixups[i].address, i};
    if (p->nfixups)
        qsort(refs, p->nfixups, sizeof *refs, cmp_ref);
    size_t k = 0;
    for (size_t i = 0; i < im->nbinds; i++) {
        const struct dsc_orig_bind *ob = &im->binds[i];
        if (!ob->lazy)
            continue;
        const struct dsc_out_segment *seg = plan_segment_at(p, ob->address, p->ptr_size);
        struct dsc_fixup *f = fixup_at(p, refs, ob->address);
        uint64_t entry = helper_entry(p->cache->info.arch, helper, h->addr, ob->lazy_offset);
        if (!seg || (unsigned)(seg - p->segs) != ob->segment || !f || !entry) {
            free(v);
            free(refs);
            return 0;
        }
        v[k++] = (struct lazy){f, entry};
    }
    for (size_t i = 0; i < k; i++) {
        *v[i].f = (struct dsc_fixup){.address = v[i].f->address, .kind = DSC_FIXUP_REBASE, .target = v[i].entry};
        plan_write_ptr(p, v[i].f->address, v[i].entry);
    }
    free(v);
    free(refs);
    return blob_add(&p->le.lazy_bind, im->lazy_stream.data, im->lazy_stream.size) ? 0 : plan_oom(p);
}

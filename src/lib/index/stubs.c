/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stubs.c — stub forms, and following stub chains
 * through the cache. See stubs.h.
 */
#include "index/stubs.h"

#include <string.h>

#include "base/x86.h"
#include "cache/slide.h"
#include "index/symbols.h"

/* ---- stub forms ---- */

unsigned dsc_stub_size(enum dsc_arch arch)
{
    switch (arch) {
    case DSC_ARCH_ARM64:
    case DSC_ARCH_ARM64_32:
        return 12;
    case DSC_ARCH_ARM64E:
        return 16;
    case DSC_ARCH_X86_64:
    case DSC_ARCH_X86_64H:
        return DSC_X86_JMP_RIP_SIZE;
    default:
        return 0;
    }
}

/* ADRP Xr then `second` using Xr: the page plus the LDR/ADD offset. */
static bool adrp_pair(const uint8_t *p, uint64_t pc, unsigned reg, uint64_t *addr, bool *is_add,
                      unsigned *ldr_size)
{
    uint32_t w0 = dsc_le32(p), w1 = dsc_le32(p + 4);
    unsigned rd, rt, rn;
    uint32_t off;
    if (!dsc_a64_is_adrp(w0, &rd) || rd != reg)
        return false;
    uint64_t page = dsc_a64_adrp_target(w0, pc);
    if (dsc_a64_is_add_imm(w1, &rt, &rn, &off) && rt == reg && rn == reg) {
        *is_add = true;
    } else if (dsc_a64_is_ldr_imm(w1, &rt, &rn, &off, ldr_size) && rt == A64_X16 && rn == reg) {
        *is_add = false;
    } else {
        return false;
    }
    *addr = page + off;
    return true;
}

static bool decode_a64(enum dsc_arch arch, const uint8_t *p, size_t len, uint64_t pc, struct dsc_stub *out)
{
    uint64_t addr;
    bool is_add;
    unsigned ldr_size = 0;
    if (len < 12)
        return false;
    if (adrp_pair(p, pc, A64_X16, &addr, &is_add, &ldr_size) && dsc_le32(p + 8) == A64_BR_X16) {
        if (is_add) {
            /* arm64e images may also have plain 12-byte __stubs; the
             * optimised __auth_stubs form ends with BRK #1. */
            bool e = arch == DSC_ARCH_ARM64E && len >= 16 && dsc_le32(p + 12) == A64_BRK_1;
            *out = (struct dsc_stub){e ? DSC_STUB_ARM64E_DIRECT : DSC_STUB_ARM64_DIRECT, e ? 16 : 12, 0, addr};
            return true;
        }
        if (ldr_size != (arch == DSC_ARCH_ARM64_32 ? 4u : 8u))
            return false;
        *out = (struct dsc_stub){arch == DSC_ARCH_ARM64_32 ? DSC_STUB_ARM64_32 : DSC_STUB_ARM64, 12, addr, 0};
        return true;
    }
    if (arch == DSC_ARCH_ARM64E && len >= 16 && adrp_pair(p, pc, A64_X17, &addr, &is_add, &ldr_size) && is_add &&
        dsc_le32(p + 8) == A64_LDR_X16_X17 && dsc_le32(p + 12) == A64_BRAA_X16_X17) {
        *out = (struct dsc_stub){DSC_STUB_ARM64E, 16, addr, 0};
        return true;
    }
    return false;
}

bool dsc_stub_decode(enum dsc_arch arch, const uint8_t *p, size_t len, uint64_t pc, bool islands,
                     struct dsc_stub *out)
{
    memset(out, 0, sizeof *out);
    if (arch == DSC_ARCH_X86_64 || arch == DSC_ARCH_X86_64H) {
        uint64_t slot;
        if (!dsc_x86_is_jmp_rip(p, len, pc, &slot))
            return false;
        *out = (struct dsc_stub){DSC_STUB_X86_64, DSC_X86_JMP_RIP_SIZE, slot, 0};
        return true;
    }
    if (arch != DSC_ARCH_ARM64 && arch != DSC_ARCH_ARM64E && arch != DSC_ARCH_ARM64_32)
        return false;
    if (decode_a64(arch, p, len, pc, out))
        return true;
    bool link;
    if (islands && len >= 4 && dsc_a64_is_branch(dsc_le32(p), &link) && !link) {
        *out = (struct dsc_stub){DSC_STUB_ISLAND, 4, 0, dsc_a64_branch_target(dsc_le32(p), pc)};
        return true;
    }
    return false;
}

bool dsc_stub_encode_form(enum dsc_stub_form form, uint64_t pc, uint64_t addr, uint8_t *out)
{
    uint32_t w[4], lo12 = (uint32_t)(addr & 0xFFF);
    unsigned n = 3;
    bool ok;
    switch (form) {
    case DSC_STUB_ARM64:
    case DSC_STUB_ARM64_32:
        ok = dsc_a64_adrp_encode(A64_X16, pc, addr, &w[0]) &&
             dsc_a64_ldr_imm_encode(form == DSC_STUB_ARM64 ? 8 : 4, A64_X16, A64_X16, lo12, &w[1]);
        w[2] = A64_BR_X16;
        break;
    case DSC_STUB_ARM64_DIRECT:
    case DSC_STUB_ARM64E_DIRECT:
        ok = dsc_a64_adrp_encode(A64_X16, pc, addr, &w[0]) && dsc_a64_add_imm_encode(A64_X16, A64_X16, lo12, &w[1]);
        w[2] = A64_BR_X16;
        w[3] = A64_BRK_1;
        n = form == DSC_STUB_ARM64E_DIRECT ? 4 : 3;
        break;
    case DSC_STUB_ARM64E:
        ok = dsc_a64_adrp_encode(A64_X17, pc, addr, &w[0]) && dsc_a64_add_imm_encode(A64_X17, A64_X17, lo12, &w[1]);
        w[2] = A64_LDR_X16_X17;
        w[3] = A64_BRAA_X16_X17;
        n = 4;
        break;
    case DSC_STUB_X86_64:
        return dsc_x86_jmp_rip_encode(out, pc, addr);
    default:
        return false;
    }
    for (unsigned i = 0; ok && i < n; i++)
        dsc_put32(out + 4 * i, w[i]);
    return ok;
}

bool dsc_stub_encode(enum dsc_arch arch, uint64_t pc, uint64_t slot, uint8_t *out)
{
    switch (arch) {
    case DSC_ARCH_ARM64:
        return dsc_stub_encode_form(DSC_STUB_ARM64, pc, slot, out);
    case DSC_ARCH_ARM64_32:
        return dsc_stub_encode_form(DSC_STUB_ARM64_32, pc, slot, out);
    case DSC_ARCH_ARM64E:
        return dsc_stub_encode_form(DSC_STUB_ARM64E, pc, slot, out);
    case DSC_ARCH_X86_64:
    case DSC_ARCH_X86_64H:
        return dsc_stub_encode_form(DSC_STUB_X86_64, pc, slot, out);
    default:
        return false;
    }
}

/* ---- chains ---- */

/* Branch islands live outside every real image (pools of the dyld-421..655
 * builders, stubs sub-caches) or in pseudo-images named after them. */
static bool islands_at(const dsc_cache *c, struct dsc_symbols *syms, uint64_t addr)
{
    if (!syms)
        return false;
    int64_t image = dsc_symbols_image_of(syms, addr);
    return image < 0 || strstr(dsc_cache_get_image(c, (uint32_t)image)->path, "branch_islands") != NULL;
}

static bool in_executable(const dsc_cache *c, uint64_t addr)
{
    const struct dsc_map *m = dsc_vm_map(c, addr);
    return m && (m->info.max_prot & 4);
}

bool dsc_stub_follow(const dsc_cache *c, struct dsc_symbols *syms, uint64_t addr, uint64_t *final,
                     uint64_t *first_slot)
{
    *first_slot = 0;
    for (unsigned hop = 0; hop < DSC_STUB_MAX_HOPS; hop++) {
        dsc_span s;
        struct dsc_stub st;
        const struct dsc_map *m = dsc_vm_map(c, addr);
        if (!in_executable(c, addr)) {
            *final = addr;
            return m != NULL || addr == 0;
        }
        bool islands = islands_at(c, syms, addr);
        uint64_t avail = m->info.address + m->info.size - addr;
        if (!dsc_vm_span(c, addr, avail < 16 ? avail : 16, &s) ||
            !dsc_stub_decode(c->info.arch, s.data, s.size, addr, islands, &st)) {
            *final = addr;
            return true;
        }
        if (st.slot) {
            if (!*first_slot)
                *first_slot = st.slot;
            if (!dsc_vm_ptr_target(c, st.slot, &addr))
                return false;
        } else {
            addr = st.target;
        }
    }
    return false;
}

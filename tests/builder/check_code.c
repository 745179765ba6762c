/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_code.c — dsccheck: code still reaches what it reached in the input.
 * ADRP+ADD/LDR pairs, LDR-literal/ADR, B/BL (optimised stubs) on arm64*,
 * RIP-relative operands on x86_64 (listed by llvm-objdump), allowing the
 * builder's rewrites: selector loads, GOT twins, direct-form stubs.
 */
#include "check.h"
#include "base/insn.h"
#include "index/stubs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIR_WINDOW 8

/* ADRP + ADD/LDR (64- or 32-bit) pairs: the target the pair computes. */
static bool pair_target(uint32_t adrp, uint32_t next, uint64_t pc, uint64_t *out)
{
    unsigned rd, rt, rn, size;
    uint32_t off;
    if (!dsc_a64_is_adrp(adrp, &rd) || dsc_a64_rn(next) != rd ||
        !(dsc_a64_is_add_imm(next, &rt, &rn, &off) || dsc_a64_is_ldr_imm(next, &rt, &rn, &off, &size)))
        return false;
    *out = dsc_a64_adrp_target(adrp, pc) + off;
    return true;
}

static bool is_add(uint32_t i)
{
    unsigned rd, rn;
    uint32_t imm;
    return dsc_a64_is_add_imm(i, &rd, &rn, &imm);
}

static bool is_ldr_x(uint32_t i)
{
    unsigned rt, rn, size;
    uint32_t off;
    return dsc_a64_is_ldr_imm(i, &rt, &rn, &off, &size) && size == 8;
}

/* A load the input made of `want` now reaches `t` through the ADRP pair
 * whose second word is `second` (dyld-940+): a selector load may become
 * ADRP+ADD of the uniqued string (when `was_load`: the input loaded the
 * selref), a GOT load may read the cache-wide twin. */
static bool rewritten_pair(const struct image *img, uint64_t want, uint64_t t, uint32_t second, bool was_load,
                           struct counts *n)
{
    const struct ptr *p = image_ptr_at(img, want);
    bool add = is_add(second), sel = p && add && was_load && uniqued_selector(p->target, t);
    n->selector_loads += sel;
    /* ADD: ld64's arm64e stub takes the slot's address (got.c redirect_auth_stub) */
    return sel || got_twin(img, want, t, n);
}

/* The verdict on a reference at `at` the input made to `want`: `ok`, and
 * then a slot still holding its pointer when it reaches it unchanged. */
static void judge(const struct image *img, const char *what, uint64_t at, bool ok, uint64_t t, uint64_t want)
{
    if (ok && t == want)
        not_zeroed(img, at, want);
    if (!ok)
        die("%s: %s at 0x%llx reaches 0x%llx, expected 0x%llx", img->cache_path, what, (unsigned long long)at,
            (unsigned long long)t, (unsigned long long)want);
}

/* The pair at `off` in the cache must reach where the input's pair went; an
 * optimised stub may instead reach its slot's final target directly. */
static void check_pairs(const struct image *img, const struct sect *x, const uint8_t *in, dsc_span code,
                        uint64_t addr, struct counts *n)
{
    bool stubs = strcmp(x->name, "__stubs") == 0;
    for (uint64_t off = 0; off + 4 <= x->size; off += 4)
        for (uint64_t k = off + 4; k < off + 4 * PAIR_WINDOW && k + 4 <= x->size; k += 4) {
            uint64_t in_t, t, want;
            if (!pair_target(dsc_le32(in + off), dsc_le32(in + k), x->in_addr + off, &in_t) ||
                !image_reloc(img, in_t, &want))
                continue;
            bool ok = pair_target(dsc_le32(code.data + off), dsc_le32(code.data + k), addr + off, &t);
            if (ok && t != want && stubs && stubs_optimized) {
                const struct ptr *p = image_ptr_at(img, want);
                ok = p && p->target == t && is_add(dsc_le32(code.data + k));
                n->direct_stubs += ok;
            } else if (ok && t != want) {
                ok = rewritten_pair(img, want, t, dsc_le32(code.data + k), is_ldr_x(dsc_le32(in + k)), n);
            }
            judge(img, "ADRP pair", addr + off, ok, t, want);
            n->adrps++;
            break;
        }
}

/* PC-relative LDR (literal) / ADR of the input (lld's optimisation hints):
 * the cache keeps the form with a new offset, or has widened it with the
 * NOP beside it into ADRP + LDR/ADD (possibly a rewritten selector load). */
static bool is_literal(uint32_t i) { return dsc_a64_is_load_literal(i) || dsc_a64_is_adr(i); }

static uint64_t literal_target(uint32_t i, uint64_t pc)
{
    return dsc_a64_is_adr(i) ? dsc_a64_adr_target(i, pc) : dsc_a64_ldr_literal_target(i, pc);
}

static void check_literals(const struct image *img, const struct sect *x, const uint8_t *in, dsc_span code,
                           uint64_t addr, struct counts *n)
{
    for (uint64_t off = 0; off + 4 <= x->size; off += 4) {
        uint32_t ii = dsc_le32(in + off), ci = dsc_le32(code.data + off);
        uint64_t want, t = 0;
        if (!is_literal(ii) || !image_reloc(img, literal_target(ii, x->in_addr + off), &want))
            continue;
        bool ok;
        if (is_literal(ci)) {
            bool same_form = (ci & 0xFF00001Fu) == (ii & 0xFF00001Fu);
            ok = same_form && (t = literal_target(ci, addr + off)) == want;
            if (!ok && same_form)
                ok = got_twin(img, want, t, n);
            /* a selref load may become ADR of the canonical string */
            unsigned rt, size;
            bool adr = dsc_a64_is_adr(ci) && dsc_a64_rd(ci) == dsc_a64_rd(ii) && dsc_a64_is_ldr_literal(ii, &rt, &size) &&
                       size == 8;
            if (!ok && adr) {
                const struct ptr *p = image_ptr_at(img, want);
                t = literal_target(ci, addr + off);
                ok = p && uniqued_selector(p->target, t);
                n->selector_loads += ok;
            }
        } else {
            /* widened: the ADRP is here or in the NOP before */
            uint64_t first = off >= 4 && pair_target(dsc_le32(code.data + off - 4), ci, addr + off - 4, &t) ? off - 4
                                                                                                             : off;
            ok = off + 4 <= x->size && first + 8 <= x->size &&
                 pair_target(dsc_le32(code.data + first), dsc_le32(code.data + first + 4), addr + first, &t);
            if (ok && t != want)
                ok = rewritten_pair(img, want, t, dsc_le32(code.data + first + 4), true, n);
        }
        judge(img, "PC-relative reference", addr + off, ok, t, want);
        n->literals++;
    }
}

static bool is_branch(uint32_t i) { return dsc_a64_is_branch(i, NULL); }

/* B/BL in __text: unchanged, or (optimised stubs) straight to the target
 * of the stub the input called. */
/* Universal caches: a call may go to the stub's copy in a TEXT_STUBS
 * mapping, which must reach the final target directly (customer copies
 * only) or load the image's own slot. */
static bool stub_copy(uint64_t t, uint64_t slot, const struct ptr *p)
{
    const struct dsc_map *m = dsc_vm_map(cache, t);
    dsc_span s;
    struct dsc_stub st;
    if (!m || !(m->info.flags & DSC_MAPPING_TEXT_STUBS) || !dsc_vm_span(cache, t, 12, &s) ||
        !dsc_stub_decode(DSC_ARCH_ARM64, s.data, s.size, t, false, &st))
        return false;
    if (st.form == DSC_STUB_ARM64_DIRECT)
        return universal == UNIVERSAL_CUSTOMER && st.target == p->target;
    return st.form == DSC_STUB_ARM64 && st.slot == slot;
}

static void check_branches(const struct image *img, const struct sect *x, const uint8_t *in, dsc_span code,
                           uint64_t addr, struct counts *n)
{
    const struct sect *st = image_sect(img, "__TEXT", "__stubs");
    for (uint64_t off = 0; off + 4 <= x->size; off += 4) {
        uint32_t ii = dsc_le32(in + off), ci = dsc_le32(code.data + off);
        if (!is_branch(ii))
            continue;
        if (ci == ii)
            continue;
        uint64_t in_t = dsc_a64_branch_target(ii, x->in_addr + off), slot, want;
        uint64_t t = dsc_a64_branch_target(ci, addr + off);
        const uint8_t *stub = in + (in_t - x->in_addr);
        const struct ptr *p = NULL;
        if ((stubs_optimized || universal) && is_branch(ci) && st && in_t - st->in_addr < st->size &&
            pair_target(dsc_le32(stub), dsc_le32(stub + 4), in_t, &slot) && image_reloc(img, slot, &want))
            p = image_ptr_at(img, want);
        bool ok = p && (universal ? stub_copy(t, want, p) : p->target == t);
        if (!ok)
            die("%s: branch at 0x%llx changed to 0x%llx", img->cache_path, (unsigned long long)(addr + off),
                (unsigned long long)t);
        if (universal)
            n->stub_copies++;
        else
            n->direct_calls++;
    }
}

void check_code(struct counts *n)
{
    if (strcmp(bc.ai->name, "x86_64") == 0)
        return;
    /* __auth_stubs: ld64's arm64e stubs (inputs/libauthgot.s) */
    static const char *const code_sections[] = {"__text", "__stubs", "__stub_helper", "__auth_stubs"};
    const size_t ns = sizeof code_sections / sizeof *code_sections;
    for (size_t i = 0; i < bc.nimages * ns; i++) {
        const struct image *img = &bc.images[i / ns];
        const struct sect *x = image_sect(img, "__TEXT", code_sections[i % ns]);
        uint64_t addr;
        if (!x || !image_reloc(img, x->in_addr, &addr))
            continue;
        dsc_span code = vm(addr, x->size, code_sections[i % ns]);
        const uint8_t *in = img->file.data + (x->in_addr - img->segs[0].in_addr);
        check_pairs(img, x, in, code, addr, n);
        check_literals(img, x, in, code, addr, n);
        if (i % ns == 0)
            check_branches(img, x, in, code, addr, n);
    }
}

/* x86_64: RIP-relative operands listed by llvm-objdump (a file of
 * "input-dylib TAB address TAB length TAB displacement" lines, written by
 * the test from `llvm-objdump --macho -d --no-symbolic-operands`) must
 * reach, in the cache, where their input targets went. */
void check_rip_refs(const char *path, const struct manifest *m, struct counts *n)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    if (!f)
        die("%s: cannot open", path);
    while (fgets(line, sizeof line, f)) {
        char *dylib = strtok(line, "\t"), *a = strtok(NULL, "\t"), *l = strtok(NULL, "\t"), *dd = strtok(NULL, "\t\n");
        if (!dylib || !a || !l || !dd)
            die("%s: malformed line", path);
        uint64_t addr = strtoull(a, NULL, 16), len = strtoull(l, NULL, 10);
        int64_t disp = strtoll(dd, NULL, 0);
        for (size_t i = 0; i < m->n; i++) {
            const struct image *img = &bc.images[i];
            uint64_t at, want, fo = addr - img->segs[0].in_addr;
            if (strcmp(m->inputs[i], dylib) != 0 || len < 5 || fo + len > img->segs[0].in_filesize ||
                !image_reloc(img, addr + len + (uint64_t)disp, &want) || !image_reloc(img, addr, &at))
                continue;
            unsigned pos = 0;
            for (unsigned k = 1; k + 4 <= len && !pos; k++)
                if ((int32_t)dsc_le32(img->file.data + fo + k) == (int32_t)disp)
                    pos = k;
            dsc_span insn = vm(at, len, "instruction");
            uint64_t got = at + len + (uint64_t)(int64_t)(int32_t)dsc_le32(insn.data + pos);
            if (!pos || (got != want && !got_twin(img, want, got, n)))
                die("%s: RIP-relative operand at 0x%llx reaches 0x%llx, expected 0x%llx", img->cache_path,
                    (unsigned long long)at, (unsigned long long)got, (unsigned long long)want);
            if (got == want)
                not_zeroed(img, at, want);
            n->rip_refs++;
        }
    }
    fclose(f);
}


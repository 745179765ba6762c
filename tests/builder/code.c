/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * code.c — keep code working after its image's segments moved apart.
 *
 * Apple's builder re-targets code references with LC_SEGMENT_SPLIT_INFO;
 * ld64.lld writes none, so on arm64/arm64e/arm64_32 we find every ADRP in
 * instruction sections and move its page to where the referenced segment
 * went (segments keep their 4 KiB phase, so the paired ADD/LDR low 12 bits
 * stay right). LDR-literal and ADR get a new offset, or, when the target is
 * now beyond +-1 MiB, turn back into ADRP + LDR/ADD over the NOP that
 * lld's optimisation hint left. On x86_64, libdsc's base/x86.c decodes instruction lengths and every
 * RIP-relative disp32 that reaches a moved segment is re-targeted; the
 * decoder must land on every LC_FUNCTION_STARTS entry and skips
 * LC_DATA_IN_CODE ranges, so a desync stops the build instead of
 * corrupting code.
 *
 * With --optimize-stubs (arm64 only), each __stubs entry whose pointer slot
 * was bound to another image becomes the direct form ADRP/ADD/BR of the
 * final target, and BLs in __text to that stub branch straight to the
 * target when it is within +-128 MiB, as dyld-421..9xx production caches do.
 */
#include "bld.h"
#include "base/insn.h"
#include "base/x86.h"
#include "index/stubs.h"

#include <stdlib.h>
#include <string.h>


static const struct seg *in_seg_of(const struct image *img, uint64_t in_addr)
{
    for (unsigned s = 0; s < img->nsegs; s++)
        if (img->segs[s].kind != RK_LINKEDIT && in_addr - img->segs[s].in_addr < img->segs[s].size)
            return &img->segs[s];
    return NULL;
}

/* PC-relative loads (literal) and ADR reach +-1 MiB. ld64.lld turns ADRP
 * pairs into NOP + one of them (linker optimisation hints), so they can
 * point into other segments too. */
static bool is_literal(uint32_t i) { return dsc_a64_is_load_literal(i) || dsc_a64_is_adr(i); }

static uint64_t literal_target(uint32_t i, uint64_t pc)
{
    return dsc_a64_is_adr(i) ? dsc_a64_adr_target(i, pc) : dsc_a64_ldr_literal_target(i, pc);
}

static bool retarget_literal(uint32_t *i, uint64_t pc, uint64_t target)
{
    return dsc_a64_is_adr(*i) ? dsc_a64_adr_encode(dsc_a64_rd(*i), pc, target, i)
                              : dsc_a64_load_literal_retarget(i, pc, target);
}

/* Undo the hint: a literal next to a NOP (before it for LDR, after it for
 * ADR, as lld writes them; either is accepted) becomes ADRP + LDR/ADD of
 * the same register, ADRP first. False for forms with no unsigned-offset
 * twin or without a NOP beside them. */
bool code_widen_literal(uint8_t *code, uint64_t size, uint64_t off, uint64_t pc, uint64_t target)
{
    uint32_t i = dsc_le32(code + off), lo12 = (uint32_t)(target & 0xFFF), second, adrp;
    unsigned reg = dsc_a64_rd(i);
    if (dsc_a64_is_adr(i) ? !dsc_a64_add_imm_encode(reg, reg, lo12, &second)   /* ADD Xd, Xd, #lo12 */
                          : !dsc_a64_ldr_imm_of_literal(i, reg, lo12, &second)) /* LDR/LDRSW Xt, [Xt, #lo12] */
        return false;
    uint64_t first_off;
    if (off >= 4 && dsc_le32(code + off - 4) == A64_NOP)
        first_off = off - 4;
    else if (off + 8 <= size && dsc_le32(code + off + 4) == A64_NOP)
        first_off = off;
    else
        return false;
    if (!dsc_a64_adrp_encode(reg, pc - off + first_off, target, &adrp))
        return false;
    dsc_put32(code + first_off, adrp);
    dsc_put32(code + first_off + 4, second);
    return true;
}

static void fix_literal(const struct image *img, uint8_t *code, uint64_t size, uint64_t off, uint64_t in_pc,
                        uint64_t pc)
{
    uint32_t insn = dsc_le32(code + off);
    uint64_t in_t = literal_target(insn, in_pc);
    const struct seg *s = in_seg_of(img, in_t);
    if (!s)
        return;
    uint64_t t = s->addr + (in_t - s->in_addr);
    if (retarget_literal(&insn, pc, t)) {
        dsc_put32(code + off, insn);
        return;
    }
    if (!code_widen_literal(code, size, off, pc, t))
        die("%s: PC-relative load at 0x%llx cannot reach 0x%llx", img->in_path, (unsigned long long)pc,
            (unsigned long long)t);
}

static void fix_adrps(struct cache *c, const struct image *img, const struct sect *x)
{
    uint64_t cache_addr;
    if (!image_reloc(img, x->in_addr, &cache_addr))
        return;
    uint8_t *code = cache_bytes(c, cache_addr, x->size);
    for (uint64_t off = 0; off + 4 <= x->size; off += 4) {
        uint32_t insn = dsc_le32(code + off);
        uint64_t in_pc = x->in_addr + off, pc = cache_addr + off;
        unsigned rd;
        if (is_literal(insn)) {
            fix_literal(img, code, x->size, off, in_pc, pc);
            if (!dsc_a64_is_adrp(dsc_le32(code + off), NULL))
                continue;
            off += 4;   /* widened in place (ADRP here, its pair next): done with both */
            continue;
        }
        if (!dsc_a64_is_adrp(insn, &rd))
            continue;
        uint64_t in_page = dsc_a64_adrp_target(insn, in_pc);
        const struct seg *s = in_seg_of(img, in_page);
        if (!s)
            continue;   /* not a reference into the image: leave it */
        uint64_t page = s->addr + (in_page - s->in_addr);
        if (!dsc_a64_adrp_encode(rd, pc, page, &insn))
            die("%s: ADRP at 0x%llx cannot reach 0x%llx", img->in_path, (unsigned long long)pc,
                (unsigned long long)page);
        dsc_put32(code + off, insn);
    }
}

/* ---- the only load through an ADRP's register ---- */

#define SOLE_USE_WINDOW 16

static bool ends_live_range(uint32_t i)
{
    return dsc_a64_is_branch(i, NULL) || dsc_a64_is_indirect_branch(i); /* B, BL; BR, BLR, RET and friends */
}

static bool uses_base(uint32_t i, unsigned reg)
{
    return (dsc_a64_is_load_store(i) || dsc_a64_is_add_sub_imm(i)) && dsc_a64_rn(i) == reg;
}

long arm64_sole_load(const uint8_t *code, uint64_t size, uint64_t at, unsigned load_size)
{
    unsigned reg = dsc_a64_rd(dsc_le32(code + at)), rd;
    long found = -1;
    for (uint64_t k = at + 4; k < size && k < at + 4 * SOLE_USE_WINDOW; k += 4) {
        uint32_t i = dsc_le32(code + k), off;
        unsigned rt, rn, sz;
        if (uses_base(i, reg)) {
            if (found >= 0 || !dsc_a64_is_ldr_imm(i, &rt, &rn, &off, &sz) || sz != load_size)
                return -1;
            found = (long)k;
            if (rt == reg)
                return found;   /* the load overwrites the register: the ADRP's value ends here */
        }
        if (ends_live_range(i) || (dsc_a64_is_adrp(i, &rd) && rd == reg))
            return found;
    }
    return -1;
}

/* ---- x86_64 RIP-relative operands ---- */

/* Input addresses of function starts (sorted: the table is ascending). */
static uint64_t *function_starts(const struct image *img, size_t *count)
{
    dsc_span fs;
    uint64_t *v = NULL, addr = img->segs[0].in_addr, delta, off = 0;
    size_t n = 0;
    if (!img->fstarts_size || !span_sub(img->file, img->fstarts_off, img->fstarts_size, &fs)) {
        *count = 0;
        return NULL;
    }
    while (off < fs.size && span_uleb(fs, &off, &delta) && delta) {
        addr += delta;
        v = xrealloc(v, (n + 1) * sizeof *v);
        v[n++] = addr;
    }
    *count = n;
    return v;
}

/* Bytes from input address `a` that are data in code, or 0. */
static uint64_t data_in_code_at(const struct image *img, uint64_t a)
{
    dsc_span dic;
    if (!img->dic_size || !span_sub(img->file, img->dic_off, img->dic_size, &dic))
        return 0;
    for (uint64_t off = 0; off + 8 <= dic.size; off += 8)
        if (img->segs[0].in_addr + dsc_le32(dic.data + off) == a)
            return dsc_le16(dic.data + off + 4);
    return 0;
}

void x86_each_rip(struct cache *c, const struct image *img, const struct sect *x, x86_rip_fn fn, void *ctx)
{
    uint64_t cache_addr;
    if (!image_reloc(img, x->in_addr, &cache_addr))
        return;
    uint8_t *code = cache_bytes(c, cache_addr, x->size);
    size_t nstarts, next = 0;
    uint64_t *starts = function_starts(img, &nstarts);
    for (uint64_t off = 0; off < x->size;) {
        uint64_t in_pc = x->in_addr + off, skip = data_in_code_at(img, in_pc);
        while (next < nstarts && starts[next] < x->in_addr)
            next++;
        if (next < nstarts && starts[next] == in_pc)
            next++;     /* on a function boundary, as we should be */
        else if (next < nstarts && starts[next] < in_pc)
            die("%s: x86 decoding lost step before function 0x%llx", img->in_path,
                (unsigned long long)starts[next]);
        if (skip) {
            off += skip;
            continue;
        }
        struct dsc_x86_insn insn;
        if (!dsc_x86_decode(code + off, x->size - off, &insn))
            die("%s: unknown x86 instruction at 0x%llx (%02x %02x %02x)", img->in_path, (unsigned long long)in_pc,
                code[off], off + 1 < x->size ? code[off + 1] : 0, off + 2 < x->size ? code[off + 2] : 0);
        uint64_t pc = cache_addr + off, target, to;
        if (dsc_x86_rip_operand(code + off, x->size - off, pc, &insn, &target) &&
            fn(ctx, img, in_pc + (target - pc), target, &to) && !dsc_x86_rip_encode(code + off, pc, &insn, to))
            die("%s: RIP-relative operand at 0x%llx cannot reach 0x%llx", img->in_path, (unsigned long long)pc,
                (unsigned long long)to);
        off += insn.length;
    }
    free(starts);
}

/* The operand's input target moved with its segment. */
static bool move_rip_operand(void *ctx, const struct image *img, uint64_t in_target, uint64_t target, uint64_t *to)
{
    (void)ctx;
    (void)target;
    const struct seg *s = in_seg_of(img, in_target);
    if (!s)
        return false;
    *to = s->addr + (in_target - s->in_addr);
    return true;
}

/* ---- stub optimisation (arm64) ---- */

static bool in_image_text(const struct image *img, uint64_t addr)
{
    return addr - img->segs[0].addr < img->segs[0].size;
}

/* Rewrite one 12-byte ADRP/LDR/BR stub; returns its final target or 0. */
static uint64_t optimize_stub(const struct image *img, uint8_t *stub, uint64_t stub_addr)
{
    struct dsc_stub st;
    if (!dsc_stub_decode(DSC_ARCH_ARM64, stub, 12, stub_addr, false, &st) || st.form != DSC_STUB_ARM64)
        return 0;
    const struct ptr *p = image_ptr_at(img, st.slot);
    if (!p || !p->target || in_image_text(img, p->target) ||
        !dsc_stub_encode_form(DSC_STUB_ARM64_DIRECT, stub_addr, p->target, stub))
        return 0;
    return p->target;
}

unsigned redirect_text_branches(struct cache *c, const struct image *img, branch_aim_fn aim, void *ctx,
                                bool must_reach)
{
    const struct sect *text = image_sect(img, "__TEXT", "__text");
    uint64_t taddr;
    unsigned n = 0;
    if (!text || !image_reloc(img, text->in_addr, &taddr))
        return 0;
    uint8_t *code = cache_bytes(c, taddr, text->size);
    for (uint64_t off = 0; off + 4 <= text->size; off += 4) {
        uint32_t insn = dsc_le32(code + off);
        uint64_t pc = taddr + off, to;
        bool link;
        if (!dsc_a64_is_branch(insn, &link) || !aim(ctx, dsc_a64_branch_target(insn, pc), &to))
            continue;
        if (!dsc_a64_branch_encode(pc, to, link, &insn)) {
            if (must_reach)
                die("%s: branch at 0x%llx cannot reach 0x%llx", img->in_path, (unsigned long long)pc,
                    (unsigned long long)to);
            continue;
        }
        dsc_put32(code + off, insn);
        n++;
    }
    return n;
}

/* The image's optimised stubs: where each one now branches (0: not). */
struct stub_targets {
    uint64_t addr, count;
    const uint64_t *target;
};

static bool to_stub_target(void *ctx, uint64_t target, uint64_t *to)
{
    const struct stub_targets *st = ctx;
    uint64_t off = target - st->addr;
    if (off >= st->count * 12 || off % 12 || !st->target[off / 12])
        return false;
    *to = st->target[off / 12];
    return true;
}

static void optimize_stubs(struct cache *c, const struct image *img, unsigned *count)
{
    const struct sect *stubs = image_sect(img, "__TEXT", "__stubs");
    uint64_t saddr;
    if (!stubs || !image_sect(img, "__TEXT", "__text") || (stubs->flags & 0xff) != S_SYMBOL_STUBS ||
        stubs->reserved2 != 12 || !image_reloc(img, stubs->in_addr, &saddr))
        return;
    uint64_t nstubs = stubs->size / 12;
    uint64_t *targets = xcalloc(nstubs, sizeof *targets);
    uint8_t *sbytes = cache_bytes(c, saddr, stubs->size);
    for (uint64_t i = 0; i < nstubs; i++)
        targets[i] = optimize_stub(img, sbytes + i * 12, saddr + i * 12);
    struct stub_targets st = {saddr, nstubs, targets};
    *count += redirect_text_branches(c, img, to_stub_target, &st, false);
    free(targets);
}

void code_fix(struct cache *c)
{
    bool x86 = strcmp(c->ai->name, "x86_64") == 0;
    unsigned redirected = 0;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        for (unsigned k = 0; k < img->nsects; k++) {
            const struct sect *x = &img->sects[k];
            if (img->segs[x->segi].kind != RK_TEXT ||
                !(x->flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS)))
                continue;
            if (x86)
                x86_each_rip(c, img, x, move_rip_operand, NULL);
            else
                fix_adrps(c, img, x);
        }
        if (c->opt.optimize_stubs)
            optimize_stubs(c, img, &redirected);
    }
    c->stats_redirected = redirected;
}

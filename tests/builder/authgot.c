/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authgot.c — `authgot DYLIB`: turn ld64.lld-19's link of
 * inputs/libauthgot.s (arm64e) into what ld64 writes for calls to other
 * dylibs on arm64e (ld64-956.6 src/ld/passes/stubs/stub_arm64e.hpp
 * NonLazyStubAtom/NonLazyPointerAtom; Options.cpp renames __DATA,__auth_got
 * to __DATA_CONST and ld.cpp moves it on to __AUTH_CONST), in place:
 *   - the segment __DATA_CONST holding only __got (S_NON_LAZY_SYMBOL_POINTERS,
 *     its indirect-symbol entries, non-lazy binds) becomes __AUTH_CONST
 *     with the section __auth_got;
 *   - __TEXT,__auth_stubs (written as GOT loads: ADRP X17 / LDR X16, [X17,
 *     #slot] / NOP / BRAA X16, X17) becomes S_SYMBOL_STUBS of 16-byte stubs
 *     ADRP X17 / ADD X17, X17, #slot / LDR X16, [X17] / BRAA X16, X17,
 *     stub i for slot i (lld orders the GOT its own way; B/BL into the
 *     stubs are re-aimed to follow), with indirect-symbol entries of their
 *     own (a copy of the slots', inserted after the table: LINKEDIT after
 *     it moves, the only bytes that move);
 *   - the file is signed again as ld64 signs it (base/codesign.c).
 * Pointer authentication data is not in the file (lld writes opcode fixups):
 * the cache builder signs __auth_got slots as ld64 does (fixups.c).
 * Exit 1 with one line when the dylib is not shaped as expected.
 */
#include "base/insn.h"
#include "postlink.h"

#include <stdlib.h>
#include <string.h>

#define SECT64_SIZE 80u         /* struct section_64 */
#define SEG64_SIZE 72u          /* struct segment_command_64 */
#define STUB_SIZE 16u


/* The section_64 header of section `k` in the file's bytes. */
static uint8_t *sect_header(uint8_t *file, const struct dsc_macho *mo, unsigned k)
{
    const struct dsc_section *s = &mo->sects[k];
    const struct dsc_segment *g = &mo->segs[s->segment];
    return file + mo->header_size + g->cmd_offset + SEG64_SIZE + SECT64_SIZE * (k - g->first_section);
}

static void set_name(uint8_t *field, const char *name)
{
    memset(field, 0, 16);
    memcpy(field, name, strlen(name));
}

/* __DATA_CONST with only __got becomes __AUTH_CONST,__auth_got. */
static const struct dsc_section *rename_got(uint8_t *file, const struct dsc_macho *mo)
{
    const struct dsc_section *got = dsc_macho_section(mo, "__DATA_CONST", "__got");
    if (!got || (got->flags & 0xff) != S_NON_LAZY_SYMBOL_POINTERS || mo->segs[got->segment].nsects != 1 ||
        got->size % 8)
        postlink_fail("no __DATA_CONST segment holding only a __got section");
    set_name(file + mo->header_size + mo->segs[got->segment].cmd_offset + 8, "__AUTH_CONST");
    uint8_t *h = sect_header(file, mo, (unsigned)(got - mo->sects));
    set_name(h, "__auth_got");
    set_name(h + 16, "__AUTH_CONST");
    return got;
}

/* The __got slot the GOT-load stub at `w` (address `pc`) loads, as an index. */
static uint64_t stub_slot(const uint8_t *w, uint64_t pc, const struct dsc_section *got)
{
    unsigned rd, rt, rn, size;
    uint32_t off;
    if (!dsc_a64_is_adrp(dsc_le32(w), &rd) || rd != A64_X17 ||
        !dsc_a64_is_ldr_imm(dsc_le32(w + 4), &rt, &rn, &off, &size) || rt != A64_X16 || rn != A64_X17 ||
        size != 8 || dsc_le32(w + 8) != A64_NOP || dsc_le32(w + 12) != A64_BRAA_X16_X17)
        postlink_fail("a stub is not ADRP X17 / LDR X16, [X17, #off] / NOP / BRAA X16, X17");
    uint64_t slot = dsc_a64_adrp_target(dsc_le32(w), pc) + off;
    if (slot - got->addr >= got->size || slot % 8)
        postlink_fail("a stub loads no __got slot");
    return (slot - got->addr) / 8;
}

/* B/BL of other code into the stubs follow each stub's slot to its new place. */
static void retarget_calls(uint8_t *file, const struct dsc_macho *mo, const struct dsc_section *st,
                           const uint64_t *slot_of)
{
    for (unsigned k = 0; k < mo->nsects; k++) {
        const struct dsc_section *s = &mo->sects[k];
        if (s == st || !(s->flags & S_ATTR_PURE_INSTRUCTIONS) || (uint64_t)s->offset + s->size > mo->file.size)
            continue;
        for (uint64_t o = 0; o + 4 <= s->size; o += 4) {
            uint8_t *w = file + s->offset + o;
            uint32_t i = dsc_le32(w);
            bool link;
            uint64_t to;
            if (!dsc_a64_is_branch(i, &link) || (to = dsc_a64_branch_target(i, s->addr + o) - st->addr) >= st->size)
                continue;
            if (to % STUB_SIZE ||
                !dsc_a64_branch_encode(s->addr + o, st->addr + slot_of[to / STUB_SIZE] * STUB_SIZE, link, &i))
                postlink_fail("a branch into __auth_stubs cannot be re-aimed");
            dsc_put32(w, i);
        }
    }
}

/* The GOT-load stubs become ld64's authenticated stubs, stub i of slot i
 * (lld lays the GOT out in its own order; the calls follow). */
static void make_stubs(uint8_t *file, const struct dsc_macho *mo, const struct dsc_section *got, uint32_t first)
{
    const struct dsc_section *st = dsc_macho_section(mo, "__TEXT", "__auth_stubs");
    uint64_t n = got->size / 8;
    if (!st || st->size != n * STUB_SIZE || (uint64_t)st->offset + st->size > mo->file.size)
        postlink_fail("__TEXT,__auth_stubs missing or not one 16-byte stub per __got slot");
    uint64_t *slot_of = calloc(n ? n : 1, sizeof *slot_of);
    bool *seen = calloc(n ? n : 1, sizeof *seen);
    if (!slot_of || !seen)
        postlink_fail("out of memory");
    for (uint64_t j = 0; j < n; j++) {
        slot_of[j] = stub_slot(file + st->offset + j * STUB_SIZE, st->addr + j * STUB_SIZE, got);
        if (seen[slot_of[j]])
            postlink_fail("two stubs load one __got slot");
        seen[slot_of[j]] = true;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *w = file + st->offset + i * STUB_SIZE;
        uint64_t pc = st->addr + i * STUB_SIZE, slot = got->addr + 8 * i;
        uint32_t words[4] = {0, 0, A64_LDR_X16_X17, A64_BRAA_X16_X17};
        if (!dsc_a64_adrp_encode(A64_X17, pc, slot, &words[0]) ||
            !dsc_a64_add_imm_encode(A64_X17, A64_X17, (uint32_t)(slot & 0xFFF), &words[1]))
            postlink_fail("cannot encode a stub");
        for (unsigned k = 0; k < 4; k++)
            dsc_put32(w + 4 * k, words[k]);
    }
    retarget_calls(file, mo, st, slot_of);
    free(slot_of);
    free(seen);
    uint8_t *h = sect_header(file, mo, (unsigned)(st - mo->sects));
    dsc_put32(h + 64, S_SYMBOL_STUBS | S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS);
    dsc_put32(h + 68, first);   /* the entries grow_and_sign adds */
    dsc_put32(h + 72, STUB_SIZE);
}

/* Load-command fields holding LINKEDIT offsets, each moved by `shift` when
 * at or past `at` (0 means absent and stays). */
static void move_field(uint8_t *f, uint32_t at, uint32_t shift)
{
    uint32_t v = dsc_le32(f);
    if (v && v >= at)
        dsc_put32(f, v + shift);
}

static void move_offsets(uint8_t *file, const struct dsc_macho *mo, uint32_t at, uint32_t shift)
{
    static const unsigned dyld_info[] = {DYLD_INFO_REBASE, DYLD_INFO_BIND, DYLD_INFO_WEAK_BIND, DYLD_INFO_LAZY_BIND,
                                         DYLD_INFO_EXPORT};
    uint64_t cursor = 0;
    struct dsc_lc lc;
    while (dsc_lc_next(mo, &cursor, &lc)) {
        uint8_t *c = file + mo->header_size + lc.offset;
        switch (lc.cmd) {
        case LC_SYMTAB:
            move_field(c + SYMTAB_SYMOFF, at, shift);
            move_field(c + SYMTAB_STROFF, at, shift);
            break;
        case LC_DYLD_INFO_ONLY:
            for (unsigned k = 0; k < sizeof dyld_info / sizeof *dyld_info; k++)
                move_field(c + dyld_info[k], at, shift);
            break;
        case LC_FUNCTION_STARTS:
        case LC_DATA_IN_CODE:
        case LC_DYLD_EXPORTS_TRIE:
            move_field(c + LINKEDIT_DATAOFF, at, shift);
            break;
        case LC_DYSYMTAB:
        case LC_CODE_SIGNATURE:
        case LC_SEGMENT_64:
            break;
        default:
            if (lc.cmd == LC_DYLD_CHAINED_FIXUPS || lc.cmd == LC_SEGMENT_SPLIT_INFO || lc.cmd == LC_DYLD_INFO)
                postlink_fail("unexpected LINKEDIT command");
        }
    }
}

/* The stubs get indirect-symbol entries of their own (a copy of the GOT's,
 * ld64 writes one per stub and one per slot): inserted after the table,
 * later LINKEDIT moved by 16-byte steps. The file is then signed again, as
 * ld64 signs (base/codesign.c), in place of lld's signature. */
static uint8_t *grow_and_sign(uint8_t *file, uint64_t *size, const struct dsc_macho *mo,
                              const struct dsc_section *got)
{
    struct dsc_dysymtab_cmd dy;
    struct dsc_lc dylc, sig;
    uint32_t sig_off, sig_size, n = (uint32_t)(got->size / 8);
    const struct dsc_segment *le = dsc_macho_segment(mo, "__LINKEDIT");
    if (dsc_macho_dysymtab(mo, &dy) <= 0 || !dsc_lc_find(mo, LC_DYSYMTAB, &dylc) || !le ||
        dsc_macho_linkedit_data(mo, LC_CODE_SIGNATURE, &sig_off, &sig_size) <= 0 ||
        !dsc_lc_find(mo, LC_CODE_SIGNATURE, &sig) || (uint64_t)sig_off + sig_size != *size ||
        le->fileoff + le->filesize != *size || (uint64_t)got->reserved1 + n > dy.nindirectsyms)
        postlink_fail("LINKEDIT not laid out as ld64.lld-19 writes it (indirect table, signature last)");
    uint32_t at = dy.indirectsymoff + 4 * dy.nindirectsyms, shift = (4 * n + 15) & ~15u;
    struct dsc_codesign cs = postlink_signer(mo, sig_off + shift);
    uint64_t code_limit = cs.code_limit, total = code_limit + dsc_codesign_size(&cs);
    uint8_t *out = calloc(1, total);
    if (!out)
        postlink_fail("out of memory");
    memcpy(out, file, at);
    memcpy(out + at, file + dy.indirectsymoff + 4 * (uint64_t)got->reserved1, 4 * n);
    memcpy(out + at + shift, file + at, sig_off - at);
    move_offsets(out, mo, at, shift);
    dsc_put32(out + mo->header_size + dylc.offset + DYSYMTAB_NINDIRECTSYMS, dy.nindirectsyms + n);
    postlink_seal(out, mo, total, &sig, &cs);
    *size = total;
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: authgot DYLIB\n");
        return 2;
    }
    struct postlink pl;
    postlink_open(&pl, "authgot", argv[1]);
    if (pl.mo.cputype != CPU_TYPE_ARM64 || !pl.mo.is64)
        postlink_fail("not an arm64e dylib");
    struct dsc_dysymtab_cmd dy;
    if (dsc_macho_dysymtab(&pl.mo, &dy) <= 0)
        postlink_fail("no LC_DYSYMTAB");
    const struct dsc_section *got = rename_got(pl.file, &pl.mo);
    make_stubs(pl.file, &pl.mo, got, dy.nindirectsyms);
    uint64_t size = pl.size;
    uint8_t *out = grow_and_sign(pl.file, &size, &pl.mo, got);
    postlink_close(&pl, out, size);
    free(out);
    return 0;
}

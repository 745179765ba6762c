/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fvfixups.c — `fvfixups DYLIB SLOT DEFAULT IMPL`: give an ld64.lld-19
 * dylib what ld64 writes for a function with variants that is not
 * exported and whose address is stored in data (dyld-1378
 * mach_o/FunctionVariants.h, FunctionVariantFixups): the pointer at symbol
 * SLOT stays a rebase to DEFAULT, and
 *   - LC_FUNCTION_VARIANTS names a FunctionVariants blob (u32 tableCount,
 *     u32 tableOffsets[], then per table {u32 kind, u32 count, entries
 *     {impl:31 anotherTable:1, u8 flagBitNums[4]}}): one table of kind
 *     arm64 (3) or x86_64 (4), IMPL under flag bit 1, then DEFAULT, with
 *     no flags (dyld requires the default last); offsets from the
 *     mach_header;
 *   - LC_FUNCTION_VARIANT_FIXUPS names one InternalFixup {u32 segOffset;
 *     segIndex:4, variantIndex:8, pacAuth:1, pacAddress:1, pacKey:2,
 *     pacDiversity:16}: SLOT's segment and offset, table 0, not signed.
 * Both blobs go at the end of LINKEDIT before the code signature, both
 * commands (linkedit_data_command, 16 bytes) after the others, in the
 * header padding; a signed file is signed again (base/codesign.c).
 * ld64.lld-19 writes neither command. SLOT, DEFAULT and IMPL are nlist
 * names (locals too). Exit 1 with one line when the dylib is not shaped
 * as expected.
 */
#include "postlink.h"

#include <stdlib.h>
#include <string.h>

#define FV_KIND_ARM64 3u
#define FV_KIND_X86_64 4u
#define FV_FLAG_BIT 1u
#define FV_BLOB_SIZE 32u        /* one table of two entries */
#define FIXUPS_BLOB_SIZE 8u     /* one InternalFixup */


/* The address of the nlist named `name`. */
static uint64_t symbol(const struct dsc_macho *mo, const char *name)
{
    struct dsc_symtab_cmd st;
    dsc_span syms, strs;
    unsigned nl = mo->is64 ? NLIST_SIZE_64 : NLIST_SIZE;
    if (dsc_macho_symtab(mo, &st) <= 0 || !span_sub(mo->file, st.symoff, (uint64_t)st.nsyms * nl, &syms) ||
        !span_sub(mo->file, st.stroff, st.strsize, &strs))
        postlink_fail("no symbol table");
    for (uint32_t i = 0; i < st.nsyms; i++) {
        const uint8_t *e = syms.data + (uint64_t)i * nl;
        const char *s;
        if ((e[4] & N_TYPE_MASK) == N_SECT && span_cstr(strs, dsc_le32(e), strs.size, &s, NULL) &&
            strcmp(s, name) == 0)
            return mo->is64 ? dsc_le64(e + 8) : dsc_le32(e + 8);
    }
    postlink_fail("SLOT, DEFAULT or IMPL names no symbol defined here");
}

/* The two blobs, for the file's mach_header at `base`. */
static void blobs(const struct dsc_macho *mo, uint64_t slot, uint64_t def, uint64_t impl, uint8_t *fv, uint8_t *fx)
{
    uint64_t base = mo->segs[0].vmaddr;
    unsigned segi = mo->nsegs;
    for (unsigned i = 0; i < mo->nsegs; i++)
        if (slot - mo->segs[i].vmaddr < mo->segs[i].vmsize)
            segi = i;
    if (segi >= 16 || def - base > 0x7fffffff || impl - base > 0x7fffffff || mo->segs[0].fileoff != 0)
        postlink_fail("SLOT, DEFAULT or IMPL is not where a FunctionVariants table can name it");
    dsc_put32(fv, 1);            /* tableCount */
    dsc_put32(fv + 4, 8);        /* tableOffsets[0] */
    dsc_put32(fv + 8, mo->cputype == CPU_TYPE_X86_64 ? FV_KIND_X86_64 : FV_KIND_ARM64);
    dsc_put32(fv + 12, 2);       /* count */
    dsc_put32(fv + 16, (uint32_t)(impl - base));
    dsc_put32(fv + 20, FV_FLAG_BIT);
    dsc_put32(fv + 24, (uint32_t)(def - base));
    dsc_put32(fv + 28, 0);
    dsc_put32(fx, (uint32_t)(slot - mo->segs[segi].vmaddr));
    dsc_put32(fx + 4, segi);     /* variantIndex 0, no pointer authentication */
}

static void put_command(uint8_t *lc, uint32_t cmd, uint32_t off, uint32_t size)
{
    dsc_put32(lc, cmd);
    dsc_put32(lc + 4, 16);
    dsc_put32(lc + 8, off);
    dsc_put32(lc + 12, size);
}

/* The blobs where the signature was (or at the end: x86_64 outputs of
 * ld64.lld-19 are not signed), the signature after them, the two commands
 * after the others. */
static uint8_t *rewrite(const uint8_t *file, uint64_t *size, const struct dsc_macho *mo, const uint8_t *fv,
                        const uint8_t *fx)
{
    struct dsc_lc sig = {0};
    uint32_t sig_off = (uint32_t)*size, sig_size = 0;
    const struct dsc_segment *le = dsc_macho_segment(mo, "__LINKEDIT");
    bool signed_in = dsc_lc_find(mo, LC_CODE_SIGNATURE, &sig);
    uint64_t room = UINT64_MAX;
    for (unsigned i = 0; i < mo->nsects; i++)
        if (mo->sects[i].segment == 0 && mo->sects[i].offset && mo->sects[i].offset < room)
            room = mo->sects[i].offset;
    if (!le || (signed_in && dsc_macho_linkedit_data(mo, LC_CODE_SIGNATURE, &sig_off, &sig_size) <= 0) ||
        (uint64_t)sig_off + sig_size != *size || le->fileoff + le->filesize != *size || sig_off % 8 ||
        mo->header_size + (uint64_t)mo->sizeofcmds + 32 > room)
        postlink_fail("LINKEDIT or header padding not as ld64.lld-19 writes them (signature last, 32 bytes of room)");
    struct dsc_codesign cs = postlink_signer(mo, sig_off + 48); /* both blobs, 16-byte aligned */
    uint64_t code_limit = cs.code_limit, total = code_limit + (signed_in ? dsc_codesign_size(&cs) : 0);
    uint8_t *out = calloc(1, total);
    if (!out)
        postlink_fail("out of memory");
    memcpy(out, file, sig_off);
    memcpy(out + sig_off, fv, FV_BLOB_SIZE);
    memcpy(out + sig_off + FV_BLOB_SIZE, fx, FIXUPS_BLOB_SIZE);
    uint8_t *cmds = out + mo->header_size;
    put_command(cmds + mo->sizeofcmds, LC_FUNCTION_VARIANTS, sig_off, FV_BLOB_SIZE);
    put_command(cmds + mo->sizeofcmds + 16, LC_FUNCTION_VARIANT_FIXUPS, sig_off + FV_BLOB_SIZE, FIXUPS_BLOB_SIZE);
    dsc_put32(out + MH_NCMDS, mo->ncmds + 2);
    dsc_put32(out + MH_SIZEOFCMDS, mo->sizeofcmds + 32);
    postlink_seal(out, mo, total, signed_in ? &sig : NULL, &cs);
    *size = total;
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fvfixups DYLIB SLOT DEFAULT IMPL\n");
        return 2;
    }
    struct postlink pl;
    postlink_open(&pl, "fvfixups", argv[1]);
    if (!pl.mo.is64 || (pl.mo.cputype != CPU_TYPE_ARM64 && pl.mo.cputype != CPU_TYPE_X86_64))
        postlink_fail("not a 64-bit arm64 or x86_64 dylib");
    uint8_t fv[FV_BLOB_SIZE], fx[FIXUPS_BLOB_SIZE];
    blobs(&pl.mo, symbol(&pl.mo, argv[2]), symbol(&pl.mo, argv[3]), symbol(&pl.mo, argv[4]), fv, fx);
    uint64_t size = pl.size;
    uint8_t *out = rewrite(pl.file, &size, &pl.mo, fv, fx);
    postlink_close(&pl, out, size);
    free(out);
    return 0;
}

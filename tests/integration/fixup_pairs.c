/*
 * fixup_pairs.c — for extract_builder.sh: print the fixups of a standalone
 * Mach-O (an input dylib of the builder, or an extracted image) in a form
 * that does not depend on where its segments sit, so a dylib and its
 * extracted copy can be compared although the cache moved every segment:
 *
 *   rebase SEG+0xOFF -> SEG+0xOFF      (lazy-rebase in lazy pointer sections)
 *   bind SEG+0xOFF LIBRARY SYMBOL ADDEND
 *
 * one line per fixup, in the decoder's order (the caller sorts). LIBRARY is
 * named the way llvm-objdump-19 --bind names it (the install name's leaf up
 * to its first dot, this-image, flat-namespace, main-executable, weak), so
 * the caller can compare with llvm's tables. Lazy binds are not decoded (the
 * caller reads them with llvm-objdump-19 --lazy-bind; chained fixups have
 * none); weak-import flags are not printed (llvm's lazy-bind table lacks
 * them). Fixups are read by libdsc's own decoder
 * (fixup_decode.c: rebase/bind opcodes and arm64e chained fixups), because
 * llvm-objdump-19 rejects arm64e chained fixup pointer formats; the caller
 * cross-checks the slot addresses with llvm-objdump-19 where it can.
 *
 * The file is untrusted: load commands are read through reader.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixup_decode.h"

#define MAX_SEGS 32
#define MAX_SECTS 256
#define MAX_DYLIBS 64
#define S_LAZY_SYMBOL_POINTERS 7

struct layout {
    char seg[MAX_SEGS][17];
    uint64_t vmaddr[MAX_SEGS], vmsize[MAX_SEGS];
    unsigned nsegs;
    uint64_t lazy_addr[MAX_SECTS], lazy_size[MAX_SECTS]; /* lazy pointer sections */
    unsigned nlazy;
    const char *dylib[MAX_DYLIBS]; /* ordinal k is dylib[k - 1] */
    unsigned ndylibs;
};

static bool is_dylib_command(uint32_t cmd)
{
    return cmd == 0xc || cmd == 0x80000018u || cmd == 0x8000001fu || cmd == 0x20 || cmd == 0x80000023u;
}

/* Remember the lazy pointer sections of one segment command. */
static bool read_lazy_sections(dsc_span lc, bool is64, struct layout *l)
{
    uint32_t nsects;
    uint64_t first = is64 ? 72 : 56, size = is64 ? 80 : 68;
    if (!span_u32(lc, first - 8, &nsects))
        return false;
    for (uint32_t i = 0; i < nsects; i++) {
        uint64_t at = first + i * size, addr, len;
        uint32_t flags, a32, s32;
        if (!span_u32(lc, at + (is64 ? 64 : 56), &flags))
            return false;
        if ((flags & 0xFF) != S_LAZY_SYMBOL_POINTERS || l->nlazy == MAX_SECTS)
            continue;
        if (is64 ? !span_u64(lc, at + 32, &addr) || !span_u64(lc, at + 40, &len)
                 : !span_u32(lc, at + 32, &a32) || !span_u32(lc, at + 36, &s32))
            return false;
        if (!is64)
            addr = a32, len = s32;
        l->lazy_addr[l->nlazy] = addr;
        l->lazy_size[l->nlazy++] = len;
    }
    return true;
}

static bool in_lazy_section(const struct layout *l, uint64_t addr)
{
    for (unsigned i = 0; i < l->nlazy; i++)
        if (addr - l->lazy_addr[i] < l->lazy_size[i])
            return true;
    return false;
}

/* Segments and dependent dylibs of `file`, or false if it is no Mach-O we read. */
static bool read_layout(dsc_span file, struct layout *l)
{
    uint32_t magic, ncmds;
    if (!span_u32(file, 0, &magic) || (magic != MH_MAGIC && magic != MH_MAGIC_64) || !span_u32(file, 16, &ncmds))
        return false;
    bool is64 = magic == MH_MAGIC_64;
    uint64_t at = is64 ? 32 : 28;
    for (uint32_t i = 0; i < ncmds; i++) {
        uint32_t cmd, size;
        if (!span_u32(file, at, &cmd) || !span_u32(file, at + 4, &size) || size < 8 ||
            !dsc_range_ok(file.size, at, size))
            return false;
        dsc_span lc = {file.data + at, size};
        if (cmd == (is64 ? LC_SEGMENT_64 : LC_SEGMENT) && l->nsegs < MAX_SEGS) {
            uint32_t a32, s32;
            bool ok = is64 ? span_u64(lc, 24, &l->vmaddr[l->nsegs]) && span_u64(lc, 32, &l->vmsize[l->nsegs])
                           : span_u32(lc, 24, &a32) && span_u32(lc, 28, &s32);
            if (!ok || lc.size < 24)
                return false;
            if (!is64)
                l->vmaddr[l->nsegs] = a32, l->vmsize[l->nsegs] = s32;
            memcpy(l->seg[l->nsegs], lc.data + 8, 16);
            l->seg[l->nsegs++][16] = 0;
            if (!read_lazy_sections(lc, is64, l))
                return false;
        } else if (is_dylib_command(cmd) && l->ndylibs < MAX_DYLIBS) {
            uint32_t name;
            size_t len;
            if (!span_u32(lc, 8, &name) || !span_cstr(lc, name, lc.size, &l->dylib[l->ndylibs++], &len))
                return false;
        }
        at += size;
    }
    return true;
}

/* "SEG+0xOFF" for an address, or "?+0xADDR" outside every segment. */
static void print_place(const struct layout *l, uint64_t addr)
{
    for (unsigned i = 0; i < l->nsegs; i++)
        if (addr >= l->vmaddr[i] && addr - l->vmaddr[i] < l->vmsize[i]) {
            printf("%s+0x%" PRIx64, l->seg[i], addr - l->vmaddr[i]);
            return;
        }
    printf("?+0x%" PRIx64, addr);
}

/* The library an ordinal picks, named as llvm-objdump-19 names it. */
static void print_library(const struct layout *l, int ordinal)
{
    switch (ordinal) {
    case DSC_ORDINAL_SELF: fputs("this-image", stdout); return;
    case DSC_ORDINAL_MAIN_EXECUTABLE: fputs("main-executable", stdout); return;
    case DSC_ORDINAL_FLAT_LOOKUP: fputs("flat-namespace", stdout); return;
    case DSC_ORDINAL_WEAK_LOOKUP: fputs("weak", stdout); return;
    }
    if (ordinal <= 0 || (unsigned)ordinal > l->ndylibs) {
        printf("ordinal-%d", ordinal);
        return;
    }
    const char *leaf = strrchr(l->dylib[ordinal - 1], '/');
    leaf = leaf ? leaf + 1 : l->dylib[ordinal - 1];
    printf("%.*s", (int)strcspn(leaf, "."), leaf);
}

static int print_fixup(void *ctx, const struct dsc_decoded_fixup *d)
{
    const struct layout *l = ctx;
    if (d->f.kind == DSC_FIXUP_REBASE) {
        printf(in_lazy_section(l, d->f.address) ? "lazy-rebase " : "rebase ");
        print_place(l, d->f.address);
        printf(" -> ");
        print_place(l, d->f.target & 0x00FFFFFFFFFFFFFFull); /* TBI high8 bits are no address */
    } else {
        printf("bind ");
        print_place(l, d->f.address);
        putchar(' ');
        print_library(l, d->lib_ordinal);
        printf(" %s %" PRId64, d->name ? d->name : "?", d->f.addend);
    }
    putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fixup_pairs MACHO\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static uint8_t buf[1 << 24];
    size_t size = fread(buf, 1, sizeof buf, f);
    bool whole = feof(f);
    fclose(f);
    if (!whole) {
        fprintf(stderr, "%s: larger than %zu bytes\n", argv[1], sizeof buf);
        return 1;
    }
    dsc_span file = {buf, size};
    struct layout l = {0};
    if (!read_layout(file, &l)) {
        fprintf(stderr, "%s: not a Mach-O file this tool reads\n", argv[1]);
        return 1;
    }
    dsc_error err;
    if (dsc_fixups_decode(file, argv[1], print_fixup, &l, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

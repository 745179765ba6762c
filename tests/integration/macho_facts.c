/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * macho_facts.c — for extract_builder.sh: facts of standalone Mach-O files
 * (an input dylib of the builder, an extracted image) that do not depend on
 * where the segments sit, so a dylib and its extracted copy can be compared
 * although the cache moved every segment.
 *
 * macho_facts fixups FILE prints
 *   rebase SEG+0xOFF -> SEG+0xOFF      (lazy-rebase in lazy pointer sections)
 *   bind SEG+0xOFF LIBRARY SYMBOL ADDEND
 * one line per fixup, in the decoder's order (the caller sorts). LIBRARY is
 * named the way llvm-objdump-19 --bind names it (the install name's leaf up
 * to its first dot, this-image, flat-namespace, main-executable, weak), so
 * the caller can compare with llvm's tables. Lazy binds are not decoded (the
 * caller reads them with llvm-objdump-19 --lazy-bind; chained fixups have
 * none); weak-import flags are not printed (llvm's lazy-bind table lacks
 * them). Fixups are read by libdsc's own decoder (fixup_decode.c: opcodes and
 * arm64e chained fixups), because llvm-objdump-19 rejects arm64e chained
 * fixup pointer formats; the caller cross-checks slots with llvm elsewhere.
 *
 * macho_facts auth FILE prints "auth SEG+0xOFF KEY ADDR_DIV DIVERSITY" for
 * each authenticated fixup (arm64e chained fixups).
 *
 * macho_facts data INPUT OUTPUT compares the bytes of every section of INPUT
 * that holds neither code nor zero fill with the same-named section of
 * OUTPUT, skipping the pointer slots of either file's fixups; a Swift
 * relative reference (a field base/relref.h proposes) whose input target
 * lies in another segment is compared as its target (segment, offset)
 * instead, since the cache moved the segments apart, and so is a
 * personality reference of __unwind_info or __eh_frame (base/unwind.h). Prints the first
 * differences and exits 1, or prints how many bytes were equal.
 *
 * The files are untrusted: everything is read through reader.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ptrfmt.h"
#include "base/relref.h"
#include "base/unwind.h"
#include "verify/fixup_decode.h"

#define MAX_SEGS 32
#define MAX_SECTS 256
#define MAX_DYLIBS 64
#define S_ATTR_CODE (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS)

struct sect {
    char seg[17], name[17];
    uint64_t addr, size;
    uint32_t flags;
};

struct layout {
    dsc_span file;
    unsigned ptr_size;
    char seg[MAX_SEGS][17];
    uint64_t vmaddr[MAX_SEGS], vmsize[MAX_SEGS], fileoff[MAX_SEGS], filesize[MAX_SEGS];
    unsigned nsegs;
    struct sect sects[MAX_SECTS];
    unsigned nsects;
    const char *dylib[MAX_DYLIBS]; /* ordinal k is dylib[k - 1] */
    unsigned ndylibs;
};

static bool is_dylib_command(uint32_t cmd)
{
    return cmd == 0xc || cmd == 0x80000018u || cmd == 0x8000001fu || cmd == 0x20 || cmd == 0x80000023u;
}

/* An unsigned field of `size` bytes (4 or 8). */
static bool span_word(dsc_span s, uint64_t off, bool is64, uint64_t *v)
{
    uint32_t w;
    if (is64)
        return span_u64(s, off, v);
    if (!span_u32(s, off, &w))
        return false;
    *v = w;
    return true;
}

/* One segment command (64- or 32-bit) and its sections. */
static bool read_segment(dsc_span lc, bool is64, struct layout *l)
{
    unsigned w = is64 ? 8 : 4, n = l->nsegs;
    uint32_t nsects;
    uint64_t first = 24 + 4 * (uint64_t)w + 16, size = is64 ? 80 : 68;
    if (n == MAX_SEGS || lc.size < first || !span_word(lc, 24, is64, &l->vmaddr[n]) ||
        !span_word(lc, 24 + w, is64, &l->vmsize[n]) || !span_word(lc, 24 + 2 * w, is64, &l->fileoff[n]) ||
        !span_word(lc, 24 + 3 * w, is64, &l->filesize[n]) || !span_u32(lc, first - 8, &nsects))
        return false;
    memcpy(l->seg[n], lc.data + 8, 16);
    l->seg[n][16] = 0;
    l->nsegs++;
    for (uint32_t i = 0; i < nsects; i++) {
        uint64_t at = first + i * size;
        struct sect *x = &l->sects[l->nsects];
        if (l->nsects == MAX_SECTS || !dsc_range_ok(lc.size, at, size) || !span_word(lc, at + 32, is64, &x->addr) ||
            !span_word(lc, at + 32 + w, is64, &x->size) || !span_u32(lc, at + 32 + 2 * w + 16, &x->flags))
            return false;
        memcpy(x->name, lc.data + at, 16);
        memcpy(x->seg, lc.data + at + 16, 16);
        x->name[16] = x->seg[16] = 0;
        l->nsects++;
    }
    return true;
}

static bool in_lazy_section(const struct layout *l, uint64_t addr)
{
    for (unsigned i = 0; i < l->nsects; i++)
        if ((l->sects[i].flags & 0xFF) == S_LAZY_SYMBOL_POINTERS && addr - l->sects[i].addr < l->sects[i].size)
            return true;
    return false;
}

/* Segments, sections and dependent dylibs of `file`, or false if it is no
 * Mach-O this tool reads. */
static bool read_layout(dsc_span file, struct layout *l)
{
    uint32_t magic, ncmds;
    if (!span_u32(file, 0, &magic) || (magic != MH_MAGIC && magic != MH_MAGIC_64) || !span_u32(file, 16, &ncmds))
        return false;
    bool is64 = magic == MH_MAGIC_64;
    l->file = file;
    l->ptr_size = is64 ? 8 : 4;
    uint64_t at = is64 ? 32 : 28;
    for (uint32_t i = 0; i < ncmds; i++) {
        uint32_t cmd, size;
        if (!span_u32(file, at, &cmd) || !span_u32(file, at + 4, &size) || size < 8 ||
            !dsc_range_ok(file.size, at, size))
            return false;
        dsc_span lc = {file.data + at, size};
        if (cmd == (is64 ? LC_SEGMENT_64 : LC_SEGMENT)) {
            if (!read_segment(lc, is64, l))
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
        print_place(l, d->f.target & DSC_TBI_MASK); /* TBI high8 bits are no address */
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

/* "auth SEG+0xOFF KEY ADDR_DIV DIVERSITY" of an authenticated fixup. */
static int print_auth(void *ctx, const struct dsc_decoded_fixup *d)
{
    static const char *const keys[] = {"IA", "IB", "DA", "DB"};
    if (!d->f.auth.present)
        return 0;
    printf("auth ");
    print_place(ctx, d->f.address);
    printf(" %s %d 0x%x\n", keys[d->f.auth.key & 3], d->f.auth.addr_div, d->f.auth.diversity);
    return 0;
}

/* ---- data: section bytes outside pointer slots ---- */

/* File offset of vmaddr `addr` of segment `seg` (by name), if [addr, +len) is
 * in that segment's file bytes. */
static bool file_offset(const struct layout *l, const char *seg, uint64_t addr, uint64_t len, uint64_t *off)
{
    for (unsigned i = 0; i < l->nsegs; i++)
        if (strcmp(l->seg[i], seg) == 0 && addr >= l->vmaddr[i] && dsc_range_ok(l->filesize[i], addr - l->vmaddr[i], len)) {
            *off = l->fileoff[i] + (addr - l->vmaddr[i]);
            return dsc_range_ok(l->file.size, *off, len);
        }
    return false;
}

struct mask {
    const struct layout *l;
    uint8_t *bytes; /* one per file byte: part of a pointer slot */
};

static int mark_slot(void *ctx, const struct dsc_decoded_fixup *d)
{
    struct mask *m = ctx;
    const struct layout *l = m->l;
    for (unsigned i = 0; i < l->nsegs; i++) {
        uint64_t off = l->fileoff[i] + (d->f.address - l->vmaddr[i]);
        if (d->f.address >= l->vmaddr[i] && dsc_range_ok(l->filesize[i], d->f.address - l->vmaddr[i], l->ptr_size) &&
            dsc_range_ok(l->file.size, off, l->ptr_size))
            memset(m->bytes + off, 1, l->ptr_size);
    }
    return 0;
}

static uint8_t *slot_mask(const struct layout *l, const char *name)
{
    struct mask m = {l, calloc(l->file.size ? l->file.size : 1, 1)};
    dsc_error err;
    if (!m.bytes || dsc_fixups_decode(l->file, name, mark_slot, &m, &err) != 0) {
        fprintf(stderr, "%s\n", m.bytes ? err.msg : "out of memory");
        free(m.bytes);
        return NULL;
    }
    return m.bytes;
}

static const struct sect *find_sect(const struct layout *l, const struct sect *like)
{
    for (unsigned i = 0; i < l->nsects; i++)
        if (strcmp(l->sects[i].seg, like->seg) == 0 && strcmp(l->sects[i].name, like->name) == 0)
            return &l->sects[i];
    return NULL;
}

/* Relative method lists (__objc_methlist) are offsets between segments that
 * moved; extract_builder.sh compares them field by field instead. */
static bool holds_data(const struct sect *x)
{
    uint8_t type = x->flags & 0xFF;
    return x->size && !(x->flags & S_ATTR_CODE) && type != S_ZEROFILL && type != S_GB_ZEROFILL &&
           type != S_THREAD_LOCAL_ZEROFILL && strcmp(x->name, "__objc_methlist") != 0;
}

/* The segment holding vmaddr `a`, or -1. */
static int seg_at(const struct layout *l, uint64_t a)
{
    for (unsigned i = 0; i < l->nsegs; i++)
        if (a - l->vmaddr[i] < l->vmsize[i])
            return (int)i;
    return -1;
}

struct relfields {
    const struct layout *in, *out;
    const struct sect *x, *y;
    uint64_t oo;        /* file offset of y */
    uint8_t *skip;      /* per byte of x: compared as a reference */
    long diffs;
    unsigned room;
    uint64_t *equal;
    bool image_off;     /* the field is an offset from the mach_header */
};

/* The vmaddr of the layout's mach_header (its file-offset-0 segment). */
static uint64_t header_of(const struct layout *l)
{
    for (unsigned i = 0; i < l->nsegs; i++)
        if (l->fileoff[i] == 0 && l->filesize[i])
            return l->vmaddr[i];
    return 0;
}

/* A field whose input target leaves its segment: the output's must name
 * the same offset of the same-named segment. */
static int compare_relfield(void *ctx, uint64_t field, uint64_t target)
{
    struct relfields *r = ctx;
    uint64_t k = field - r->x->addr;
    int si = seg_at(r->in, target), sf = seg_at(r->in, field);
    if (si < 0 || si == sf || k + 4 > r->x->size)
        return 0;
    memset(r->skip + k, 1, 4);
    uint32_t v = dsc_le32(r->out->file.data + r->oo + k);
    uint64_t t = r->image_off ? header_of(r->out) + v : r->y->addr + k + (uint64_t)(int64_t)(int32_t)v;
    int so = seg_at(r->out, t);
    if (so >= 0 && strcmp(r->out->seg[so], r->in->seg[si]) == 0 &&
        t - r->out->vmaddr[so] == target - r->in->vmaddr[si]) {
        *r->equal += 4;
    } else if (r->diffs++ < (long)r->room) {
        printf("%s,%s+0x%" PRIx64 ": relative reference to %s+0x%" PRIx64 " in the input, to 0x%" PRIx64
               " in the output\n", r->x->seg, r->x->name, k, r->in->seg[si], target - r->in->vmaddr[si], t);
    }
    return 0;
}

static int compare_unwind(void *ctx, uint64_t field, uint64_t slot, enum dsc_unwind_kind kind)
{
    ((struct relfields *)ctx)->image_off = kind == DSC_UNWIND_IMAGE_OFF32;
    return compare_relfield(ctx, field, slot);
}

/* Differences of one section, at most `room` of them printed; -1 if the
 * section cannot be compared at all. */
static long compare_sect(const struct layout *in, const uint8_t *min, const struct layout *out, const uint8_t *mout,
                         const struct sect *x, unsigned room, uint64_t *equal)
{
    const struct sect *y = find_sect(out, x);
    uint64_t oi, oo;
    if (!y || y->size != x->size || !file_offset(in, x->seg, x->addr, x->size, &oi) ||
        !file_offset(out, y->seg, y->addr, y->size, &oo)) {
        printf("%s,%s: missing, resized or outside its segment in the output\n", x->seg, x->name);
        return -1;
    }
    bool symbolic;
    struct relfields r = {in, out, x, y, oo, calloc(x->size, 1), 0, room, equal, false};
    if (!r.skip)
        return -1;
    if (dsc_relref_section(x->seg, x->name, &symbolic))
        dsc_relref_each(in->file.data + oi, x->size, x->addr, symbolic, compare_relfield, &r);
    if (dsc_unwind_section(x->seg, x->name))
        dsc_unwind_each(in->file.data + oi, x->size, x->addr, x->name, header_of(in), compare_unwind, &r);
    long diffs = r.diffs;
    for (uint64_t k = 0; k < x->size; k++) {
        if (min[oi + k] || mout[oo + k] || r.skip[k])
            continue;
        if (in->file.data[oi + k] == out->file.data[oo + k]) {
            (*equal)++;
        } else if (diffs++ < (long)room) {
            printf("%s,%s+0x%" PRIx64 ": input 0x%02x, output 0x%02x\n", x->seg, x->name, k, in->file.data[oi + k],
                   out->file.data[oo + k]);
        }
    }
    free(r.skip);
    return diffs;
}

static int compare_data(const struct layout *in, const char *in_name, const struct layout *out, const char *out_name)
{
    uint8_t *min = slot_mask(in, in_name), *mout = min ? slot_mask(out, out_name) : NULL;
    if (!mout) {
        free(min);
        return 2;
    }
    uint64_t equal = 0;
    long bad = 0;
    unsigned nsects = 0;
    for (unsigned i = 0; i < in->nsects; i++) {
        if (!holds_data(&in->sects[i]))
            continue;
        long d = compare_sect(in, min, out, mout, &in->sects[i], bad < 8 ? 8 - (unsigned)bad : 0, &equal);
        bad += d < 0 ? 1 : d;
        nsects++;
    }
    free(min);
    free(mout);
    if (bad)
        return 1;
    printf("%u sections, %" PRIu64 " bytes outside pointer slots equal\n", nsects, equal);
    return 0;
}

/* ---- main ---- */

/* The whole file `path` in `buf` (at most `cap` bytes). */
static bool load(const char *path, uint8_t *buf, size_t cap, dsc_span *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return false;
    }
    size_t size = fread(buf, 1, cap, f);
    bool whole = feof(f);
    fclose(f);
    if (!whole) {
        fprintf(stderr, "%s: larger than %zu bytes\n", path, cap);
        return false;
    }
    *out = (dsc_span){buf, size};
    return true;
}

static bool open_layout(const char *path, uint8_t *buf, size_t cap, struct layout *l)
{
    dsc_span file;
    memset(l, 0, sizeof *l);
    if (!load(path, buf, cap, &file))
        return false;
    if (!read_layout(file, l)) {
        fprintf(stderr, "%s: not a Mach-O file this tool reads\n", path);
        return false;
    }
    return true;
}

#define MAX_FILE (1u << 24)

int main(int argc, char **argv)
{
    static uint8_t a[MAX_FILE], b[MAX_FILE];
    static struct layout la, lb;
    if (argc == 3 && (strcmp(argv[1], "fixups") == 0 || strcmp(argv[1], "auth") == 0)) {
        if (!open_layout(argv[2], a, sizeof a, &la))
            return 2;
        dsc_error err;
        if (dsc_fixups_decode(la.file, argv[2], argv[1][0] == 'a' ? print_auth : print_fixup, &la, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 2;
        }
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "data") == 0) {
        if (!open_layout(argv[2], a, sizeof a, &la) || !open_layout(argv[3], b, sizeof b, &lb))
            return 2;
        return compare_data(&la, argv[2], &lb, argv[3]);
    }
    fprintf(stderr, "usage: macho_facts fixups|auth FILE | macho_facts data INPUT OUTPUT\n");
    return 2;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pass_fixups.c — turn the plan's fixups into what dyld reads:
 *   - DSC_ENCODE_OPCODES: LC_DYLD_INFO_ONLY rebase and bind opcode streams
 *     (arm64, x86_64, 32-bit);
 *   - DSC_ENCODE_CHAINED: an LC_DYLD_CHAINED_FIXUPS payload with pointer
 *     format DYLD_CHAINED_PTR_ARM64E (1; arm64e) or DYLD_CHAINED_PTR_64
 *     (2; 64-bit images linked with chained fixups; _64_OFFSET, 6, when a
 *     target is beyond its 36 bits, as on x86_64), an imports table, and
 *     every slot rewritten as a chain entry that keeps its pointer's key,
 *     address diversity and diversity. A bind's addend stays in its pointer
 *     where that holds it (ARM64E: 19 signed bits, none on authenticated
 *     binds; _64: 0..255); others move into the import table, one import
 *     per (symbol, addend), which is then DYLD_CHAINED_IMPORT_ADDEND (int32)
 *     or _ADDEND64, as ld64 writes it; without such addends the table is
 *     DYLD_CHAINED_IMPORT.
 * Segment indices are positions in the output's load commands: plan->segs
 * in order, then LINKEDIT (see out.c). EXTERNAL fixups are not encoded.
 */
#include "extract/extract.h"
#include "base/ptrfmt.h"
#include "base/sort.h"

#include <stdlib.h>
#include <string.h>

#define CHAINED_PAGE 0x4000u
#define CHAINED_START_NONE 0xFFFFu

/* First fixup (sorted) at or after `addr`. */
static size_t lower_bound(const struct dsc_plan *p, uint64_t addr)
{
    return dsc_lower_bound(p->fixups, p->nfixups, sizeof *p->fixups, offsetof(struct dsc_fixup, address), addr);
}

/* The first of fixups [from, to) (sorted) whose address equals the next
 * one's, or `to`. */
static size_t first_twin(const struct dsc_fixup *f, size_t from, size_t to)
{
    for (size_t i = from + 1; i < to; i++)
        if (f[i].address == f[i - 1].address)
            return i;
    return to;
}

/* Sort fixups [0, n) whose first `sorted` are strictly ascending and whose
 * rest (appended since) are at most 1/16 of them: the rest sorted alone,
 * each then placed by binary search from the back, the records above it
 * moved up in one block. Two fixups at one address are found before
 * anything moves: among the rest, or by the search. */
static int merge_appended(struct dsc_plan *p, size_t sorted)
{
    struct dsc_fixup *v = p->fixups;
    size_t n = p->nfixups, k = n - sorted, twin;
    dsc_sort(v + sorted, k, sizeof *v, plan_cmp_fixup);
    if ((twin = first_twin(v, sorted, n)) < n)
        return plan_fail(p, "two fixups at 0x%llx", (unsigned long long)v[twin].address);
    for (size_t i = sorted; i < n; i++) {
        size_t at = dsc_lower_bound(v, sorted, sizeof *v, offsetof(struct dsc_fixup, address), v[i].address);
        if (at < sorted && v[at].address == v[i].address)
            return plan_fail(p, "two fixups at 0x%llx", (unsigned long long)v[i].address);
    }
    struct dsc_fixup *rest = malloc(k * sizeof *rest);
    if (!rest)
        return plan_oom(p);
    memcpy(rest, v + sorted, k * sizeof *rest);
    for (size_t a = sorted, out = n; k > 0;) {
        const struct dsc_fixup *r = &rest[--k];
        size_t at = dsc_lower_bound(v, a, sizeof *v, offsetof(struct dsc_fixup, address), r->address);
        out -= a - at;
        memmove(v + out, v + at, (a - at) * sizeof *v);
        a = at;
        v[--out] = *r;
    }
    free(rest);
    return 0;
}

int fixups_sort(struct dsc_plan *p)
{
    /* Slide walks emit each segment's fixups in order, and segments come
     * in address order; what a sort left in order stays so, as later
     * passes only append (plan->fixups_sorted). So often no sort is due,
     * and one pass of direct comparisons over what was appended since
     * finds that, duplicates included. Else the usual shape is that run
     * with a few fixups appended (binds and slots the passes add), which
     * merge_appended places; any other shape goes to dsc_sort whole. */
    size_t n = p->nfixups, sorted = p->fixups_sorted > 1 && p->fixups_sorted <= n ? p->fixups_sorted : 1, twin;
    const struct dsc_fixup *f = p->fixups;
    while (sorted < n && f[sorted - 1].address < f[sorted].address)
        sorted++;
    if (sorted < n && (n - sorted) * 16 < sorted) {
        if (merge_appended(p, sorted))
            return -1;
    } else if (sorted < n) {
        dsc_sort(p->fixups, n, sizeof *p->fixups, plan_cmp_fixup);
        if ((twin = first_twin(f, 0, n)) < n)
            return plan_fail(p, "two fixups at 0x%llx", (unsigned long long)f[twin].address);
    }
    p->fixups_sorted = n;
    return 0;
}

/* Index of the output segment holding a fixup's slot (in its file bytes). */
static int fixup_segment(struct dsc_plan *p, const struct dsc_fixup *f, unsigned *index)
{
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct dsc_out_segment *s = &p->segs[i];
        if (f->address >= s->vmaddr && dsc_range_ok(s->filesize, f->address - s->vmaddr, p->ptr_size)) {
            *index = i;
            return 0;
        }
    }
    return plan_fail(p, "fixup at 0x%llx is outside the file bytes of every segment", (unsigned long long)f->address);
}

/* ---- rebase opcodes ---- */

/* Length of the run of REBASE fixups from i spaced exactly `stride` apart,
 * all inside segment `seg` (segments may be adjacent in VM). */
static size_t run_length(const struct dsc_plan *p, size_t i, unsigned seg, uint64_t stride)
{
    const struct dsc_out_segment *s = &p->segs[seg];
    size_t n = 1;
    while (i + n < p->nfixups && p->fixups[i + n].kind == DSC_FIXUP_REBASE &&
           p->fixups[i + n].address - p->fixups[i + n - 1].address == stride &&
           dsc_range_ok(s->filesize, p->fixups[i + n].address - s->vmaddr, p->ptr_size))
        n++;
    return n;
}

static size_t next_rebase(const struct dsc_plan *p, size_t i)
{
    while (i < p->nfixups && p->fixups[i].kind != DSC_FIXUP_REBASE)
        i++;
    return i;
}

static bool emit_do_rebase(struct dsc_blob *b, uint64_t n)
{
    if (n < 16)
        return blob_u8(b, REBASE_OPCODE_DO_REBASE_IMM_TIMES | (uint8_t)n);
    return blob_u8(b, REBASE_OPCODE_DO_REBASE_ULEB_TIMES) && blob_uleb(b, n);
}

static int encode_rebases(struct dsc_plan *p)
{
    struct dsc_blob *b = &p->le.rebase;
    unsigned cur_seg = ~0u;
    uint64_t cur = 0; /* offset in cur_seg the next DO_REBASE writes */
    bool ok = true;
    size_t i = next_rebase(p, 0);
    if (i == p->nfixups)
        return 0;
    ok = blob_u8(b, REBASE_OPCODE_SET_TYPE_IMM | REBASE_TYPE_POINTER);
    while (ok && i < p->nfixups) {
        unsigned seg;
        if (fixup_segment(p, &p->fixups[i], &seg))
            return -1;
        uint64_t off = p->fixups[i].address - p->segs[seg].vmaddr;
        if (seg != cur_seg || off < cur) {
            ok = blob_u8(b, REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | (uint8_t)seg) && blob_uleb(b, off);
        } else if (off > cur) {
            uint64_t d = off - cur;
            if (d % p->ptr_size == 0 && d / p->ptr_size < 16)
                ok = blob_u8(b, REBASE_OPCODE_ADD_ADDR_IMM_SCALED | (uint8_t)(d / p->ptr_size));
            else
                ok = blob_u8(b, REBASE_OPCODE_ADD_ADDR_ULEB) && blob_uleb(b, d);
        }
        cur_seg = seg;
        uint64_t stride = 0;
        size_t n = 1;
        size_t j = next_rebase(p, i + 1);
        if (j == i + 1 && j < p->nfixups) {
            stride = p->fixups[j].address - p->fixups[i].address;
            n = run_length(p, i, seg, stride);
        }
        if (n > 1 && stride == p->ptr_size) {
            ok = ok && emit_do_rebase(b, n);
            cur = off + n * stride;
        } else if (n > 2 && stride > p->ptr_size) {
            ok = ok && blob_u8(b, REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB) && blob_uleb(b, n) &&
                 blob_uleb(b, stride - p->ptr_size);
            cur = off + n * stride;
        } else {
            n = 1;
            ok = ok && emit_do_rebase(b, 1);
            cur = off + p->ptr_size;
        }
        i = next_rebase(p, i + n);
    }
    ok = ok && blob_u8(b, REBASE_OPCODE_DONE) && blob_align(b, p->ptr_size);
    return ok ? 0 : plan_oom(p);
}

/* ---- bind opcodes ---- */

bool blob_bind_ordinal(struct dsc_blob *b, int ordinal)
{
    if (ordinal <= 0)
        return blob_u8(b, BIND_OPCODE_SET_DYLIB_SPECIAL_IMM | (uint8_t)(ordinal & 0xf));
    if (ordinal < 16)
        return blob_u8(b, BIND_OPCODE_SET_DYLIB_ORDINAL_IMM | (uint8_t)ordinal);
    return blob_u8(b, BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB) && blob_uleb(b, (uint64_t)ordinal);
}

static int encode_binds(struct dsc_plan *p)
{
    struct dsc_blob *b = &p->le.bind;
    unsigned cur_seg = ~0u;
    uint64_t cur = 0;
    int64_t cur_addend = 0;
    int cur_ordinal = 1 << 30;
    uint32_t cur_import = UINT32_MAX;
    bool ok = true, any = false;
    for (size_t i = 0; ok && i < p->nfixups; i++) {
        const struct dsc_fixup *f = &p->fixups[i];
        if (f->kind != DSC_FIXUP_BIND)
            continue;
        if (f->import >= p->nimports)
            return plan_fail(p, "bind at 0x%llx names import %u of %u", (unsigned long long)f->address, f->import,
                             p->nimports);
        const struct dsc_import *im = &p->imports[f->import];
        if (im->lib_ordinal < DSC_ORDINAL_WEAK_LOOKUP)
            return plan_fail(p, "bind of %s has library ordinal %d", im->name, im->lib_ordinal);
        unsigned seg;
        if (fixup_segment(p, f, &seg))
            return -1;
        if (!any)
            ok = blob_u8(b, BIND_OPCODE_SET_TYPE_IMM | BIND_TYPE_POINTER);
        any = true;
        if (im->lib_ordinal != cur_ordinal)
            ok = ok && blob_bind_ordinal(b, im->lib_ordinal);
        cur_ordinal = im->lib_ordinal;
        if (f->import != cur_import)
            ok = ok &&
                 blob_u8(b, BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM |
                                (im->weak_import ? BIND_SYMBOL_FLAGS_WEAK_IMPORT : 0)) &&
                 blob_add(b, im->name, strlen(im->name) + 1);
        cur_import = f->import;
        if (f->addend != cur_addend)
            ok = ok && blob_u8(b, BIND_OPCODE_SET_ADDEND_SLEB) && blob_sleb(b, f->addend);
        cur_addend = f->addend;
        uint64_t off = f->address - p->segs[seg].vmaddr;
        if (seg != cur_seg || off < cur)
            ok = ok && blob_u8(b, BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | (uint8_t)seg) && blob_uleb(b, off);
        else if (off > cur)
            ok = ok && blob_u8(b, BIND_OPCODE_ADD_ADDR_ULEB) && blob_uleb(b, off - cur);
        cur_seg = seg;
        ok = ok && blob_u8(b, BIND_OPCODE_DO_BIND);
        cur = off + p->ptr_size;
    }
    if (any)
        ok = ok && blob_u8(b, BIND_OPCODE_DONE) && blob_align(b, p->ptr_size);
    return ok ? 0 : plan_oom(p);
}

int encode_opcodes(struct dsc_plan *p)
{
    if (p->nsegs > 15)
        return plan_fail(p, "%u segments do not fit 4-bit opcode segment indices", p->nsegs);
    return encode_rebases(p) || encode_binds(p) ? -1 : 0;
}

/* ---- chained fixups ---- */

/* The chain entry for `f`, `next` bytes before the next one of its page. */
static int chain_entry(struct dsc_plan *p, const struct dsc_fixup *f, uint64_t next, uint64_t *raw)
{
    struct dsc_ptr ptr = {.value = f->target, .next = next, .bind = f->kind == DSC_FIXUP_BIND,
                          .import = f->import, .addend = f->addend, .auth = f->auth.present, .key = f->auth.key,
                          .addr_div = f->auth.addr_div, .diversity = f->auth.diversity};
    unsigned long long at = f->address, target = f->target;
    bool arm64e = p->chained_format == DSC_CHAINED_PTR_ARM64E;
    uint64_t base = p->chained_format == DSC_CHAINED_PTR_64_OFFSET ? p->base : 0;
    switch (arm64e ? dsc_ptr_encode_arm64e(&ptr, p->base, raw) : dsc_ptr_encode_64(&ptr, base, raw)) {
    case DSC_PTR_ENCODED:
        return 0;
    case DSC_PTR_IMPORT_RANGE:
        return plan_fail(p, "bind at 0x%llx: import %u does not fit 16 bits", at, f->import);
    case DSC_PTR_AUTH_ADDEND:
        return plan_fail(p, "authenticated bind at 0x%llx has an addend", at);
    case DSC_PTR_ADDEND_RANGE:
        return plan_fail(p, "bind at 0x%llx: addend does not fit the chained format", at);
    case DSC_PTR_AUTH_RANGE:
        return plan_fail(p, "authenticated pointer at 0x%llx targets 0x%llx, beyond 4 GiB of the image", at, target);
    default:
        return plan_fail(p, "pointer at 0x%llx targets 0x%llx, beyond the chained format's reach", at, target);
    }
}

static bool encodable(const struct dsc_fixup *f) { return f->kind != DSC_FIXUP_EXTERNAL; }

/* starts_in_segment for segment `si`; writes chain entries into its bytes. */
static int chain_segment(struct dsc_plan *p, unsigned si, size_t first, size_t end, struct dsc_blob *b)
{
    const struct dsc_out_segment *s = &p->segs[si];
    uint64_t pages = (s->vmsize + CHAINED_PAGE - 1) / CHAINED_PAGE;
    if (pages > 0xFFFF)
        return plan_fail(p, "segment %s has too many pages for chained fixups", s->name);
    size_t at = b->size;
    bool ok = blob_u32(b, (uint32_t)(22 + 2 * pages)) && blob_u16(b, CHAINED_PAGE) &&
              blob_u16(b, (uint16_t)p->chained_format) && blob_u64(b, s->vmaddr - p->base) && blob_u32(b, 0) &&
              blob_u16(b, (uint16_t)pages);
    for (uint64_t i = 0; ok && i < pages; i++)
        ok = blob_u16(b, CHAINED_START_NONE);
    if (!ok)
        return plan_oom(p);
    /* A size plan stops here. The blob's share of this segment is sized
     * above by its page count alone; what follows writes page starts into
     * it and chain entries over pointers in place, neither of which moves
     * a length. What is skipped besides is each pointer's check (8-byte
     * alignment, the codec's ranges): a cache holding a pointer that no
     * chain entry can hold fails in dsc_extract, where the size plan gives
     * the size the output would have had. */
    if (!p->copy_bytes)
        return 0;
    uint8_t *starts = b->data + at + 22;
    for (size_t i = first; i < end; i++) {
        const struct dsc_fixup *f = &p->fixups[i];
        if (!encodable(f))
            continue;
        uint64_t off = f->address - s->vmaddr, page = off / CHAINED_PAGE;
        if (off % 8)
            return plan_fail(p, "fixup at 0x%llx is not 8-byte aligned", (unsigned long long)f->address);
        if (dsc_le16(starts + page * 2) == CHAINED_START_NONE) {
            starts[page * 2] = (uint8_t)(off % CHAINED_PAGE);
            starts[page * 2 + 1] = (uint8_t)((off % CHAINED_PAGE) >> 8);
        }
        size_t j = i + 1;
        while (j < end && !encodable(&p->fixups[j]))
            j++;
        uint64_t next = 0;
        if (j < end && (p->fixups[j].address - s->vmaddr) / CHAINED_PAGE == page)
            next = p->fixups[j].address - f->address;
        uint64_t raw = 0;
        if (chain_entry(p, f, next, &raw))
            return -1;
        if (p->copy_bytes && !plan_write_ptr(p, f->address, raw))
            return plan_fail(p, "fixup at 0x%llx is out of its segment", (unsigned long long)f->address);
    }
    return 0;
}

/* Binds whose pointer cannot hold the addend get an import carrying it;
 * each import a bind then names is marked used (drop_unused_imports). */
static int move_addends(struct dsc_plan *p)
{
    bool plain64 = p->chained_format == DSC_CHAINED_PTR_64 || p->chained_format == DSC_CHAINED_PTR_64_OFFSET;
    for (size_t i = 0; i < p->nfixups; i++) {
        struct dsc_fixup *f = &p->fixups[i];
        if (f->kind != DSC_FIXUP_BIND || f->import >= p->nimports)
            continue;
        if (!(plain64 ? f->addend >= 0 && f->addend <= 0xFF : dsc_ptr_arm64e_holds_addend(f->auth.present, f->addend))) {
            const struct dsc_import im = p->imports[f->import];
            if (plan_add_import_addend(p, im.name, im.lib_ordinal, im.weak_import, im.addend + f->addend, &f->import))
                return -1;
            f->addend = 0;
        }
        p->imports[f->import].used = true;
    }
    return 0;
}

/* The smallest import format holding every import: plain, int32 addends
 * with 8-bit ordinals and 23-bit name offsets, else 64-bit. */
static unsigned import_format(const struct dsc_plan *p, size_t names_size)
{
    bool addends = false, narrow = names_size < (1u << 23);
    for (uint32_t i = 0; i < p->nimports; i++) {
        const struct dsc_import *im = &p->imports[i];
        addends |= im->addend != 0;
        narrow &= im->addend >= INT32_MIN && im->addend <= INT32_MAX && im->lib_ordinal <= 0xF0;
    }
    return !narrow ? DSC_CHAINED_IMPORT_ADDEND64 : addends ? DSC_CHAINED_IMPORT_ADDEND : DSC_CHAINED_IMPORT;
}

/* The import table (aligned to its entries' words) and the names after it. */
static int chained_imports(struct dsc_plan *p, struct dsc_blob *b, uint32_t *imports_offset, uint32_t *symbols_offset,
                           unsigned *format)
{
    size_t names_size = 1;
    for (uint32_t i = 0; i < p->nimports; i++)
        names_size += strlen(p->imports[i].name) + 1;
    *format = import_format(p, names_size);
    unsigned size = dsc_chained_import_size(*format);
    struct dsc_blob names = {0};
    bool ok = blob_align(b, size > 8 ? 8 : 4) && blob_u8(&names, 0);
    *imports_offset = (uint32_t)b->size;
    for (uint32_t i = 0; ok && i < p->nimports; i++) {
        const struct dsc_import *im = &p->imports[i];
        struct dsc_chained_import e = {im->lib_ordinal, im->weak_import, (uint32_t)names.size, im->addend};
        uint8_t entry[16];
        if (names.size > UINT32_MAX || !dsc_chained_import_encode(*format, &e, entry)) {
            blob_free(&names);
            return plan_fail(p, "import %s does not fit chained import format %u", im->name, *format);
        }
        ok = blob_add(b, entry, size) && blob_add(&names, im->name, strlen(im->name) + 1);
    }
    *symbols_offset = (uint32_t)b->size;
    ok = ok && blob_add(b, names.data, names.size) && blob_align(b, 8);
    blob_free(&names);
    return ok ? 0 : plan_oom(p);
}

/* Only imports some bind uses (move_addends marked them) go into the
 * table, as a linker writes it (a bind made a weak lookup leaves the
 * import it had unused). The binds are renumbered only when one goes. */
static int drop_unused_imports(struct dsc_plan *p)
{
    uint32_t n = 0;
    while (n < p->nimports && p->imports[n].used)
        n++;
    if (n == p->nimports)
        return 0;
    uint32_t *map = malloc(p->nimports * sizeof *map);
    if (!map)
        return plan_oom(p);
    for (uint32_t i = 0; i < n; i++)
        map[i] = i;
    for (uint32_t i = n; i < p->nimports; i++) {
        if (!p->imports[i].used) {
            free(p->imports[i].name);
            continue;
        }
        map[i] = n;
        p->imports[n++] = p->imports[i];
    }
    for (size_t i = 0; i < p->nfixups; i++)
        if (p->fixups[i].kind == DSC_FIXUP_BIND && p->fixups[i].import < p->nimports)
            p->fixups[i].import = map[p->fixups[i].import];
    p->nimports = n;
    free(map);
    return 0;
}

/* DYLD_CHAINED_PTR_64 holds absolute 36-bit targets: x86_64 cache addresses
 * (0x7FF8...) are beyond it. Such images get DYLD_CHAINED_PTR_64_OFFSET
 * (offsets from the image), what ld64-956.6 writes for every 64-bit dylib
 * targeting macOS 12 / iOS 15 or later (OutputFile.cpp). */
static void choose_format_64(struct dsc_plan *p)
{
    for (size_t i = 0; p->chained_format == DSC_CHAINED_PTR_64 && i < p->nfixups; i++)
        if (p->fixups[i].kind == DSC_FIXUP_REBASE && (p->fixups[i].target & DSC_TBI_MASK) > 0xFFFFFFFFFull)
            p->chained_format = DSC_CHAINED_PTR_64_OFFSET;
}

int encode_chained(struct dsc_plan *p)
{
    choose_format_64(p);
    if (move_addends(p) || drop_unused_imports(p))
        return -1;
    struct dsc_blob *b = &p->le.chained;
    unsigned nseg = p->nsegs + 1; /* + LINKEDIT */
    bool ok = blob_reserve(b, 32 + 4 * (size_t)nseg);
    if (!ok)
        return plan_oom(p);
    memset(b->data, 0, 32);
    b->size = 32; /* header (28 bytes), padded */
    size_t image_at = b->size;
    ok = blob_u32(b, nseg);
    for (unsigned i = 0; ok && i < nseg; i++)
        ok = blob_u32(b, 0);
    /* Segment infos in segment order (llvm checks that they do not overlap). */
    size_t covered = 0;
    for (unsigned si = 0; ok && si < p->nsegs; si++) {
        const struct dsc_out_segment *s = &p->segs[si];
        size_t first = lower_bound(p, s->vmaddr), end = lower_bound(p, s->vmaddr + s->filesize);
        if (first == end)
            continue;
        covered += end - first;
        ok = blob_align(b, 8);
        if (!ok)
            break;
        dsc_put32(b->data + image_at + 4 + 4 * si, (uint32_t)(b->size - image_at));
        if (chain_segment(p, si, first, end, b))
            return -1;
    }
    if (ok && covered != p->nfixups) {
        for (size_t i = 0; i < p->nfixups; i++) {
            unsigned si;
            if (fixup_segment(p, &p->fixups[i], &si))
                return -1;
        }
    }
    if (!ok)
        return plan_oom(p);
    uint32_t imports_at = 0, symbols_at = 0;
    unsigned format;
    if (chained_imports(p, b, &imports_at, &symbols_at, &format))
        return -1;
    uint8_t *h = b->data;
    dsc_put32(h + 0, 0);                       /* fixups_version */
    dsc_put32(h + 4, (uint32_t)image_at);      /* starts_offset */
    dsc_put32(h + 8, imports_at);              /* imports_offset */
    dsc_put32(h + 12, symbols_at);             /* symbols_offset */
    dsc_put32(h + 16, p->nimports);            /* imports_count */
    dsc_put32(h + 20, format);                 /* imports_format */
    dsc_put32(h + 24, 0);                      /* symbols_format: plain */
    return 0;
}

int pass_fixups(struct dsc_plan *p)
{
    if (fixups_sort(p))
        return -1;
    /* The counts go to dsc_extract's output only; no size depends on them,
     * so a size plan leaves them. */
    for (size_t i = 0; p->copy_bytes && i < p->nfixups; i++) {
        switch (p->fixups[i].kind) {
        case DSC_FIXUP_REBASE: p->stats.rebases++; break;
        case DSC_FIXUP_BIND: p->stats.binds++; break;
        case DSC_FIXUP_EXTERNAL: p->stats.unbound_pointers++; break;
        }
    }
    return p->encoding == DSC_ENCODE_CHAINED ? encode_chained(p) : encode_opcodes(p);
}

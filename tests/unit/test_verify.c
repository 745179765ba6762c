/* SPDX-License-Identifier: BSD-2-Clause */
/* test_verify.c — binds and stubs of every extracted image of the real
 * caches, judged on the output bytes: dsc_verify's counts, the binds read
 * back with fixup_decode against the binds the original file had (the
 * arm64 cache kept its bind opcodes; arm64e did not, so its binds, found
 * through the exports of the images they reach, must name the same symbols
 * and dylibs), and the bind-opcode decoder on hand-made and hostile
 * streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bindinfo.h"
#include "base/insn.h"
#include "base/macho_view.h"
#include "cache/slide.h"
#include "verify/fixup_decode.h"
#include "index/imports.h"
#include "suites.h"
#include "testdata.h"

enum { LIBHELLO = 5, LIBOBJC = 6 };

START_TEST(every_image_verifies)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    uint64_t binds = 0, stubs = 0;
    for (uint32_t i = 0; i < dsc_cache_get_info(c)->image_count; i++) {
        dsc_verify_report r = {.size = sizeof r};
        dsc_error err;
        const char *path = dsc_cache_get_image(c, i)->path;
        ck_assert_msg(dsc_verify(c, i, &r, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(r.checked & (DSC_VERIFY_BINDS | DSC_VERIFY_STUBS), DSC_VERIFY_BINDS | DSC_VERIFY_STUBS);
        ck_assert_msg(r.binds_unknown_symbol == 0, "%s: %llu unknown binds", path,
                      (unsigned long long)r.binds_unknown_symbol);
        ck_assert_msg(r.stubs_bad_slot == 0, "%s: %llu bad stubs", path, (unsigned long long)r.stubs_bad_slot);
        ck_assert_msg(r.branches_outside == 0, "%s: %llu branches out", path, (unsigned long long)r.branches_outside);
        /* libhello's only pointers out are its 10 selector references into
         * libobjc's ObjC optimisation region, and its only code references
         * out the 4 ADRP+ADD loads of those selectors: no image exports
         * anything there (the objc pass copies them in). */
        bool objc_left = i == LIBHELLO && c->nmaps > 2;
        ck_assert_msg(r.pointers_outside <= (objc_left ? 10u : 0u), "%s: %llu pointers out", path,
                      (unsigned long long)r.pointers_outside);
        ck_assert_msg(r.code_refs_outside <= (objc_left ? 4u : 0u), "%s: %llu code refs out", path,
                      (unsigned long long)r.code_refs_outside);
        binds += r.binds;
        stubs += r.stubs;
    }
    if (c->nmaps > 2) { /* the objc caches */
        ck_assert_uint_ge(binds, 140);
        ck_assert_uint_eq(stubs, 134);
    }
    dsc_cache_close(c);
}
END_TEST

struct bind_list {
    struct { char name[128]; int ordinal; uint64_t address; } v[512];
    size_t n;
};

static int collect(void *ctx, const struct dsc_decoded_fixup *d)
{
    struct bind_list *l = ctx;
    if (d->f.kind != DSC_FIXUP_BIND)
        return 0;
    ck_assert_uint_lt(l->n, 512);
    snprintf(l->v[l->n].name, sizeof l->v[l->n].name, "%s", d->name);
    l->v[l->n].ordinal = d->lib_ordinal;
    l->v[l->n++].address = d->f.address;
    return 0;
}

static int collect_lazy(void *ctx, const struct dsc_bind_rec *r)
{
    struct dsc_decoded_fixup d = {.f = {.address = r->address, .kind = DSC_FIXUP_BIND}, .name = r->name,
                                  .lib_ordinal = r->ordinal};
    return collect(ctx, &d);
}

/* The output's lazy-bind opcodes and 64-bit segments (fixup_decode reads
 * rebases and binds only). */
static dsc_span output_lazy(const dsc_output *o, struct dsc_bind_seg *segs, unsigned *nsegs)
{
    dsc_span lazy = {NULL, 0};
    uint64_t at = 32;
    *nsegs = 0;
    for (uint32_t i = 0; i < dsc_le32(o->data + 16); i++) {
        const uint8_t *lc = o->data + at;
        if (dsc_le32(lc) == LC_SEGMENT_64 && *nsegs < 16)
            segs[(*nsegs)++] = (struct dsc_bind_seg){dsc_le64(lc + 24), dsc_le64(lc + 32), dsc_le64(lc + 48)};
        if (dsc_le32(lc) == LC_DYLD_INFO_ONLY)
            ck_assert(span_sub((dsc_span){o->data, o->size}, dsc_le32(lc + 32), dsc_le32(lc + 36), &lazy));
        at += dsc_le32(lc + 4);
    }
    return lazy;
}

/* Every bind of the extracted image, lazy ones included. */
static void output_binds(const dsc_cache *c, uint32_t image, struct bind_list *l)
{
    dsc_output o = {.struct_size = sizeof o};
    dsc_error err;
    struct dsc_bind_seg segs[16];
    unsigned nsegs;
    memset(l, 0, sizeof *l);
    ck_assert_msg(dsc_extract(c, image, &o, &err) == 0, "%s", err.msg);
    ck_assert_msg(dsc_fixups_decode((dsc_span){o.data, o.size}, "out", collect, l, &err) == 0, "%s", err.msg);
    dsc_span lazy = output_lazy(&o, segs, &nsegs);
    ck_assert_msg(dsc_bind_walk(lazy, segs, nsegs, 8, true, collect_lazy, l, "out", &err) == 0, "%s", err.msg);
    dsc_output_free(&o);
}

/* The arm64 cache kept each image's bind and lazy-bind opcodes: the output
 * binds exactly those slots, to the same names and ordinals (lazily where
 * they were lazy: libhello's 4 lazy pointers). */
START_TEST(binds_equal_original_opcodes)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    static struct bind_list out;
    size_t total = 0;
    for (uint32_t i = 0; i < dsc_cache_get_info(c)->image_count; i++) {
        struct dsc_macho mo;
        struct dsc_imports im;
        dsc_error err;
        ck_assert_msg(dsc_macho_parse(c, i, &mo, &err) == 0, "%s", err.msg);
        ck_assert_msg(dsc_imports_load(&mo, &im, &err) == 0, "%s", err.msg);
        output_binds(c, i, &out);
        size_t orig = 0;
        for (size_t k = 0; k < im.nbinds; k++)
            orig += !im.binds[k].weak;
        ck_assert_msg(out.n == orig, "%s: %zu binds out, %zu originally", mo.path, out.n, orig);
        for (size_t k = 0; k < out.n; k++) {
            const struct dsc_orig_bind *ob = dsc_imports_bind_at(&im, out.v[k].address);
            ck_assert_msg(ob != NULL, "%s: bind at 0x%llx was not in the original", mo.path,
                          (unsigned long long)out.v[k].address);
            ck_assert_str_eq(out.v[k].name, ob->name);
            ck_assert_int_eq(out.v[k].ordinal, ob->ordinal);
        }
        total += out.n;
        dsc_imports_free(&im);
        dsc_macho_free(&mo);
    }
    ck_assert_uint_eq(total, 149);
    dsc_cache_close(c);
}
END_TEST

static int cmp_entry(const void *a, const void *b)
{
    const char *x = a, *y = b; /* name first in each entry */
    int r = strcmp(x, y);
    return r ? r : (*(const int *)(x + 128) > *(const int *)(y + 128)) - (*(const int *)(x + 128) < *(const int *)(y + 128));
}

/* arm64e lost its bind opcodes: the export lookups must find the same
 * (symbol, dylib ordinal) pairs the arm64 build of the same sources had,
 * except dyld_stub_binder, which arm64e images do not use, and self-binds
 * (libobjc's GOT slot for its own objc_release): without opcodes nothing
 * tells them from a rebase to the same function, which they stay. */
START_TEST(arm64e_binds_match_arm64_originals)
{
    dsc_cache *a = testdata_open(testdata_caches[0]), *e = testdata_open(testdata_caches[1]);
    if (!a || !e)
        return;
    static struct bind_list la, le;
    const uint32_t images[] = {LIBHELLO, LIBOBJC};
    for (unsigned k = 0; k < 2; k++) {
        output_binds(a, images[k], &la);
        output_binds(e, images[k], &le);
        size_t n = 0;
        for (size_t i = 0; i < la.n; i++)
            if (strcmp(la.v[i].name, "dyld_stub_binder") != 0 && la.v[i].ordinal != 0)
                la.v[n++] = la.v[i];
        la.n = n;
        /* Compare as sorted (name, ordinal) multisets. */
        for (size_t i = 0; i < la.n; i++)
            la.v[i].address = 0;
        for (size_t i = 0; i < le.n; i++)
            le.v[i].address = 0;
        qsort(la.v, la.n, sizeof la.v[0], cmp_entry);
        qsort(le.v, le.n, sizeof le.v[0], cmp_entry);
        ck_assert_uint_eq(le.n, la.n);
        for (size_t i = 0; i < la.n; i++) {
            ck_assert_str_eq(le.v[i].name, la.v[i].name);
            ck_assert_int_eq(le.v[i].ordinal, la.v[i].ordinal);
        }
    }
    dsc_cache_close(a);
    dsc_cache_close(e);
}
END_TEST

/* ---- the bind-opcode decoder ---- */

struct recs {
    struct dsc_bind_rec v[16];
    size_t n;
};

static int keep(void *ctx, const struct dsc_bind_rec *r)
{
    struct recs *l = ctx;
    if (l->n < 16)
        l->v[l->n] = *r;
    l->n++;
    return 0;
}

static const struct dsc_bind_seg segs[2] = {{0x1000, 0x1000, 0x1000}, {0x4000, 0x100, 0x100}};

START_TEST(bind_opcodes_decode)
{
    /* ordinal 2; "_foo" weak-import; seg 1 + 0x10; bind; bind x3 skipping
     * 8; special ordinal -2; addend -4; bind; done. */
    static const uint8_t s[] = {0x12, 0x41, '_', 'f', 'o', 'o', 0, 0x51, 0x71, 0x10, 0x90, 0xC0, 3, 8,
                                0x3E, 0x60, 0x7C, 0x90, 0x00, 0x90};
    struct recs l = {0};
    dsc_error err;
    ck_assert_int_eq(dsc_bind_walk((dsc_span){s, sizeof s}, segs, 2, 8, false, keep, &l, "t", &err), 0);
    ck_assert_uint_eq(l.n, 5); /* the bind after DONE is not reached */
    ck_assert_uint_eq(l.v[0].address, 0x4010);
    ck_assert_str_eq(l.v[0].name, "_foo");
    ck_assert_int_eq(l.v[0].ordinal, 2);
    ck_assert_uint_eq(l.v[0].flags, BIND_SYMBOL_FLAGS_WEAK_IMPORT);
    ck_assert_uint_eq(l.v[1].address, 0x4018);
    ck_assert_uint_eq(l.v[2].address, 0x4028);
    ck_assert_uint_eq(l.v[3].address, 0x4038);
    ck_assert_uint_eq(l.v[4].address, 0x4048);
    ck_assert_int_eq(l.v[4].ordinal, -2);
    ck_assert_int_eq(l.v[4].addend, -4);
    /* A lazy stream goes on after DONE and tells each entry's offset. */
    memset(&l, 0, sizeof l);
    ck_assert_int_eq(dsc_bind_walk((dsc_span){s, sizeof s}, segs, 2, 8, true, keep, &l, "t", &err), 0);
    ck_assert_uint_eq(l.n, 6);
    ck_assert_uint_eq(l.v[5].entry_offset, sizeof s - 1);
}
END_TEST

START_TEST(bind_opcodes_hostile)
{
    struct recs l = {0};
    dsc_error err;
    /* A repeat of 2^63 binds must stop at the segment's end, not loop. */
    static const uint8_t huge[] = {0x11, 0x40, 'x', 0, 0x71, 0, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                   0xFF, 0x7F, 0};
    ck_assert_int_eq(dsc_bind_walk((dsc_span){huge, sizeof huge}, segs, 2, 8, false, keep, &l, "t", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "outside its segment"));
    ck_assert_uint_eq(l.n, 0x100 / 8);
    static const uint8_t bad_seg[] = {0x11, 0x40, 'x', 0, 0x75, 0, 0x90};
    ck_assert_int_eq(dsc_bind_walk((dsc_span){bad_seg, sizeof bad_seg}, segs, 2, 8, false, keep, &l, "t", &err), -1);
    static const uint8_t no_name[] = {0x11, 0x70, 0, 0x90};
    ck_assert_int_eq(dsc_bind_walk((dsc_span){no_name, sizeof no_name}, segs, 2, 8, false, keep, &l, "t", &err), -1);
    static const uint8_t unterminated[] = {0x40, 'a', 'b'};
    ck_assert_int_eq(dsc_bind_walk((dsc_span){unterminated, 3}, segs, 2, 8, false, keep, &l, "t", &err), -1);
    static const uint8_t threaded[] = {0xD0};
    ck_assert_int_eq(dsc_bind_walk((dsc_span){threaded, 1}, segs, 2, 8, false, keep, &l, "t", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "t: bind opcodes at 0x0"));
}
END_TEST

/* A repeat may only bind inside its segment, but 40 repeats over the same
 * 32 slots used to make 1280 records out of 200 bytes (each record a table
 * entry in the imports index): a stream now stops at as many binds as the
 * segments' file bytes hold pointers, (0x1000 + 0x100) / 8 = 544 here. */
START_TEST(bind_opcodes_repeated_over_the_same_slots)
{
    uint8_t s[4 + 40 * 5];
    size_t n = 0;
    s[n++] = 0x11, s[n++] = 0x40, s[n++] = 'x', s[n++] = 0;
    for (int i = 0; i < 40; i++)
        s[n++] = 0x71, s[n++] = 0, s[n++] = 0xC0, s[n++] = 32, s[n++] = 0;
    struct recs l = {0};
    dsc_error err;
    ck_assert_int_eq(dsc_bind_walk((dsc_span){s, n}, segs, 2, 8, false, keep, &l, "t", &err), -1);
    ck_assert_msg(strstr(err.msg, "t: bind opcodes at") && strstr(err.msg, "more binds than the segments have"),
                  "%s", err.msg);
    ck_assert_uint_eq(l.n, 544);
}
END_TEST

static int count_decoded(void *ctx, const struct dsc_decoded_fixup *d)
{
    (void)d;
    ++*(size_t *)ctx;
    return 0;
}

/* The same in an output file's rebase opcodes: one 0x200-byte segment (64
 * pointer slots) rebased 100 times over by REBASE_OPCODE_DO_REBASE_ULEB_TIMES
 * stops after 64 records with one line naming the file. */
START_TEST(rebase_opcodes_repeated_over_the_same_slots)
{
    uint8_t f[0x200 + 2 + 100 * 4] = {0};
    uint8_t *lc = f + MH_HEADER_SIZE_64, *info = lc + SEG_SIZE_64;
    dsc_put32(f, MH_MAGIC_64);
    dsc_put32(f + MH_NCMDS, 2);
    dsc_put32(f + MH_SIZEOFCMDS, SEG_SIZE_64 + DYLD_INFO_CMD_SIZE);
    dsc_put32(lc, LC_SEGMENT_64);
    dsc_put32(lc + 4, SEG_SIZE_64);
    memcpy(lc + SEG_SEGNAME, "__DATA", 6);
    dsc_put64(lc + SEG_VMADDR, 0x1000);
    dsc_put64(lc + SEG_VMADDR + 8, 0x200);
    dsc_put64(lc + SEG_VMADDR + 24, 0x200);
    dsc_put32(info, LC_DYLD_INFO_ONLY);
    dsc_put32(info + 4, DYLD_INFO_CMD_SIZE);
    dsc_put32(info + 8, 0x200);
    dsc_put32(info + 12, sizeof f - 0x200);
    size_t n = 0x200;
    f[n++] = 0x11; /* pointer type; the DONE at the end is never reached */
    for (int i = 0; i < 100; i++)
        f[n++] = 0x20, f[n++] = 0, f[n++] = 0x60, f[n++] = 64;
    size_t got = 0;
    dsc_error err;
    ck_assert_int_eq(dsc_fixups_decode((dsc_span){f, sizeof f}, "crafted", count_decoded, &got, &err), -1);
    ck_assert_msg(strstr(err.msg, "crafted: more rebases or binds in one stream"), "%s", err.msg);
    ck_assert_uint_eq(got, 64);
}
END_TEST

/* Found by tests/fuzz/fuzz_output: a chained-fixups error in the output
 * named the image but not the cache. dsc_verify_output on libobjc's arm64e
 * extraction with its first chained segment's pointer format zeroed must
 * refuse it in one line naming the cache, the image and the output. */
START_TEST(damaged_output_is_refused_naming_the_cache)
{
    dsc_cache *c = testdata_open(testdata_caches[1]);
    if (!c)
        return;
    int64_t image = dsc_cache_find_image(c, "/usr/lib/libobjc.A.dylib");
    ck_assert_int_ge(image, 0);
    dsc_output o = {.struct_size = sizeof o};
    dsc_error err;
    ck_assert_msg(dsc_extract(c, (uint32_t)image, &o, &err) == 0, "%s", err.msg);
    uint32_t ncmds = dsc_le32(o.data + MH_NCMDS), at = MH_HEADER_SIZE_64, dataoff = 0;
    for (uint32_t i = 0; i < ncmds; i++, at += dsc_le32(o.data + at + 4))
        if (dsc_le32(o.data + at) == LC_DYLD_CHAINED_FIXUPS)
            dataoff = dsc_le32(o.data + at + 8);
    ck_assert_uint_ne(dataoff, 0);
    uint32_t starts = dataoff + dsc_le32(o.data + dataoff + 4), nsegs = dsc_le32(o.data + starts);
    bool damaged = false;
    for (uint32_t i = 0; i < nsegs && !damaged; i++) {
        uint32_t seg = dsc_le32(o.data + starts + 4 + 4 * i);
        if (seg) {
            memset(o.data + starts + seg + 6, 0, 2); /* dyld_chained_starts_in_segment.pointer_format */
            damaged = true;
        }
    }
    ck_assert(damaged);
    dsc_verify_report rep = {.size = sizeof rep};
    ck_assert_int_eq(dsc_verify_output(c, (uint32_t)image, o.data, o.size, &rep, &err), -1);
    ck_assert_msg(strstr(err.msg, testdata_path(testdata_caches[1])) &&
                      strstr(err.msg, "libobjc.A.dylib: extracted output") && !strchr(err.msg, '\n'),
                  "%s", err.msg);
    dsc_output_free(&o);
    dsc_cache_close(c);
}
END_TEST

/* Patch the first ADRP+LDR selector load of the output back into the
 * builder's ADRP+ADD of the cache's string; false when there is none. */
static bool unrestore_one_load(const dsc_cache *c, dsc_output *o)
{
    struct dsc_macho mo;
    dsc_error err;
    ck_assert_msg(dsc_macho_read_file((dsc_span){o->data, o->size}, "output", &mo, &err) == 0, "%s", err.msg);
    const struct dsc_section *text = dsc_macho_section(&mo, "__TEXT", "__text");
    const struct dsc_section *refs = NULL;
    for (unsigned i = 0; i < mo.nsects; i++)
        if (strcmp(mo.sects[i].sectname, "__objc_selrefs") == 0)
            refs = &mo.sects[i];
    bool done = false;
    for (uint64_t at = 0; text && refs && !done && at + 8 <= text->size; at += 4) {
        uint8_t *p = o->data + text->offset + at;
        uint32_t w0 = dsc_le32(p), w1 = dsc_le32(p + 4), off, adrp, add;
        unsigned rd, rt, rn, size;
        uint64_t slot, str;
        if (!dsc_a64_is_adrp(w0, &rd) || !dsc_a64_is_ldr_imm(w1, &rt, &rn, &off, &size) || rn != rd || size != 8)
            continue;
        slot = dsc_a64_adrp_target(w0, text->addr + at) + off;
        if (slot - refs->addr >= refs->size || !dsc_vm_ptr_target(c, slot, &str))
            continue;
        ck_assert(dsc_a64_adrp_encode(rd, text->addr + at, str, &adrp));
        ck_assert(dsc_a64_add_imm_encode(rt, rn, (uint32_t)(str & 0xFFF), &add));
        dsc_put32(p, adrp);
        dsc_put32(p + 4, add);
        done = true;
    }
    dsc_macho_free(&mo);
    return done;
}

/* A selector load left as the cache has it (libhello's selectors are
 * libobjc's strings there) is counted as such, and nowhere else. */
START_TEST(unrestored_selector_load_is_counted)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    dsc_output o = {.struct_size = sizeof o};
    dsc_error err;
    dsc_verify_report r = {.size = sizeof r};
    ck_assert_msg(dsc_extract(c, LIBHELLO, &o, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dsc_verify_output(c, LIBHELLO, o.data, o.size, &r, &err), 0);
    ck_assert_uint_eq(r.sel_loads_outside, 0);
    ck_assert(unrestore_one_load(c, &o));
    ck_assert_int_eq(dsc_verify_output(c, LIBHELLO, o.data, o.size, &r, &err), 0);
    ck_assert_uint_eq(r.sel_loads_outside, 1);
    ck_assert_uint_eq(r.code_refs_outside, 0);
    dsc_output_free(&o);
    dsc_cache_close(c);
}
END_TEST

/* dsc.h's contract for the report's `size`: below the first version it
 * is refused; a newer caller's larger struct gets its extra bytes zeroed
 * and nothing written past `size`. */
START_TEST(report_size_is_honoured)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    dsc_error err;
    dsc_verify_report unset = {0}, r = {.size = sizeof r};
    ck_assert_int_eq(dsc_verify(c, LIBHELLO, &unset, &err), -1);
    ck_assert_int_eq(err.code, DSC_ERR_ARGUMENT);
    ck_assert_msg(strstr(err.msg, "dsc_verify_report.size") && !strchr(err.msg, '\n'), "%s", err.msg);
    dsc_verify_report *big = sized_newer(sizeof *big);
    ck_assert_msg(dsc_verify(c, LIBHELLO, big, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dsc_verify(c, LIBHELLO, &r, &err), 0);
    ck_assert(sized_newer_ok(big, sizeof *big));
    ck_assert_uint_eq(big->image, LIBHELLO);
    ck_assert_uint_eq(big->checked, r.checked);
    ck_assert_uint_eq(big->pointers, r.pointers);
    ck_assert_uint_eq(big->stubs, r.stubs);
    ck_assert_uint_eq(big->relrefs_outside, r.relrefs_outside);
    free(big);
    dsc_cache_close(c);
}
END_TEST

Suite *verify_suite(void)
{
    Suite *s = suite_create("verify");
    TCase *real = tcase_create("real");
    tcase_set_timeout(real, 60);
    tcase_add_loop_test(real, every_image_verifies, 0, 3);
    tcase_add_test(real, binds_equal_original_opcodes);
    tcase_add_test(real, arm64e_binds_match_arm64_originals);
    tcase_add_test(real, damaged_output_is_refused_naming_the_cache);
    tcase_add_loop_test(real, unrestored_selector_load_is_counted, 0, 2);
    tcase_add_test(real, report_size_is_honoured);
    suite_add_tcase(s, real);
    TCase *ops = tcase_create("opcodes");
    tcase_add_test(ops, bind_opcodes_decode);
    tcase_add_test(ops, bind_opcodes_hostile);
    tcase_add_test(ops, bind_opcodes_repeated_over_the_same_slots);
    tcase_add_test(ops, rebase_opcodes_repeated_over_the_same_slots);
    suite_add_tcase(s, ops);
    return s;
}

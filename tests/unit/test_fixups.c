/* SPDX-License-Identifier: BSD-2-Clause */
/* test_fixups.c — the fixup encoders with binds, run the way a later pass
 * (branch `binds`) will use the plan API: after pass_pointers, turn some
 * pointers into BIND fixups with imports, then linkedit → fixups → out.
 *
 * arm64 (opcodes): `llvm-objdump-19 --macho --bind` must list exactly the
 * binds we made, with dylib, symbol, addend and weak flag. arm64e (chained):
 * llvm-objdump-19 rejects pointer format 1, so our decoder reads the chains
 * back and must return every bind with its import, addend and auth bits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extract/extract.h"
#include "base/ptrfmt.h"
#include "verify/fixup_decode.h"
#include "suites.h"
#include "testdata.h"

struct want {
    const char *name;
    int ordinal;
    bool weak;
    int64_t addend;
};

static const struct want wants[] = {
    {"_bound_plain", 1, false, 0},
    {"_bound_weak", 1, true, 0},
    {"_bound_addend", 1, false, 16},
    {"_bound_flat", DSC_ORDINAL_FLAT_LOOKUP, false, 0},
};
#define NWANT (sizeof wants / sizeof wants[0])

/* The first REBASE fixup with auth == `auth` (or any, when !strict). */
static struct dsc_fixup *pick(struct dsc_plan *p, bool auth, bool strict)
{
    for (size_t i = 0; i < p->nfixups; i++)
        if (p->fixups[i].kind == DSC_FIXUP_REBASE && (!strict || p->fixups[i].auth.present == auth))
            return &p->fixups[i];
    return NULL;
}

/* Extract `path` with the first NWANT in-image pointers turned into binds. */
static int build(const char *cache_rel, const char *path, dsc_output *out, uint64_t *bound_at,
                 struct dsc_fixup_auth *auth)
{
    const char *cp = testdata_path(cache_rel);
    if (!cp)
        return 1;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(cp, &c, &err) == 0, "%s", err.msg);
    int64_t image = dsc_cache_find_image(c, path);
    ck_assert_int_ge(image, 0);
    struct dsc_plan p;
    ck_assert_msg(plan_init(&p, c, (uint32_t)image, true, &err) == 0, "%s", err.msg);
    ck_assert_msg(pass_layout(&p) == 0 && pass_pointers(&p) == 0, "%s", err.msg);
    size_t made = 0;
    for (; made < NWANT; made++) {
        /* Authenticated binds carry no addend; give the others one when we can. */
        bool want_auth = wants[made].addend == 0;
        struct dsc_fixup *f = pick(&p, want_auth, true);
        if (!f || (f->auth.present && wants[made].addend))
            f = pick(&p, false, false);
        ck_assert_ptr_nonnull(f);
        uint32_t index;
        ck_assert_int_eq(plan_add_import(&p, wants[made].name, wants[made].ordinal, wants[made].weak, &index), 0);
        f->kind = DSC_FIXUP_BIND;
        f->import = index;
        f->addend = wants[made].addend;
        auth[made] = f->auth;
        bound_at[made] = f->address;
    }
    ck_assert_uint_eq(made, NWANT);
    ck_assert_msg(pass_linkedit(&p) == 0 && pass_fixups(&p) == 0 && out_finish(&p) == 0, "%s", err.msg);
    ck_assert_uint_eq(p.stats.binds, NWANT);
    out->size = p.file_size;
    out->data = malloc(out->size);
    ck_assert_int_eq(out_write(&p, out->data), 0);
    plan_free(&p);
    dsc_cache_close(c);
    return 0;
}

struct decoded {
    struct dsc_decoded_fixup d[64];
    int nbinds, nrebases;
};

static int on_fixup(void *ctx, const struct dsc_decoded_fixup *d)
{
    struct decoded *x = ctx;
    if (d->f.kind == DSC_FIXUP_BIND) {
        ck_assert_int_lt(x->nbinds, 64);
        x->d[x->nbinds++] = *d;
    } else {
        x->nrebases++;
    }
    return 0;
}

static void check_decoded(const dsc_output *o, const uint64_t *bound_at, const struct dsc_fixup_auth *auth,
                          bool chained)
{
    struct decoded x = {0};
    dsc_error err;
    ck_assert_msg(dsc_fixups_decode((dsc_span){o->data, o->size}, "out", on_fixup, &x, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(x.nbinds, (int)NWANT);
    for (size_t i = 0; i < NWANT; i++) {
        const struct dsc_decoded_fixup *d = NULL;
        for (int j = 0; j < x.nbinds; j++)
            if (x.d[j].f.address == bound_at[i])
                d = &x.d[j];
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(d->name, wants[i].name);
        ck_assert_int_eq(d->lib_ordinal, wants[i].ordinal);
        ck_assert_int_eq(d->weak_import, wants[i].weak);
        ck_assert_int_eq(d->f.addend, wants[i].addend);
        if (chained) {
            ck_assert_int_eq(d->f.auth.present, auth[i].present);
            ck_assert_uint_eq(d->f.auth.key, auth[i].key);
            ck_assert_int_eq(d->f.auth.addr_div, auth[i].addr_div);
            ck_assert_uint_eq(d->f.auth.diversity, auth[i].diversity);
        }
    }
    ck_assert_int_gt(x.nrebases, 0);
}

START_TEST(opcode_binds_read_back_by_llvm_objdump)
{
    dsc_output o = {.struct_size = sizeof o};
    uint64_t at[NWANT];
    struct dsc_fixup_auth auth[NWANT];
    if (build(testdata_caches[0], "/usr/lib/libobjc.A.dylib", &o, at, auth))
        return;
    check_decoded(&o, at, auth, false);
    char path[] = "/tmp/dsc_bind_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, o.data, o.size), (ssize_t)o.size);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "llvm-objdump-19 --macho --bind %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[512];
    int seen[NWANT] = {0};
    int lines = 0;
    while (fgets(line, sizeof line, p)) {
        ck_assert_msg(!strstr(line, "error") && !strstr(line, "warning"), "llvm-objdump: %s", line);
        unsigned long long addr;
        char seg[64], sect[64], type[64], dylib[128], sym[128];
        long long addend;
        int n = sscanf(line, "%63s %63s 0x%llx %63s %lld %127s %127s", seg, sect, &addr, type, &addend, dylib, sym);
        if (n != 7)
            continue;
        lines++;
        for (size_t i = 0; i < NWANT; i++) {
            if (addr != at[i])
                continue;
            seen[i]++;
            ck_assert_msg(strstr(line, wants[i].name), "%s", line);
            ck_assert_int_eq(addend, wants[i].addend);
            ck_assert_int_eq(strstr(line, "(weak_import)") != NULL, wants[i].weak);
            if (wants[i].ordinal == DSC_ORDINAL_FLAT_LOOKUP)
                ck_assert_str_eq(dylib, "flat-namespace");
        }
    }
    ck_assert_int_eq(pclose(p), 0);
    unlink(path);
    ck_assert_int_eq(lines, (int)NWANT);
    for (size_t i = 0; i < NWANT; i++)
        ck_assert_int_eq(seen[i], 1);
    free(o.data);
}
END_TEST

START_TEST(chained_binds_keep_imports_and_auth)
{
    dsc_output o = {.struct_size = sizeof o};
    uint64_t at[NWANT];
    struct dsc_fixup_auth auth[NWANT];
    if (build(testdata_caches[1], "/usr/lib/libobjc.A.dylib", &o, at, auth))
        return;
    check_decoded(&o, at, auth, true);
    bool any_auth = false;
    for (size_t i = 0; i < NWANT; i++)
        any_auth |= auth[i].present;
    ck_assert_msg(any_auth, "no authenticated pointer became a bind; the test proves less than it says");
    free(o.data);
}
END_TEST

/* Rebase opcodes on a synthetic plan: runs stop at a segment boundary even
 * when the next segment follows in VM; equal strides use the skipping form. */
static void encode(const uint64_t *addrs, size_t n, const uint8_t *want, size_t want_len)
{
    struct dsc_out_segment segs[2] = {
        {.name = "A", .vmaddr = 0x1000, .vmsize = 0x10, .filesize = 0x10},
        {.name = "B", .vmaddr = 0x1010, .vmsize = 0x40, .filesize = 0x40},
    };
    struct dsc_fixup fixups[8];
    struct dsc_plan p = {.segs = segs, .nsegs = 2, .ptr_size = 8, .fixups = fixups, .nfixups = n};
    for (size_t i = 0; i < n; i++)
        fixups[i] = (struct dsc_fixup){.address = addrs[i], .kind = DSC_FIXUP_REBASE};
    ck_assert_int_eq(encode_opcodes(&p), 0);
    ck_assert_uint_eq(p.le.rebase.size, want_len);
    ck_assert_mem_eq(p.le.rebase.data, want, want_len);
    ck_assert_uint_eq(p.le.bind.size, 0);
    blob_free(&p.le.rebase);
}

START_TEST(rebase_runs_stop_at_segment_boundaries)
{
    /* SET_TYPE pointer; seg 0 off 0; 2 rebases; seg 1 off 0; 2 rebases; DONE */
    static const uint64_t adjacent[] = {0x1000, 0x1008, 0x1010, 0x1018};
    static const uint8_t want1[] = {0x11, 0x20, 0x00, 0x52, 0x21, 0x00, 0x52, 0x00};
    encode(adjacent, 4, want1, sizeof want1);
    /* A stride that steps over the boundary: 0x1008 (A), 0x1018, 0x1028 (B). */
    static const uint64_t across[] = {0x1008, 0x1018, 0x1028};
    static const uint8_t want3[] = {0x11, 0x20, 0x08, 0x51, 0x21, 0x08, 0x51, 0x41,
                                    0x51, 0x00, 0, 0, 0, 0, 0, 0};
    encode(across, 3, want3, sizeof want3);
    /* seg 1: three rebases 16 apart (ULEB_TIMES_SKIPPING 3, skip 8) leave the
     * cursor at 0x30, past the next one at 0x28: a new SET_SEGMENT_AND_OFFSET,
     * one rebase, DONE, padding to 8. */
    static const uint64_t strided[] = {0x1010, 0x1020, 0x1030, 0x1038};
    static const uint8_t want2[] = {0x11, 0x21, 0x00, 0x80, 0x03, 0x08, 0x21, 0x28,
                                    0x51, 0x00, 0, 0, 0, 0, 0, 0};
    encode(strided, 4, want2, sizeof want2);
}
END_TEST

/* Import entries of every format, special ordinals and addends included,
 * decode to what was encoded; fields a format cannot hold are refused. */
START_TEST(chained_import_formats_round_trip)
{
    static const struct dsc_chained_import cases[] = {
        {1, false, 1, 0}, {DSC_ORDINAL_WEAK_LOOKUP, true, 77, 0}, {DSC_ORDINAL_FLAT_LOOKUP, false, 5, 16},
        {200, false, (1u << 23) - 1, -0x40800}, {0x300, true, 1u << 30, (int64_t)1 << 40},
    };
    for (unsigned format = DSC_CHAINED_IMPORT; format <= DSC_CHAINED_IMPORT_ADDEND64; format++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const struct dsc_chained_import *c = &cases[i];
            bool fits = format == DSC_CHAINED_IMPORT_ADDEND64 ||
                        (c->lib_ordinal <= 0xF0 && c->name_offset < (1u << 23) &&
                         (format == DSC_CHAINED_IMPORT_ADDEND ? c->addend == (int32_t)c->addend : c->addend == 0));
            uint8_t entry[16];
            struct dsc_chained_import back;
            ck_assert_int_eq(dsc_chained_import_encode(format, c, entry), fits);
            if (!fits)
                continue;
            dsc_chained_import_decode(format, entry, &back);
            ck_assert_int_eq(back.lib_ordinal, c->lib_ordinal);
            ck_assert_int_eq(back.weak_import, c->weak_import);
            ck_assert_uint_eq(back.name_offset, c->name_offset);
            ck_assert_int_eq(back.addend, c->addend);
        }
    }
    ck_assert_uint_eq(dsc_chained_import_size(DSC_CHAINED_IMPORT_ADDEND), 8);
    ck_assert_uint_eq(dsc_chained_import_size(4), 0);
}
END_TEST

/* encode_chained on a synthetic plan: a pointer keeps an addend it holds;
 * an authenticated bind's addend and one wider than 19 bits move into an
 * import of their own (format ADDEND), one beyond 32 bits makes it ADDEND64. */
static void chained_addends(int64_t wide, unsigned want_format)
{
    struct dsc_out_segment seg = {.name = "__DATA", .vmaddr = 0x4000, .vmsize = 0x4000, .filesize = 0x4000};
    struct dsc_import imports[1] = {{.name = strdup("_sym"), .lib_ordinal = 1}};
    struct dsc_fixup fixups[3] = {
        {.address = 0x4000, .kind = DSC_FIXUP_BIND, .import = 0, .addend = 16},
        {.address = 0x4008, .kind = DSC_FIXUP_BIND, .import = 0, .addend = 16, .auth = {true, 2, true, 7}},
        {.address = 0x4010, .kind = DSC_FIXUP_BIND, .import = 0, .addend = wide},
    };
    struct dsc_plan p = {.segs = &seg, .nsegs = 1, .ptr_size = 8, .fixups = fixups, .nfixups = 3,
                         .encoding = DSC_ENCODE_CHAINED};
    p.imports = malloc(sizeof imports);
    memcpy(p.imports, imports, sizeof imports);
    p.nimports = 1;
    p.imports_cap = 1;
    ck_assert_int_eq(encode_chained(&p), 0);
    const uint8_t *h = p.le.chained.data;
    ck_assert_uint_eq(dsc_le32(h + 20), want_format);
    ck_assert_uint_eq(dsc_le32(h + 16), 3);
    int64_t want[3] = {0, 16, wide}; /* import addends, in the order made */
    for (uint32_t i = 0; i < 3; i++) {
        struct dsc_chained_import e;
        dsc_chained_import_decode(want_format, h + dsc_le32(h + 8) + i * dsc_chained_import_size(want_format), &e);
        ck_assert_int_eq(e.lib_ordinal, 1);
        ck_assert_int_eq(e.addend, want[i]);
        ck_assert_str_eq((const char *)h + dsc_le32(h + 12) + e.name_offset, "_sym");
    }
    ck_assert_int_eq(fixups[0].addend, 16);
    ck_assert_int_eq(fixups[1].addend + fixups[2].addend, 0);
    ck_assert_uint_eq(fixups[1].import, 1);
    ck_assert_uint_eq(fixups[2].import, 2);
    for (uint32_t i = 0; i < p.nimports; i++)
        free(p.imports[i].name);
    free(p.imports);
    blob_free(&p.le.chained);
}

START_TEST(chained_addends_move_to_imports)
{
    chained_addends(0x40800, DSC_CHAINED_IMPORT_ADDEND);
    chained_addends((int64_t)1 << 33, DSC_CHAINED_IMPORT_ADDEND64);
}
END_TEST

/* Only imports a bind names go into the table: one no bind names, and one
 * whose bind moved its addend into an import of its own, are dropped and
 * the binds renumbered. */
START_TEST(chained_unused_imports_go)
{
    struct dsc_out_segment seg = {.name = "__DATA", .vmaddr = 0x4000, .vmsize = 0x4000, .filesize = 0x4000};
    struct dsc_fixup fixups[2] = {
        {.address = 0x4000, .kind = DSC_FIXUP_BIND, .import = 1},
        {.address = 0x4008, .kind = DSC_FIXUP_BIND, .import = 2, .addend = 8, .auth = {true, 0, true, 1}},
    };
    struct dsc_plan p = {.segs = &seg, .nsegs = 1, .ptr_size = 8, .fixups = fixups, .nfixups = 2,
                         .encoding = DSC_ENCODE_CHAINED};
    const char *names[3] = {"_none", "_b", "_c"};
    p.imports = calloc(3, sizeof *p.imports);
    for (uint32_t i = 0; i < 3; i++)
        p.imports[i] = (struct dsc_import){.name = strdup(names[i]), .lib_ordinal = 1};
    p.nimports = 3;
    p.imports_cap = 3;
    ck_assert_int_eq(encode_chained(&p), 0);
    ck_assert_uint_eq(p.nimports, 2); /* _b, and _c with addend 8 */
    ck_assert_str_eq(p.imports[fixups[0].import].name, "_b");
    ck_assert_str_eq(p.imports[fixups[1].import].name, "_c");
    ck_assert_int_eq(p.imports[fixups[1].import].addend, 8);
    ck_assert_uint_eq(dsc_le32(p.le.chained.data + 16), 2);
    for (uint32_t i = 0; i < p.nimports; i++)
        free(p.imports[i].name);
    free(p.imports);
    blob_free(&p.le.chained);
}
END_TEST

/* fixups_sort: a sorted run with a few fixups appended comes out in order;
 * an appended twin of a sorted fixup, or of another appended one, fails,
 * as do twins in a table sorted whole; a sorted table stays as it is. */
static int sort_addrs(struct dsc_plan *p, struct dsc_fixup *v, const uint64_t *extra, size_t nextra)
{
    size_t n = 0;
    for (; n < 100; n++)
        v[n] = (struct dsc_fixup){.address = 0x1000 + 16 * n, .target = n};
    for (size_t i = 0; i < nextra; i++)
        v[n++] = (struct dsc_fixup){.address = extra[i], .target = 100 + i};
    *p = (struct dsc_plan){.fixups = v, .nfixups = n, .fixups_cap = n};
    return fixups_sort(p);
}

START_TEST(fixups_sort_merges_appended)
{
    struct dsc_fixup v[128];
    struct dsc_plan p;
    static const uint64_t appended[] = {0x1008, 0x1FF8, 0x0FF8};
    ck_assert_int_eq(sort_addrs(&p, v, appended, 3), 0);
    ck_assert_uint_eq(p.fixups_sorted, 103);
    for (size_t i = 1; i < 103; i++)
        ck_assert_uint_lt(v[i - 1].address, v[i].address);
    ck_assert_uint_eq(v[0].target, 102);
    ck_assert_uint_eq(v[2].target, 100);
    ck_assert_uint_eq(v[102].target, 101);
    /* one more appended: merged into what the first call sorted */
    v[103] = (struct dsc_fixup){.address = 0x1004, .target = 103};
    p.nfixups = 104;
    ck_assert_int_eq(fixups_sort(&p), 0);
    ck_assert_uint_eq(v[2].target, 103);
    static const uint64_t twin_sorted[] = {0x2000, 0x1010};
    ck_assert_int_eq(sort_addrs(&p, v, twin_sorted, 2), -1);
    static const uint64_t twin_appended[] = {0x1004, 0x2000, 0x1004};
    ck_assert_int_eq(sort_addrs(&p, v, twin_appended, 3), -1);
    uint64_t many[20];
    for (size_t i = 0; i < 20; i++)
        many[i] = 0x0800 + 8 * (19 - i);
    ck_assert_int_eq(sort_addrs(&p, v, many, 20), 0);
    for (size_t i = 1; i < 120; i++)
        ck_assert_uint_lt(v[i - 1].address, v[i].address);
    many[19] = 0x1000;
    ck_assert_int_eq(sort_addrs(&p, v, many, 20), -1);
}
END_TEST

Suite *fixups_suite(void)
{
    Suite *s = suite_create("fixups");
    TCase *tc = tcase_create("binds");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, opcode_binds_read_back_by_llvm_objdump);
    tcase_add_test(tc, chained_binds_keep_imports_and_auth);
    tcase_add_test(tc, rebase_runs_stop_at_segment_boundaries);
    tcase_add_test(tc, chained_import_formats_round_trip);
    tcase_add_test(tc, chained_addends_move_to_imports);
    tcase_add_test(tc, chained_unused_imports_go);
    tcase_add_test(tc, fixups_sort_merges_appended);
    suite_add_tcase(s, tc);
    return s;
}

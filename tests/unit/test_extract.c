/* SPDX-License-Identifier: BSD-2-Clause */
/* test_extract.c — dsc_extract on every image of the real caches, judged
 * against the cache itself: the rebase set of each output equals the set of
 * in-image pointers found by walking the cache's slide info; segment bytes
 * equal the cache's except at pointer slots; dsc_extract_size is exact,
 * signed and unsigned (and, signed, on every image of the builder's caches).
 *
 * Rebases are read back with our own decoder (fixup_decode.c) because
 * llvm-objdump-19 cannot read arm64e chained fixups (it rejects pointer
 * format 1) and numbers segments by their sections, so it would misread
 * rebases into section-less segments (libobjc's __OBJC_RW was one until
 * extraction left it out). Where llvm can read them (arm64 images whose
 * segments all have sections) the rebase set is also checked against
 * `llvm-objdump-19 --macho --rebase`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/ptrfmt.h"
#include "extract/extract.h"
#include "verify/fixup_decode.h"
#include "cache/slide.h"
#include "index/objc.h"
#include "suites.h"
#include "testdata.h"

struct fix_set {
    struct dsc_fixup *v;
    size_t n, cap;
};

static void set_add(struct fix_set *s, const struct dsc_fixup *f)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        ck_assert_ptr_nonnull(s->v);
    }
    s->v[s->n++] = *f;
}

static int cmp_addr(const void *a, const void *b)
{
    const struct dsc_fixup *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

/* What the cache's slide info says about one image. */
struct truth {
    struct dsc_macho mo;
    struct fix_set rebases; /* in-image targets */
    struct fix_set slots;   /* every slot (size in .import), pointer or not */
};

/* A segment of the dylib: not __LINKEDIT (rebuilt), nor the cache tables
 * the builder spanned with libobjc's __OBJC_RO/__OBJC_RW (left out). */
static bool dylib_segment(const struct dsc_macho *mo, const struct dsc_segment *s)
{
    return strcmp(s->name, "__LINKEDIT") != 0 && !dsc_objc_cache_segment(mo, s);
}

static bool in_image(const struct dsc_macho *mo, uint64_t v)
{
    v &= DSC_TBI_MASK;
    for (unsigned i = 0; i < mo->nsegs; i++)
        if (dylib_segment(mo, &mo->segs[i]) && v >= mo->segs[i].vmaddr &&
            v - mo->segs[i].vmaddr < mo->segs[i].vmsize)
            return true;
    return false;
}

static int on_truth_slot(void *ctx, const struct dsc_slide_slot *s)
{
    struct truth *t = ctx;
    struct dsc_fixup f = {.address = s->address, .target = s->ptr.value, .import = s->size,
                          .auth = {s->ptr.auth, s->ptr.key, s->ptr.addr_div, s->ptr.diversity}};
    set_add(&t->slots, &f);
    if (s->ptr.is_pointer && in_image(&t->mo, s->ptr.value))
        set_add(&t->rebases, &f);
    return 0;
}

static void truth_build(const dsc_cache *c, uint32_t image, struct truth *t)
{
    memset(t, 0, sizeof *t);
    dsc_error err;
    ck_assert_msg(dsc_macho_parse(c, image, &t->mo, &err) == 0, "%s", err.msg);
    for (unsigned i = 0; i < t->mo.nsegs; i++) {
        const struct dsc_segment *seg = &t->mo.segs[i];
        if (!dylib_segment(&t->mo, seg))
            continue;
        size_t before = t->slots.n;
        ck_assert_msg(dsc_slide_walk_range(c, seg->vmaddr, seg->vmaddr + seg->filesize, on_truth_slot, t, &err) == 0,
                      "%s", err.msg);
        /* pass_pointers sizes its table by this bound */
        ck_assert_uint_le(t->slots.n - before, dsc_slide_slots_bound(c, seg->vmaddr, seg->vmaddr + seg->filesize));
    }
    if (t->rebases.n)
        qsort(t->rebases.v, t->rebases.n, sizeof *t->rebases.v, cmp_addr);
    if (t->slots.n)
        qsort(t->slots.v, t->slots.n, sizeof *t->slots.v, cmp_addr);
}

static void truth_free(struct truth *t)
{
    dsc_macho_free(&t->mo);
    free(t->rebases.v);
    free(t->slots.v);
}

static int on_decoded(void *ctx, const struct dsc_decoded_fixup *d)
{
    set_add(ctx, &d->f);
    return 0;
}

/* Size of the output's mach header: 28 bytes for 32-bit (arm64_32), else 32. */
static uint32_t out_header_size(const dsc_output *o)
{
    return dsc_le32(o->data) == 0xfeedfaceu ? 28 : 32;
}

/* File offset and size of the output segment named `name` (LC_SEGMENT_64,
 * or LC_SEGMENT in a 32-bit file). */
static bool out_segment(const dsc_output *o, const char *name, uint64_t *fileoff, uint64_t *filesize)
{
    bool is32 = out_header_size(o) == 28;
    uint32_t ncmds = dsc_le32(o->data + 16);
    uint64_t at = out_header_size(o);
    for (uint32_t i = 0; i < ncmds && at + 8 <= o->size; i++) {
        const uint8_t *lc = o->data + at;
        if (dsc_le32(lc) == (is32 ? 1u : LC_SEGMENT_64) && strncmp((const char *)lc + 8, name, 16) == 0) {
            *fileoff = is32 ? dsc_le32(lc + 32) : dsc_le64(lc + 40);
            *filesize = is32 ? dsc_le32(lc + 36) : dsc_le64(lc + 48);
            return true;
        }
        at += dsc_le32(lc + 4);
    }
    return false;
}

static bool is_slot(const struct truth *t, uint64_t addr)
{
    size_t lo = 0, hi = t->slots.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct dsc_fixup *s = &t->slots.v[mid];
        if (addr < s->address)
            hi = mid;
        else if (addr >= s->address + s->import)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* Bytes of every segment equal the cache's except at slide slots, in code
 * (pass_stubs re-points stubs and branches; test_stubs.c and test_verify.c
 * judge those) and in the load commands, which are rewritten. */
static bool in_code(const struct dsc_macho *mo, uint64_t addr)
{
    for (unsigned i = 0; i < mo->nsects; i++)
        if ((mo->sects[i].flags & 0x80000400u) && addr - mo->sects[i].addr < mo->sects[i].size)
            return true;
    return false;
}

static void check_bytes(const dsc_cache *c, const struct truth *t, const dsc_output *o)
{
    uint32_t new_cmds_end = out_header_size(o) + dsc_le32(o->data + 20);
    uint64_t cmds_end = t->mo.header.size > new_cmds_end ? t->mo.header.size : new_cmds_end;
    for (unsigned i = 0; i < t->mo.nsegs; i++) {
        const struct dsc_segment *seg = &t->mo.segs[i];
        if (!dylib_segment(&t->mo, seg))
            continue;
        uint64_t off, size;
        ck_assert_msg(out_segment(o, seg->name, &off, &size), "%s: segment %s missing", t->mo.path, seg->name);
        ck_assert_uint_eq(size, seg->filesize);
        ck_assert_uint_le(off + size, o->size);
        dsc_span src;
        ck_assert(dsc_vm_span(c, seg->vmaddr, size, &src));
        for (uint64_t b = i == 0 ? cmds_end : 0; b < size; b++)
            if (o->data[off + b] != src.data[b] && !in_code(&t->mo, seg->vmaddr + b))
                ck_assert_msg(is_slot(t, seg->vmaddr + b), "%s: byte at 0x%llx differs and is no pointer slot",
                              t->mo.path, (unsigned long long)(seg->vmaddr + b));
    }
}

static bool in_lazy_pointers(const struct dsc_macho *mo, uint64_t addr)
{
    for (unsigned i = 0; i < mo->nsects; i++)
        if ((mo->sects[i].flags & 0xFF) == 7 && addr - mo->sects[i].addr < mo->sects[i].size)
            return true;
    return false;
}

static void check_rebases(struct truth *t, const dsc_output *o, bool chained)
{
    struct fix_set got = {0};
    dsc_error err;
    ck_assert_msg(dsc_fixups_decode((dsc_span){o->data, o->size}, t->mo.path, on_decoded, &got, &err) == 0, "%s",
                  err.msg);
    if (got.n)
        qsort(got.v, got.n, sizeof *got.v, cmp_addr);
    /* Binds are pass_binds' business (test_verify.c): set them aside, and
     * drop the in-image slots it bound (self-binds the original file had);
     * so are lazy pointers, rebased to their stub-helper entries again. */
    size_t kept = 0, r = 0, lazy = 0;
    for (size_t i = 0; i < t->rebases.n; i++)
        if (!in_lazy_pointers(&t->mo, t->rebases.v[i].address))
            t->rebases.v[kept++] = t->rebases.v[i];
    t->rebases.n = kept;
    kept = 0;
    for (size_t i = 0; i < got.n; i++) {
        if (in_lazy_pointers(&t->mo, got.v[i].address)) {
            lazy += got.v[i].kind == DSC_FIXUP_REBASE;
            continue;
        }
        if (got.v[i].kind != DSC_FIXUP_BIND) {
            got.v[kept++] = got.v[i];
            continue;
        }
        while (r < t->rebases.n && t->rebases.v[r].address < got.v[i].address)
            r++;
        if (r < t->rebases.n && t->rebases.v[r].address == got.v[i].address) {
            memmove(&t->rebases.v[r], &t->rebases.v[r + 1], (t->rebases.n - r - 1) * sizeof *t->rebases.v);
            t->rebases.n--;
        }
    }
    got.n = kept;
    ck_assert_msg(got.n == t->rebases.n, "%s: %zu rebases decoded, slide info has %zu in-image pointers", t->mo.path,
                  got.n, t->rebases.n);
    ck_assert_uint_eq(o->stats.rebases, t->rebases.n + lazy);
    for (size_t i = 0; i < got.n; i++) {
        const struct dsc_fixup *g = &got.v[i], *w = &t->rebases.v[i];
        ck_assert_int_eq(g->kind, DSC_FIXUP_REBASE);
        ck_assert_msg(g->address == w->address && g->target == w->target,
                      "%s: rebase %zu at 0x%llx -> 0x%llx, slide info says 0x%llx -> 0x%llx", t->mo.path, i,
                      (unsigned long long)g->address, (unsigned long long)g->target,
                      (unsigned long long)w->address, (unsigned long long)w->target);
        if (chained) {
            ck_assert_int_eq(g->auth.present, w->auth.present);
            ck_assert_uint_eq(g->auth.key, w->auth.key);
            ck_assert_int_eq(g->auth.addr_div, w->auth.addr_div);
            ck_assert_uint_eq(g->auth.diversity, w->auth.diversity);
        }
    }
    free(got.v);
}

/* Addresses from `llvm-objdump-19 --macho --rebase`; false when llvm could
 * not read the file (its limits, see the top of this file) or is absent. */
static bool llvm_rebases(const char *file, struct fix_set *out)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "llvm-objdump-19 --macho --rebase '%s' 2>&1", file);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    char line[512];
    bool ok = true;
    while (fgets(line, sizeof line, p)) {
        char seg[64], sect[64];
        unsigned long long addr;
        if (strstr(line, "error") || strstr(line, "warning"))
            ok = false;
        else if (sscanf(line, "%63s %63s 0x%llx pointer", seg, sect, &addr) == 3)
            set_add(out, &(struct dsc_fixup){.address = addr});
    }
    return pclose(p) == 0 && ok;
}

static void check_with_llvm(const struct truth *t, const dsc_output *o)
{
    char path[] = "/tmp/dsc_test_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, o->data, o->size), (ssize_t)o->size);
    close(fd);
    struct fix_set got = {0};
    bool section_less = false;
    for (unsigned i = 0; i < t->mo.nsegs; i++)
        section_less |= t->mo.segs[i].nsects == 0 && dylib_segment(&t->mo, &t->mo.segs[i]);
    bool read = llvm_rebases(path, &got);
    unlink(path);
    if (section_less) {
        free(got.v);
        return; /* llvm's section-derived segment numbering; our decoder covered it */
    }
    ck_assert_msg(read, "%s: llvm-objdump-19 --rebase failed or warned", t->mo.path);
    size_t kept = 0; /* lazy pointers: see check_rebases */
    for (size_t i = 0; i < got.n; i++)
        if (!in_lazy_pointers(&t->mo, got.v[i].address))
            got.v[kept++] = got.v[i];
    got.n = kept;
    if (got.n)
        qsort(got.v, got.n, sizeof *got.v, cmp_addr);
    ck_assert_uint_eq(got.n, t->rebases.n);
    for (size_t i = 0; i < got.n; i++)
        ck_assert_uint_eq(got.v[i].address, t->rebases.v[i].address);
    free(got.v);
}

/* The core pipeline only (layout, pointers, linkedit, fixups): later passes
 * (objc, binds, stubs) legitimately add rebases and edit bytes, so the
 * slide-info truth is compared with what the core alone produces. */
static void extract_core(const dsc_cache *c, uint32_t image, dsc_output *o)
{
    struct dsc_plan p;
    dsc_error err;
    memset(o, 0, sizeof *o);
    ck_assert_msg(plan_init(&p, c, image, true, &err) == 0, "%s", err.msg);
    int (*const core[])(struct dsc_plan *) = {pass_layout, pass_pointers, pass_linkedit, pass_fixups, out_finish};
    for (size_t k = 0; k < sizeof core / sizeof core[0]; k++)
        ck_assert_msg(core[k](&p) == 0, "%s", err.msg);
    o->data = malloc(p.file_size);
    ck_assert_ptr_nonnull(o->data);
    ck_assert_msg(out_write(&p, o->data) == 0, "%s", err.msg);
    o->size = p.file_size;
    o->stats = p.stats;
    plan_free(&p);
}

/* Whether the output carries chained fixups (arm64e, and 64-bit images
 * linked with them): llvm-objdump-19 --rebase lists no chained rebases. */
static bool output_chained(const dsc_output *o)
{
    struct dsc_macho mo;
    dsc_error err;
    uint32_t off, len;
    ck_assert_msg(dsc_macho_read_file((dsc_span){o->data, o->size}, "output", &mo, &err) == 0, "%s", err.msg);
    bool chained = dsc_macho_linkedit_data(&mo, LC_DYLD_CHAINED_FIXUPS, &off, &len) > 0;
    dsc_macho_free(&mo);
    return chained;
}

/* The slide-info judgement of one image's core extraction (no binds, stubs
 * or objc pass): rebases, bytes, and llvm-objdump where it can read the
 * output. Returns the number of in-image pointers judged. */
static uint64_t judge_core(dsc_cache *c, uint32_t i)
{
    bool chained = c->info.arch == DSC_ARCH_ARM64E;
    dsc_output o = {.struct_size = sizeof o};
    extract_core(c, i, &o);
    struct truth t;
    truth_build(c, i, &t);
    check_rebases(&t, &o, chained);
    check_bytes(c, &t, &o);
    if (!output_chained(&o))
        check_with_llvm(&t, &o);
    uint64_t n = t.rebases.n;
    truth_free(&t);
    dsc_output_free(&o);
    return n;
}

START_TEST(every_image_rebases_match_slide_info)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    uint64_t total = 0;
    for (uint32_t i = 0; i < c->nimages; i++) {
        dsc_output o = {.struct_size = sizeof o};
        dsc_error err;
        ck_assert_msg(dsc_extract(c, i, &o, &err) == 0, "%s", err.msg);
        uint64_t size;
        ck_assert_msg(dsc_extract_size(c, i, &size, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(size, o.size);
        ck_assert_uint_eq(dsc_le32(o.data + 24) & MH_DYLIB_IN_CACHE, 0);
        /* Unsigned: exact too, and smaller by the signature at least. */
        dsc_output u = {.struct_size = sizeof u};
        ck_assert_msg(dsc_extract_with(c, i, DSC_EXTRACT_UNSIGNED, &u, &err) == 0, "%s", err.msg);
        ck_assert_msg(dsc_extract_size_with(c, i, DSC_EXTRACT_UNSIGNED, &size, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(size, u.size);
        ck_assert_uint_lt(u.size, o.size);
        dsc_output_free(&u);
        dsc_output_free(&o);
        total += judge_core(c, i);
    }
    /* The objc caches have data segments with pointers; the 1042 one has none. */
    if (c->nmaps > 2)
        ck_assert_uint_gt(total, 100);
    dsc_cache_close(c);
}
END_TEST

/* dsc_extract_size against the length of the extraction itself: the size
 * plan skips work that cannot change a size (extract.h), and these caches
 * have the shapes the real ones lack. */
static void size_exact(dsc_cache *c, uint32_t i, const char *name)
{
    dsc_output o = {.struct_size = sizeof o};
    dsc_error err;
    uint64_t size;
    ck_assert_msg(dsc_extract(c, i, &o, &err) == 0, "%s", err.msg);
    ck_assert_msg(dsc_extract_size(c, i, &size, &err) == 0, "%s", err.msg);
    ck_assert_msg(size == o.size, "%s: image %u: dsc_extract_size %llu, extraction %llu bytes", name, i,
                  (unsigned long long)size, (unsigned long long)o.size);
    dsc_output_free(&o);
}

/* The same judgement on the caches tests/builder/make-caches.sh wrote (slide
 * v1-v5, every arch, split caches, .symbols files, universal sets): run by
 * tests/integration/extract_builder.sh, which builds them and names their
 * caches.list in $DSC_BUILDER_LIST; without it there is nothing to judge.
 * Each image's dsc_extract_size is checked exact there too. */
static void judge_builder_cache(const char *name, const char *path, void *ctx)
{
    (void)ctx;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    uint64_t total = 0;
    for (uint32_t i = 0; i < c->nimages; i++) {
        total += judge_core(c, i);
        size_exact(c, i, name);
    }
    printf("%s: %u images, %llu rebases equal the slide info's in-image pointers, every size exact\n", name,
           c->nimages, (unsigned long long)total);
    ck_assert_msg(total > 20, "%s: only %llu rebases", name, (unsigned long long)total);
    dsc_cache_close(c);
}

START_TEST(builder_caches_rebases_match_slide_info)
{
    if (getenv("DSC_BUILDER_LIST"))
        ck_assert_uint_gt(builder_caches_each(judge_builder_cache, NULL), 0);
}
END_TEST

START_TEST(bad_image_index_fails_cleanly)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    dsc_output o = {.struct_size = sizeof o};
    dsc_error err;
    uint64_t size;
    ck_assert_int_eq(dsc_extract(c, 999, &o, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no image 999"));
    ck_assert_int_eq(dsc_extract_size(c, 999, &size, &err), -1);
    dsc_cache_close(c);
}
END_TEST

/* dsc.h's contract for dsc_output's `struct_size`: below the first
 * version it is refused with data and warnings NULL; a newer caller's
 * larger struct gets its extra bytes zeroed, nothing is written past
 * struct_size, and dsc_output_free keeps it. */
START_TEST(output_struct_size_is_honoured)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    dsc_error err;
    dsc_output unset, o = {.struct_size = sizeof o};
    memset(&unset, 0xA5, sizeof unset);
    unset.struct_size = 0;
    ck_assert_int_eq(dsc_extract(c, 0, &unset, &err), -1);
    ck_assert_int_eq(err.code, DSC_ERR_ARGUMENT);
    ck_assert_msg(strstr(err.msg, "dsc_output.struct_size") && !strchr(err.msg, '\n'), "%s", err.msg);
    ck_assert_ptr_null(unset.data);
    ck_assert_ptr_null(unset.warnings);
    dsc_output_free(&unset);
    dsc_output *big = sized_newer(sizeof *big);
    ck_assert_msg(dsc_extract(c, 0, big, &err) == 0, "%s", err.msg);
    ck_assert_msg(dsc_extract(c, 0, &o, &err) == 0, "%s", err.msg);
    ck_assert(sized_newer_ok(big, sizeof *big));
    ck_assert_uint_eq(big->size, o.size);
    ck_assert_mem_eq(big->data, o.data, o.size);
    ck_assert_mem_eq(&big->stats, &o.stats, sizeof o.stats);
    memset(big + 1, 0xA5, SIZED_NEWER);
    dsc_output_free(big);
    ck_assert_ptr_null(big->data);
    ck_assert(sized_newer_ok(big, sizeof *big));
    free(big);
    dsc_output_free(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    dsc_cache_close(c);
}
END_TEST

/* Run a shell command, return its stdout (malloc'ed). */
static char *capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t r; (r = fread(buf + n, 1, cap - n - 1, p)) > 0;) {
        n += r;
        if (cap - n < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    pclose(p);
    return buf;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, size, f), size);
    fclose(f);
}

/* A copy of the arm64 cache with unmapped locals for libhello appended
 * (12-byte entries: its header is shorter than 0x190): the output must list
 * them as its locals, and its indirect symbols must still name the same
 * symbols (they are remapped to the new symbol order). */
START_TEST(unmapped_locals_are_restored)
{
    const char *src = testdata_path(testdata_caches[0]);
    if (!src)
        return;
    FILE *f = fopen(src, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    rewind(f);
    static const char names[] = "\0_restored_local_one\0_restored_local_two";
    size_t blob_size = 24 + 2 * 16 + sizeof names + 12;
    uint8_t *cache = calloc(1, size + blob_size);
    ck_assert_uint_eq(fread(cache, 1, size, f), size);
    fclose(f);
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(src, &c, &err) == 0, "%s", err.msg);
    int64_t image = dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib");
    const struct dsc_section *text;
    struct dsc_macho mo;
    ck_assert_int_ge(image, 0);
    ck_assert_msg(dsc_macho_parse(c, (uint32_t)image, &mo, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(text = dsc_macho_section(&mo, "__TEXT", "__text"));
    uint64_t text_addr = text->addr, dylib_offset = dsc_cache_get_image(c, (uint32_t)image)->address - c->info.base_address;
    dsc_macho_free(&mo);
    dsc_output plain = {.struct_size = sizeof plain};
    ck_assert_msg(dsc_extract(c, (uint32_t)image, &plain, &err) == 0, "%s", err.msg);
    dsc_cache_close(c);

    uint8_t *b = cache + size;
    uint32_t info[6] = {24, 2, 24 + 32, sizeof names, (uint32_t)(24 + 32 + sizeof names), 1};
    for (int i = 0; i < 6; i++)
        dsc_put32(b + 4 * i, info[i]);
    for (int i = 0; i < 2; i++) {
        uint8_t *nl = b + 24 + 16 * i;
        dsc_put32(nl, i ? 21 : 1);
        nl[4] = 0x0e; /* N_SECT */
        nl[5] = 1;
        dsc_put64(nl + 8, text_addr + 4 * (uint64_t)i);
    }
    memcpy(b + 56, names, sizeof names);
    dsc_put32(b + info[4], (uint32_t)dylib_offset);
    dsc_put32(b + info[4] + 4, 0);
    dsc_put32(b + info[4] + 8, 2);
    dsc_put64(cache + 0x48, size); /* localSymbolsOffset */
    dsc_put64(cache + 0x50, blob_size);
    char dir[] = "/tmp/dsc_locals_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cache_path[64], out_path[64], plain_path[64], cmd[256];
    snprintf(cache_path, sizeof cache_path, "%s/cache", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(plain_path, sizeof plain_path, "%s/plain", dir);
    write_file(cache_path, cache, size + blob_size);
    write_file(plain_path, plain.data, plain.size);
    free(cache);

    ck_assert_msg(dsc_cache_open(cache_path, &c, &err) == 0, "%s", err.msg);
    dsc_output o = {.struct_size = sizeof o};
    ck_assert_msg(dsc_extract(c, (uint32_t)image, &o, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(o.stats.local_symbols, 2);
    write_file(out_path, o.data, o.size);
    dsc_output_free(&o);
    dsc_output_free(&plain);
    dsc_cache_close(c);

    snprintf(cmd, sizeof cmd, "llvm-nm-19 -a %s", out_path);
    char *nm = capture(cmd);
    ck_assert_msg(strstr(nm, " t _restored_local_one") && strstr(nm, " t _restored_local_two"), "%s", nm);
    ck_assert_ptr_null(strstr(nm, "<redacted>"));
    free(nm);
    snprintf(cmd, sizeof cmd, "llvm-objdump-19 --macho -p %s | grep -A3 'ilocalsym'", out_path);
    char *dysym = capture(cmd);
    ck_assert_msg(strstr(dysym, "nlocalsym 2\n"), "%s", dysym);
    free(dysym);
    snprintf(cmd, sizeof cmd, "llvm-objdump-19 --macho --indirect-symbols %s | awk 'NR > 1 {print $1, $3}'", out_path);
    char *ind_out = capture(cmd);
    snprintf(cmd, sizeof cmd, "llvm-objdump-19 --macho --indirect-symbols %s | awk 'NR > 1 {print $1, $3}'", plain_path);
    char *ind_plain = capture(cmd);
    ck_assert_str_eq(ind_out, ind_plain);
    ck_assert_uint_gt(strlen(ind_plain), 100);
    free(ind_out);
    free(ind_plain);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The LINKEDIT mapping of a copy of the arm64 cache grown by `grow` bytes
 * (a sparse tail), and libhello's load commands replaced by its __TEXT and
 * as many segment commands covering all of that mapping as fit. */
/* A copy of the arm64 cache in memory, and where libhello's header is. */
static uint8_t *hello_copy(size_t *size, uint64_t *hdr)
{
    const char *src = testdata_path(testdata_caches[0]);
    FILE *f = fopen(src, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*size);
    ck_assert_uint_eq(fread(b, 1, *size, f), *size);
    fclose(f);
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(src, &c, &err) == 0, "%s", err.msg);
    int64_t image = dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib");
    ck_assert_int_ge(image, 0);
    *hdr = dsc_cache_get_image(c, (uint32_t)image)->address - c->info.base_address; /* __TEXT at offset 0 */
    dsc_cache_close(c);
    return b;
}

static void write_overlapping_segments(const char *path, uint64_t grow)
{
    size_t size;
    uint64_t hdr;
    uint8_t *b = hello_copy(&size, &hdr);
    /* Both mapping tables: dyld_cache_mapping_info (32 bytes) and, from
     * header 0x140 on, dyld_cache_mapping_and_slide_info (56 bytes). */
    uint32_t moff = dsc_le32(b + 0x10), mcount = dsc_le32(b + 0x14), last = mcount - 1;
    uint64_t le_addr = dsc_le64(b + moff + 32 * last), le_size = dsc_le64(b + moff + 32 * last + 8) + grow;
    dsc_put64(b + moff + 32 * last + 8, le_size);
    if (moff >= 0x140 && dsc_le32(b + 0x13c) == mcount)
        dsc_put64(b + dsc_le32(b + 0x138) + 56 * last + 8, le_size);
    uint8_t *mh = b + hdr, *lc = mh + MH_HEADER_SIZE_64;
    uint32_t sizeofcmds = dsc_le32(mh + MH_SIZEOFCMDS), ncmds = dsc_le32(mh + MH_NCMDS), text = dsc_le32(lc + 4);
    ck_assert(dsc_le32(lc) == LC_SEGMENT_64 && strcmp((const char *)lc + SEG_SEGNAME, "__TEXT") == 0);
    /* The image table's path points into LC_ID_DYLIB: keep it, fill the
     * runs of commands before and after it with segment commands. */
    uint32_t id_at = text, id_size = 0, nsegs = 0;
    for (uint32_t i = 0, at = 0; i < ncmds; at += dsc_le32(lc + at + 4), i++)
        if (dsc_le32(lc + at) == LC_ID_DYLIB)
            id_at = at, id_size = dsc_le32(lc + at + 4);
    uint32_t runs[2][2] = {{text, id_at}, {id_at + id_size, sizeofcmds}}, kept = 1 + (id_size != 0);
    for (int r = 0; r < 2; r++) {
        uint32_t from = runs[r][0], len = runs[r][1] - from, n = len / SEG_SIZE_64;
        memset(lc + from, 0, len);
        if (len && !n) { /* too short for a segment: an ignored command */
            dsc_put32(lc + from, 0x7ffffff0u), dsc_put32(lc + from + 4, len), kept++;
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint8_t *seg = lc + from + SEG_SIZE_64 * i;
            dsc_put32(seg, LC_SEGMENT_64);
            dsc_put32(seg + 4, i + 1 < n ? SEG_SIZE_64 : len - SEG_SIZE_64 * i);
            snprintf((char *)seg + SEG_SEGNAME, 16, "__COPY%u", nsegs++);
            dsc_put64(seg + SEG_VMADDR, le_addr);
            dsc_put64(seg + SEG_VMADDR + 8, le_size);
            dsc_put64(seg + SEG_VMADDR + 24, le_size);
            dsc_put32(seg + SEG_MAXPROT_64, 1);
            dsc_put32(seg + SEG_MAXPROT_64 + 4, 1);
        }
    }
    ck_assert_uint_ge(nsegs, 8);
    dsc_put32(mh + MH_NCMDS, nsegs + kept);
    write_file(path, b, size);
    ck_assert_int_eq(truncate(path, (off_t)(size + grow)), 0);
    free(b);
}

/* Issue 14 item 2: N segments covering one mapping used to cost N copies of
 * it before the overlap was noticed. Extraction must now refuse the image
 * with one line about the overlap, having copied nothing: the child's peak
 * resident size may not grow by even half of one 64 MiB mapping. */
START_TEST(overlapping_segments_fail_before_copying)
{
    if (!testdata_path(testdata_caches[0]))
        return;
    const uint64_t grow = 64u << 20;
    char path[] = "/tmp/dsc_overlap_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_overlapping_segments(path, grow);
    struct testdata_child r;
    testdata_extract_in_child(path, "/usr/lib/libhello-1.0.dylib", "", &r);
    unlink(path);
    ck_assert_msg(r.rc == -1 && strstr(r.msg, "overlap") && !strchr(r.msg, '\n'), "%s", r.msg);
    ck_assert_msg(r.grew_kb < (long)(grow >> 11), "peak RSS grew by %ld KiB: %s", r.grew_kb, r.msg);
}
END_TEST

/* Random byte changes in the load commands, data (slide chains) and
 * LINKEDIT of a real cache: every extraction either succeeds, with
 * dsc_extract_size agreeing, or fails with a message — never crashes (run
 * it under --enable-sanitizers to see memory errors). Fixed seed. */
/* Nor may two sections share bytes: the passes walk the image section by
 * section, so N section headers over the same bytes cost N walks and N
 * tables (the indirect-symbol index, the stub and selector-load scans).
 * libhello's second __TEXT section made a copy of its first must be
 * refused in one line naming both. */
START_TEST(overlapping_sections_are_refused)
{
    if (!testdata_path(testdata_caches[0]))
        return;
    size_t size;
    uint64_t hdr;
    uint8_t *b = hello_copy(&size, &hdr), *lc = b + hdr + MH_HEADER_SIZE_64;
    ck_assert(dsc_le32(lc) == LC_SEGMENT_64 && dsc_le32(lc + SEG_MAXPROT_64 + 8) >= 2);
    uint8_t *first = lc + SEG_SIZE_64, *second = first + SECT_SIZE_64;
    memcpy(second + SECT_ADDR, first + SECT_ADDR, 16); /* addr and size */
    char path[] = "/tmp/dsc_sections_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_file(path, b, size);
    free(b);
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    dsc_output o = {.struct_size = sizeof o};
    int rc = dsc_extract(c, (uint32_t)dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib"), &o, &err);
    dsc_cache_close(c);
    unlink(path);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err.msg, "libhello") && strstr(err.msg, "sections __TEXT,") && strstr(err.msg, "overlap") &&
                      !strchr(err.msg, '\n'), "%s", err.msg);
}
END_TEST

START_TEST(mutated_caches_fail_cleanly)
{
    const char *src = testdata_path(testdata_caches[_i]);
    if (!src)
        return;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(src, &c, &err) == 0, "%s", err.msg);
    uint64_t ranges[8][2];
    unsigned nranges = 0;
    for (unsigned m = 0; m < c->nmaps && nranges < 7; m++)
        if (c->maps[m].info.max_prot != 5 && c->maps[m].info.size)
            ranges[nranges][0] = c->maps[m].info.file_offset, ranges[nranges++][1] = c->maps[m].info.size;
    ranges[nranges][0] = dsc_cache_get_image(c, 0)->address - c->info.base_address; /* first image's commands */
    ranges[nranges++][1] = 0x800;
    dsc_cache_close(c);
    FILE *f = fopen(src, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    rewind(f);
    uint8_t *orig = malloc(size), *buf = malloc(size);
    ck_assert_uint_eq(fread(orig, 1, size, f), size);
    fclose(f);
    char path[] = "/tmp/dsc_mutated_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    srand(42 + _i);
    unsigned ok = 0, failed = 0;
    for (int it = 0; it < 60; it++) {
        memcpy(buf, orig, size);
        const uint64_t *r = ranges[(unsigned)it % nranges];
        for (int k = 1 + rand() % 6; k > 0; k--)
            buf[r[0] + (uint64_t)rand() % r[1]] = (uint8_t)rand();
        write_file(path, buf, size);
        if (dsc_cache_open(path, &c, &err))
            continue;
        for (uint32_t i = 0; i < c->nimages; i++) {
            dsc_output o = {.struct_size = sizeof o};
            uint64_t predicted;
            if (dsc_extract(c, i, &o, &err) == 0) {
                ck_assert_int_eq(dsc_extract_size(c, i, &predicted, &err), 0);
                ck_assert_uint_eq(predicted, o.size);
                dsc_output_free(&o);
                ok++;
            } else {
                ck_assert(err.msg[0] && !strchr(err.msg, '\n'));
                failed++;
            }
        }
        dsc_cache_close(c);
    }
    unlink(path);
    free(orig);
    free(buf);
    ck_assert_uint_gt(ok + failed, 0);
}
END_TEST

/* LC_CODE_SIGNATURE needs 16 bytes more of load commands. Where they do
 * not fit before the first section the file is written unsigned, with a
 * warning, rather than not at all (out_finish). */
START_TEST(no_room_for_the_signature_writes_unsigned)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    struct dsc_plan p;
    dsc_error err;
    ck_assert_msg(plan_init(&p, c, 0, true, &err) == 0, "%s", err.msg);
    int (*const core[])(struct dsc_plan *) = {pass_layout, pass_pointers, pass_linkedit, pass_fixups, out_finish};
    for (size_t k = 0; k < sizeof core / sizeof core[0]; k++)
        ck_assert_msg(core[k](&p) == 0, "%s", err.msg);
    uint64_t unsigned_size = p.file_size;
    uint32_t unsigned_ncmds = p.ncmds;
    size_t need = p.mo.header_size + p.cmds.size;
    p.sign = true;
    ck_assert_msg(out_finish(&p) == 0, "%s", err.msg);
    ck_assert(p.sign);
    ck_assert_uint_gt(p.file_size, unsigned_size);
    ck_assert_uint_eq(p.ncmds, unsigned_ncmds + 1);
    /* The first section right after the unsigned commands. */
    struct dsc_out_segment *s = &p.segs[0];
    struct dsc_out_section *first = NULL;
    for (unsigned k = 0; k < s->nsects; k++)
        if (s->sects[k].size && (!first || s->sects[k].addr < first->addr))
            first = &s->sects[k];
    ck_assert_ptr_nonnull(first);
    first->addr = s->vmaddr + need;
    ck_assert_msg(out_finish(&p) == 0, "%s", err.msg);
    ck_assert(!p.sign);
    ck_assert_uint_eq(p.file_size, unsigned_size);
    ck_assert_uint_eq(p.ncmds, unsigned_ncmds);
    ck_assert_ptr_nonnull(p.warnings.data);
    ck_assert_ptr_nonnull(strstr((char *)p.warnings.data, "written unsigned"));
    uint8_t *buf = malloc(p.file_size);
    ck_assert_ptr_nonnull(buf);
    ck_assert_msg(out_write(&p, buf) == 0, "%s", err.msg);
    free(buf);
    plan_free(&p);
    dsc_cache_close(c);
}
END_TEST

Suite *extract_suite(void)
{
    Suite *s = suite_create("extract");
    TCase *tc = tcase_create("real caches");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, every_image_rebases_match_slide_info, 0, 3);
    tcase_add_test(tc, bad_image_index_fails_cleanly);
    tcase_add_test(tc, output_struct_size_is_honoured);
    tcase_add_test(tc, no_room_for_the_signature_writes_unsigned);
    tcase_add_test(tc, unmapped_locals_are_restored);
    tcase_add_loop_test(tc, mutated_caches_fail_cleanly, 0, 3);
    tcase_add_test(tc, overlapping_segments_fail_before_copying);
    tcase_add_test(tc, overlapping_sections_are_refused);
    suite_add_tcase(s, tc);
    TCase *builder = tcase_create("builder caches");
    tcase_set_timeout(builder, 600);
    tcase_add_test(builder, builder_caches_rebases_match_slide_info);
    suite_add_tcase(s, builder);
    return s;
}

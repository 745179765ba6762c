/* SPDX-License-Identifier: BSD-2-Clause */
/* test_pass_objc.c — the ObjC pass, judged on the extracted files.
 *
 * For every image of the real caches: the names the cache holds (walked
 * with objc.c on the cache) must be exactly the names the extracted file
 * holds (walked with objc_verify.c on the file's own bytes), and nothing the
 * file's metadata names may lie outside the file. Where llvm-objdump-19 can
 * read the output (arm64: plain pointers + rebase opcodes) it must print
 * every class, ivar, property and pointer-list method name with the cache's
 * text and no nameless entry; two of its known limits are worked around and
 * said so: it truncates relative method-list addresses above 4 GiB (the
 * caches live at 0x180000000+), so those names are proven by our walker
 * only; and it does not follow arm64e chained-fixup pointers in ObjC data,
 * so for arm64e only our walker proves the names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/ptrfmt.h"
#include "extract/extract.h"
#include "verify/objc_verify.h"
#include "suites.h"
#include "testdata.h"

struct names {
    char **v;
    size_t n, cap;
};

static void names_add(struct names *ns, const char *fmt, const char *a, const char *b)
{
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 64;
        ns->v = realloc(ns->v, ns->cap * sizeof *ns->v);
        ck_assert_ptr_nonnull(ns->v);
    }
    char buf[2048];
    snprintf(buf, sizeof buf, fmt, a, b ? b : "");
    ns->v[ns->n++] = strdup(buf);
}

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

static bool names_has(const struct names *ns, const char *s)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], s) == 0)
            return true;
    return false;
}

/* Everything that has a name, as "kind text", in walk order. */
static int collect(void *ctx, const struct dsc_objc_item *it)
{
    struct names *ns = ctx;
    switch (it->kind) {
    case DSC_OBJC_CLASS: names_add(ns, "class %s%s", it->name, NULL); break;
    case DSC_OBJC_METACLASS: names_add(ns, "metaclass %s%s", it->name, NULL); break;
    case DSC_OBJC_CATEGORY: names_add(ns, "category %s(%s)", it->owner, it->name); break;
    case DSC_OBJC_PROTOCOL: names_add(ns, "protocol %s%s", it->name, NULL); break;
    case DSC_OBJC_METHOD:
        names_add(ns, it->meta ? "method +[%s %s]" : "method -[%s %s]", it->owner, it->name);
        break;
    case DSC_OBJC_SELREF: names_add(ns, "selref %s%s", it->name, NULL); break;
    case DSC_OBJC_PROTOREF: names_add(ns, "protoref %s%s", it->name, NULL); break;
    case DSC_OBJC_NAME_REF: names_add(ns, "string %s%s", it->name, NULL); break;
    default: break;
    }
    return 0;
}

static void cache_names(const dsc_cache *c, uint32_t image, struct names *ns)
{
    struct dsc_macho mo;
    struct dsc_objc_opt opt;
    dsc_error err;
    ck_assert_msg(dsc_macho_parse(c, image, &mo, &err) == 0, "%s", err.msg);
    ck_assert_msg(dsc_objc_opt_load(c, &opt, &err) == 0, "%s", err.msg);
    struct dsc_objc_image img;
    dsc_objc_image_init(&img, &mo, &opt);
    ck_assert_msg(dsc_objc_walk(&img, collect, ns, &err) == 0, "%s", err.msg);
    dsc_macho_free(&mo);
}

/* Per image: extracted names == cache names, nothing outside the file. */
START_TEST(extracted_names_equal_cache_names)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    uint64_t total_methods = 0, total_selrefs = 0;
    for (uint32_t i = 0; i < dsc_cache_get_info(c)->image_count; i++) {
        dsc_output out = {.struct_size = sizeof out};
        dsc_error err;
        uint64_t size;
        ck_assert_msg(dsc_extract(c, i, &out, &err) == 0, "%s", err.msg);
        ck_assert_msg(dsc_extract_size(c, i, &size, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(size, out.size); /* the pass decides the same in size plans */
        struct names want = {0}, got = {0};
        cache_names(c, i, &want);
        struct dsc_objc_verify v;
        ck_assert_msg(dsc_objc_verify_file(c, i, out.data, out.size, collect, &got, &v, &err) == 0, "%s: %s",
                      dsc_cache_get_image(c, i)->path, err.msg);
        ck_assert_uint_eq(got.n, want.n);
        for (size_t k = 0; k < want.n; k++)
            ck_assert_str_eq(got.v[k], want.v[k]);
        ck_assert_msg(v.selrefs_outside + v.method_names_outside + v.strings_outside + v.protorefs_outside == 0,
                      "%s: outside the file: %llu selrefs, %llu method names, %llu strings, %llu protocol refs",
                      dsc_cache_get_image(c, i)->path, (unsigned long long)v.selrefs_outside,
                      (unsigned long long)v.method_names_outside, (unsigned long long)v.strings_outside,
                      (unsigned long long)v.protorefs_outside);
        total_methods += v.methods;
        total_selrefs += v.selrefs;
        names_free(&want);
        names_free(&got);
        dsc_output_free(&out);
    }
    if (_i < 2) { /* the objc caches: libhello 6 + libobjc 119 methods, 6 + 56 selrefs */
        ck_assert_uint_eq(total_methods, 125);
        ck_assert_uint_eq(total_selrefs, 62);
    }
    dsc_cache_close(c);
}
END_TEST

/* ---- llvm-objdump-19 on the arm64 output ---- */

static char *write_temp(const dsc_output *out)
{
    char *path = strdup("/tmp/dscfs-objc-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, out->data, out->size) == (ssize_t)out->size);
    close(fd);
    return path;
}

/* Lines of `cmd`'s stdout+stderr; NULL (the test skips) without the tool. */
static struct names *run(const char *fmt, const char *file)
{
    if (system("command -v llvm-objdump-19 >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: llvm-objdump-19 is not installed\n");
        return NULL;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, file);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    struct names *lines = calloc(1, sizeof *lines);
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        names_add(lines, "%s%s", buf, NULL);
    }
    pclose(f);
    return lines;
}

/* "name 0xADDR TEXT": TEXT, "" when llvm-objdump found no name, or NULL
 * when the line is not a name line or is a truncated relative-list field. */
static const char *name_text(const char *line)
{
    const char *p = line + strspn(line, " \t");
    if (strncmp(p, "name 0x", 7) != 0)
        return NULL;
    p += 7 + strspn(p + 7, "0123456789abcdef");
    if (*p == 0)
        return "";
    if (p[1] == '(') /* relative list: llvm-objdump's 32-bit truncation */
        return NULL;
    return p + 1;
}

static void check_objdump(const dsc_cache *c, uint32_t image, const dsc_output *out, unsigned *named)
{
    struct names want = {0};
    cache_names(c, image, &want);
    char *path = write_temp(out);
    struct names *lines = run("llvm-objdump-19 --macho --objc-meta-data %s 2>&1", path);
    if (!lines)
        goto done;
    for (size_t i = 0; i < lines->n; i++) {
        const char *l = lines->v[i];
        ck_assert_msg(!strstr(l, "error") && !strstr(l, "warning"), "llvm-objdump: %s", l);
        const char *text = name_text(l);
        if (!text)
            continue;
        ck_assert_msg(*text, "%s: llvm-objdump found no name: %s", dsc_cache_get_image(c, image)->path, l);
        char a[2048], b[2048];
        snprintf(a, sizeof a, "string %s", text);
        bool method = false;
        for (size_t k = 0; k < want.n && !method; k++) { /* pointer-list method names */
            const char *sp = strchr(want.v[k], ' ');
            method = strncmp(want.v[k], "method", 6) == 0 && sp && (sp = strchr(sp + 1, ' ')) &&
                     strncmp(sp + 1, text, strlen(text)) == 0 && sp[1 + strlen(text)] == ']';
        }
        snprintf(b, sizeof b, "protocol %s", text);
        ck_assert_msg(names_has(&want, a) || names_has(&want, b) || method, "%s: unexpected name '%s'",
                      dsc_cache_get_image(c, image)->path, text);
        (*named)++;
    }
    for (size_t i = 0; i < lines->n; i++) { /* objc_image_info: not optimised by dyld */
        unsigned flags;
        if (sscanf(lines->v[i], " flags 0x%x", &flags) == 1 && strstr(lines->v[i - 1], "version"))
            ck_assert_uint_eq(flags & (DSC_OBJC_IMAGE_OPTIMIZED_BY_DYLD | DSC_OBJC_IMAGE_DYLD_CATEGORIES), 0);
    }
    names_free(lines);
    free(lines);
done:
    unlink(path);
    free(path);
    names_free(&want);
}

START_TEST(llvm_objdump_prints_the_cache_names)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    unsigned named = 0;
    for (uint32_t i = 0; i < dsc_cache_get_info(c)->image_count; i++) {
        dsc_output out = {.struct_size = sizeof out};
        dsc_error err;
        ck_assert_msg(dsc_extract(c, i, &out, &err) == 0, "%s", err.msg);
        check_objdump(c, i, &out, &named);
        dsc_output_free(&out);
    }
    /* class names (Test, Object, ...), ivar names, the NSObject protocol's
     * pointer-list methods and properties: all printed with their names */
    if (system("command -v llvm-objdump-19 >/dev/null 2>&1") == 0)
        ck_assert_uint_ge(named, 40);
    dsc_cache_close(c);
}
END_TEST

/* Selref slots of the extracted file, as "0xADDR name". */
static int collect_selrefs(void *ctx, const struct dsc_objc_item *it)
{
    if (it->kind == DSC_OBJC_SELREF) {
        char addr[32];
        snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)it->addr);
        names_add(ctx, "%s %s", addr, it->name);
    }
    return 0;
}

/* The selector an "adrp xN, ... ; 0xPAGE" + "ldr xD, [xN, #0xOFF]" pair loads. */
static const char *loaded_selector(const struct names *selrefs, const char *adrp, const char *ldr)
{
    unsigned long long page, off;
    const char *semi = strstr(adrp, "; 0x");
    const char *hash = strstr(ldr, "#0x");
    if (!strstr(adrp, "adrp\t") || !strstr(ldr, "ldr\tx") || !semi || !hash ||
        sscanf(semi, "; 0x%llx", &page) != 1 || sscanf(hash, "#0x%llx", &off) != 1)
        return NULL;
    char key[40];
    snprintf(key, sizeof key, "0x%llx ", page + off);
    for (size_t i = 0; i < selrefs->n; i++)
        if (strncmp(selrefs->v[i], key, strlen(key)) == 0)
            return selrefs->v[i] + strlen(key);
    return NULL;
}

/* The builder's ADRP+ADD selector loads in libhello (four calls, checked by
 * hand in the cache: adrp x8, <libobjc string page>; add x1, x8, #...) are
 * ADRP+LDR from the image's own selrefs again. llvm-objdump's disassembly
 * gives the ADRP page and LDR offset; the selref there must hold the
 * selector. On arm64 llvm-objdump also annotates "Objc selector ref: NAME"
 * itself; it cannot read arm64e chained pointers, so that check is arm64-only. */
START_TEST(selector_loads_go_through_selrefs)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    int64_t i = dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib");
    dsc_output out = {.struct_size = sizeof out};
    dsc_error err;
    ck_assert_msg(dsc_extract(c, (uint32_t)i, &out, &err) == 0, "%s", err.msg);
    ck_assert_uint_ge(out.stats.selectors_fixed, 4);
    struct names selrefs = {0};
    struct dsc_objc_verify v;
    ck_assert_msg(dsc_objc_verify_file(c, (uint32_t)i, out.data, out.size, collect_selrefs, &selrefs, &v, &err) == 0,
                  "%s", err.msg);
    char *path = write_temp(&out);
    struct names *lines = run("llvm-objdump-19 --macho -d %s 2>&1", path);
    if (lines) {
        static const char *const sels[] = {"methodWithoutArgs", "methodWithOneArg:", "methodWithTwoArgs:secondArg:",
                                           "methodWithReturn"};
        for (unsigned k = 0; k < 4; k++) {
            bool found = false, annotated = false;
            for (size_t l = 1; l < lines->n; l++) {
                const char *sel = loaded_selector(&selrefs, lines->v[l - 1], lines->v[l]);
                if (sel && strcmp(sel, sels[k]) == 0) {
                    found = true;
                    annotated |= strstr(lines->v[l], "; Objc selector ref: ") &&
                                 strcmp(strstr(lines->v[l], "ref: ") + 5, sels[k]) == 0;
                }
            }
            ck_assert_msg(found, "no ADRP+LDR of the selref for %s", sels[k]);
            if (_i == 0)
                ck_assert_msg(annotated, "llvm-objdump does not call the load of %s a selector ref", sels[k]);
        }
        names_free(lines);
        free(lines);
    }
    names_free(&selrefs);
    unlink(path);
    free(path);
    dsc_output_free(&out);
    dsc_cache_close(c);
}
END_TEST

/* Methods only, as "-[Class sel] @selref-address". */
static int collect_methods(void *ctx, const struct dsc_objc_item *it)
{
    if (it->kind == DSC_OBJC_METHOD)
        names_add(ctx, it->meta ? "+[%s %s]" : "-[%s %s]", it->owner, it->name);
    return 0;
}

struct selref_range {
    uint64_t lo, hi;
    unsigned inside;
};

static int count_methods_via(void *ctx, const struct dsc_objc_item *it)
{
    struct selref_range *r = ctx;
    if (it->kind == DSC_OBJC_METHOD && it->relative && it->target >= r->lo && it->target < r->hi)
        r->inside++;
    return 0;
}

/* Plan `image` through every pass with its __objc_selrefs hidden from the
 * ObjC pass (renamed "__objc_selrefsX"); returns the __OBJC_EXTRA selrefs
 * the pass added (lo == hi: none). */
static struct selref_range plan_without_selrefs(dsc_cache *c, uint32_t image, struct dsc_plan *p, dsc_error *err)
{
    ck_assert_msg(plan_init(p, c, image, true, err) == 0, "%s", err->msg);
    ck_assert_msg(pass_layout(p) == 0 && pass_pointers(p) == 0, "%s", err->msg);
    for (unsigned k = 0; k < p->mo.nsects; k++)
        if (strcmp(p->mo.sects[k].sectname, "__objc_selrefs") == 0)
            p->mo.sects[k].sectname[14] = 'X';
    int (*const rest[])(struct dsc_plan *) = {pass_objc, pass_linkedit, pass_fixups, out_finish};
    for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++)
        ck_assert_msg(rest[k](p) == 0, "%s", err->msg);
    struct selref_range r = {0};
    for (unsigned k = 0; k < p->nsegs; k++)
        for (unsigned j = 0; j < p->segs[k].nsects; j++)
            if (!strcmp(p->segs[k].name, "__OBJC_EXTRA") && !strcmp(p->segs[k].sects[j].sectname, "__objc_selrefs")) {
                r.lo = p->segs[k].sects[j].addr;
                r.hi = r.lo + p->segs[k].sects[j].size;
            }
    return r;
}

/* An image whose relative method lists have no selref of their own (here:
 * libhello with its __objc_selrefs hidden from the pass) gets new selrefs
 * in __OBJC_EXTRA,__objc_selrefs, and every method name goes through one. */
START_TEST(new_selrefs_when_the_image_has_none)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    uint32_t hello = (uint32_t)dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib");
    struct dsc_plan p;
    dsc_error err;
    struct selref_range r = plan_without_selrefs(c, hello, &p, &err);
    ck_assert_uint_eq(r.hi - r.lo, 6 * 8); /* one per selector of Test's six methods */
    dsc_output out = {.size = p.file_size, .data = malloc(p.file_size)};
    ck_assert_msg(out_write(&p, out.data) == 0, "%s", err.msg);
    plan_free(&p);

    struct names want = {0}, got = {0};
    struct dsc_macho mo;
    struct dsc_objc_opt opt;
    ck_assert(dsc_macho_parse(c, hello, &mo, &err) == 0 && dsc_objc_opt_load(c, &opt, &err) == 0);
    struct dsc_objc_image img;
    dsc_objc_image_init(&img, &mo, &opt);
    ck_assert(dsc_objc_walk(&img, collect_methods, &want, &err) == 0);
    dsc_macho_free(&mo);
    struct dsc_objc_verify v;
    ck_assert_msg(dsc_objc_verify_file(c, hello, out.data, out.size, collect_methods, &got, &v, &err) == 0, "%s",
                  err.msg);
    ck_assert_uint_eq(v.method_names_outside, 0);
    ck_assert_uint_eq(got.n, 6);
    ck_assert_uint_eq(got.n, want.n);
    for (size_t k = 0; k < want.n; k++)
        ck_assert_str_eq(got.v[k], want.v[k]);
    ck_assert(dsc_objc_verify_file(c, hello, out.data, out.size, count_methods_via, &r, &v, &err) == 0);
    ck_assert_uint_eq(r.inside, 6);
    names_free(&want);
    names_free(&got);
    dsc_output_free(&out);
    dsc_cache_close(c);
}
END_TEST

static int count_relative_methods(void *ctx, const struct dsc_objc_item *it)
{
    if (it->kind == DSC_OBJC_METHOD && it->relative)
        ++*(unsigned *)ctx;
    return 0;
}

/* DBSub of a cache over 4 GiB of VM (dscbuild --large-vm): every image's
 * LINKEDIT lies more than 4 GiB above its TEXT. With its selrefs hidden,
 * the segment extraction adds must go right after the image's own
 * segments, not after that LINKEDIT, so every relative method name (a
 * signed 32-bit field) reaches its new selref: no warning, no name outside. */
static void judge_large_vm(const char *path)
{
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    int64_t sub = dsc_cache_find_image(c, "/System/Library/PrivateFrameworks/DBSub.framework/Versions/A/DBSub");
    ck_assert_int_ge(sub, 0);
    struct dsc_plan p;
    struct selref_range r = plan_without_selrefs(c, (uint32_t)sub, &p, &err);
    ck_assert_uint_gt(p.linkedit_vmaddr - p.base, 1ull << 32); /* the layout is what it claims */
    ck_assert_uint_gt(r.hi, r.lo);
    ck_assert_uint_lt(r.hi - p.base, 1ull << 31);
    ck_assert_msg(p.warnings.size == 0, "%.*s", (int)p.warnings.size, (const char *)p.warnings.data);
    dsc_output out = {.size = p.file_size, .data = malloc(p.file_size)};
    ck_assert_msg(out_write(&p, out.data) == 0, "%s", err.msg);
    plan_free(&p);
    unsigned want = 0;
    struct dsc_objc_verify v;
    ck_assert(dsc_objc_verify_file(c, (uint32_t)sub, out.data, out.size, count_relative_methods, &want, &v, &err) == 0);
    ck_assert_uint_eq(v.method_names_outside, 0);
    ck_assert(dsc_objc_verify_file(c, (uint32_t)sub, out.data, out.size, count_methods_via, &r, &v, &err) == 0);
    ck_assert_uint_gt(want, 0);
    ck_assert_uint_eq(r.inside, want);
    dsc_output_free(&out);
    dsc_cache_close(c);
}

static void judge_if_large_vm(const char *name, const char *path, void *ctx)
{
    if (strstr(name, "large-vm") && !strstr(name, "development")) {
        judge_large_vm(path);
        ++*(unsigned *)ctx;
    }
}

/* The *-large-vm caches of $DSC_BUILDER_LIST (extract_builder.sh). */
START_TEST(added_segment_reaches_past_a_far_linkedit)
{
    unsigned judged = 0;
    if (builder_caches_each(judge_if_large_vm, &judged))
        ck_assert_uint_gt(judged, 0);
}
END_TEST

/* Selector string addresses as the cache holds them. */
struct addrs {
    uint64_t *v;
    size_t n, cap;
};

static int collect_sel_addrs(void *ctx, const struct dsc_objc_item *it)
{
    struct addrs *a = ctx;
    if (it->kind != DSC_OBJC_SELREF && it->kind != DSC_OBJC_METHOD)
        return 0;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        ck_assert_ptr_nonnull(a->v);
    }
    a->v[a->n++] = it->sel_addr;
    return 0;
}

static bool addrs_has(const struct addrs *a, uint64_t x)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i] == x)
            return true;
    return false;
}

/* An ADD or LDR (unsigned offset) whose base register holds an ADRP page. */
struct paged {
    unsigned long long insn;    /* its address */
    bool is_ldr;
    unsigned long long target;  /* page + immediate */
};

/* Walk llvm-objdump's disassembly tracking ADRP pages per register (a write
 * of the register in between ends it) and collect paged ADDs and LDRs. */
static size_t paged_insns(const struct names *lines, struct paged **out)
{
    struct { char reg[8]; unsigned long long page; } live[32];
    unsigned nlive = 0;
    size_t n = 0, cap = 0;
    *out = NULL;
    for (size_t i = 0; i < lines->n; i++) {
        const char *l = lines->v[i], *t = strchr(l, '\t');
        char op[16], d[8], base[8];
        unsigned long long at, v;
        if (!t || sscanf(l, "%llx:", &at) != 1 || sscanf(t + 1, "%15s %7[^,],", op, d) != 2)
            continue;
        bool add = strcmp(op, "add") == 0 && sscanf(t + 1, "add %*[^,], %7[^,], #0x%llx", base, &v) == 2;
        bool ldr = !add && strcmp(op, "ldr") == 0 && sscanf(t + 1, "ldr %*[^,], [%7[^,], #0x%llx]", base, &v) == 2;
        for (unsigned k = 0; (add || ldr) && k < nlive; k++) {
            if (strcmp(live[k].reg, base) != 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                *out = realloc(*out, cap * sizeof **out);
                ck_assert_ptr_nonnull(*out);
            }
            (*out)[n++] = (struct paged){at, ldr, live[k].page + v};
        }
        for (unsigned k = 0; k < nlive; k++) /* any write of d ends its ADRP */
            if (strcmp(live[k].reg, d) == 0)
                live[k] = live[--nlive];
        const char *semi = strstr(t, "; 0x");
        if (strcmp(op, "adrp") == 0 && semi && nlive < 32 && sscanf(semi, "; 0x%llx", &live[nlive].page) == 1)
            snprintf(live[nlive++].reg, sizeof live[0].reg, "%s", d);
    }
    return n;
}

static size_t disassemble(const dsc_output *o, struct paged **out)
{
    char *path = write_temp(o);
    struct names *lines = run("llvm-objdump-19 --macho -d --no-show-raw-insn %s 2>&1", path);
    unlink(path);
    free(path);
    *out = NULL;
    if (!lines)
        return 0;
    size_t n = paged_insns(lines, out);
    names_free(lines);
    free(lines);
    return n;
}

/* Without the objc pass, libobjc's and libhello's code loads selectors with
 * ADRP+ADD straight to the cache's strings (the builder's rewrite); with it,
 * each such ADD is an LDR whose ADRP page + offset is a selref of the file
 * holding the same selector, and no such pair is left (llvm-objdump's
 * disassembly, parsed here, gives pages and offsets on both archs). */
START_TEST(no_direct_selector_loads_are_left)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c || system("command -v llvm-objdump-19 >/dev/null 2>&1") != 0)
        goto done;
    static const char *const images[] = {"/usr/lib/libhello-1.0.dylib", "/usr/lib/libobjc.A.dylib"};
    /* counted by paged_insns in the core-only outputs, per cache */
    static const unsigned builder_loads[2][2] = {{4, 111}, {4, 119}};
    for (unsigned k = 0; k < 2; k++) {
        uint32_t i = (uint32_t)dsc_cache_find_image(c, images[k]);
        struct addrs sels = {0};
        struct dsc_macho mo;
        struct dsc_objc_opt opt;
        dsc_error err;
        ck_assert(dsc_macho_parse(c, i, &mo, &err) == 0 && dsc_objc_opt_load(c, &opt, &err) == 0);
        struct dsc_objc_image img;
        dsc_objc_image_init(&img, &mo, &opt);
        ck_assert(dsc_objc_walk(&img, collect_sel_addrs, &sels, &err) == 0);
        dsc_macho_free(&mo);

        struct dsc_plan p; /* the core pipeline: the builder's code as it is */
        ck_assert_msg(plan_init(&p, c, i, true, &err) == 0, "%s", err.msg);
        int (*const core[])(struct dsc_plan *) = {pass_layout, pass_pointers, pass_linkedit, pass_fixups, out_finish};
        for (size_t s = 0; s < sizeof core / sizeof core[0]; s++)
            ck_assert_msg(core[s](&p) == 0, "%s", err.msg);
        dsc_output before = {.size = p.file_size, .data = malloc(p.file_size)};
        ck_assert(out_write(&p, before.data) == 0);
        plan_free(&p);
        dsc_output after = {.struct_size = sizeof after};
        ck_assert_msg(dsc_extract(c, i, &after, &err) == 0, "%s", err.msg);
        struct names selrefs = {0};
        struct dsc_objc_verify v;
        ck_assert(dsc_objc_verify_file(c, i, after.data, after.size, collect_selrefs, &selrefs, &v, &err) == 0);

        struct paged *pb, *pa;
        size_t nb = disassemble(&before, &pb), na = disassemble(&after, &pa);
        unsigned loads = 0, left = 0;
        for (size_t b = 0; b < nb; b++) {
            if (pb[b].is_ldr || !addrs_has(&sels, pb[b].target))
                continue;
            loads++; /* the builder's ADRP+ADD to a selector string: now an LDR of a selref holding it */
            const char *want;
            ck_assert(dsc_vm_cstr(c, pb[b].target, 4096, &want));
            bool ok = false;
            for (size_t a = 0; a < na && !ok; a++) {
                char key[40];
                snprintf(key, sizeof key, "0x%llx ", pa[a].target);
                for (size_t r = 0; pa[a].insn == pb[b].insn && pa[a].is_ldr && r < selrefs.n && !ok; r++)
                    ok = strncmp(selrefs.v[r], key, strlen(key)) == 0 && strcmp(selrefs.v[r] + strlen(key), want) == 0;
            }
            ck_assert_msg(ok, "%s: selector load of %s at 0x%llx is not an LDR of its selref", images[k], want,
                          pb[b].insn);
        }
        for (size_t a = 0; a < na; a++)
            left += !pa[a].is_ldr && addrs_has(&sels, pa[a].target);
        ck_assert_uint_eq(loads, builder_loads[_i][k]);
        ck_assert_uint_eq(left, 0);
        ck_assert_uint_ge(after.stats.selectors_fixed, builder_loads[_i][k]);
        free(pb);
        free(pa);
        names_free(&selrefs);
        dsc_output_free(&before);
        dsc_output_free(&after);
        free(sels.v);
    }
done:
    if (c)
        dsc_cache_close(c);
}
END_TEST

/* File offset of a mapped address in the cache (a test's copy to patch). */
static uint64_t file_offset(const dsc_cache *c, uint64_t addr)
{
    const struct dsc_map *m = dsc_vm_map(c, addr);
    ck_assert_ptr_nonnull(m);
    return m->info.file_offset + (addr - m->info.address);
}

/* Malformed metadata does not fail the extraction: the pass changes
 * nothing and says why in a one-line warning naming cache and image. Here
 * libhello's class list entry is overwritten in a copy of the cache. */
START_TEST(malformed_metadata_is_left_with_a_warning)
{
    char path[] = "/tmp/dscfs-objc-bad-XXXXXX";
    int fd = testdata_copy(testdata_caches[_i], path);
    if (fd < 0)
        return;

    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    uint32_t hello = (uint32_t)dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib");
    struct dsc_macho mo;
    ck_assert(dsc_macho_parse(c, hello, &mo, &err) == 0);
    const struct dsc_section *list = dsc_macho_section(&mo, "__DATA_CONST", "__objc_classlist");
    ck_assert_ptr_nonnull(list);
    uint64_t off = file_offset(c, list->addr);
    dsc_macho_free(&mo);
    dsc_cache_close(c);
    uint8_t nowhere[8]; /* a plain value, end of its chain: a class nowhere */
    dsc_put64(nowhere, 0x7fff00001000ull);
    ck_assert(pwrite(fd, nowhere, 8, (off_t)off) == 8);
    close(fd);

    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    dsc_output out = {.struct_size = sizeof out};
    uint64_t size;
    ck_assert_msg(dsc_extract(c, hello, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(dsc_extract_size(c, hello, &size, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(size, out.size);
    ck_assert_ptr_nonnull(out.warnings);
    const char *w = strstr(out.warnings, "ObjC metadata left as the cache has it: ");
    ck_assert_msg(w && strstr(w, "libhello-1.0.dylib: ObjC class"), "%s", out.warnings);
    ck_assert_ptr_nonnull(strchr(w, '\n')); /* one line of the warnings */
    ck_assert_ptr_null(memmem(out.data, 4096, "__OBJC_EXTRA", 12)); /* nothing added */
    dsc_output_free(&out);
    dsc_cache_close(c);
    unlink(path);
}
END_TEST

/* The first method list field of the image (class_ro_t.baseMethods). */
static int first_list_field(void *ctx, const struct dsc_objc_item *it)
{
    uint64_t *field = ctx;
    if (it->kind == DSC_OBJC_METHOD_LIST && !it->list_of_lists && !*field)
        *field = it->ref;
    return 0;
}

/* Issue 14: interned strings were bounded by the walker's caps (4 M items
 * of up to 4 KiB), not by the cache. A copy of the arm64 cache where
 * libhello's first method list is a list of 4000 methods, written over
 * libobjc's code (the __TEXT mapping has no slide info: pointers are
 * plain), whose names and types all point into one run of 4095 'A's, each
 * at its own byte: 4000 distinct names and 4000 distinct types, 16 MB of
 * strings to intern from 100 KB. The pass must give up with a warning
 * before adding more than the cache maps (606,208 bytes): the child's peak
 * resident size grew by 33,872 KiB before, 1,712 KiB now (plain build);
 * it must stay under 8 MiB (room for ASan's quarantine). */
START_TEST(interned_strings_are_bounded_by_the_cache)
{
    enum { N = 4000, RUN = 4095 };
    char path[] = "/tmp/dscfs-objc-strings-XXXXXX";
    int fd = testdata_copy(testdata_caches[0], path);
    if (fd < 0)
        return;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    uint32_t hello = (uint32_t)dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib");
    struct dsc_macho mo, objc;
    struct dsc_objc_opt opt;
    ck_assert(dsc_macho_parse(c, hello, &mo, &err) == 0 && dsc_objc_opt_load(c, &opt, &err) == 0);
    ck_assert(dsc_macho_parse(c, (uint32_t)dsc_cache_find_image(c, DSC_LIBOBJC_PATH), &objc, &err) == 0);
    struct dsc_objc_image img;
    dsc_objc_image_init(&img, &mo, &opt);
    uint64_t field = 0;
    ck_assert(dsc_objc_walk(&img, first_list_field, &field, &err) == 0 && field);
    const struct dsc_section *text = dsc_macho_section(&objc, "__TEXT", "__text");
    ck_assert(text && text->size >= 8 + 24 * N + RUN + 1);
    uint64_t list = (text->addr + 7) & ~7ull, run = list + 8 + 24 * N;
    ck_assert_uint_eq(dsc_vm_map(c, list)->slide.size, 0);
    /* the field: a slide-info v2 pointer, its chain's delta kept */
    const struct dsc_map *m = dsc_vm_map(c, field);
    struct dsc_slide_format f;
    uint64_t raw;
    ck_assert(dsc_slide_format_read(m->slide, 8, &f) == NULL && f.version == 2);
    ck_assert(dsc_vm_ptr_raw(c, field, &raw));
    uint64_t field_off = file_offset(c, field), list_off = file_offset(c, list);
    uint64_t cache_bytes = 0;
    for (unsigned i = 0; i < c->nmaps; i++)
        cache_bytes += c->maps[i].info.size;
    dsc_macho_free(&mo);
    dsc_macho_free(&objc);
    dsc_cache_close(c);

    uint8_t word[8];
    dsc_put64(word, (raw & f.delta_mask) | (list - f.value_add));
    ck_assert(pwrite(fd, word, 8, (off_t)field_off) == 8);
    size_t len = 8 + 24 * N + RUN + 1;
    uint8_t *b = calloc(1, len);
    ck_assert_ptr_nonnull(b);
    dsc_put32(b, 24);
    dsc_put32(b + 4, N);
    for (uint64_t i = 0; i < N; i++) {
        dsc_put64(b + 8 + 24 * i, run + i);          /* name */
        dsc_put64(b + 8 + 24 * i + 8, run + 40 + i); /* types: another string */
    }
    memset(b + 8 + 24 * N, 'A', RUN);
    ck_assert(pwrite(fd, b, len, (off_t)list_off) == (ssize_t)len);
    free(b);
    close(fd);

    struct testdata_child r;
    testdata_extract_in_child(path, "/usr/lib/libhello-1.0.dylib", "ObjC metadata left", &r);
    unlink(path);
    ck_assert_msg(r.rc == 0 && strstr(r.msg, "exceed the cache's"), "%s", r.msg);
    ck_assert_msg(r.grew_kb < 8192, "peak RSS grew by %ld KiB for a cache of %llu mapped bytes: %s", r.grew_kb,
                  (unsigned long long)cache_bytes, r.msg);
}
END_TEST

Suite *pass_objc_suite(void)
{
    Suite *s = suite_create("pass_objc");
    TCase *tc = tcase_create("real");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, extracted_names_equal_cache_names, 0, 3);
    tcase_add_test(tc, llvm_objdump_prints_the_cache_names);
    tcase_add_loop_test(tc, selector_loads_go_through_selrefs, 0, 2);
    tcase_add_loop_test(tc, new_selrefs_when_the_image_has_none, 0, 2);
    tcase_add_loop_test(tc, no_direct_selector_loads_are_left, 0, 2);
    tcase_add_loop_test(tc, malformed_metadata_is_left_with_a_warning, 0, 2);
    tcase_add_test(tc, interned_strings_are_bounded_by_the_cache);
    suite_add_tcase(s, tc);
    TCase *builder = tcase_create("builder caches");
    tcase_set_timeout(builder, 120);
    tcase_add_test(builder, added_segment_reaches_past_a_far_linkedit);
    suite_add_tcase(s, builder);
    return s;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* test_objc.c — the ObjC metadata walker (objc.c).
 *
 * On the real caches the walker's names are checked against what it did not
 * compute: every exported _OBJC_CLASS_$_Name / _OBJC_METACLASS_$_Name symbol
 * of the image's symbol table must be reported as class Name at that address,
 * and each method's selector must take as many arguments (colons) as its
 * type encoding lists after self and _cmd. Synthetic metadata covers
 * what the real caches lack (lists of lists, selector-base names) and
 * malformed input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/objc.h"
#include "suites.h"
#include "testdata.h"

/* ---- the image's symbol table, read independently of objc.c ---- */

struct sym {
    uint64_t addr;
    const char *name;
};

struct symtab {
    struct sym *v;
    size_t n;
};

static void symtab_load(const struct dsc_macho *mo, struct symtab *st)
{
    struct dsc_lc lc;
    st->v = NULL;
    st->n = 0;
    ck_assert(dsc_lc_find(mo, LC_SYMTAB, &lc));
    uint32_t symoff = dsc_le32(lc.body.data + 8), nsyms = dsc_le32(lc.body.data + 12);
    uint32_t stroff = dsc_le32(lc.body.data + 16);
    const struct dsc_segment *le = dsc_macho_segment(mo, "__LINKEDIT");
    ck_assert_ptr_nonnull(le);
    uint64_t symva = le->vmaddr + symoff - le->fileoff, strva = le->vmaddr + stroff - le->fileoff;
    st->v = calloc(nsyms ? nsyms : 1, sizeof *st->v);
    for (uint32_t i = 0; i < nsyms; i++) {
        dsc_span e;
        ck_assert(dsc_vm_span(mo->cache, symva + (uint64_t)i * 16, 16, &e));
        const char *name;
        if ((e.data[4] & 0xe0) || !dsc_vm_cstr(mo->cache, strva + dsc_le32(e.data), 4096, &name))
            continue; /* stabs */
        st->v[st->n++] = (struct sym){dsc_le64(e.data + 8), name};
    }
}

/* ---- walking the real caches ---- */

/* Skip one type of an ObjC type encoding, then its frame offset digits. */
static const char *skip_type(const char *t)
{
    while (*t && strchr("rnNoORVAj+", *t))
        t++;
    if (*t == '^') {
        t = skip_type(t + 1);
        return t;
    }
    if (*t == '@' && t[1] == '"') {
        const char *q = strchr(t + 2, '"');
        t = q ? q + 1 : t + 2;
    } else if (*t == '@' && t[1] == '?') {
        t += 2;
    } else if (*t == 'b') {
        t++;
        while (*t >= '0' && *t <= '9')
            t++;
    } else if (*t && strchr("{([", *t)) {
        char open = *t, close = open == '{' ? '}' : open == '(' ? ')' : ']';
        int depth = 0;
        do {
            if (*t == open)
                depth++;
            else if (*t == close)
                depth--;
            t++;
        } while (*t && depth);
    } else if (*t) {
        t++;
    }
    return t;
}

/* Arguments after self and _cmd in a method type encoding, or -1. */
static int explicit_args(const char *types)
{
    int n = -1; /* the return type */
    for (const char *t = types; *t; n++) {
        const char *next = skip_type(t);
        if (next == t)
            return -1;
        t = next;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    return n - 2;
}

static int colons(const char *sel)
{
    int n = 0;
    for (; *sel; sel++)
        n += *sel == ':';
    return n;
}

struct tally {
    const struct symtab *st;
    const struct dsc_objc_image *img;
    unsigned classes, metas, methods, selrefs, protocols, protorefs, lists, class_symbols_seen;
    char methods_seen[2048];
};

/* Exported class symbols name the class at their address. */
static void check_class_symbol(struct tally *t, const struct dsc_objc_item *it)
{
    char want[1024];
    snprintf(want, sizeof want, "_OBJC_%sCLASS_$_%s", it->kind == DSC_OBJC_METACLASS ? "META" : "", it->name);
    for (size_t i = 0; i < t->st->n; i++) {
        if (t->st->v[i].addr != it->addr || strncmp(t->st->v[i].name, "_OBJC_", 6) != 0)
            continue;
        ck_assert_str_eq(t->st->v[i].name, want);
        t->class_symbols_seen++;
    }
}

static int check_item(void *ctx, const struct dsc_objc_item *it)
{
    struct tally *t = ctx;
    switch (it->kind) {
    case DSC_OBJC_CLASS:
    case DSC_OBJC_METACLASS:
        check_class_symbol(t, it);
        *(it->kind == DSC_OBJC_CLASS ? &t->classes : &t->metas) += 1;
        break;
    case DSC_OBJC_METHOD: {
        const char *types;
        ck_assert(it->name[0]);
        ck_assert(t->img->mem.cstr(t->img->mem.ctx, it->types_addr, 4096, &types));
        ck_assert_msg(explicit_args(types) == colons(it->name), "%c[%s %s] has types %s",
                      it->meta ? '+' : '-', it->owner, it->name, types);
        size_t len = strlen(t->methods_seen);
        if (strcmp(it->owner, "Test") == 0)
            snprintf(t->methods_seen + len, sizeof t->methods_seen - len, "%c%s;", it->meta ? '+' : '-', it->name);
        t->methods++;
        break;
    }
    case DSC_OBJC_METHOD_LIST:
        ck_assert_uint_gt(it->count, 0);
        t->lists++;
        break;
    case DSC_OBJC_SELREF:
        ck_assert(it->name[0]);
        t->selrefs++;
        break;
    case DSC_OBJC_PROTOCOL:
        t->protocols++;
        break;
    case DSC_OBJC_PROTOREF:
        ck_assert_str_eq(it->name, "NSObject");
        t->protorefs++;
        break;
    default:
        break;
    }
    return 0;
}

/* Defined _OBJC_(META)CLASS_$_ symbols of the image. */
static unsigned class_symbols(const struct symtab *st)
{
    unsigned n = 0;
    for (size_t i = 0; i < st->n; i++)
        n += strncmp(st->v[i].name, "_OBJC_CLASS_$_", 14) == 0 || strncmp(st->v[i].name, "_OBJC_METACLASS_$_", 18) == 0;
    return n;
}

static struct tally walk_image(const dsc_cache *c, const struct dsc_objc_opt *opt, const char *path, int32_t *index)
{
    int64_t i = dsc_cache_find_image(c, path);
    ck_assert_int_ge(i, 0);
    struct dsc_macho mo;
    dsc_error err;
    ck_assert_msg(dsc_macho_parse(c, (uint32_t)i, &mo, &err) == 0, "%s", err.msg);
    struct symtab st;
    symtab_load(&mo, &st);
    struct dsc_objc_image img;
    dsc_objc_image_init(&img, &mo, opt);
    *index = img.objc_index;
    struct tally t = {.st = &st, .img = &img};
    ck_assert_msg(dsc_objc_walk(&img, check_item, &t, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(t.class_symbols_seen, class_symbols(&st));
    free(st.v);
    dsc_macho_free(&mo);
    return t;
}

/* The counts and libhello's method names were checked by hand against the
 * caches' bytes (libhello's Test class; libobjc's Object,
 * __IncompleteProtocol, Protocol, NSObject, __NSUnrecognizedTaggedPointer and
 * the NSObject protocol); every method's selector must also agree with its
 * type encoding on the number of arguments. */
START_TEST(real_images_match_their_symbols_and_types)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    dsc_error err;
    struct dsc_objc_opt opt;
    ck_assert_msg(dsc_objc_opt_load(c, &opt, &err) == 0, "%s", err.msg);
    ck_assert(opt.present);
    ck_assert_uint_eq(opt.version, 15);
    ck_assert(!opt.has_selector_base); /* dyld-852 era: direct names are string offsets */
    ck_assert_uint_eq(opt.header_info_count, 2);

    int32_t idx;
    struct tally hello = walk_image(c, &opt, "/usr/lib/libhello-1.0.dylib", &idx);
    ck_assert_int_eq(idx, 0);
    ck_assert_uint_eq(hello.classes, 1);
    ck_assert_uint_eq(hello.metas, 1);
    ck_assert_uint_eq(hello.methods, 6);
    ck_assert_str_eq(hello.methods_seen, "-init;-methodWithoutArgs;-methodWithOneArg:;"
                                         "-methodWithTwoArgs:secondArg:;-methodWithReturn;+someStaticMethod;");
    ck_assert_uint_eq(hello.selrefs, 6);

    struct tally objc = walk_image(c, &opt, "/usr/lib/libobjc.A.dylib", &idx);
    ck_assert_int_eq(idx, 1);
    ck_assert_uint_eq(objc.classes, 5);
    ck_assert_uint_eq(objc.metas, 5);
    ck_assert_uint_eq(objc.protocols, 1);
    ck_assert_uint_eq(objc.protorefs, 2);
    ck_assert_uint_eq(objc.lists, 8);
    ck_assert_uint_eq(objc.methods, 119);
    ck_assert_uint_eq(objc.selrefs, 56);

    struct tally none = walk_image(c, &opt, "/usr/lib/liba-1.0.dylib", &idx);
    ck_assert_int_eq(idx, -1);
    ck_assert_uint_eq(none.classes + none.methods + none.selrefs, 0);
    dsc_cache_close(c);
}
END_TEST

START_TEST(cache_without_objc_has_no_opt)
{
    dsc_cache *c = testdata_open(testdata_caches[2]);
    if (!c)
        return;
    dsc_error err;
    struct dsc_objc_opt opt;
    ck_assert_int_eq(dsc_objc_opt_load(c, &opt, &err), 0);
    ck_assert(!opt.present);
    dsc_cache_close(c);
}
END_TEST

/* ---- synthetic metadata ---- */

#define FAKE_BASE 0x10000ull
#define FAKE_SIZE 0x1000u

struct fake {
    uint8_t b[FAKE_SIZE];
};

static bool fake_span(void *ctx, uint64_t addr, uint64_t len, dsc_span *out)
{
    struct fake *f = ctx;
    return addr >= FAKE_BASE && span_sub((dsc_span){f->b, FAKE_SIZE}, addr - FAKE_BASE, len, out);
}

static bool fake_ptr(void *ctx, uint64_t addr, uint64_t *v)
{
    dsc_span s;
    if (!fake_span(ctx, addr, 8, &s))
        return false;
    *v = dsc_le64(s.data);
    return true;
}

static bool fake_cstr(void *ctx, uint64_t addr, uint64_t max, const char **str)
{
    struct fake *f = ctx;
    return addr >= FAKE_BASE && span_cstr((dsc_span){f->b, FAKE_SIZE}, addr - FAKE_BASE, max, str, NULL);
}

static void put64(struct fake *f, uint64_t addr, uint64_t v) { dsc_put64(f->b + (addr - FAKE_BASE), v); }
static void put32(struct fake *f, uint64_t addr, uint32_t v) { dsc_put32(f->b + (addr - FAKE_BASE), v); }
static void putstr(struct fake *f, uint64_t addr, const char *s) { strcpy((char *)f->b + (addr - FAKE_BASE), s); }

/* A class list with one class whose metaclass methods are a list of lists
 * (preattached categories) and whose instance methods are a relative list
 * with selector-base names. */
enum {
    CLASSLIST = FAKE_BASE, CLS = FAKE_BASE + 0x100, META = FAKE_BASE + 0x140,
    RO = FAKE_BASE + 0x200, META_RO = FAKE_BASE + 0x280, LOL = FAKE_BASE + 0x300,
    LIST_OTHER = FAKE_BASE + 0x380, LIST_OWN = FAKE_BASE + 0x3c0, LIST_REL = FAKE_BASE + 0x400,
    NAMES = FAKE_BASE + 0x800, SELBASE = FAKE_BASE + 0x900,
    CATLIST = FAKE_BASE + 0x10, IMAGEINFO = FAKE_BASE + 0x20, CAT = FAKE_BASE + 0x480,
    CAT_LIST = FAKE_BASE + 0x500, PROPS = FAKE_BASE + 0x540, CLASS_PROPS = FAKE_BASE + 0x560,
};

static void build_fake(struct fake *f)
{
    memset(f, 0, sizeof *f);
    put64(f, CLASSLIST, CLS);
    put64(f, CLS, META);
    put64(f, CLS + 32, RO | 1); /* bits: a Swift-legacy flag bit that must be masked */
    put64(f, META + 32, META_RO);
    putstr(f, NAMES, "Fake");
    put64(f, RO + 0x18, NAMES);
    put64(f, RO + 0x20, LIST_REL);
    put64(f, META_RO + 0x18, NAMES);
    put64(f, META_RO + 0x20, LOL | 1);
    /* list of lists: another image's list first, ours (index 7) last */
    put32(f, LOL, 8);
    put32(f, LOL + 4, 2);
    put64(f, LOL + 8, (uint64_t)(LIST_OTHER - (LOL + 8)) << 16 | 3);
    put64(f, LOL + 16, (uint64_t)(LIST_OWN - (LOL + 16)) << 16 | 7);
    putstr(f, NAMES + 0x10, "otherImage");
    putstr(f, NAMES + 0x20, "ownClassMethod");
    put32(f, LIST_OTHER, 24);
    put32(f, LIST_OTHER + 4, 1);
    put64(f, LIST_OTHER + 8, NAMES + 0x10);
    put32(f, LIST_OWN, 24);
    put32(f, LIST_OWN + 4, 1);
    put64(f, LIST_OWN + 8, NAMES + 0x20);
    /* relative, direct selectors from a selector base */
    putstr(f, SELBASE, "\xf0\x9f\xa4\xaf");
    putstr(f, SELBASE + 0x10, "relMethod");
    put32(f, LIST_REL, DSC_METHOD_LIST_RELATIVE | DSC_METHOD_LIST_DIRECT_SELS | 12 | 3);
    put32(f, LIST_REL + 4, 1);
    put32(f, LIST_REL + 8, 0x10);
    /* a category Fake(Cat) with one method, a property and a class property */
    put64(f, CATLIST, CAT);
    put32(f, IMAGEINFO + 4, DSC_OBJC_IMAGE_CATEGORY_CLASS_PROPS);
    putstr(f, NAMES + 0x30, "Cat");
    putstr(f, NAMES + 0x40, "catMethod");
    putstr(f, NAMES + 0x50, "prop");
    putstr(f, NAMES + 0x58, "T@");
    putstr(f, NAMES + 0x60, "classProp");
    put64(f, CAT, NAMES + 0x30);
    put64(f, CAT + 8, CLS);
    put64(f, CAT + 16, CAT_LIST);
    put64(f, CAT + 40, PROPS);
    put64(f, CAT + 48, CLASS_PROPS);
    put32(f, CAT_LIST, 24);
    put32(f, CAT_LIST + 4, 1);
    put64(f, CAT_LIST + 8, NAMES + 0x40);
    put32(f, PROPS, 16);
    put32(f, PROPS + 4, 1);
    put64(f, PROPS + 8, NAMES + 0x50);
    put64(f, PROPS + 16, NAMES + 0x58);
    put32(f, CLASS_PROPS, 16);
    put32(f, CLASS_PROPS + 4, 1);
    put64(f, CLASS_PROPS + 8, NAMES + 0x60);
    put64(f, CLASS_PROPS + 16, NAMES + 0x58);
}

struct names {
    char buf[512];
};

static int collect(void *ctx, const struct dsc_objc_item *it)
{
    struct names *n = ctx;
    size_t len = strlen(n->buf);
    if (it->kind == DSC_OBJC_METHOD || it->kind == DSC_OBJC_CLASS || it->kind == DSC_OBJC_METACLASS)
        snprintf(n->buf + len, sizeof n->buf - len, "%s%s%s;", it->kind == DSC_OBJC_METHOD ? (it->meta ? "+" : "-") : "",
                 it->kind == DSC_OBJC_METACLASS ? "meta:" : "", it->name);
    else if (it->kind == DSC_OBJC_CATEGORY)
        snprintf(n->buf + len, sizeof n->buf - len, "cat:%s(%s);", it->owner, it->name);
    else if (it->kind == DSC_OBJC_NAME_REF && strcmp(it->section, "__cstring") == 0)
        snprintf(n->buf + len, sizeof n->buf - len, "str:%s;", it->name);
    return 0;
}

/* The fake image borrows a real cache only so errors can name a file; its
 * sections are the class list, then (nsects 3) the category list and
 * objc_image_info. */
static int fake_walk_sects(struct fake *f, const struct dsc_objc_opt *opt, int32_t index, unsigned nsects,
                           struct names *out, dsc_error *err)
{
    const char *path = testdata_path(testdata_caches[0]);
    if (!path)
        return 1;
    dsc_cache *c;
    ck_assert(dsc_cache_open(path, &c, err) == 0);
    struct dsc_section sects[3] = {
        {.sectname = "__objc_classlist", .segname = "__DATA", .addr = CLASSLIST, .size = 8},
        {.sectname = "__objc_catlist", .segname = "__DATA", .addr = CATLIST, .size = 8},
        {.sectname = "__objc_imageinfo", .segname = "__DATA", .addr = IMAGEINFO, .size = 8},
    };
    struct dsc_segment segs[1] = {{.name = "__DATA", .vmaddr = FAKE_BASE, .vmsize = FAKE_SIZE}};
    struct dsc_macho mo = {.cache = c, .image = 5, .is64 = true, .segs = segs, .nsegs = 1, .sects = sects,
                           .nsects = nsects};
    struct dsc_objc_image img = {&mo, {f, fake_span, fake_ptr, fake_cstr}, 8, opt, index};
    memset(out, 0, sizeof *out);
    int rc = dsc_objc_walk(&img, collect, out, err);
    dsc_cache_close(c);
    return rc;
}

static int fake_walk(struct fake *f, const struct dsc_objc_opt *opt, int32_t index, struct names *out, dsc_error *err)
{
    return fake_walk_sects(f, opt, index, 1, out, err);
}

START_TEST(categories_and_their_properties)
{
    static struct fake f;
    build_fake(&f);
    struct dsc_objc_opt opt = {.present = true, .has_selector_base = true, .selector_base = SELBASE};
    struct names n;
    dsc_error err;
    int rc = fake_walk_sects(&f, &opt, 7, 3, &n, &err);
    if (rc == 1)
        return;
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(n.buf, "Fake;-relMethod;meta:Fake;+ownClassMethod;cat:Fake(Cat);-catMethod;"
                            "str:prop;str:T@;str:classProp;str:T@;");
    /* without HasCategoryClassProperties the field is not there */
    put32(&f, IMAGEINFO + 4, 0);
    ck_assert_int_eq(fake_walk_sects(&f, &opt, 7, 3, &n, &err), 0);
    ck_assert_str_eq(n.buf, "Fake;-relMethod;meta:Fake;+ownClassMethod;cat:Fake(Cat);-catMethod;str:prop;str:T@;");
}
END_TEST

/* Selector-base names, and lists of lists (preattached categories,
 * dyld-1122+): the class's own list is the last entry, after another
 * image's category list (k 0) or one of the same image, with the same
 * index (k 1); a last entry outside the image (the cache's shared empty
 * method list, k 2) or {0, 0} (pointing at itself, k 3) means the class has
 * no list of its own. */
START_TEST(lists_of_lists_and_selector_base)
{
    static struct fake f;
    struct dsc_objc_opt opt = {.present = true, .has_selector_base = true, .selector_base = SELBASE};
    const char *own = "Fake;-relMethod;meta:Fake;+ownClassMethod;", *none = "Fake;-relMethod;meta:Fake;";
    const char *const want[] = {own, own, none, none};
    for (int k = 0; k < 4; k++) {
        build_fake(&f);
        if (k > 0)
            put64(&f, LOL + 8, (uint64_t)(LIST_OTHER - (LOL + 8)) << 16 | 7);
        if (k == 2)
            put64(&f, LOL + 16, (uint64_t)(FAKE_BASE + FAKE_SIZE + 0x40 - (LOL + 16)) << 16 | 7);
        if (k == 3)
            put64(&f, LOL + 16, 0);
        struct names n;
        dsc_error err;
        int rc = fake_walk(&f, &opt, 7, &n, &err);
        if (rc == 1)
            return;
        ck_assert_msg(rc == 0, "%s", err.msg);
        ck_assert_str_eq(n.buf, want[k]);
    }
}
END_TEST

START_TEST(direct_names_without_selector_base_are_field_relative)
{
    static struct fake f;
    build_fake(&f);
    putstr(&f, LIST_REL + 8 + 0x10, "fieldRelative");
    struct names n;
    dsc_error err;
    int rc = fake_walk(&f, NULL, 7, &n, &err);
    if (rc == 1)
        return;
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(n.buf, "Fake;-fieldRelative;meta:Fake;+ownClassMethod;");
}
END_TEST

START_TEST(malformed_metadata_fails_with_one_line)
{
    static struct fake f;
    struct dsc_objc_opt opt = {.present = true, .has_selector_base = true, .selector_base = SELBASE};
    struct names n;
    dsc_error err;
    /* each corruption must give a clean error naming cache and image */
    for (int k = 0; k < 5; k++) {
        build_fake(&f);
        switch (k) {
        case 0: put32(&f, LIST_REL + 4, 0x7fffffff); break;      /* huge count */
        case 1: put64(&f, CLS + 32, 0xdead0000); break;          /* RO out of range */
        case 2: put32(&f, LIST_REL + 8, 0x7ffffff0); break;      /* name outside */
        case 3: put32(&f, LOL, 0x18); break;                     /* bad lol entsize */
        case 4: memset(f.b + (NAMES - FAKE_BASE), 'A', FAKE_SIZE - (NAMES - FAKE_BASE)); break; /* no NUL */
        }
        int rc = fake_walk(&f, &opt, 7, &n, &err);
        if (rc == 1)
            return;
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(err.msg, "libhello-1.0.dylib: ObjC ") != NULL, "%s", err.msg);
        ck_assert(strchr(err.msg, '\n') == NULL);
    }
}
END_TEST

Suite *objc_suite(void)
{
    Suite *s = suite_create("objc");
    TCase *tc = tcase_create("real");
    tcase_add_loop_test(tc, real_images_match_their_symbols_and_types, 0, 2);
    tcase_add_test(tc, cache_without_objc_has_no_opt);
    suite_add_tcase(s, tc);
    TCase *syn = tcase_create("synthetic");
    tcase_add_test(syn, lists_of_lists_and_selector_base);
    tcase_add_test(syn, categories_and_their_properties);
    tcase_add_test(syn, direct_names_without_selector_base_are_field_relative);
    tcase_add_test(syn, malformed_metadata_fails_with_one_line);
    suite_add_tcase(s, syn);
    return s;
}

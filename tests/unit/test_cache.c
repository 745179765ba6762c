/* SPDX-License-Identifier: BSD-2-Clause */
/* test_cache.c — opening the real caches, the image table, address
 * translation, load commands, and refusal of malformed input. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/macho.h"
#include "suites.h"
#include "testdata.h"

static const char *const objc_images[] = {
    "/usr/lib/libSystem.B.dylib", "/usr/lib/liba-1.0.dylib", "/usr/lib/libb-1.0.dylib",
    "/usr/lib/libc++.1.dylib", "/usr/lib/libc++abi.dylib", "/usr/lib/libhello-1.0.dylib",
    "/usr/lib/libobjc.A.dylib", "/usr/lib/system/libdyld.dylib",
};

START_TEST(objc_caches_list_their_images_and_alias)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    const dsc_cache_info *in = dsc_cache_get_info(c);
    ck_assert_uint_eq(in->image_count, 8);
    for (uint32_t i = 0; i < 8; i++) {
        ck_assert_str_eq(dsc_cache_get_image(c, i)->path, objc_images[i]);
        ck_assert(dsc_cache_get_image(c, i)->has_uuid);
        ck_assert_int_eq(dsc_cache_find_image(c, objc_images[i]), i);
    }
    ck_assert_uint_eq(in->alias_count, 1);
    ck_assert_str_eq(dsc_cache_get_alias(c, 0)->path, "/usr/lib/liba.dylib");
    ck_assert_int_eq(dsc_cache_find_image(c, "/usr/lib/liba.dylib"), 1);
    ck_assert_int_eq(dsc_cache_find_image(c, "/usr/lib/nope.dylib"), -1);
    ck_assert_uint_eq(in->header_size, 0x140);
    ck_assert_uint_eq(in->base_address, 0x180000000ull);
    dsc_cache_close(c);
}
END_TEST

START_TEST(mappings_and_slide_versions)
{
    dsc_cache *c = testdata_open(testdata_caches[1]);
    if (!c)
        return;
    const dsc_cache_info *in = dsc_cache_get_info(c);
    ck_assert_int_eq(in->arch, DSC_ARCH_ARM64E);
    ck_assert_uint_eq(in->mapping_count, 4);
    static const char *names[] = {"__TEXT", "__DATA", "__AUTH", "__LINKEDIT"};
    static const uint32_t slide[] = {0, 3, 3, 0};
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_str_eq(dsc_cache_get_mapping(c, i)->name, names[i]);
        ck_assert_uint_eq(dsc_cache_get_mapping(c, i)->slide_version, slide[i]);
    }
    dsc_cache_close(c);

    c = testdata_open(testdata_caches[0]);
    ck_assert_uint_eq(dsc_cache_get_info(c)->mapping_count, 3);
    ck_assert_uint_eq(dsc_cache_get_mapping(c, 1)->slide_version, 2);
    dsc_cache_close(c);
}
END_TEST

START_TEST(new_header_era)
{
    dsc_cache *c = testdata_open(testdata_caches[2]);
    if (!c)
        return;
    const dsc_cache_info *in = dsc_cache_get_info(c);
    ck_assert_uint_eq(in->header_size, 0x200);
    ck_assert_uint_eq(in->image_count, 4);
    ck_assert_uint_eq(in->platform, 1);
    ck_assert_uint_eq(in->os_version, 0x0d0000);
    ck_assert_str_eq(dsc_cache_get_image(c, 1)->path, "/usr/lib/libhello.dylib");
    dsc_cache_close(c);
}
END_TEST

START_TEST(address_translation)
{
    dsc_cache *c = testdata_open(testdata_caches[0]);
    if (!c)
        return;
    uint32_t magic;
    const dsc_image *img = dsc_cache_get_image(c, 0);
    ck_assert(dsc_vm_u32(c, img->address, &magic) && magic == MH_MAGIC_64);
    const dsc_mapping_info *m = dsc_cache_get_mapping(c, 1);
    dsc_span s;
    ck_assert(dsc_vm_span(c, m->address + m->size - 8, 8, &s));
    ck_assert(!dsc_vm_span(c, m->address + m->size - 8, 9, &s)); /* crosses the end */
    ck_assert(!dsc_vm_span(c, 0x1000, 1, &s));
    ck_assert(!dsc_vm_span(c, UINT64_MAX, 1, &s));
    dsc_cache_close(c);
}
END_TEST

/* dsc_lc_find (indexed for the typed readers' commands) finds the first
 * command of each kind a walk finds, and nothing where a walk finds none. */
static void finds_as_a_walk_does(const struct dsc_macho *mo)
{
    static const uint32_t kinds[] = {LC_SYMTAB, LC_DYSYMTAB, LC_DYLD_INFO, LC_DYLD_INFO_ONLY, LC_DYLD_EXPORTS_TRIE,
                                     LC_FUNCTION_STARTS, LC_DATA_IN_CODE, LC_DYLD_CHAINED_FIXUPS, LC_UUID,
                                     LC_ID_DYLIB, LC_SEGMENT_SPLIT_INFO};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        struct dsc_lc walked, found;
        uint64_t cur = 0;
        bool any = false;
        while (!any && dsc_lc_next(mo, &cur, &walked))
            any = walked.cmd == kinds[k];
        ck_assert_int_eq(dsc_lc_find(mo, kinds[k], &found), any);
        if (any)
            ck_assert_uint_eq(found.offset, walked.offset);
    }
}

START_TEST(every_image_parses)
{
    dsc_cache *c = testdata_open(testdata_caches[_i]);
    if (!c)
        return;
    for (uint32_t i = 0; i < dsc_cache_get_info(c)->image_count; i++) {
        struct dsc_macho mo;
        dsc_error err;
        ck_assert_msg(dsc_macho_parse(c, i, &mo, &err) == 0, "%s", err.msg);
        ck_assert(mo.flags & MH_DYLIB_IN_CACHE);
        ck_assert_str_eq(mo.install_name, dsc_cache_get_image(c, i)->path);
        ck_assert(dsc_macho_segment(&mo, "__TEXT") != NULL);
        ck_assert(dsc_macho_segment(&mo, "__LINKEDIT") != NULL);
        ck_assert(mo.has_uuid && !memcmp(mo.uuid, dsc_cache_get_image(c, i)->uuid, 16));
        finds_as_a_walk_does(&mo);
        dsc_macho_free(&mo);
    }
    dsc_cache_close(c);
}
END_TEST

static void expect_failure(const char *path, const char *needle, enum dsc_errcode code)
{
    dsc_cache *c;
    dsc_error err;
    ck_assert_int_eq(dsc_cache_open(path, &c, &err), -1);
    ck_assert_int_eq(err.code, code);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "expected '%s' in: %s", needle, err.msg);
    ck_assert_ptr_null(strchr(err.msg, '\n'));
}

START_TEST(malformed_shared_inputs_fail_cleanly)
{
    static const char *const files[] = {"malformed/CVE-2022-1244", "malformed/dyldcache_read4",
                                        "malformed/dyldcache_read8"};
    const char *path = testdata_path(files[_i]);
    if (!path)
        return;
    expect_failure(path, ": ", DSC_ERR_INPUT);
}
END_TEST

START_TEST(missing_file_is_named)
{
    expect_failure("/nonexistent/dyld_shared_cache_arm64e", "cannot open", DSC_ERR_SYSTEM);
}
END_TEST

/* Copy the first `len` bytes of a real cache to a temporary file. */
static char *truncated_copy(const char *src, long len)
{
    static char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/dsc-trunc-XXXXXX");
    int fd = mkstemp(tmpl);
    FILE *in = fopen(src, "rb");
    ck_assert(fd >= 0 && in);
    char *buf = malloc((size_t)len);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, in), len);
    ck_assert_int_eq(write(fd, buf, (size_t)len), len);
    free(buf);
    fclose(in);
    close(fd);
    return tmpl;
}

START_TEST(truncated_caches_fail_cleanly)
{
    const char *src = testdata_path(testdata_caches[0]);
    if (!src)
        return;
    /* Inside the header, inside the mapping table, inside the mappings. */
    static const long cuts[] = {17, 0x150, 0x1000, 0x70000};
    char *tmp = truncated_copy(src, cuts[_i]);
    expect_failure(tmp, ": ", DSC_ERR_INPUT);
    unlink(tmp);
}
END_TEST

/* The header's version macros, the library's string and configure's agree. */
START_TEST(version_macros_match_the_package)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", DSC_VERSION_MAJOR, DSC_VERSION_MINOR, DSC_VERSION_PATCH);
    ck_assert_str_eq(dsc_version(), want);
    ck_assert_str_eq(dsc_version(), PACKAGE_VERSION);
}
END_TEST

/* An image index out of range is the caller's error, named as such. */
START_TEST(image_index_out_of_range_is_an_argument_error)
{
    const char *path = testdata_path(testdata_caches[0]);
    if (!path)
        return;
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    uint64_t size;
    ck_assert_int_eq(dsc_extract_size(c, dsc_cache_get_info(c)->image_count, &size, &err), -1);
    ck_assert_int_eq(err.code, DSC_ERR_ARGUMENT);
    ck_assert_ptr_null(dsc_cache_get_image(c, dsc_cache_get_info(c)->image_count));
    dsc_cache_close(c);
}
END_TEST

/* Issue 14 item 7: one install path longer than 1024 bytes (libhello's,
 * pointed at 1100 bytes appended to a copy of the arm64 cache) skips that
 * image with a warning; the cache opens and the other images are served. */
START_TEST(overlong_path_skips_its_image)
{
    const char *src = testdata_path(testdata_caches[0]);
    if (!src)
        return;
    FILE *in = fopen(src, "rb");
    ck_assert_ptr_nonnull(in);
    fseek(in, 0, SEEK_END);
    size_t size = (size_t)ftell(in), tail = 1101;
    rewind(in);
    uint8_t *b = calloc(1, size + tail);
    ck_assert_uint_eq(fread(b, 1, size, in), size);
    fclose(in);
    memset(b + size, 'A', tail - 1);
    uint32_t table = dsc_le32(b + 0x18); /* imagesOffsetOld: this header predates the new table */
    dsc_put32(b + table + 32 * 5 + 24, (uint32_t)size); /* record 5: libhello */
    char path[] = "/tmp/dsc-longpath-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b, size + tail), (ssize_t)(size + tail));
    close(fd);
    free(b);
    dsc_cache *c;
    dsc_error err;
    ck_assert_msg(dsc_cache_open(path, &c, &err) == 0, "%s", err.msg);
    const dsc_cache_info *info = dsc_cache_get_info(c);
    ck_assert_uint_eq(info->image_count, 7);
    ck_assert_msg(info->warning && strstr(info->warning, "1 image skipped (first: record 5)") &&
                      strstr(info->warning, "longer than 1024 bytes"), "%s", info->warning);
    ck_assert_int_eq(dsc_cache_find_image(c, "/usr/lib/libhello-1.0.dylib"), -1);
    ck_assert_int_eq(dsc_cache_find_image(c, "/usr/lib/liba.dylib"), 1);
    int64_t objc = dsc_cache_find_image(c, "/usr/lib/libobjc.A.dylib");
    ck_assert_int_eq(objc, 5);
    dsc_output o = {.struct_size = sizeof o};
    ck_assert_msg(dsc_extract(c, (uint32_t)objc, &o, &err) == 0, "%s", err.msg);
    dsc_output_free(&o);
    dsc_cache_close(c);
    unlink(path);
}
END_TEST

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("real");
    tcase_add_loop_test(tc, objc_caches_list_their_images_and_alias, 0, 2);
    tcase_add_test(tc, mappings_and_slide_versions);
    tcase_add_test(tc, new_header_era);
    tcase_add_test(tc, address_translation);
    tcase_add_loop_test(tc, every_image_parses, 0, 3);
    tcase_add_test(tc, version_macros_match_the_package);
    tcase_add_test(tc, image_index_out_of_range_is_an_argument_error);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("malformed");
    tcase_add_loop_test(bad, malformed_shared_inputs_fail_cleanly, 0, 3);
    tcase_add_test(bad, missing_file_is_named);
    tcase_add_loop_test(bad, truncated_caches_fail_cleanly, 0, 4);
    tcase_add_test(bad, overlong_path_skips_its_image);
    suite_add_tcase(s, bad);
    return s;
}

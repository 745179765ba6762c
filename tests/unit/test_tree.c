/* SPDX-License-Identifier: BSD-2-Clause */
/* test_tree.c — the mount's tree: directories synthesized from paths,
 * hostile components, conflicts, relative link targets, stable ids. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/tree.h"
#include "dsc/dsc.h"
#include "suites.h"

static tree *t;

static void setup(void) { t = tree_new(); ck_assert_ptr_nonnull(t); }
static void teardown(void) { tree_free(t); }

static const char *link_target(const char *path)
{
    const tree_node *n = tree_node_at(t, tree_lookup(t, path));
    ck_assert_ptr_nonnull(n);
    ck_assert_int_eq(n->kind, TREE_LINK);
    return n->target;
}

START_TEST(files_make_their_directories)
{
    uint32_t id;
    ck_assert_int_eq(tree_add_file(t, "/usr/lib/libobjc.A.dylib", 7, &id), TREE_OK);
    ck_assert_int_eq(tree_add_file(t, "/usr/lib/system/libdyld.dylib", 8, &id), TREE_OK);
    uint32_t lib = tree_lookup(t, "/usr/lib");
    const tree_node *n = tree_node_at(t, lib);
    ck_assert_int_eq(n->kind, TREE_DIR);
    ck_assert_uint_eq(n->subdirs, 1);
    ck_assert_str_eq(tree_node_at(t, n->first_child)->name, "libobjc.A.dylib");
    ck_assert_str_eq(tree_node_at(t, tree_node_at(t, n->first_child)->next_sibling)->name, "system");
    ck_assert_uint_eq(tree_node_at(t, tree_lookup(t, "/usr/lib/libobjc.A.dylib"))->payload, 7);
    ck_assert_uint_eq(tree_node_at(t, id)->payload, 8);
    ck_assert_uint_eq(tree_lookup(t, "/"), TREE_ROOT);
    ck_assert_uint_eq(tree_lookup(t, "/usr/nope"), TREE_NONE);
    /* A file is not a directory to look through. */
    ck_assert_uint_eq(tree_lookup(t, "/usr/lib/libobjc.A.dylib/x"), TREE_NONE);
    char *p = tree_path(t, id);
    ck_assert_str_eq(p, "/usr/lib/system/libdyld.dylib");
    free(p);
    p = tree_path(t, TREE_ROOT);
    ck_assert_str_eq(p, "/");
    free(p);
}
END_TEST

/* The rule --extract-all shares (dsc_path_servable): empty components
 * are ignored, ".", ".." and components over 255 bytes refuse the path. */
START_TEST(hostile_components_are_refused)
{
    uint32_t id;
    ck_assert_int_eq(tree_add_file(t, "//usr/lib//a.dylib", 1, &id), TREE_OK);
    char *p = tree_path(t, id);
    ck_assert_str_eq(p, "/usr/lib/a.dylib");
    free(p);
    ck_assert_uint_eq(tree_lookup(t, "usr/lib/a.dylib"), id);
    ck_assert_int_eq(tree_add_file(t, "/usr/lib/a.dylib", 2, &id), TREE_EXISTS);
    uint32_t before = tree_count(t);
    const char *bad[] = {"/../..", "", "/", "usr/lib/b", "/usr/./b", "/usr/lib/../b", "/usr/lib/b/..", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(tree_add_file(t, bad[i], 3, &id) == TREE_BAD_PATH, "accepted '%s'", bad[i]);
    ck_assert_int_eq(tree_add_link(t, "/usr/lib/../x", "/usr/lib/a.dylib", &id), TREE_BAD_PATH);
    char name[DSC_NAME_MAX + 3];
    memset(name, 'x', sizeof name - 1);
    name[0] = '/';
    name[sizeof name - 1] = 0; /* a 256-byte component */
    ck_assert_int_eq(tree_add_file(t, name, 3, &id), TREE_BAD_PATH);
    ck_assert_uint_eq(tree_count(t), before);
    name[sizeof name - 2] = 0; /* 255 bytes: served */
    ck_assert_int_eq(tree_add_file(t, name, 3, &id), TREE_OK);
}
END_TEST

START_TEST(conflicts_change_nothing)
{
    uint32_t id;
    ck_assert_int_eq(tree_add_file(t, "/a/b", 1, &id), TREE_OK);
    uint32_t before = tree_count(t);
    ck_assert_int_eq(tree_add_file(t, "/a/b/c/d", 2, &id), TREE_NOT_DIR);
    ck_assert_int_eq(tree_add_dir(t, "/a/b", &id), TREE_EXISTS);
    ck_assert_int_eq(tree_add_file(t, "/a", 2, &id), TREE_EXISTS);
    ck_assert_uint_eq(tree_count(t), before);
    ck_assert_int_eq(tree_add_dir(t, "/a", &id), TREE_OK); /* already a dir: fine */
    ck_assert_uint_eq(tree_count(t), before);
}
END_TEST

START_TEST(links_get_relative_targets)
{
    uint32_t id;
    ck_assert_int_eq(tree_add_file(t, "/usr/lib/liba-1.0.dylib", 1, &id), TREE_OK);
    ck_assert_int_eq(tree_add_link(t, "/usr/lib/liba.dylib", "/usr/lib/liba-1.0.dylib", &id), TREE_OK);
    ck_assert_str_eq(link_target("/usr/lib/liba.dylib"), "liba-1.0.dylib");
    ck_assert_int_eq(tree_add_link(t, "/opt/x/y.dylib", "/usr/lib/liba-1.0.dylib", &id), TREE_OK);
    ck_assert_str_eq(link_target("/opt/x/y.dylib"), "../../usr/lib/liba-1.0.dylib");
    ck_assert_int_eq(tree_add_link(t, "/F.framework/Versions/Current", "/F.framework/Versions/A", &id),
                     TREE_OK);
    ck_assert_str_eq(link_target("/F.framework/Versions/Current"), "A");
    ck_assert_int_eq(tree_add_link(t, "/F.framework/F", "/F.framework/Versions/Current/F", &id), TREE_OK);
    ck_assert_str_eq(link_target("/F.framework/F"), "Versions/Current/F");
    ck_assert_int_eq(tree_add_link(t, "/usr/lib/self", "/usr/lib", &id), TREE_OK);
    ck_assert_str_eq(link_target("/usr/lib/self"), ".");
    /* Self-links and paths through a link are refused. */
    ck_assert_int_eq(tree_add_link(t, "/usr/lib/loop", "/usr/./lib/loop", &id), TREE_BAD_PATH);
    ck_assert_int_eq(tree_add_link(t, "/usr/lib/liba.dylib/x", "/usr/lib", &id), TREE_NOT_DIR);
    ck_assert_int_eq(tree_add_link(t, "/", "/usr/lib", &id), TREE_BAD_PATH);
}
END_TEST

START_TEST(framework_links_like_a_real_system)
{
    uint32_t id;
    const char *fw = "/System/Library/Frameworks/Foo.framework/Versions/A/Foo";
    ck_assert_int_eq(tree_add_file(t, fw, 1, &id), TREE_OK);
    tree_add_framework_links(t, fw);
    ck_assert_str_eq(link_target("/System/Library/Frameworks/Foo.framework/Versions/Current"), "A");
    ck_assert_str_eq(link_target("/System/Library/Frameworks/Foo.framework/Foo"), "Versions/Current/Foo");
    /* A second version does not move Current. */
    const char *b = "/System/Library/Frameworks/Foo.framework/Versions/B/Foo";
    ck_assert_int_eq(tree_add_file(t, b, 2, &id), TREE_OK);
    tree_add_framework_links(t, b);
    ck_assert_str_eq(link_target("/System/Library/Frameworks/Foo.framework/Versions/Current"), "A");
    /* Not frameworks: no links. */
    uint32_t before = tree_count(t);
    const char *not_fw[] = {
        "/usr/lib/libobjc.A.dylib",
        "/S/Bar.framework/Versions/A/Baz",     /* name differs from the framework */
        "/S/xBar.framework/Versions/A/Bar",    /* "Bar" is only a suffix */
        "/S/Bar.framework/Version/A/Bar",
        "/Versions/A/Bar",
        "Bar.framework/Versions/A/Bar/",
        "/Bar.framework/Versions//Bar",
    };
    for (size_t i = 0; i < sizeof not_fw / sizeof not_fw[0]; i++)
        tree_add_framework_links(t, not_fw[i]);
    ck_assert_uint_eq(tree_count(t), before);
}
END_TEST

START_TEST(ids_stay_stable_while_growing)
{
    char path[64];
    uint32_t first;
    ck_assert_int_eq(tree_add_file(t, "/d0/f", 0, &first), TREE_OK);
    for (uint32_t i = 1; i < 5000; i++) {
        uint32_t id;
        snprintf(path, sizeof path, "/d%u/sub/f%u", i % 37, i);
        ck_assert_int_eq(tree_add_file(t, path, i, &id), TREE_OK);
    }
    ck_assert_uint_eq(tree_lookup(t, "/d0/f"), first);
    for (uint32_t i = 1; i < 5000; i++) {
        snprintf(path, sizeof path, "/d%u/sub/f%u", i % 37, i);
        const tree_node *n = tree_node_at(t, tree_lookup(t, path));
        ck_assert_ptr_nonnull(n);
        ck_assert_uint_eq(n->payload, i);
    }
    ck_assert_ptr_null(tree_node_at(t, tree_count(t)));
}
END_TEST

Suite *tree_suite(void)
{
    Suite *s = suite_create("tree");
    TCase *tc = tcase_create("tree");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, files_make_their_directories);
    tcase_add_test(tc, hostile_components_are_refused);
    tcase_add_test(tc, conflicts_change_nothing);
    tcase_add_test(tc, links_get_relative_targets);
    tcase_add_test(tc, framework_links_like_a_real_system);
    tcase_add_test(tc, ids_stay_stable_while_growing);
    suite_add_tcase(s, tc);
    return s;
}

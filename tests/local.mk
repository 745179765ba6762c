# SPDX-License-Identifier: BSD-2-Clause
# Tests: Check unit suites (tests/unit) and shell integration tests
# (tests/integration). Tests that need ../shared/testdata skip with a message
# when it is absent. DSC_TESTDATA overrides where the shared caches are.
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	DSC_TESTDATA="$${DSC_TESTDATA:-$(abs_top_srcdir)/../shared/testdata}"; \
	DSCFS='$(abs_top_builddir)/dscfs'; DSCFS_FUSE=$(DSCFS_FUSE); SAN_FLAGS='$(SAN_FLAGS)'; \
	export top_srcdir top_builddir DSC_TESTDATA DSCFS DSCFS_FUSE SAN_FLAGS;
# The mount tests skip in a --disable-fuse build.
if HAVE_FUSE
DSCFS_FUSE = yes
else
DSCFS_FUSE = no
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_lib
TESTS += tests/unit/test_lib
tests_unit_test_lib_SOURCES = \
	tests/unit/main.c tests/unit/suites.h tests/unit/testdata.c tests/unit/testdata.h \
	tests/unit/test_reader.c tests/unit/test_cache.c \
	tests/unit/test_symbols.c tests/unit/test_stubs.c tests/unit/test_verify.c \
	tests/unit/test_extract.c tests/unit/test_slide.c tests/unit/test_locals.c \
	tests/unit/test_fixups.c tests/unit/test_outdir.c src/cli/outdir.c \
	tests/unit/test_objc.c tests/unit/test_pass_objc.c tests/unit/test_sort.c \
	tests/unit/test_sha256.c tests/unit/test_a64flow.c
tests_unit_test_lib_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_lib_LDADD = libdsc_core.la $(CHECK_LIBS)
tests_unit_test_lib_SOURCES += tests/unit/test_store.c tests/unit/test_tree.c tests/unit/test_guard.c
tests_unit_test_lib_LDADD += libdscfs.la
endif

TESTS += tests/integration/cli.sh tests/integration/extract.sh tests/integration/binds.sh \
	tests/integration/builder.sh tests/integration/builder_shape.sh tests/integration/binds_builder.sh
EXTRA_DIST += tests/integration/cli.sh tests/integration/lib.sh tests/integration/extract.sh \
	tests/integration/binds.sh tests/integration/builder.sh tests/integration/builder_shape.sh \
	tests/integration/binds_builder.sh
TESTS += tests/integration/objc_link.sh tests/integration/objc_builder.sh
EXTRA_DIST += tests/integration/objc_link.sh tests/integration/objc_builder.sh tests/integration/objclists.sh
TESTS += tests/integration/verify_builder.sh
EXTRA_DIST += tests/integration/verify_builder.sh
# Unknown architectures and .development mains, read as dyld would.
TESTS += tests/integration/future.sh
EXTRA_DIST += tests/integration/future.sh
# Selrefs point into each image's own __objc_methname (issue 10 item 7).
TESTS += tests/integration/selref_methname.sh
EXTRA_DIST += tests/integration/selref_methname.sh
# Selector loads of every shape, rewritten and restored (issue 10 item 3).
TESTS += tests/integration/selloads_builder.sh
EXTRA_DIST += tests/integration/selloads_builder.sh
# libobjc's __OBJC_RO/__OBJC_RW left out, segments as the input's (issue 10 item 5).
TESTS += tests/integration/objc_segments.sh
EXTRA_DIST += tests/integration/objc_segments.sh
# The ObjC selector, class and protocol hash tables; corrupted copies.
TESTS += tests/integration/objc_hash_tables.sh
EXTRA_DIST += tests/integration/objc_hash_tables.sh
# Swift relative references to GOT slots (tests/builder/inputs/libswiftrel.S).
TESTS += tests/integration/swift_builder.sh
EXTRA_DIST += tests/integration/swift_builder.sh
# Install paths written to break the fronts: escaped in every log line.
TESTS += tests/integration/hostile_paths.sh
EXTRA_DIST += tests/integration/hostile_paths.sh
# Ad-hoc code signatures judged without the writer (sigcheck.sh).
TESTS += tests/integration/signature.sh
EXTRA_DIST += tests/integration/signature.sh tests/integration/sigcheck.sh

# Mutation fuzzing of the engine on the real caches (see tests/fuzz/mutate.c).
check_PROGRAMS += tests/fuzz/mutate
tests_fuzz_mutate_SOURCES = tests/fuzz/mutate.c tests/fuzz/exercise.c tests/fuzz/exercise.h \
	tests/fuzz/structure.c tests/fuzz/structure.h
tests_fuzz_mutate_LDADD = libdsc_core.la
TESTS += tests/integration/fuzz.sh
EXTRA_DIST += tests/integration/fuzz.sh

# The libFuzzer campaign (tests/fuzz/run.sh, clang-19 with
# -fsanitize=fuzzer,address,undefined): four targets, seeds made from the
# builder's caches at run time, regression inputs made at run time from the
# recipes in tests/fuzz/regress (recipe.c, regress-add.sh).
# `make fuzz FUZZ_SECONDS=N [FUZZ_ARCHES="arm64e x86_64"] [FUZZ_TARGETS=...]`
# runs every target (or those named) for N seconds; make check runs fuzz_smoke.sh (20 s per target).
FUZZ_SECONDS = 600
FUZZ_ARCHES =
FUZZ_TARGETS =
fuzz: dscfs$(EXEEXT) tests/builder/dscbuild$(EXEEXT) tests/builder/dsccheck$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	FUZZ_TARGETS='$(FUZZ_TARGETS)' \
	DSC_TESTDATA="$${DSC_TESTDATA:-$(abs_top_srcdir)/../shared/testdata}" \
	  sh $(srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_ARCHES)
.PHONY: fuzz
TESTS += tests/integration/fuzz_smoke.sh
EXTRA_DIST += tests/integration/fuzz_smoke.sh tests/fuzz/run.sh tests/fuzz/dsc.dict tests/fuzz/fuzz_common.c \
	tests/fuzz/fuzz_common.h tests/fuzz/fuzz_cache.c tests/fuzz/fuzz_split.c tests/fuzz/fuzz_output.c \
	tests/fuzz/fuzz_tree.c tests/fuzz/recipe.c tests/fuzz/regress-add.sh \
	tests/fuzz/regress/fuzz_cache/overlapping-segments.recipe \
	tests/fuzz/regress/fuzz_cache/overlapping-sections.recipe \
	tests/fuzz/regress/fuzz_cache/no-images.recipe \
	tests/fuzz/regress/fuzz_output/rebase-repeats.recipe \
	tests/fuzz/regress/fuzz_output/selrefs-8gib.recipe
clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz-build fuzz-out
.PHONY: clean-fuzz

TESTS += tests/integration/mount_shutdown.sh
EXTRA_DIST += tests/integration/mount_shutdown.sh

# The soak test (tests/soak/soak.sh): `make soak SOAK_SECONDS=N
# SOAK_READERS=R` reads a 64K-budget mount of a builder split cache with R
# threads for N s, then through truncation, replacement and SIGTERM, and
# prints its figures; make check runs soak_smoke.sh (8 readers, 10 s).
check_PROGRAMS += tests/soak/soak_read
tests_soak_soak_read_SOURCES = tests/soak/soak_read.c
tests_soak_soak_read_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_soak_soak_read_LDADD = $(PTHREAD_LIBS)
SOAK_SECONDS = 600
SOAK_READERS = 64
soak: dscfs$(EXEEXT) tests/soak/soak_read$(EXEEXT) tests/builder/dscbuild$(EXEEXT) tests/builder/dsccheck$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	  sh $(srcdir)/tests/soak/soak.sh $(SOAK_SECONDS) $(SOAK_READERS)
.PHONY: soak
TESTS += tests/soak/soak_smoke.sh
EXTRA_DIST += tests/soak/soak.sh tests/soak/soak_smoke.sh
TESTS += tests/integration/mount.sh tests/integration/mount_parallel.sh \
	tests/integration/mount_budget.sh tests/integration/mount_errors.sh \
	tests/integration/mount_sigbus.sh tests/integration/mount_sigbus_index.sh \
	tests/integration/mount_warm.sh tests/integration/mount_reopen.sh tests/integration/mount_noopen.sh \
	tests/integration/mount_store.sh tests/integration/mount_reread.sh tests/integration/mount_control.sh
EXTRA_DIST += tests/integration/mountlib.sh tests/integration/mount.sh tests/integration/mount_parallel.sh \
	tests/integration/mount_budget.sh tests/integration/mount_errors.sh tests/integration/mount_sigbus.sh \
	tests/integration/mount_sigbus_index.sh tests/integration/mount_warm.sh tests/integration/mount_reopen.sh tests/integration/mount_noopen.sh \
	tests/integration/mount_store.sh tests/integration/mount_reread.sh tests/integration/mount_control.sh

# Extraction compared with the builder's input dylibs (every cache of
# tests/builder/make-caches.sh); macho_facts prints position-free fixups and compares section data.
check_PROGRAMS += tests/integration/macho_facts
tests_integration_macho_facts_SOURCES = tests/integration/macho_facts.c
tests_integration_macho_facts_LDADD = libdsc_core.la
TESTS += tests/integration/extract_builder.sh
EXTRA_DIST += tests/integration/extract_builder.sh

# libdsc's layers include only downward; every tracked source file carries
# its SPDX license line; the refactoring fingerprint script.
TESTS += tests/layers.sh tests/spdx.sh
EXTRA_DIST += tests/layers.sh tests/spdx.sh tests/output-sums.sh

# libdsc installed with DESTDIR and used through pkg-config by a program
# that knows nothing of this tree.
TESTS += tests/integration/installed.sh
EXTRA_DIST += tests/integration/installed.sh tests/integration/libdsc_user.c

# Users' mistakes (issue 13): one line naming the file and what to do, the
# documented exit status.
TESTS += tests/integration/mistakes.sh
EXTRA_DIST += tests/integration/mistakes.sh

# The conventions FUSE and CLI users expect (issue 13): --json, -q/-v,
# completions and mount.dscfs as installed, /.dscfs hidden, log=, max_read=,
# mount -t dscfs.
TESTS += tests/integration/verb_flags.sh tests/integration/completion.sh tests/integration/mount_conventions.sh
EXTRA_DIST += tests/integration/verb_flags.sh tests/integration/completion.sh tests/integration/mount_conventions.sh

# make distcheck proves that the tarball configures, builds, installs,
# uninstalls and works from a read-only source tree; the whole suite has
# already run in the plain build (tests/run-all.sh), so the distcheck
# build (--enable-light-check) runs only the light set: the unit tests and
# the fast integration tests of the CLI, a mount, the installed library and
# the layering rule (about a minute of tests on 2 cores; spdx.sh is left
# out: a tarball has no git to list its files). `make check TESTS=...` in
# such a build still runs the light set.
AM_DISTCHECK_CONFIGURE_FLAGS = --enable-light-check
LIGHT_TESTS = tests/integration/cli.sh tests/integration/extract.sh tests/integration/mistakes.sh \
	tests/integration/verb_flags.sh tests/integration/completion.sh tests/integration/mount.sh \
	tests/integration/installed.sh tests/layers.sh
if HAVE_CHECK
LIGHT_TESTS += tests/unit/test_lib
endif
if LIGHT_CHECK
AM_MAKEFLAGS = TESTS='$(LIGHT_TESTS)'
endif

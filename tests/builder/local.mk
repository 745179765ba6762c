# SPDX-License-Identifier: BSD-2-Clause
# dscbuild: the test-cache builder, and dsccheck, which verifies what it
# wrote (tests/builder/README). Built by `make check`, never installed. They
# read the dylibs that build-inputs.sh links with clang-19/ld64.lld-19 at
# test time.
check_LIBRARIES = tests/builder/libbld.a
tests_builder_libbld_a_SOURCES = \
	tests/builder/bld.h tests/builder/util.c \
	tests/builder/trie_write.c tests/builder/strpool.c tests/builder/strpool.h \
	tests/builder/input.c tests/builder/fixups.c tests/builder/layout.c \
	tests/builder/code.c tests/builder/linkedit.c tests/builder/loadcmds.c \
	tests/builder/slide.c tests/builder/write.c tests/builder/objc.c \
	tests/builder/got.c tests/builder/universal.c tests/builder/objc_opts.c tests/builder/objc_segs.c \
	tests/builder/objc_cats.c tests/builder/selloads.c tests/builder/tlv.c \
	tests/builder/fvariants.c tests/builder/chained_in.c tests/builder/swiftrel.c tests/builder/unwind.c \
	tests/builder/objc_methlists.c tests/builder/objc_impcaches.c tests/builder/objc_hash.c \
	tests/builder/objc_impc_model.c tests/builder/objc_impc_json.c tests/builder/impc.h \
	tests/builder/objc_impc_cons.c tests/builder/objc_impc_sort.c tests/builder/objc_clsopt.c

check_PROGRAMS += tests/builder/dscbuild tests/builder/dsccheck
tests_builder_dscbuild_SOURCES = tests/builder/main.c
tests_builder_dscbuild_LDADD = tests/builder/libbld.a libdsc_core.la
tests_builder_dsccheck_SOURCES = tests/builder/check.c tests/builder/check.h tests/builder/slide_decode.c \
	tests/builder/check_ptrs.c tests/builder/check_syms.c tests/builder/check_code.c \
	tests/builder/check_cats.c tests/builder/check_tlv.c tests/builder/check_swiftrel.c \
	tests/builder/check_methlists.c tests/builder/check_impcaches.c tests/builder/check_objcsegs.c \
	tests/builder/check_largevm.c tests/builder/check_unwind.c tests/builder/check_objchash.c \
	tests/builder/check_objcobjs.c
tests_builder_dsccheck_LDADD = tests/builder/libbld.a libdsc_core.la
# authgot: the post-link step giving inputs/libauthgot.s ld64's arm64e shape
check_PROGRAMS += tests/builder/authgot
tests_builder_authgot_SOURCES = tests/builder/authgot.c tests/builder/postlink.c tests/builder/postlink.h
tests_builder_authgot_LDADD = libdsc_core.la
# fvfixups: the post-link step giving libera ld64's function-variant fixups
check_PROGRAMS += tests/builder/fvfixups
tests_builder_fvfixups_SOURCES = tests/builder/fvfixups.c tests/builder/postlink.c tests/builder/postlink.h
tests_builder_fvfixups_LDADD = libdsc_core.la

EXTRA_DIST += tests/builder/README tests/builder/build-inputs.sh
EXTRA_DIST += tests/builder/bench.sh tests/builder/inputs tests/builder/make-caches.sh tests/builder/x86-refs.sh
EXTRA_DIST += tests/builder/impc-apple.sh tests/builder/apple

# The scale run (a split arm64e cache of ~5000 images, >1 GB, written to
# $TMPDIR and removed; CLONES=N sizes it, KEEP=1 keeps it). `make bench`
# (bench/run.sh) builds it once and benchmarks on it; bench-builder alone
# just builds and checks it.
bench-builder: tests/builder/dscbuild tests/builder/dsccheck dscfs$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' $(SHELL) $(srcdir)/tests/builder/bench.sh
.PHONY: bench-builder

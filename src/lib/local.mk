# SPDX-License-Identifier: BSD-2-Clause
# libdsc: the extraction engine. No FUSE in here. One folder per layer, in
# the order a cache is read: base (bounds-checked reader, sort, format
# codecs) -> cache (files, mappings, images, slide info) -> index (symbols,
# imports, stubs, ObjC walkers) -> extract (plan, passes in pipeline order,
# writer) -> verify (reading outputs back). A file includes only from its
# own layer and earlier ones (tests/layers.sh checks it).
#
# libdsc_core.la holds every object; the tests, the builder and the
# benchmarks link it for the internal functions they exercise. libdsc.la is
# the installed shared library built from it: libdsc.so.0, exporting only
# what include/dsc/dsc.h declares (libdsc.sym, derived from the header; the
# rest, blob_*, span_*, plan_*, pass_* and internal dsc_*, stay local).
# Only the shared library is installed (configure disables static), so
# those unprefixed names never reach a user's link.
noinst_LTLIBRARIES += libdsc_core.la
libdsc_core_la_SOURCES = \
	src/lib/base/reader.c src/lib/base/reader.h \
	src/lib/base/sort.c src/lib/base/sort.h \
	src/lib/base/trie.c src/lib/base/trie.h \
	src/lib/base/bindinfo.c src/lib/base/bindinfo.h \
	src/lib/base/macho_format.h src/lib/base/macho_view.c src/lib/base/macho_view.h \
	src/lib/base/grow.c src/lib/base/grow.h src/lib/base/hash.h \
	src/lib/base/sized.c src/lib/base/sized.h \
	src/lib/base/ptrfmt.c src/lib/base/ptrfmt.h \
	src/lib/base/insn.c src/lib/base/insn.h src/lib/base/a64flow.c src/lib/base/a64flow.h \
	src/lib/base/x86.c src/lib/base/x86.h \
	src/lib/base/relref.c src/lib/base/relref.h \
	src/lib/base/unwind.c src/lib/base/unwind.h \
	src/lib/base/version.c \
	src/lib/base/sha256.c src/lib/base/sha256.h \
	src/lib/base/pathtext.c \
	src/lib/base/codesign.c src/lib/base/codesign.h \
	src/lib/cache/cache.c src/lib/cache/cache.h \
	src/lib/cache/images.c \
	src/lib/cache/slide.c src/lib/cache/slide.h \
	src/lib/cache/macho.c src/lib/cache/macho.h \
	src/lib/cache/locals.c src/lib/cache/locals.h \
	src/lib/index/exports.c src/lib/index/exports.h \
	src/lib/index/symbols.c src/lib/index/symbols.h \
	src/lib/index/imports.c src/lib/index/imports.h \
	src/lib/index/stubs.c src/lib/index/stubs.h \
	src/lib/index/objc.c src/lib/index/objc.h \
	src/lib/extract/extract.c src/lib/extract/extract.h src/lib/extract/plan.c \
	src/lib/extract/pass_layout.c src/lib/extract/pass_pointers.c \
	src/lib/extract/pass_objc.c src/lib/extract/pass_objc.h \
	src/lib/extract/objc_strings.c src/lib/extract/objc_selloads.c src/lib/extract/objc_view.c \
	src/lib/extract/pass_binds.c \
	src/lib/extract/symbolize.c src/lib/extract/symbolize.h \
	src/lib/extract/weakbind.c src/lib/extract/weakbind.h \
	src/lib/extract/lazybind.c src/lib/extract/lazybind.h \
	src/lib/extract/gotslots.c src/lib/extract/gotslots.h \
	src/lib/extract/coderefs.c src/lib/extract/coderefs.h \
	src/lib/extract/tlv.c src/lib/extract/tlv.h \
	src/lib/extract/pass_linkedit.c src/lib/extract/pass_stubs.c \
	src/lib/extract/relrefs.c src/lib/extract/relrefs.h \
	src/lib/extract/pass_fixups.c src/lib/extract/out.c \
	src/lib/verify/verify.c \
	src/lib/verify/fixup_decode.c src/lib/verify/fixup_decode.h \
	src/lib/verify/objc_verify.c src/lib/verify/objc_verify.h
libdsc_core_la_CFLAGS = $(AM_CFLAGS) $(LIB_CFLAGS) $(PTHREAD_CFLAGS)

# The ABI: libtool's -version-info current:revision:age (libdsc.so.0 until
# an incompatible change; read the libtool manual before touching it).
lib_LTLIBRARIES = libdsc.la
libdsc_la_SOURCES =
libdsc_la_LIBADD = libdsc_core.la
libdsc_la_LDFLAGS = -version-info 0:0:0 -no-undefined -export-symbols libdsc.sym
EXTRA_libdsc_la_DEPENDENCIES = libdsc.sym
dscincludedir = $(includedir)/dsc
dscinclude_HEADERS = include/dsc/dsc.h
pkgconfig_DATA = dsc.pc
DISTCLEANFILES = dsc.pc

# Every function dsc.h declares (a line "type name(" or "type *name(").
libdsc.sym: $(top_srcdir)/include/dsc/dsc.h
	$(AM_V_GEN)sed -n 's/^[A-Za-z_].*[ *]\(dsc_[a-z0-9_]*\)(.*/\1/p' $(top_srcdir)/include/dsc/dsc.h | sort -u > $@
CLEANFILES += libdsc.sym
EXTRA_DIST += dsc.pc.in

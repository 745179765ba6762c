# libdsc: the extraction engine. No FUSE in here.
noinst_LTLIBRARIES += libdsc.la
libdsc_la_SOURCES = \
	include/dsc/dsc.h \
	src/lib/reader.c src/lib/reader.h \
	src/lib/sort.c src/lib/sort.h \
	src/lib/cache.c src/lib/cache.h \
	src/lib/images.c \
	src/lib/trie.c src/lib/trie.h \
	src/lib/macho.c src/lib/macho.h \
	src/lib/symbols.c src/lib/symbols.h \
	src/lib/stubs.c src/lib/stubs.h \
	src/lib/imports.c src/lib/imports.h \
	src/lib/bindinfo.c src/lib/bindinfo.h \
	src/lib/slide.c src/lib/slide.h \
	src/lib/locals.c src/lib/locals.h \
	src/lib/extract.c src/lib/extract.h src/lib/plan.c \
	src/lib/pass_layout.c src/lib/pass_pointers.c src/lib/pass_linkedit.c \
	src/lib/pass_binds.c src/lib/pass_stubs.c src/lib/verify.c \
	src/lib/symbolize.c src/lib/symbolize.h src/lib/weakbind.c src/lib/weakbind.h \
	src/lib/lazybind.c src/lib/lazybind.h \
	src/lib/fixup_encode.c src/lib/fixup_decode.c src/lib/fixup_decode.h src/lib/out.c \
	src/lib/objc.c src/lib/objc.h \
	src/lib/pass_objc.c src/lib/pass_objc.h src/lib/objc_strings.c src/lib/objc_selloads.c src/lib/objc_view.c \
	src/lib/objc_verify.c src/lib/objc_verify.h
libdsc_la_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)

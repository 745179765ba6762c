# dscbuild: the test-cache builder (tests/builder/README). Built by `make
# check`, never installed. It reads the dylibs that build-inputs.sh links
# with clang-19/ld64.lld-19 at test time and writes dyld shared caches of
# every era, arch and slide-info version for the integration tests.
check_PROGRAMS += tests/builder/dscbuild
tests_builder_dscbuild_SOURCES = \
	tests/builder/bld.h tests/builder/main.c tests/builder/util.c \
	tests/builder/trie_write.c tests/builder/strpool.c tests/builder/strpool.h \
	tests/builder/input.c tests/builder/fixups.c tests/builder/layout.c \
	tests/builder/code.c tests/builder/linkedit.c tests/builder/loadcmds.c \
	tests/builder/slide.c tests/builder/write.c
tests_builder_dscbuild_LDADD = libdsc.la
EXTRA_DIST += tests/builder/README tests/builder/build-inputs.sh

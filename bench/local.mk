# SPDX-License-Identifier: BSD-2-Clause
# make bench (bench/run.sh): build the large cache once, then the extraction
# benchmark (bench/bench_extract.c) and the mount benchmark
# (bench/mount_bench.sh, bench/bench_read.c) on it and on the shared real
# caches; one table of numbers against baselines measured in the same run.
EXTRA_PROGRAMS = bench/bench_extract
bench_bench_extract_SOURCES = bench/bench_extract.c
bench_bench_extract_LDADD = libdsc_core.la
CLEANFILES += bench/bench_extract$(EXEEXT)
EXTRA_DIST += bench/run.sh bench/gen-dylibs.sh bench/README

.PHONY: bench
bench: bench/bench_extract$(EXEEXT) bench/bench_read$(EXEEXT) dscfs$(EXEEXT) tests/builder/dscbuild tests/builder/dsccheck
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' $(SHELL) $(srcdir)/bench/run.sh

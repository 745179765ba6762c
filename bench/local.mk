# make bench: ratios against baselines measured in the same run (bench/bench_extract.c).
EXTRA_PROGRAMS = bench/bench_extract
bench_bench_extract_SOURCES = bench/bench_extract.c
bench_bench_extract_LDADD = libdsc.la
CLEANFILES += bench/bench_extract$(EXEEXT)
BENCH_TESTDATA = $${DSC_TESTDATA:-$(abs_top_srcdir)/../shared/testdata}

.PHONY: bench
bench: bench/bench_extract$(EXEEXT) dscfs$(EXEEXT)
	@for c in $(BENCH_TESTDATA)/caches/dyld_shared_cache_*; do \
	    bench/bench_extract$(EXEEXT) ./dscfs$(EXEEXT) "$$c" 2 || exit 1; echo; \
	done

#!/bin/sh
# fuzz.sh — thousands of mutated copies of the real caches must be either
# read or refused with a one-line message; never a crash or a hang.
# DSC_FUZZ_CASES sets the cases per cache (default 1500).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
mutate="${top_builddir:-.}/tests/fuzz/mutate"
# shellcheck disable=SC2046
timeout 600 "$mutate" -n "${DSC_FUZZ_CASES:-1500}" -s "${DSC_FUZZ_SEED:-24601}" $(real_caches) \
    || fail "mutation run failed (status $?)"

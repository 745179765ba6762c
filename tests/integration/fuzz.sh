#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fuzz.sh — thousands of mutated copies of caches must be either read and
# extracted, or refused with a one-line message; never a crash or a hang.
# First the real caches, then unsplit caches of the formats they lack (slide
# v1, v4, v5; arm64_32 and x86_64), written by the project's builder.
# DSC_FUZZ_CASES sets the cases per cache (default 1500 for the real ones,
# a third of that for the builder's).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
mutate="${top_builddir:-.}/tests/fuzz/mutate"
cases=${DSC_FUZZ_CASES:-1500}
seed=${DSC_FUZZ_SEED:-24601}
# shellcheck disable=SC2046
timeout 600 "$mutate" -n "$cases" -s "$seed" $(real_caches) || fail "mutation run failed (status $?)"

command -v clang-19 > /dev/null 2>&1 && command -v ld64.lld-19 > /dev/null 2>&1 ||
    { echo "fuzz: clang-19/ld64.lld-19 missing: builder caches not fuzzed"; exit 0; }
BUILDER_ARCHES="arm64e arm64_32 x86_64" builder_setup
# arch:slide:header — the 0x200 caches add uniqued selectors, protocols,
# GOTs and the ObjC optimisation header for the passes to undo.
for spec in arm64_32:1:0x140 arm64_32:4:0x140 arm64e:5:0x140 x86_64:1:0x140 x86_64:2:0x140 \
    arm64e:5:0x200 x86_64:1:0x200; do
    arch=${spec%%:*} rest=${spec#*:}
    slide=${rest%:*} header=${rest#*:}
    cache="$WORK/dyld_shared_cache_$arch.v$slide.$header"
    # shellcheck disable=SC2046
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header "$header" --local-symbols -o "$cache" \
        $(cat "$WORK/$arch.inputs") > /dev/null || fail "building $spec"
    timeout 600 "$mutate" -n $((cases / 3)) -s "$seed" "$cache" || fail "mutation run on $spec failed"
done

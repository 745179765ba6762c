#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# impc-apple.sh DYLD_GIT_DIR — proves the builder's IMP-cache placement
# equal to Apple's on random inputs: compiles dyld-1378's own
# cache_builder/IMPCaches.cpp (from a git copy of apple-oss-distributions/
# dyld) against libc++ with clang's blocks (apple/: the headers it needs
# from dyld, a driver), runs it and the builder's placement
# (apple/impc_synth.c) on the same random classes, and compares every
# selector offset, shift, mask and bucket. Random inputs make Apple's
# algorithm backtrack, drop classes, move selectors out of full bags and
# sort classes of over 24 selectors, so each path is compared. Not part of
# `make check`: it needs clang++-19, libc++-19-dev, libblocksruntime-dev and
# Apple's source. Run from the build directory (top_builddir, top_srcdir).
set -eu
git=$1
top_srcdir=${top_srcdir:-.} top_builddir=${top_builddir:-.}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in IMPCaches.cpp IMPCaches.hpp IMPCachesBuilder.hpp ImpCachesBuilder.h; do
    git -C "$git" show "dyld-1378:cache_builder/$f" > "$tmp/$f"
done
: > "$tmp/FileAbstraction.hpp"
cp "$here/apple/Diagnostics.h" "$here/apple/JSONReader.h" "$tmp/"
${CXX:-clang++-19} -std=c++20 -stdlib=libc++ -fblocks -w -I"$tmp" "$tmp/IMPCaches.cpp" "$here/apple/impc_apple.cpp" \
    -o "$tmp/apple" -lBlocksRuntime
${CC:-cc} -std=gnu11 -w -I"$here" -I"$top_srcdir/src/lib" -I"$top_srcdir/include" -I"$top_srcdir/src" -I"$top_builddir" \
    "$here/apple/impc_synth.c" -o "$tmp/synth" "$top_builddir/tests/builder/libbld.a" "$top_builddir/.libs/libdsc_core.a"
cd "$tmp"
fail=0
# seed classes selectors max-methods
for args in "1 20 40 6" "2 100 300 10" "4 50 60 8" "5 500 800 30" "7 500 800 24" "8 300 2000 40" \
    "10 200 3000 200" "11 100 5000 600" "14 1000 2000 60" "15 3000 6000 20"; do
    # shellcheck disable=SC2086
    moved=$(./synth $args)
    ./apple
    sort ours.txt > a
    sort apple.txt > b
    if cmp -s a b; then
        echo "impc-apple: $args: equal, $(grep -c '^cache' a) caches, $(grep -c '^sel' a) selectors, $moved"
    else
        echo "impc-apple: $args: differ: $(diff a b | head -4)"
        fail=1
    fi
done
exit $fail

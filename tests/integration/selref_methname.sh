#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# selref_methname.sh — every selector reference of every extracted image
# points into the image's own __TEXT,__objc_methname, as ld64's output does
# (issue 10 item 7). Before the fix, libobjc's "load" selref went to a
# "load" C string in its __cstring in both real ObjC caches of testdata.
# Judged by llvm-objdump-19: section ranges from --section-headers, selref
# words from -s (arm64e outputs use chained fixups: the target is the low
# 43 bits of a rebase). Real caches skip with a message when absent; the
# builder part (arm64, arm64e, dyld-1042 era with uniqued selectors, and
# 0x228 with every ObjC item) skips
# without the toolchain.
. "${top_srcdir:-.}/tests/integration/lib.sh"
# Apple's ObjC optimizations file for the IMP caches (--objc-opts)
opts_dir=$(cd "${top_srcdir:-.}/tests/builder/inputs" && pwd)
command -v llvm-objdump-19 > /dev/null 2>&1 || skip "llvm-objdump-19 is not installed"

# sect FILE NAME -> "ADDR SIZE" (decimal) of the first section NAME, or nothing
sect() {
    llvm-objdump-19 --macho --section-headers "$1" |
        awk -v n="$2" '$2 == n { print "0x" $4, "0x" $3; exit }' | { read -r a s && echo $((a)) $((s)); }
}

# selref_words FILE -> one little-endian 64-bit word per selref, as hex
selref_words() {
    llvm-objdump-19 --macho -s -j __objc_selrefs "$1" | tail -n +3 |
        awk 'function hex8(s) { return length(s) == 8 && s !~ /[^0-9a-f]/ }
             { for (i = 2; i <= 5 && hex8($i); i += 2) if (hex8($(i + 1))) print $(i + 1) " " $i }' |
        while read -r hi lo; do
            echo "$hi$lo" | sed 's/\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)/\4\3\2\1\8\7\6\5/'
        done
}

# check_image FILE: prints how many selrefs it checked; fails on one outside
check_image() {
    set -- "$1" $(sect "$1" __objc_selrefs)
    [ $# -eq 3 ] || { echo 0; return; }
    m=$(sect "$1" __objc_methname)
    [ -n "$m" ] || fail "$1: selrefs but no __objc_methname"
    set -- "$1" $m
    n=0
    for w in $(selref_words "$1"); do
        v=$((0x$w & 0x7FFFFFFFFFF))
        [ "$v" -ge "$2" ] && [ "$v" -lt $(($2 + $3)) ] ||
            fail "$1: a selref points at $(printf 0x%x "$v"), outside __objc_methname"
        n=$((n + 1))
    done
    echo "$n"
}

# check_cache CACHE LABEL: extract every image, check each
check_cache() {
    out=$T/out
    rm -rf "$out" && mkdir "$out" || fail "mkdir $out"
    "$DSCFS" --extract-all "$1" "$out/x" > /dev/null 2> "$out/err" || fail "$2: --extract-all: $(cat "$out/err")"
    total=0 images=0
    for f in $(find "$out/x" -type f); do
        k=$(check_image "$f") || exit 1
        [ "$k" -gt 0 ] && images=$((images + 1))
        total=$((total + k))
    done
    rm -rf "$out"
    [ "$total" -gt 0 ] || fail "$2: no selrefs checked"
    echo "$2: $total selrefs of $images images point into their own __objc_methname"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/selref.XXXXXX") || fail mktemp
trap 'rm -rf "$T"' EXIT
real=0
if [ -d "$CACHES" ]; then
    for c in "$CACHES/dyld_shared_cache_arm64-macOS-objc" "$CACHES/dyld_shared_cache_arm64e-macOS-objc"; do
        [ -f "$c" ] || continue
        check_cache "$c" "$(basename "$c")"
        real=$((real + 1))
    done
fi
[ "$real" -gt 0 ] || echo "real caches: $CACHES is absent, only builder caches checked"

BUILDER_ARCHES="arm64 arm64e"
builder_setup
trap 'rm -rf "$T" "$WORK"' EXIT
for arch in arm64 arm64e; do
    slide=2
    [ "$arch" = arm64e ] && slide=5
    c="$WORK/c-$arch/dyld_shared_cache_$arch"
    mkdir -p "$WORK/c-$arch"
    # shellcheck disable=SC2046
    "$DSCBUILD" --arch $arch --slide $slide --header 0x200 --split 3 --local-symbols -o "$c" \
        $(cat "$WORK/$arch.inputs") > /dev/null 2> "$WORK/err" || fail "dscbuild $arch: $(cat "$WORK/err")"
    check_cache "$c" "builder $arch 0x200"
    # the modern era: 0x228, every ObjC item (relative method lists name
    # selector-base offsets, type offsets)
    c="$WORK/c-$arch-0x228/dyld_shared_cache_$arch"
    mkdir -p "$WORK/c-$arch-0x228"
    # shellcheck disable=SC2046
    "$DSCBUILD" --arch $arch --slide $slide --header 0x228 --split 3 --platform 2 --preattach-categories \
        --objc-opts "$opts_dir/objc-opts.json" --imp-unchained --objc-era 1376 --method-type-offsets -o "$c" $(cat "$WORK/$arch.inputs") > /dev/null \
        2> "$WORK/err" || fail "dscbuild $arch 0x228: $(cat "$WORK/err")"
    check_cache "$c" "builder $arch 0x228"
done

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# objc_segments.sh — libobjc's __OBJC_RO and __OBJC_RW (issue 10, item 5).
# The cache builder adds these two sectionless segments to the cached
# libobjc, over the cache's ObjC tables (Apple: dyld-1042.1..1378
# CacheDylib.cpp addObjcSegments; dscbuild: objc_segs.c, in TEXT for the
# 0x200 header, in the READ_ONLY mapping for 0x208/0x228, proven by
# dsccheck); the dylib has neither. For every arm64 and arm64e builder cache
# (0x98 to 0x228; the 0x200+ ones carry the segments):
#  1. the extracted libobjc has the input's segments (name, maxprot,
#     initprot, number of sections, in order: llvm-objdump-19
#     --private-headers) and the input's sections (name, size: -h);
#  2. --verify reports zeros for libobjc (a pointer into the left-out
#     tables counts as pointers-outside, an __objc_opt_ro offset to them as
#     objc-other-outside);
#  3. libobjc's __TEXT,__objc_opt_ro (objc4-951.1's objc_opt_t placeholder,
#     which the builder fills from the opts header in the 0x200+ caches as
#     dyld-1042.1..1378 emitObjCOptsHeader does, proven by dsccheck
#     check_objcsegs.c) holds the input's bytes again.
# On the real caches of testdata (macOS 11/12, whose builder also
# coalesced 11 block-layout strings of libobjc into __OBJC_RO):
#  4. the extracted libobjc has neither segment, its __objc_opt_ro holds
#     only its version as objc4's placeholder does, and --verify reports
#     zeros for libobjc.
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v llvm-objdump-19 > /dev/null || skip "llvm-objdump-19 is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/objcsegs.XXXXXX") || fail "mktemp"
trap 'rm -rf "$work"' EXIT INT TERM

# "SEGNAME MAXPROT INITPROT NSECTS" per segment command of Mach-O $1.
segments() {
    llvm-objdump-19 --macho --private-headers "$1" | awk '$1 == "cmd" { c = $2 }
        c ~ /^LC_SEGMENT/ && $1 == "segname" { s = $2 } c ~ /^LC_SEGMENT/ && $1 == "maxprot" { m = $2 }
        c ~ /^LC_SEGMENT/ && $1 == "initprot" { i = $2 } c ~ /^LC_SEGMENT/ && $1 == "nsects" { print s, m, i, $2; c = "" }'
}
sections() { llvm-objdump-19 --macho -h "$1" | awk 'NR > 2 { print $2, $3 }'; }
opt_ro() { llvm-objdump-19 --macho -s --section=__TEXT,__objc_opt_ro "$1" | awk 'NR > 2 { $1 = ""; print }'; }
verify_zero() {
    line=$("$DSCFS" --verify "$1" 2> /dev/null | grep '^/usr/lib/libobjc.A.dylib:') || fail "$1: --verify has no libobjc line"
    echo "$line" | grep -oE '[a-z-]*(outside|unknown-symbols|bad-stubs) [0-9]+' | grep -qv ' 0$' &&
        fail "$1: --verify of libobjc: $line"
    return 0
}

DSCBUILD=${DSCBUILD:-${top_builddir:-.}/tests/builder/dscbuild} \
DSCCHECK=${DSCCHECK:-${top_builddir:-.}/tests/builder/dsccheck} \
    "${top_srcdir:-.}/tests/builder/make-caches.sh" "$work/caches" arm64 arm64e > /dev/null
case $? in
    0) ;;
    77) skip "the builder's toolchain (clang-19, ld64.lld-19) is missing" ;;
    *) fail "tests/builder/make-caches.sh" ;;
esac
n=0 with=0
while IFS="$(printf '\t')" read -r name cache manifest; do
    input=$(awk -F '\t' '$1 == "image" && $2 == "/usr/lib/libobjc.A.dylib" { print $3 }' "$manifest")
    [ -n "$input" ] || fail "$name: no libobjc in the manifest"
    out=$work/$name.dylib
    "$DSCFS" --extract /usr/lib/libobjc.A.dylib "$cache" -o "$out" 2> "$work/err" || fail "$name: --extract: $(cat "$work/err")"
    [ -s "$work/err" ] && fail "$name: --extract warned: $(cat "$work/err")"
    segments "$input" > "$work/want"
    segments "$out" > "$work/got"
    cmp -s "$work/want" "$work/got" || fail "$name: libobjc's segments differ from the input's: $(diff "$work/want" "$work/got")"
    sections "$input" > "$work/want"
    sections "$out" > "$work/got"
    cmp -s "$work/want" "$work/got" || fail "$name: libobjc's sections differ from the input's: $(diff "$work/want" "$work/got")"
    opt_ro "$input" > "$work/want"
    opt_ro "$out" > "$work/got"
    [ -s "$work/want" ] || fail "$input: no __objc_opt_ro"
    cmp -s "$work/want" "$work/got" || fail "$name: libobjc's __objc_opt_ro is not the input's: $(diff "$work/want" "$work/got" | head -4)"
    verify_zero "$cache"
    grep -q "^header	0x2" "$manifest" && with=$((with + 1))
    n=$((n + 1))
done < "$work/caches/caches.list"
[ "$with" -ge 8 ] || fail "only $with caches of the 0x200+ eras"
echo "ok: libobjc of $n builder caches ($with with __OBJC_RO/__OBJC_RW and a filled __objc_opt_ro in the cache) has the input's segments, sections and __objc_opt_ro"

# The ObjC optimisation header is found through objcOptsOffset alone: the
# dyld-1042 era header (0x200 caches) says objcOptsSize 0x20, the Swift opts
# header's size, as dyld-1042.1..1165.3 write it (dsccheck proves the value;
# the extractions above read through it). An offset out of the cache is
# hostile input: the extraction still succeeds, with one ObjC warning naming
# the cache, and the ObjC metadata stays as the cache has it (the binds pass
# then warns about the pointers into the cache it leaves).
hostile=$work/hostile
cp "$work/caches/arm64-v2-0x200-locals/dyld_shared_cache_arm64" "$hostile" || fail "no arm64 0x200 cache"
chmod u+w "$hostile"
size=$(od -An -tu8 -j $((0x1d8)) -N8 "$hostile" | tr -d ' ')
[ "$size" = 32 ] || fail "arm64 0x200 cache: objcOptsSize is $size, dyld-1042.1 writes 32"
u32 $((0x7ff00000)) | dd of="$hostile" bs=1 seek=$((0x1d4)) conv=notrunc status=none || fail "patching $hostile"
"$DSCFS" --extract /System/Library/Frameworks/DBUser.framework/Versions/A/DBUser "$hostile" -o "$work/h.dylib" \
    2> "$work/err" || fail "hostile objcOptsOffset: --extract failed: $(cat "$work/err")"
[ "$(grep -c 'ObjC' "$work/err")" = 1 ] &&
    grep -q "^ObjC metadata left as the cache has it: $hostile: ObjC optimisation header at offset 0x7ff00000" "$work/err" ||
    fail "hostile objcOptsOffset: want one ObjC warning naming the cache, got: $(cat "$work/err")"
echo "ok: objcOptsSize 0x20 (dyld-1042 era) is read through; an objcOptsOffset out of the cache gives one warning"

need_testdata
for c in "$CACHES"/dyld_shared_cache_arm64-macOS-objc "$CACHES"/dyld_shared_cache_arm64e-macOS-objc; do
    out=$work/real.dylib
    "$DSCFS" --extract /usr/lib/libobjc.A.dylib "$c" -o "$out" 2> "$work/err" || fail "$c: --extract"
    segments "$out" | grep -q '^__OBJC_R[OW] ' && fail "$c: the extracted libobjc keeps __OBJC_RO/__OBJC_RW"
    words=$(llvm-objdump-19 --macho -s --section=__TEXT,__objc_opt_ro "$out" | awk 'NR > 2 && NR <= 5 { $1 = ""; print }' | tr -s ' \n' ' ')
    case $words in
        " 0000000f 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 ") ;;
        *) fail "$c: __objc_opt_ro is not objc4's placeholder: $words" ;;
    esac
    verify_zero "$c"
    echo "ok: $(basename "$c"): libobjc $(stat -c %s "$out") bytes, no __OBJC_RO/__OBJC_RW"
done

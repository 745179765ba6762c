#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# binds.sh — binds and stubs of the extracted images, judged with tools we
# did not write: llvm-objdump-19 (--bind, --indirect-symbols, -d), llvm-nm-19
# and ld64.lld-19, plus `dscfs --verify` totals.
#
# llvm-objdump-19 limit: it rejects arm64e chained fixups (pointer_format 1),
# so arm64e binds are judged by `dscfs --verify` and test_verify.c (our own
# decoder, compared there with the arm64 originals).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
command -v llvm-objdump-19 > /dev/null || skip "llvm-objdump-19 is not installed"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

for cache in $(real_caches); do
    name=$(basename "$cache")
    root="$work/$name"
    "$DSCFS" --extract-all "$cache" "$root" > "$work/summary" 2> /dev/null || fail "$name: --extract-all failed"
    grep -Eq '^fixups: [0-9]+ rebases, [0-9]+ binds, [0-9]+ unbound pointers; [0-9]+ stubs and branches fixed$' \
        "$work/summary" || fail "$name: no fixup totals in the summary: $(cat "$work/summary")"

    # --verify: nothing but libhello's 10 ObjC selector references and the 4
    # ADRP+ADD loads of selectors (no image exports their targets; the objc
    # pass owns them) may still leave an image.
    "$DSCFS" --verify "$cache" > "$work/verify" 2> "$work/err"
    [ -s "$work/err" ] && fail "$name: --verify: $(cat "$work/err")"
    total=$(grep '^total:' "$work/verify") || fail "$name: --verify printed no total"
    for field in unknown-symbols bad-stubs branches-outside; do
        echo "$total" | grep -q " $field 0\( \|$\)" || fail "$name: --verify $field: $total"
    done
    outside=$(echo "$total" | sed 's/.* pointers-outside \([0-9]*\).*/\1/')
    [ "$outside" -le 10 ] || fail "$name: --verify: $outside pointers still leave their images"
    refs=$(echo "$total" | sed 's/.* code-refs-outside \([0-9]*\).*/\1/')
    [ "$refs" -le 4 ] || fail "$name: --verify: $refs code references still leave their images"
done

# arm64 (bind opcodes): llvm reads every bind, each to a dylib the image loads.
lib="$work/dyld_shared_cache_arm64-macOS-objc/usr/lib"
llvm-objdump-19 --macho --bind "$lib/libobjc.A.dylib" > "$work/bind" 2> "$work/err" || fail "libobjc --bind"
[ -s "$work/err" ] && fail "libobjc --bind: $(cat "$work/err")"
llvm-objdump-19 --macho --lazy-bind "$lib/libobjc.A.dylib" > "$work/lazy" 2> "$work/err" || fail "libobjc --lazy-bind"
[ -s "$work/err" ] && fail "libobjc --lazy-bind: $(cat "$work/err")"
# 9 binds and 130 lazy binds, as the original file had them (the cache kept
# its opcodes): one lazy pointer per stub.
[ "$(grep -c ' pointer ' "$work/bind")" = 9 ] || fail "libobjc: expected 9 binds: $(cat "$work/bind")"
[ "$(grep -c '^__DATA' "$work/lazy")" = 130 ] || fail "libobjc: expected 130 lazy binds: $(cat "$work/lazy")"
{ grep ' pointer ' "$work/bind" | awk '{ print $6 }'; grep '^__DATA' "$work/lazy" | awk '{ print $4 }'; } |
    sort -u | tr '\n' ' ' > "$work/dylibs"
[ "$(cat "$work/dylibs")" = "libSystem libc++abi this-image " ] || fail "libobjc binds to $(cat "$work/dylibs")"
llvm-objdump-19 --macho --bind "$lib/libhello-1.0.dylib" | grep -q '__objc_data .* libobjc  *_OBJC_CLASS_\$_NSObject' ||
    fail "libhello: superclass ref to NSObject is not bound to libobjc"

# Lazy pointers hold their stub-helper entries again: the helper's 24-byte
# header, then one 12-byte entry per lazy pointer, in order.
helper=$(llvm-objdump-19 --macho --section-headers "$lib/libhello-1.0.dylib" | awk '$2 == "__stub_helper" { print $4 }')
[ -n "$helper" ] || fail "libhello: no __stub_helper"
got=$(llvm-objdump-19 --macho -s -j __la_symbol_ptr "$lib/libhello-1.0.dylib" 2>/dev/null |
      awk '/^[0-9a-f]+\t/ { for (i = 2; i + 1 <= NF; i += 2) printf "%s%s ", $(i + 1), $i }')
want=""
for k in 0 1 2 3; do want="$want$(printf '%016x' $((0x$helper + 24 + 12 * k))) "; done
[ "$got" = "$want" ] || fail "libhello: lazy pointers are '$got', want '$want'"

# Stubs are named again in the indirect symbol table, and calls use them.
llvm-objdump-19 --macho --indirect-symbols "$lib/libhello-1.0.dylib" > "$work/ind"
for sym in _objc_alloc_init _objc_autoreleasePoolPop _objc_autoreleasePoolPush _objc_msgSend; do
    [ "$(grep -c " $sym\$" "$work/ind")" = 2 ] || fail "libhello: $sym is not the name of one stub and one slot"
done
llvm-objdump-19 --macho -d "$lib/libobjc.A.dylib" > "$work/dis"
stubs=$(grep -o 'symbol stub for: .*' "$work/dis" | sort -u | wc -l)
[ "$stubs" -ge 100 ] || fail "libobjc: calls reach only $stubs distinct named stubs"
grep -q 'bl.*symbol stub for: _free$' "$work/dis" || fail "libobjc: no call goes through the _free stub"

# ld64.lld links a program calling an exported function of each image that
# has one, against the extracted image (and libSystem), for every cache.
if command -v ld64.lld-19 > /dev/null && command -v clang-19 > /dev/null; then
    linked=0
    for cache in $(real_caches); do
        name=$(basename "$cache")
        root="$work/$name"
        case "$name" in *arm64e*) arch=arm64e ;; *) arch=arm64 ;; esac
        for f in $(cd "$root" && find . -type f | sed 's|^\.||'); do
            sym=$(llvm-nm-19 -gU --defined-only "$root$f" | awk '$2 == "T" { print $3; exit }')
            [ -n "$sym" ] || continue
            printf 'extern void f(void) __asm__("%s");\nint main(void) { f(); return 0; }\n' "$sym" > "$work/m.c"
            clang-19 -target "$arch-apple-macos13" -c "$work/m.c" -o "$work/m.o" || fail "clang $arch"
            ld64.lld-19 -arch "$arch" -platform_version macos 13.0 13.0 -syslibroot "$root" -o "$work/a.out" \
                "$work/m.o" "$root$f" "$root/usr/lib/libSystem.B.dylib" 2> "$work/err" ||
                fail "$name: ld64.lld cannot link $sym from $f: $(cat "$work/err")"
            llvm-nm-19 -m "$work/a.out" | grep -q "(undefined) external $sym (from " ||
                fail "$name: $sym is not imported by the linked program"
            ld64.lld-19 -arch "$arch" -platform_version macos 13.0 13.0 -syslibroot "$root" -dylib \
                -o "$work/b.dylib" "$work/m.o" "$root$f" "$root/usr/lib/libSystem.B.dylib" 2> "$work/err" ||
                fail "$name: ld64.lld cannot link a dylib against $f: $(cat "$work/err")"
            linked=$((linked + 1))
        done
    done
    echo "linked against $linked images"
    [ "$linked" -ge 15 ] || fail "only $linked images had an exported function to link against"
fi
exit 0

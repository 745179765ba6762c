#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# extract.sh — --extract / --extract-all on the three real caches, judged
# with llvm-objdump-19, llvm-nm-19 and ld64.lld-19.
#
# Known llvm-objdump-19 limit: it rejects every arm64e chained fixup pointer
# format ("unsupported chained fixup pointer_format 1"), so for arm64e
# --dyld-info may print exactly that and nothing else; the unit test
# test_extract.c checks those chains with our own decoder instead.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
command -v llvm-objdump-19 > /dev/null || skip "llvm-objdump-19 is not installed"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

for cache in $(real_caches); do
    name=$(basename "$cache")
    out="$work/$name"
    "$DSCFS" --extract-all "$cache" "$out" -j 3 > "$work/summary" 2> "$work/err" || fail "$name: --extract-all failed: $(cat "$work/err")"
    # Pointers no image exports (libhello's selector references into libobjc's
    # ObjC optimisation region, the objc pass's business) are reported as
    # unbound; anything else on stderr is a failure.
    grep -v 'names no exported symbol; left unbound$' "$work/err" | grep -q . &&
        fail "$name: --extract-all printed to stderr (not a TTY): $(cat "$work/err")"
    grep -Eq '^extracted ([0-9]+) of \1 images \(0 failed\)' "$work/summary" || fail "$name: summary: $(cat "$work/summary")"
    images=$("$DSCFS" --list "$cache" | grep -vc ' -> ')
    [ "$(find "$out" -type f | wc -l)" = "$images" ] || fail "$name: expected $images files"

    # Aliases are relative symlinks that resolve to the image.
    "$DSCFS" --list "$cache" | grep ' -> ' > "$work/aliases"
    while read -r alias arrow target; do
        [ -L "$out$alias" ] || fail "$name: alias $alias is not a symlink"
        case "$(readlink "$out$alias")" in /*) fail "$name: alias $alias is absolute" ;; esac
        cmp -s "$out$alias" "$out$target" || fail "$name: alias $alias does not resolve to $target"
    done < "$work/aliases"

    for f in $(find "$out" -type f); do
        llvm-objdump-19 --macho -p "$f" > "$work/p" 2> "$work/e1" || fail "$f: llvm-objdump -p failed"
        [ -s "$work/e1" ] && fail "$f: llvm-objdump -p: $(cat "$work/e1")"
        llvm-objdump-19 --macho --dyld-info "$f" > /dev/null 2> "$work/e2"
        case "$name" in
        *arm64e*) grep -v 'unsupported chained fixup pointer_format 1' "$work/e2" | grep -q . &&
                      fail "$f: llvm-objdump --dyld-info: $(cat "$work/e2")" ;;
        *) [ -s "$work/e2" ] && fail "$f: llvm-objdump --dyld-info: $(cat "$work/e2")" ;;
        esac
        # Every export of the trie is in the symbol table.
        llvm-objdump-19 --macho --exports-trie "$f" | awk 'NR > 3 { print $2 }' | sort > "$work/trie"
        llvm-nm-19 "$f" | awk '{ print $NF }' | sort > "$work/nm"
        missing=$(comm -23 "$work/trie" "$work/nm")
        [ -z "$missing" ] || fail "$f: exports missing from llvm-nm: $missing"
        sed -n 4p "$work/p" | grep -q 0x80000000 && fail "$f: MH_DYLIB_IN_CACHE still set"
        grep -q 'LC_SEGMENT_SPLIT_INFO' "$work/p" && fail "$f: cache-only load commands left"
        # The cache's LC_CODE_SIGNATURE is dropped; the one left is the
        # output's own signature, the file's last bytes (signature.sh checks
        # its contents).
        [ "$(grep -c 'cmd LC_CODE_SIGNATURE' "$work/p")" = 1 ] || fail "$f: not exactly one LC_CODE_SIGNATURE"
        sig_end=$(awk '/cmd LC_CODE_SIGNATURE/ { s = 1 } s && $1 == "dataoff" { o = $2 }
                       s && $1 == "datasize" { print o + $2; exit }' "$work/p")
        [ "$sig_end" = "$(wc -c < "$f")" ] || fail "$f: the code signature does not end the file"
    done

    # Threads do not change the output; --extract gives the same bytes.
    "$DSCFS" --extract-all "$cache" "$work/j1" -j 1 > /dev/null 2>&1 || fail "$name: -j 1"
    diff -r "$out" "$work/j1" > /dev/null || fail "$name: -j 1 and -j 3 outputs differ"
    rm -rf "$work/j1"
    first=$("$DSCFS" --list "$cache" | head -n 1)
    "$DSCFS" --extract "$first" "$cache" -o "$work/one" || fail "$name: --extract $first"
    cmp -s "$work/one" "$out$first" || fail "$name: --extract and --extract-all differ for $first"
done

# The extracted dylibs link: ld64.lld resolves a program against them.
if command -v ld64.lld-19 > /dev/null && command -v clang-19 > /dev/null; then
    printf 'extern int hello_main(void);\nextern int a;\nint main(void) { return hello_main() + a; }\n' > "$work/m.c"
    for arch in arm64 arm64e; do
        root="$work/dyld_shared_cache_$arch-macOS-objc"
        clang-19 -target "$arch-apple-macos13" -c "$work/m.c" -o "$work/m.o" || fail "clang $arch"
        ld64.lld-19 -arch "$arch" -platform_version macos 13.0 13.0 -syslibroot "$root" -L/usr/lib \
            "$work/m.o" -lhello-1.0 -lSystem.B -o "$work/a.out" || fail "ld64.lld cannot link against $arch output"
    done
    # ...and reads every extracted image as a link input.
    for cache in $(real_caches); do
        root="$work/$(basename "$cache")"
        arch=$(basename "$cache" | cut -d_ -f4 | cut -d- -f1)
        clang-19 -target "$arch-apple-macos13" -c "$work/m.c" -o "$work/m.o" || fail "clang $arch"
        ld64.lld-19 -arch "$arch" -platform_version macos 13.0 13.0 -syslibroot "$root" -undefined dynamic_lookup \
            "$work/m.o" $(find "$root" -type f) -o "$work/a.out" || fail "ld64.lld rejects an image of $root"
    done
fi

# On a terminal (script(1) gives one) there is a progress bar, then the summary.
if command -v script > /dev/null; then
    script -qc "'$DSCFS' --extract-all '$CACHES/dyld_shared_cache_arm64-macOS-objc' '$work/tty' -j 2" /dev/null > "$work/tty.out" 2>&1 ||
        fail "--extract-all on a terminal"
    grep -q '\[#*\] 8/8' "$work/tty.out" || fail "no progress bar on a terminal"
    grep -q '^extracted 8 of 8 images' "$work/tty.out" || fail "no summary on a terminal"
fi

# One broken image (liba-1.0's mach header magic, at 0x180005000 = file offset
# 0x5000): the others are still extracted, its alias is not linked, exit 1.
cp "$CACHES/dyld_shared_cache_arm64e-macOS-objc" "$work/broken"
printf 'xxxx' | dd of="$work/broken" bs=1 seek=$((0x5000)) conv=notrunc 2> /dev/null
if "$DSCFS" --extract-all "$work/broken" "$work/b" > "$work/summary" 2> "$work/err"; then fail "broken image: exit 0"; fi
grep -q '^extracted 7 of 8 images (1 failed), linked 0 of 1 aliases' "$work/summary" || fail "broken: $(cat "$work/summary")"
grep -q 'liba-1.0.dylib: bad Mach-O magic' "$work/err" || fail "broken: error does not name the image"
[ "$(find "$work/b" -type f | wc -l)" = 7 ] || fail "broken: the other images were not all extracted"
[ -e "$work/b/usr/lib/liba.dylib" ] && fail "broken: alias to a failed image was linked"

# Errors: one line, non-zero exit.
objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"
if "$DSCFS" --extract /usr/lib/nope.dylib "$objc" -o "$work/x" 2> "$work/err"; then fail "missing image accepted"; fi
[ "$(wc -l < "$work/err")" = 1 ] || fail "missing image: error is not one line"
if "$DSCFS" --extract-all "$objc" "$work/y" -j 0 2> /dev/null; then fail "-j 0 accepted"; fi
exit 0

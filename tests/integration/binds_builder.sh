#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# binds_builder.sh — caches built by tests/builder/dscbuild from dylibs
# linked here, in every arch and several eras (optimised stubs, split
# caches, zeroed bind opcodes from dyld-1042): each extracted image must bind
# exactly the (dylib, symbol) pairs its original dylib bound — re-exports
# through libb's LC_REEXPORT_DYLIB, a weak import, a flat-namespace lookup,
# cross-image ObjC classes — and weak-binds the same references to weak
# definitions, judged by llvm-objdump-19 on both files; and
# `dscfs --verify` must find no unknown bind, bad stub or branch out.
#
# llvm-objdump-19 cannot read arm64e chained fixups: there --verify (our
# decoder) judges, and test_verify.c compares arm64e binds with arm64's.
# From dyld-940 headers (0x1c8+) the builder uniques ObjC selectors into
# libobjc (and rewrites selector loads): those pointers and loads are the
# objc pass's, so pointers-outside and, on arm64, code-refs-outside are only
# asserted for older eras. Those eras also unique GOTs (the 0x200 caches
# check that code loads are re-aimed at the images' own GOTs), and universal
# sets send calls to stub copies in TEXT_STUBS sub-caches (both main files
# are verified: no branch may leave an image).
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v llvm-objdump-19 > /dev/null || skip "llvm-objdump-19 is not installed"
builder_setup
cd "$WORK" || fail "cd $WORK"

# (dylib, symbol) pairs of every bind, lazy binds included, then the
# (section, symbol) pairs of the weak binds, one per line.
binds_of() {
    { llvm-objdump-19 --macho --bind "$1"; llvm-objdump-19 --macho --lazy-bind "$1"; } 2> /dev/null |
        awk '/ pointer / { print $6, $7; next } /^__/ && NF == 5 { print $4, $5 }' | sort
    llvm-objdump-19 --macho --weak-bind "$1" 2> /dev/null | awk '/ pointer / { print "weak", $2, $6 }' | sort
}

n=0
while read -r arch slide header opts; do
    n=$((n + 1))
    out="$WORK/c$n/dyld_shared_cache_$arch"
    mkdir -p "$WORK/c$n"
    # shellcheck disable=SC2086
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header "$header" $opts -o "$out" $(cat "$WORK/$arch.inputs") \
        > /dev/null 2> err || fail "dscbuild $arch $slide $header $opts: $(cat err)"
    root="$WORK/o$n"
    "$DSCFS" --extract-all "$out" "$root" > /dev/null 2>&1 || fail "$arch $header $opts: --extract-all"
    if [ "$arch" != arm64e ]; then
        grep '^image' "$out.manifest" | while IFS="	" read -r tag path input; do
            binds_of "$input" > want
            binds_of "$root$path" > got
            [ -s want ] || [ "$path" = /usr/lib/libSystem.B.dylib ] || fail "$input: no binds read"
            cmp -s want got || fail "$arch $header $opts: $path binds differ from $input: $(diff want got | head -5)"
        done || exit 1
    fi
    # A universal set has a second main file (its development stubs).
    mains="$out"
    case "$opts" in *--universal*) mains="$out $out.development" ;; esac
    for main in $mains; do
        "$DSCFS" --verify "$main" > verify 2> err
        [ -s err ] && fail "$main: --verify: $(cat err)"
        total=$(grep '^total:' verify)
        checks="unknown-symbols branches-outside bad-stubs"
        case "$header" in 0x98|0x138|0x140) checks="$checks pointers-outside code-refs-outside" ;; esac
        # x86_64 has no selector loads to rewrite: every GOT load the builder
        # uniqued (MOV/JMP [RIP+disp32]) must read the image's own GOT again.
        [ "$arch" = x86_64 ] && checks="$checks code-refs-outside"
        for field in $checks; do
            echo "$total" | grep -q " $field 0\( \|$\)" || fail "$main ($arch $header $opts): --verify $field: $total"
        done
        echo "$(basename "$main") $arch slide $slide header $header $opts: $(echo "$total" | sed 's/^total: //')"
    done
done <<'CONFIGS'
arm64 2 0x140
arm64 2 0x140 --optimize-stubs
arm64 2 0x98 --optimize-stubs
arm64 2 0x200 --split 3
arm64 2 0x200 --split 3 --universal
arm64e 3 0x140
arm64e 3 0x140 --optimize-stubs
arm64e 5 0x200 --split 3 --local-symbols --coalesce-auth-ptr
arm64e 5 0x200 --split 3 --universal
arm64_32 4 0x138
arm64_32 1 0x200
x86_64 2 0x140
x86_64 1 0x98
x86_64 2 0x200
CONFIGS
[ "$n" = 14 ] || fail "ran $n configurations"
exit 0

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# verify_builder.sh — no pointer may leave an extracted image, over the whole
# set of tests/builder/make-caches.sh (arm64, arm64e, arm64_32, x86_64; slide
# v1-v5; headers 0x98/0x138 to 0x200; split caches with .symbols, optimised
# stubs, universal sets with both main files):
#
#  - `dscfs --verify` exits 0 and every count of something still depending on
#    the cache is 0 for every cache: pointers-outside, unknown-symbols,
#    bad-stubs, branches-outside, code-refs-outside, sel-loads-outside,
#    relrefs-outside (Swift relative references), selrefs-outside,
#    method-names-outside, objc-other-outside: every count --verify prints.
#    No exception is needed. (From
#    0x1c8 the builder fills libobjc's __objc_scoffs with the bounds of its
#    uniqued selector buffer: the extractor restores objc4's zero array, and
#    --verify does not count a null as a pointer out.)
#  - llvm-objdump-19 judges that a restored null hides nothing: every
#    extracted image has a fixup (rebase, bind or lazy bind) at as many
#    addresses as its input dylib, and libobjc's __objc_scoffs holds the
#    input's bytes. llvm-objdump-19 cannot read arm64e chained fixups, so on
#    arm64e caches only the __objc_scoffs bytes are compared (a slot with a
#    chained fixup is never all zero).
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v llvm-objdump-19 > /dev/null || skip "llvm-objdump-19 is not installed"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/verify_builder.XXXXXX") || fail "mktemp"
trap 'rm -rf "$WORK"' EXIT
builder_caches "$WORK/caches"
cd "$WORK" || fail "cd $WORK"

fields="pointers-outside unknown-symbols bad-stubs branches-outside code-refs-outside sel-loads-outside
relrefs-outside selrefs-outside method-names-outside objc-other-outside"

# Addresses that carry a rebase, bind or lazy bind, one per line.
fixup_slots() {
    for kind in rebase bind lazy-bind; do
        llvm-objdump-19 --macho --$kind "$1" || echo "llvm-objdump-19 --$kind failed"
    done 2>&1 | awk '/^__[A-Za-z_]+ +__[a-z_]+ +0x/ { print $3; next } /failed|error/ { print "ERROR: " $0 }' | sort -u
}
scoffs() { llvm-objdump-19 --macho -s -j __objc_scoffs "$1" | awk 'NR > 2 { $1 = ""; print }'; }

n=0
while IFS="	" read -r name cache manifest; do
    n=$((n + 1))
    "$DSCFS" --verify "$cache" > verify 2> err
    rc=$?
    [ -s err ] && fail "$name: --verify: $(cat err)"
    total=$(grep '^total:' verify) || fail "$name: --verify printed no total"
    for field in $fields; do
        echo "$total" | grep -q " $field 0\( \|$\)" ||
            fail "$name: --verify $field: $(grep -v " $field 0 " verify | head -3)"
    done
    [ "$rc" = 0 ] || fail "$name: --verify exited $rc: $total"
    echo "$total" | grep -q ' selrefs [1-9]' || fail "$name: no selector reference was verified: $total"

    root="$WORK/x-$name"
    "$DSCFS" --extract-all "$cache" "$root" > /dev/null 2> err || fail "$name: --extract-all: $(cat err)"
    arch=$(awk -F'\t' '$1 == "arch" { print $2 }' "$manifest")
    checked=0
    while IFS="	" read -r tag path input; do
        [ "$tag" = image ] || continue
        if [ "$path" = /usr/lib/libobjc.A.dylib ]; then
            scoffs "$input" > want
            scoffs "$root$path" > got
            [ -s want ] || fail "$input: no __objc_scoffs to compare"
            cmp -s want got || fail "$name: libobjc's __objc_scoffs is not the dylib's: $(diff want got | head -4)"
        fi
        [ "$arch" = arm64e ] && continue
        fixup_slots "$input" > want
        fixup_slots "$root$path" > got
        grep -q ERROR want got && fail "$name: $path: $(grep -h ERROR want got | head -2)"
        [ "$(wc -l < want)" = "$(wc -l < got)" ] ||
            fail "$name: $path: fixups at $(wc -l < got) addresses, the input has $(wc -l < want)"
        checked=$((checked + 1))
    done < "$manifest"
    [ "$arch" = arm64e ] || [ "$checked" -ge 8 ] || fail "$name: only $checked images compared with their inputs"
    rm -rf "$root"
    echo "$name: $(echo "$total" | sed 's/^total: //')"
done < "$WORK/caches/caches.list"
[ "$n" -ge 34 ] || fail "only $n caches in the set"
exit 0

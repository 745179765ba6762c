#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# swift_builder.sh — Swift's 32-bit relative references to GOT slots
# (tests/builder/inputs/libswiftrel.S: conformance descriptors, a tagged
# reference, 0x02 symbolic references in mangled names), put into caches by
# tests/builder/dscbuild on arm64, arm64e and x86_64 in the dyld-1042 era
# (0x200: the builder aims them at cache-wide GOT twins, as
# NewAdjustDylibSegments.cpp does with a DELTA_32 into a coalesced GOT) and
# one era before GOT uniquing (0x140: they just follow the moved __got),
# and on arm64/arm64e in the modern eras (split iOS caches, 0x208: dyld-1245.1,
# 0x228: dyld-1284.13; the rule is unchanged through dyld-1378).
#  1. dsccheck proves the builder's redirect (check_swiftrel.c): in 0x200
#     caches each reference to a bound __got slot names a twin outside every
#     image holding the same pointer, so 2 is no accident of a builder that
#     did nothing;
#  2. the extracted libswiftrel equals the input dylib field by field: every
#     32-bit field of __TEXT,__const and the __swift5_* sections, and each
#     field after a symbolic-reference marker in __swift5_typeref, names the
#     same thing in both files — a bound slot (by symbol, tag kept), a place
#     (section and offset), or, naming no section, the same value. All of it
#     read from llvm-objdump-19 (-p, -s, --bind) by the awk below, nothing
#     from our reader;
#  3. dscfs --verify counts relative references and none leaves an image.
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v llvm-objdump-19 > /dev/null || skip "llvm-objdump-19 is not installed"
BUILDER_ARCHES="arm64 arm64e x86_64" BUILDER_EXTRA=swiftrel builder_setup
cd "$WORK" || fail "cd $WORK"

# The fields of FILE as "SECTION OFFSET: WHAT", one per line; with a second
# argument "places", bound slots are named by place too (llvm-objdump-19
# cannot read arm64e chained fixups: there the slot's binds are --verify's).
fields() {
    {
        llvm-objdump-19 --macho -p "$1" | awk '$1 == "sectname" { s = $2 } $1 == "segname" && s { g = $2 }
            $1 == "addr" && s { a = $2 } $1 == "size" && s { print "S", g, s, a, $2; s = "" }'
        [ "${2:-}" = places ] || llvm-objdump-19 --macho --bind "$1" | awk '$4 == "pointer" { print "B", $3, $7 }'
        llvm-objdump-19 --macho -s "$1" | awk '/^Contents of section/ { sub(/:$/, "", $4); n = $4; next }
            n && /^ [0-9a-f]+ / { for (i = 2; i <= 5 && $i ~ /^[0-9a-f]+$/; i++) print "D", n, $1, i - 2, $i }
            /^Contents of \(/ { n = "" }'
    } | awk '
        function hex(s,   v, i) { s = tolower(s); sub(/^0x/, "", s); v = 0
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v }
        function where(t,   k) {
            for (k = 1; k <= ns; k++) if (t >= sa[k] && t < sa[k] + sz[k]) return sn[k] "+" (t - sa[k])
            return "" }
        function key(x) { return sprintf("%.0f", x) }  # mawk prints big numbers as %.6g
        $1 == "S" { ns++; sn[ns] = $2 "," $3; sa[ns] = hex($4); sz[ns] = hex($5); next }
        $1 == "B" { bind[key(hex($2))] = $3; next }
        $1 == "D" { base = hex($3) + 4 * $4; for (j = 0; j < length($5) / 2; j++) {
                b = hex(substr($5, 2 * j + 1, 2)); byte[$2, key(base + j)] = b
                if (!($2 in lo) || base + j < lo[$2]) lo[$2] = base + j
                if (base + j + 1 > hi[$2]) hi[$2] = base + j + 1 } }
        function field(n, a,   v, t, tag, w) {
            v = byte[n, key(a)] + 256 * (byte[n, key(a + 1)] + 256 * (byte[n, key(a + 2)] + 256 * byte[n, key(a + 3)]))
            if (v >= 2147483648) v -= 4294967296
            t = a + v; tag = t % 4; w = where(t)
            if (key(t - tag) in bind) print n, a - lo[n] ": bind " bind[key(t - tag)] "+" tag
            else if (w != "") print n, a - lo[n] ": " w
            else print n, a - lo[n] ": value " v }
        END { for (k = 1; k <= ns; k++) {
                n = sn[k]; if (n != "__TEXT,__const" && n !~ /,__swift5_/ || !(n in lo)) continue
                if (n ~ /,__swift5_typeref$/) {
                    for (a = lo[n]; a + 5 <= hi[n]; a++) if (byte[n, key(a)] >= 1 && byte[n, key(a)] <= 23) { field(n, a + 1); a += 4 }
                } else for (a = lo[n]; a + 4 <= hi[n]; a += 4) field(n, a) } }'
}

"${top_srcdir:-.}/tests/builder/x86-refs.sh" "$WORK/x86_64.inputs" > "$WORK/refs" || fail "x86-refs.sh"
input_fields=0
while read -r arch slide header opts; do
    out="$WORK/$arch-$header/dyld_shared_cache_$arch"
    mkdir -p "$WORK/$arch-$header"
    # shellcheck disable=SC2086
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header "$header" $opts -o "$out" $(cat "$WORK/$arch.inputs") \
        > /dev/null 2> err || fail "dscbuild $arch $header: $(cat err)"
    refs=
    [ "$arch" = x86_64 ] && refs="--x86-refs $WORK/refs"
    # shellcheck disable=SC2086
    "$DSCCHECK" $refs "$out.manifest" > check 2>&1 || fail "dsccheck $arch $header: $(cat check)"
    grep -q ' 7 relative references to pointer slots' check || fail "$arch $header: dsccheck: $(cat check)"
    input=$(grep '	/usr/lib/swift/libswiftrel.dylib	' "$out.manifest" | cut -f3)
    "$DSCFS" --extract /usr/lib/swift/libswiftrel.dylib "$out" -o got.dylib 2> err || fail "$arch $header: --extract"
    [ -s err ] && fail "$arch $header: --extract warned: $(cat err)"
    # 6 references to bound slots (one tagged) and one to a rebased GOT slot.
    fields "$input" > want
    [ "$(grep -c ': bind ' want)" = 6 ] && [ "$(grep -c ': __DATA_CONST,__got+' want)" = 1 ] ||
        fail "$arch $header: the input's relative fields are not the expected ones: $(cat want)"
    if [ "$arch" = arm64e ]; then
        fields "$input" places > want
        fields got.dylib places > have
    else
        fields got.dylib > have
    fi
    cmp -s want have || fail "$arch $header: relative fields differ from the input: $(diff want have | head -8)"
    input_fields=$(wc -l < want)
    "$DSCFS" --verify "$out" > verify 2> err || fail "$arch $header: --verify: $(cat err) $(tail -1 verify)"
    line=$(grep '^/usr/lib/swift/libswiftrel.dylib:' verify)
    echo "$line" | grep -q ' relrefs 11 relrefs-outside 0 ' || fail "$arch $header: --verify: $line"
    grep '^total:' verify | grep -q ' relrefs-outside 0 ' || fail "$arch $header: --verify: $(grep '^total:' verify)"
    echo "$arch slide $slide header $header: $input_fields fields equal to the input's; $(echo "$line" | grep -o 'relrefs [0-9]* relrefs-outside [0-9]*')"
done <<'CONFIGS'
arm64 2 0x140
arm64 2 0x200
arm64e 3 0x140
arm64e 5 0x200
arm64 2 0x208 --split 3 --platform 2
arm64 2 0x228 --split 3 --platform 2
arm64e 5 0x208 --split 3 --platform 2
arm64e 5 0x228 --split 3 --platform 2
x86_64 2 0x140
x86_64 2 0x200
CONFIGS

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# objc_builder.sh — caches built by tests/builder/dscbuild from dylibs we
# linked ourselves, so the truth is the input dylib: for every image, the
# extracted file's ObjC metadata as llvm-objdump-19 prints it (addresses
# removed) equals the input's, and llvm-objdump finds as many
# "Objc selector ref" loads in its code as in the input's (the builder had
# redirected them to the uniqued strings). dyld-940+ eras (0x1c8, 0x200)
# have uniqued selectors and protocols and rewritten selector loads.
# --preattach-categories (dyld-1122+): classes' lists become relative lists
# of lists (own list last, placeholders where a class has none); the
# extraction must give every class_ro_t back its own list or NULL, and
# dsccheck must find lists of lists in the cache (13 with our inputs, see
# libobjccat.m), or the comparison would prove nothing.
# llvm-objdump-19 cannot read arm64e chained fixups, so arm64e caches are
# judged by dscfs --verify only (our own walker of the extracted files).
# arm64_32 (32-bit pointers, slide v1 and v4) is in: build-inputs.sh links
# with --threads=1, which keeps ld64.lld-19 from zeroing the word after
# __la_symbol_ptr (a class isa in DBUser) — see the comment there.
. "${top_srcdir:-.}/tests/integration/lib.sh"
builder_setup
cd "$WORK" || fail "cd $WORK"

meta() { llvm-objdump-19 --macho --objc-meta-data "$1" | tail -n +2 | sed 's/0x[0-9a-f]*//g; s/^[0-9a-f]* //'; }
selrefs() { llvm-objdump-19 --macho -d "$1" | grep -c 'Objc selector ref: '; }

# The inputs themselves, by llvm-objdump-19: each class's isa names its
# metaclass (what lld's race used to zero on arm64_32).
for arch in arm64 arm64e arm64_32 x86_64; do
    for lib in libobjcuser libobjcsub libobjccat; do
        llvm-objdump-19 --macho --objc-meta-data "$WORK/$arch/$lib.dylib" | grep -m1 ' isa ' |
            grep -q ' isa 0x[0-9a-f]*[1-9a-f][0-9a-f]* _OBJC_METACLASS_\$_' ||
            fail "$arch/$lib.dylib: the first class's isa is not its metaclass (ld64.lld-19 zeroed it?)"
    done
done

n=0
while read -r arch slide header opts; do
    n=$((n + 1))
    out="$WORK/c$n/dyld_shared_cache_$arch"
    mkdir -p "$WORK/c$n"
    # shellcheck disable=SC2086
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header "$header" $opts -o "$out" $(cat "$WORK/$arch.inputs") \
        > build.out 2> err || fail "dscbuild $arch $slide $header $opts: $(cat err)"
    case " $opts " in
        *" --preattach-categories "*)
            refs=
            if [ "$arch" = x86_64 ]; then
                "${top_srcdir:-.}/tests/builder/x86-refs.sh" "$WORK/$arch.inputs" > "$WORK/$arch.refs" ||
                    fail "x86-refs.sh"
                refs="--x86-refs $WORK/$arch.refs"
            fi
            # shellcheck disable=SC2086
            "$DSCCHECK" $refs "$out.manifest" > check 2> err ||
                fail "$arch $header $opts: dsccheck: $(cat err)"
            grep -q ' 13 lists of lists\(,\|$\)' check || fail "$arch $header $opts: $(cat check)" ;;
    esac
    root="$WORK/o$n"
    "$DSCFS" --extract-all "$out" "$root" > /dev/null 2> err || fail "$arch $header $opts: --extract-all: $(cat err)"
    "$DSCFS" --verify "$out" > verify 2> err
    [ -s err ] && fail "$arch $header $opts: --verify: $(cat err)"
    total=$(grep '^total:' verify)
    for field in selrefs-outside method-names-outside objc-other-outside; do
        echo "$total" | grep -q " $field 0\( \|$\)" || fail "$arch $header $opts: --verify $field: $total"
    done
    echo "$total" | grep -q ' selrefs [1-9]' || fail "$arch $header $opts: no selrefs verified"
    [ "$arch" = arm64e ] && continue
    checked=0
    while IFS="	" read -r tag path input; do
        [ "$tag" = image ] || continue
        meta "$input" > want
        grep -q 'Contents of' want || continue
        meta "$root$path" > got
        cmp -s want got || fail "$arch $header $opts: $path: ObjC metadata differs from $input: $(diff want got | head -6)"
        w=$(selrefs "$input") g=$(selrefs "$root$path")
        [ "$w" = "$g" ] || fail "$arch $header $opts: $path: $g selector-ref loads, the input has $w"
        checked=$((checked + 1))
    done < "$out.manifest"
    [ "$checked" -ge 2 ] || fail "$arch $header $opts: only $checked ObjC images compared"
    echo "$arch slide $slide header $header $opts: $checked ObjC images equal their inputs; $(grep -o '[0-9]* selector loads rewritten' build.out) by the builder"
done <<'CONFIGS'
arm64 2 0x140
arm64 2 0x1c8
arm64 2 0x200 --split 3
arm64e 3 0x140
arm64e 5 0x200 --split 3 --local-symbols
x86_64 2 0x1c8
x86_64 1 0x98
arm64_32 4 0x138
arm64_32 1 0x1c8 --split 3
arm64_32 4 0x200 --local-symbols
arm64 2 0x200 --preattach-categories
arm64e 5 0x200 --split 3 --preattach-categories
x86_64 2 0x200 --preattach-categories
CONFIGS
[ "$n" = 13 ] || fail "ran $n configurations"
exit 0

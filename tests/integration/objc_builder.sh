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
# Relative method lists (DBSub, DBCat on arm64/arm64e: build-inputs.sh):
# llvm-objdump-19 names their selectors and types in the inputs but not in
# extracted images (it adds the offsets in 32 bits, and cache images live
# above 4 GiB), so those entry lines leave the text comparison (it still
# names every method by its IMP symbol, -[Class sel], in both: those lines
# stay, and on arm64 at least 15 must be named); instead every list
# of __TEXT,__objc_methlist is compared with the input's entry by entry, each
# field as the section and offset it reaches (from llvm-objdump-19's section
# headers and raw words), and __objc_selrefs as llvm-objdump-19 names it:
# same selref slot, same selector, same types string, same code. 0x200
# caches make the names offsets from the selector base, and with
# --objc-era 1376 --method-type-offsets the types offsets into the type
# buffer; extraction must give both back. --objc-opts (Apple's ObjC
# optimizations file: tests/builder/inputs/objc-opts.json, version 2, and
# objc-opts-v1.json, version 1; both name the same 10 classes and
# metaclasses, dsccheck must find all 10; DBChild is a flattening root,
# DBLeaf's cache inlining DBChild's methods, and in objc-opts-v1.json also
# DBRoot's metaclass, in another image than the metaclasses of DBChild and
# DBLeaf whose caches inline its +make; --imp-unchained as the inputs
# have no chained fixups, except in the arm64-chained configuration, where
# build-inputs.sh chained-objc links the three ObjC images with them, as
# dyld-1378 requires) points classes' vtable fields at prebuilt IMP
# caches; extraction makes them 0 again and the `cache` field a bind to
# __objc_empty_cache, as in the input (the text comparison and the binds
# show it).
# llvm-objdump-19 cannot read arm64e chained fixups, so arm64e caches are
# judged by dscfs --verify and the relative-list comparison, and so is the
# arm64-chained one (llvm-objdump-19 shows chained slots raw).
# The dyld-1231+ eras (header 0x208 and 0x228, split iOS caches, the "era"
# inputs of build-inputs.sh: DBCat's class data in __OBJC_CONST, libera) on
# arm64 and arm64e carry every ObjC item: preattached categories, relative
# method lists, IMP caches, 24-byte header info, and on 0x228 the v2 opts
# header and method type offsets (dsccheck proves each is in the cache),
# the 0x228 caches over 4 GiB of VM (--large-vm) too.
# arm64_32 (32-bit pointers, slide v1 and v4) is in: build-inputs.sh links
# with --threads=1, which keeps ld64.lld-19 from zeroing the word after
# __la_symbol_ptr (a class isa in DBUser) — see the comment there.
. "${top_srcdir:-.}/tests/integration/lib.sh"
builder_setup
cd "$WORK" || fail "cd $WORK"

. "${top_srcdir:-.}/tests/integration/objclists.sh"
for arch in arm64 arm64e; do
    "${top_srcdir:-.}/tests/builder/build-inputs.sh" "$WORK/$arch-era" "$arch" era > "$WORK/$arch-era.inputs" ||
        fail "building the $arch era input dylibs"
done
# ObjC inputs with chained fixups: Apple's IMP-cache rule (only such
# images) applies without --imp-unchained.
"${top_srcdir:-.}/tests/builder/build-inputs.sh" "$WORK/arm64-chained" arm64 chained-objc > "$WORK/arm64-chained.inputs" ||
    fail "building the arm64 chained-objc input dylibs"
meta() { objc_meta "$1"; }
selrefs() { llvm-objdump-19 --macho -d "$1" | grep -c 'Objc selector ref: '; }
# Relative-list entries whose method llvm-objdump-19 names by its IMP symbol.
named_imps() { llvm-objdump-19 --macho --objc-meta-data "$1" | grep -c '^[[:space:]]*imp 0x[0-9a-f]* (0x[0-9a-f]*) [-+]\['; }

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
# The first field names the inputs ($WORK/SPEC.inputs): ARCH, ARCH-era or
# ARCH-chained.
opts_dir=$(cd "${top_srcdir:-.}/tests/builder/inputs" && pwd)
while read -r spec slide header opts; do
    arch=${spec%-era}
    arch=${arch%-chained}
    opts=$(echo "$opts" | sed "s|@OPTS@|$opts_dir|g")
    n=$((n + 1))
    out="$WORK/c$n/dyld_shared_cache_$arch"
    mkdir -p "$WORK/c$n"
    # shellcheck disable=SC2086
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header "$header" $opts -o "$out" $(cat "$WORK/$spec.inputs") \
        > build.out 2> err || fail "dscbuild $arch $slide $header $opts: $(cat err)"
    case " $opts " in
        *" --preattach-categories "*)
            refs=
            if [ "$arch" = x86_64 ]; then
                "${top_srcdir:-.}/tests/builder/x86-refs.sh" "$WORK/$spec.inputs" > "$WORK/$arch.refs" ||
                    fail "x86-refs.sh"
                refs="--x86-refs $WORK/$arch.refs"
            fi
            # shellcheck disable=SC2086
            "$DSCCHECK" $refs "$out.manifest" > check 2> err ||
                fail "$arch $header $opts: dsccheck: $(cat err)"
            grep -q ' 13 lists of lists,' check || fail "$arch $header $opts: $(cat check)" ;;
    esac
    case " $opts " in
        *" --objc-opts "*)
            "$DSCCHECK" "$out.manifest" > check 2> err || fail "$arch $header $opts: dsccheck: $(cat err)"
            grep -q ' 15 relative methods, 10 IMP caches,' check || fail "$arch $header $opts: $(cat check)" ;;
    esac
    root="$WORK/o$n"
    "$DSCFS" --extract-all "$out" "$root" > /dev/null 2> err || fail "$arch $header $opts: --extract-all: $(cat err)"
    "$DSCFS" --verify "$out" > verify 2> err
    [ -s err ] && fail "$arch $header $opts: --verify: $(cat err)"
    total=$(grep '^total:' verify)
    for field in selrefs-outside sel-loads-outside method-names-outside objc-other-outside; do
        echo "$total" | grep -q " $field 0\( \|$\)" || fail "$arch $header $opts: --verify $field: $total"
    done
    echo "$total" | grep -q ' selrefs [1-9]' || fail "$arch $header $opts: no selrefs verified"
    rel=0
    while IFS="	" read -r tag path input; do
        [ "$tag" = image ] || continue
        rellists "$input" > want
        grep -q '^list' want || continue
        grep -q ' outside' want && fail "$input: rellists cannot place a field: $(grep -m1 outside want)"
        rellists "$root$path" > got
        cmp -s want got || fail "$arch $header $opts: $path: relative method lists differ from $input: $(diff want got | head -6)"
        rel=$((rel + $(grep -c '^  name' want)))
        if [ "$arch" != arm64e ] && [ "$spec" = "${spec%-chained}" ]; then
            selrefs_named "$input" > want
            selrefs_named "$root$path" > got
            cmp -s want got || fail "$arch $header $opts: $path: __objc_selrefs differ from $input: $(diff want got | head -6)"
        fi
    done < "$out.manifest"
    case $arch in arm64|arm64e) [ "$rel" -ge 15 ] || fail "$arch $header $opts: only $rel relative methods compared" ;; esac
    [ "$arch" = arm64e ] && continue
    # chained inputs: llvm-objdump-19 prints their slots raw (chain bits,
    # unslid targets), unlike the cache's, so dsccheck, --verify and the
    # relative lists judge them, as on arm64e
    [ "$spec" != "${spec%-chained}" ] && { echo "$spec $header $opts: judged by dsccheck, --verify, relative lists"; continue; }
    checked=0 named=0
    while IFS="	" read -r tag path input; do
        [ "$tag" = image ] || continue
        meta "$input" > want
        grep -q 'Contents of' want || continue
        meta "$root$path" > got
        cmp -s want got || fail "$arch $header $opts: $path: ObjC metadata differs from $input: $(diff want got | head -6)"
        named=$((named + $(named_imps "$root$path")))
        # llvm-objdump-19 annotates no selector-ref load of the --large-vm
        # layout (TEXT 3 GiB, DATA 4 GiB above the base); there --verify's
        # sel-loads-outside 0 (above, base/a64flow.c) is the proof alone
        w=$(selrefs "$input") g=$(selrefs "$root$path")
        case " $opts " in *" --large-vm "*) g=$w ;; esac
        [ "$w" = "$g" ] || fail "$arch $header $opts: $path: $g selector-ref loads, the input has $w"
        checked=$((checked + 1))
    done < "$out.manifest"
    [ "$checked" -ge 2 ] || fail "$arch $header $opts: only $checked ObjC images compared"
    case $arch in arm64) [ "$named" -ge 15 ] || fail "$arch $header $opts: llvm-objdump-19 named $named relative methods" ;; esac
    echo "$arch slide $slide header $header $opts: $checked ObjC images equal their inputs, $rel relative methods ($named named by llvm-objdump-19); $(grep -o '[0-9]* selector loads rewritten' build.out) by the builder"
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
arm64 2 0x200 --objc-era 1376 --method-type-offsets --preattach-categories --objc-opts @OPTS@/objc-opts-v1.json --imp-unchained
arm64e 5 0x200 --split 3 --objc-era 1376 --method-type-offsets --objc-opts @OPTS@/objc-opts.json --imp-unchained
arm64-era 2 0x208 --split 3 --platform 2 --local-symbols --preattach-categories --objc-opts @OPTS@/objc-opts.json --imp-unchained
arm64-era 2 0x228 --split 3 --platform 2 --preattach-categories --objc-opts @OPTS@/objc-opts.json --imp-unchained --objc-era 1376 --method-type-offsets
arm64e-era 5 0x208 --split 3 --platform 2 --preattach-categories --objc-opts @OPTS@/objc-opts.json --imp-unchained
arm64e-era 5 0x228 --split 3 --platform 2 --local-symbols --preattach-categories --objc-opts @OPTS@/objc-opts.json --imp-unchained --objc-era 1376 --method-type-offsets
arm64-era 2 0x228 --split 3 --platform 2 --preattach-categories --objc-opts @OPTS@/objc-opts.json --imp-unchained --objc-era 1376 --method-type-offsets --large-vm
arm64e-era 5 0x228 --split 3 --platform 2 --preattach-categories --objc-opts @OPTS@/objc-opts.json --imp-unchained --objc-era 1376 --method-type-offsets --large-vm
arm64-chained 2 0x200 --objc-era 1376 --method-type-offsets --preattach-categories --objc-opts @OPTS@/objc-opts.json
CONFIGS
[ "$n" = 22 ] || fail "ran $n configurations"
exit 0

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# make-caches.sh OUTDIR [ARCH...] — build the builder's inputs and a
# representative set of caches for other tests (extraction, mounting):
# per arch and slide version an old unsplit era (0x98 or 0x138), dyld-832
# (0x140), dyld-940 split with .symbols (0x1c8), dyld-1042 unsplit with
# local symbols (0x200); plus optimised stubs, universal sets and split
# 0x200 caches with preattached categories (dyld-1122+), the arm64e one
# with __auth_ptr coalesced (dyld-1231.3+), and ones with the dyld-1376
# ObjC optimiser (v2 header, method type offsets, IMP caches) on arm64 and
# arm64e. IMP caches come from Apple's ObjC optimizations file format
# (--objc-opts: inputs/objc-opts.json, version 2, DBChild a flattening root;
# the arm64 objc1376 cache inputs/objc-opts-v1.json, version 1), with
# --imp-unchained: ld64.lld-19 links the ObjC inputs without chained fixups
# (arm64e: it refuses them), where dyld-1378 would build no IMP cache.
# Thread-local descriptors are keyed in every 0x200 cache, packed
# (dyld-1284+, --packed-tlvs) in the preattach caches and in arm64_32 v4
# and x86_64 v2 0x200-locals, which also get a function variant. On arm64,
# arm64e and x86_64 a 0x200 cache also holds libswiftrel (Swift relative
# references aimed at GOT twins, dyld-1042+); the arm64e one, and the
# arm64e caches of the 0x208/0x228 eras below, also libauthgot (ld64's
# arm64e stubs and __AUTH_CONST,__auth_got, own slots zeroed as dyld-1042+
# does; those eras also coalesce __auth_ptr, dyld-1231.3+). Split iOS caches of the
# dyld-1231 eras (0x208: dyld-1245.1, 0x228: dyld-1284.13) on arm64 and
# arm64e, from the "era" inputs (build-inputs.sh: __DATA_DIRTY, __TPRO_CONST,
# __OBJC_CONST, a read-only segment, chained fixups), with TPRO_CONST and
# READ_ONLY mappings and .dylddata/.dyldreadonly/.dyldlinkedit sub-caches,
# and every ObjC item (preattached categories, IMP caches, relative method
# lists, 24-byte header info; 0x228 also the v2 opts header and method type
# offsets, --objc-era 1376; libswiftrel's relative references to GOTs), and
# packed TLVs in every 0x228 one
# (dyld-1284.13 always writes them); on arm64 and arm64e one more 0x228
# cache over 4 GiB of VM (--large-vm: DATA past 4 GiB, so arm64e v5 runtime
# offsets use bits 32-33, LINKEDIT more than 4 GiB above every image's
# TEXT; inputs linked with -headerpad 0x400), with the ObjC items of the
# other 0x228 caches (IMP caches, v2 opts header, method type offsets). One
# 0x208 and one 0x228 split cache on x86_64 (macOS) and on arm64_32
# (watchOS) from their era inputs.
# Every cache is verified with dsccheck (x86_64 with the operands
# x86-refs.sh lists, so llvm-objdump-19 is needed too). Writes OUTDIR/caches.list:
#   name TAB main cache path TAB manifest path
# Needs clang-19 and ld64.lld-19 (exit 77 without them, like a skipped test).
# DSCBUILD and DSCCHECK default to the builds under $top_builddir.
set -eu
out=$1
shift
arches=${*:-arm64 arm64e arm64_32 x86_64}
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
opts=$(cd "$top_srcdir/tests/builder/inputs" && pwd)
imp="--objc-opts $opts/objc-opts.json --imp-unchained"
DSCBUILD=${DSCBUILD:-$top_builddir/tests/builder/dscbuild}
DSCCHECK=${DSCCHECK:-$top_builddir/tests/builder/dsccheck}
mkdir -p "$out/inputs"
: > "$out/caches.list"

slides_of() {
    case $1 in
        arm64) echo 2 ;;
        arm64e) echo 3 5 ;;
        arm64_32) echo 1 4 ;;
        x86_64) echo 1 2 ;;
    esac
}

# build NAME ARCH SLIDE ARGS... (inputs: $out/inputs/$arch$list.list)
list=
build() {
    name=$1 arch=$2 slide=$3
    shift 3
    mkdir -p "$out/$name"
    cache=$out/$name/dyld_shared_cache_$arch
    "$DSCBUILD" --arch "$arch" --slide "$slide" -o "$cache" \
        --alias /usr/lib/liba.1.dylib=/usr/lib/liba.dylib "$@" $(cat "$out/inputs/$arch$list.list") > /dev/null
    refs=
    [ "$arch" = x86_64 ] && refs="--x86-refs $out/inputs/x86_64.refs"
    [ -f "$out/inputs/$arch$list.refs" ] && refs="--x86-refs $out/inputs/$arch$list.refs"
    "$DSCCHECK" $refs "$cache.manifest" > /dev/null
    printf '%s\t%s\t%s\n' "$name" "$cache" "$cache.manifest" >> "$out/caches.list"
    if [ -f "$cache.development.manifest" ]; then
        "$DSCCHECK" "$cache.development.manifest" > /dev/null
        printf '%s\t%s\t%s\n' "$name-development" "$cache.development" "$cache.development.manifest" >> "$out/caches.list"
    fi
}

for arch in $arches; do
    swift=swiftrel
    [ "$arch" = arm64_32 ] && swift=
    # arm64e-swift also holds libauthgot (ld64's __auth_stubs/__auth_got)
    [ "$arch" = arm64e ] && swift="swiftrel authgot"
    "$top_srcdir/tests/builder/build-inputs.sh" "$out/inputs/$arch" "$arch" $swift > "$out/inputs/$arch-swift.list"
    grep -v '/lib\(swiftrel\|authgot\)\.dylib$' "$out/inputs/$arch-swift.list" > "$out/inputs/$arch.list"
    if [ "$arch" = x86_64 ]; then
        "$top_srcdir/tests/builder/x86-refs.sh" "$out/inputs/$arch-swift.list" > "$out/inputs/$arch.refs"
    fi
    for slide in $(slides_of "$arch"); do
        old=0x138
        [ "$slide" = 1 ] || [ "$slide" = 2 ] && old=0x98
        build "$arch-v$slide-$old" "$arch" "$slide" --header "$old"
        build "$arch-v$slide-0x140" "$arch" "$slide" --header 0x140
        build "$arch-v$slide-0x1c8-split" "$arch" "$slide" --header 0x1c8 --split 3 --local-symbols
        # dyld-1284+ packed TLV descriptors on one 0x200 cache of each
        # 32-bit and x86_64 pair (arm64/arm64e: the preattach caches).
        # and a function variant (dyld-1284+).
        packed=
        case $arch-$slide in
            arm64_32-4 | x86_64-2) packed="--packed-tlvs --function-variant _sys_fv=_sys_fv_fast" ;;
        esac
        build "$arch-v$slide-0x200-locals" "$arch" "$slide" --header 0x200 --local-symbols $packed
    done
    case $arch in
        arm64|arm64e)
            slide=$(slides_of "$arch" | cut -d' ' -f1)
            build "$arch-stubs" "$arch" "$slide" --header 0x1c8 --optimize-stubs
            build "$arch-universal" "$arch" "$slide" --header 0x200 --split 3 --universal --local-symbols
            # arm64e: also __auth_ptr coalesced, as from dyld-1231.3
            authptr=
            [ "$arch" = arm64e ] && authptr=--coalesce-auth-ptr
            # shellcheck disable=SC2086
            build "$arch-preattach" "$arch" "$(slides_of "$arch" | tr ' ' '\n' | tail -1)" --header 0x200 \
                --split 3 --preattach-categories --packed-tlvs --function-variant _sys_fv=_sys_fv_fast $authptr
            v=objc-opts.json
            [ "$arch" = arm64 ] && v=objc-opts-v1.json
            build "$arch-objc1376" "$arch" "$slide" --header 0x200 --objc-era 1376 --method-type-offsets \
                --objc-opts "$opts/$v" --imp-unchained
            # arm64e: with libauthgot (ld64's __auth_got) in every era
            authgot=
            [ "$arch" = arm64e ] && authgot=authgot
            "$top_srcdir/tests/builder/build-inputs.sh" "$out/inputs/$arch-era" "$arch" era $authgot > "$out/inputs/$arch-era.list"
            last=$(slides_of "$arch" | tr ' ' '\n' | tail -1)
            list=-era
            # Every ObjC item of the era: preattached categories, IMP caches and
            # 24-byte header info (dyld-1231+); on 0x228 also the dyld-1376
            # optimiser (v2 opts header, method type offsets).
            build "$arch-0x208-split" "$arch" "$last" --header 0x208 --split 3 --platform 2 --local-symbols \
                --preattach-categories $imp
            # function variants are dyld-1284+ (this era) too
            build "$arch-0x228-split" "$arch" "$last" --header 0x228 --split 3 --platform 2 \
                --preattach-categories $imp --objc-era 1376 --method-type-offsets \
                --function-variant _sys_fv=_sys_fv_fast
            # over 4 GiB of VM (--large-vm; arm64e: v5 runtime offsets past 32 bits), from
            # era inputs with header room for the segments extraction may add,
            # every ObjC item of the 0x228 split cache
            BUILD_INPUTS_LDFLAGS="-headerpad 0x400" "$top_srcdir/tests/builder/build-inputs.sh" \
                "$out/inputs/$arch-big" "$arch" era $authgot > "$out/inputs/$arch-big.list"
            list=-big
            build "$arch-0x228-large-vm" "$arch" "$last" --header 0x228 --split 3 --platform 2 \
                --preattach-categories $imp --objc-era 1376 --method-type-offsets --large-vm
            list= ;;
        x86_64|arm64_32)
            # The 0x208 and 0x228 eras on x86_64 (macOS; libera linked with chained
            # fixups, whose x86_64 cache addresses only
            # DYLD_CHAINED_PTR_64_OFFSET holds) and arm64_32 (watchOS).
            "$top_srcdir/tests/builder/build-inputs.sh" "$out/inputs/$arch-era" "$arch" era > "$out/inputs/$arch-era.list"
            objc= platform=4
            if [ "$arch" = x86_64 ]; then
                "$top_srcdir/tests/builder/x86-refs.sh" "$out/inputs/$arch-era.list" > "$out/inputs/$arch-era.refs"
                objc="--preattach-categories" platform=1
            fi
            list=-era
            # shellcheck disable=SC2086
            build "$arch-0x208-split" "$arch" "$(slides_of "$arch" | tr ' ' '\n' | tail -1)" --header 0x208 \
                --split 3 --platform $platform --local-symbols $objc
            # shellcheck disable=SC2086
            build "$arch-0x228-split" "$arch" "$(slides_of "$arch" | tr ' ' '\n' | tail -1)" --header 0x228 \
                --split 3 --platform $platform --local-symbols $objc --function-variant _sys_fv=_sys_fv_fast
            list= ;;
    esac
    if [ -n "$swift" ]; then
        list=-swift
        build "$arch-swift" "$arch" "$(slides_of "$arch" | tr ' ' '\n' | tail -1)" --header 0x200 --local-symbols
        list=
    fi
done
echo "make-caches.sh: $(wc -l < "$out/caches.list") caches in $out"

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# builder_shape.sh — a dscbuild cache has the shape of a real cache built by
# Apple's tools of the same kind (testdata: dyld-832 era, header 0x140,
# arm64 slide v2 and arm64e slide v3): same header size, same mapping
# sequence (name, protections, slide version), mappings packed in file
# order from offset 0 at the same base, and the same header fields in use.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
BUILDER_ARCHES="arm64 arm64e" builder_setup
cd "$WORK" || fail "cd $WORK"

# u64 at a header offset, in decimal.
hdr_u64() { od -A n -t u8 -j "$(($2))" -N 8 "$1" | tr -d ' '; }
hdr_u32() { od -A n -t u4 -j "$(($2))" -N 4 "$1" | tr -d ' '; }

# Which of the fields we write are non-zero: imagesOffsetOld, uuid,
# cacheType, imagesText, platform, sharedRegionStart/Size, maxSlide,
# dylibsTrie, mappingWithSlide. (Code signature, patch info, dyld3
# closures and accelerator info are not written by dscbuild: see README.)
field_map() {
    for f in 0x18:4 0x58:8 0x60:8 0x68:8 0x88:8 0x90:8 0xd8:4 0xe0:8 0xe8:8 0xf0:8 0x108:8 0x110:8 0x138:4 0x13c:4; do
        off=${f%:*} size=${f#*:}
        if [ "$size" = 4 ]; then v=$(hdr_u32 "$1" "$off"); else v=$(hdr_u64 "$1" "$off"); fi
        if [ "$v" = 0 ]; then echo "$off zero"; else echo "$off set"; fi
    done
}

# name init max slide, per mapping; and "packed" when offsets chain.
mapping_shape() {
    "$DSCFS" --info "$1" | awk '/^Mappings:/ { on = 1; next } on && $1 ~ /^__/ { print $1, $2, $3, $7 }'
}
packing() {
    prev=0
    "$DSCFS" --info "$1" | awk '/^Mappings:/ { on = 1; next } on && $1 ~ /^__/ { print $4, $6 }' > shape.tmp
    while read -r size off; do
        [ $((off)) = "$prev" ] || { echo "not packed"; return; }
        prev=$((off + size))
    done < shape.tmp
    echo packed
}

for kind in arm64:2 arm64e:3; do
    arch=${kind%:*} slide=${kind#*:}
    real=$CACHES/dyld_shared_cache_$arch-macOS-objc
    out=$WORK/dyld_shared_cache_$arch
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header 0x140 -o "$out" $(cat "$WORK/$arch.inputs") > /dev/null ||
        fail "dscbuild $arch"
    "$DSCCHECK" "$out.manifest" > /dev/null || fail "dsccheck $arch"
    for probe in "Header Size" "Cache Type" "Base Address" "Platform"; do
        a=$("$DSCFS" --info "$real" | grep "^$probe ")
        b=$("$DSCFS" --info "$out" | grep "^$probe ")
        [ "$a" = "$b" ] || fail "$arch: '$a' in the real cache, '$b' in ours"
    done
    mapping_shape "$real" > real.maps
    mapping_shape "$out" > ours.maps
    cmp -s real.maps ours.maps || { diff real.maps ours.maps >&2; fail "$arch: mapping shapes differ"; }
    [ "$(packing "$real")" = packed ] && [ "$(packing "$out")" = packed ] || fail "$arch: mappings not packed"
    # mapping_and_slide_info[] sits at mappingOffset + count * 56 in both.
    for f in "$real" "$out"; do
        [ "$(hdr_u32 "$f" 0x138)" = $(($(hdr_u32 "$f" 0x10) + $(hdr_u32 "$f" 0x14) * 56)) ] ||
            fail "$f: mapping_and_slide_info is not where Apple's builder puts it"
    done
    field_map "$real" > real.fields
    field_map "$out" > ours.fields
    cmp -s real.fields ours.fields || { diff real.fields ours.fields >&2; fail "$arch: header fields in use differ"; }
done

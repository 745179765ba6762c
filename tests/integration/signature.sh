#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# signature.sh — every output is ad-hoc code signed (issue 11 item 9), on
# the three real caches (extract_builder.sh checks every builder cache's
# outputs the same way):
#  - check_signature (sigcheck.sh) on every file --extract-all writes: the
#    blob layout against Apple's cs_blobs.h and ld64, every page hash
#    recomputed with sha256sum, LC_CODE_SIGNATURE inside __LINKEDIT at its
#    end (llvm-objdump-19 --macho -p);
#  - --extract gives the same signed bytes; --no-sign (either verb, any
#    place after the verb) gives files without LC_CODE_SIGNATURE that
#    llvm-objdump-19 reads without complaint;
#  - --verify still reports no problem;
#  - a fresh mount's st_size, before anything is read, equals the bytes
#    read and the --extract-all file, signed by default and unsigned with
#    -o nosign (and /.dscfs/info says which); both mounts share one
#    cache_dir, which must not hand the signed files to the unsigned mount.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
command -v llvm-objdump-19 > /dev/null || skip "llvm-objdump-19 is not installed"
. "${top_srcdir:-.}/tests/integration/sigcheck.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/signature.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

files=0
mkdir "$work/s" "$work/u"
for cache in $(real_caches); do
    name=$(basename "$cache")
    "$DSCFS" --extract-all "$cache" "$work/s/$name" -j 2 > /dev/null 2> "$work/err" ||
        fail "$name: --extract-all: $(cat "$work/err")"
    "$DSCFS" --extract-all "$cache" "$work/u/$name" --no-sign -j 2 > /dev/null 2>&1 ||
        fail "$name: --extract-all --no-sign"
    for f in $(find "$work/s/$name" -type f); do
        check_signature "$f"
        files=$((files + 1))
        u=$work/u/${f#"$work/s/"}
        llvm-objdump-19 --macho -p "$u" > "$work/p" 2> "$work/e" || fail "$u: llvm-objdump-19 -p failed"
        [ -s "$work/e" ] && fail "$u: llvm-objdump-19 -p: $(cat "$work/e")"
        grep -q LC_CODE_SIGNATURE "$work/p" && fail "$u: --no-sign output has LC_CODE_SIGNATURE"
        [ "$(wc -c < "$u")" -lt "$(wc -c < "$f")" ] || fail "$u: unsigned is not smaller than signed"
    done
    first=$("$DSCFS" --list "$cache" | head -n 1)
    "$DSCFS" --extract "$first" "$cache" -o "$work/one" || fail "$name: --extract $first"
    cmp -s "$work/one" "$work/s/$name$first" || fail "$name: --extract differs from --extract-all"
    "$DSCFS" --extract --no-sign "$first" "$cache" -o "$work/one" || fail "$name: --extract --no-sign $first"
    cmp -s "$work/one" "$work/u/$name$first" || fail "$name: --extract --no-sign differs from --extract-all --no-sign"
    "$DSCFS" --verify "$cache" > "$work/verify" || fail "$name: --verify: $(tail -n 1 "$work/verify")"
done
[ "$files" -ge 20 ] || fail "only $files signed files checked"

# The mount: sizes first (predicted, nothing extracted), then the bytes.
if command -v fusermount3 > /dev/null && [ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ]; then
    mp=$work/mnt
    mkdir "$mp"
    trap 'fusermount3 -u "$mp" 2> /dev/null || fusermount3 -uz "$mp" 2> /dev/null; rm -rf "$work"' EXIT
    for cache in $(real_caches); do
        name=$(basename "$cache")
        for mode in s u; do
            opt="-o cache_dir=$work/disk"
            [ $mode = u ] && opt="$opt,nosign"
            "$DSCFS" $opt "$cache" "$mp" || fail "$name: mount $opt"
            want=yes
            [ $mode = u ] && want=no
            grep -qx "signed = $want" "$mp/.dscfs/info" || fail "$name: $opt: /.dscfs/info: $(grep signed "$mp/.dscfs/info")"
            paths=$("$DSCFS" --list "$cache" | grep -v ' -> ')
            for path in $paths; do
                echo "$path $(stat -c %s "$mp$path")"
            done > "$work/sizes"
            grep -qx 'store.misses = 0' "$mp/.dscfs/info" || fail "$name: $opt: stat extracted something"
            while read -r path size; do
                [ "$size" = "$(wc -c < "$mp$path")" ] || fail "$name: $opt: $path: st_size $size, bytes read differ"
                cmp -s "$mp$path" "$work/$mode/$name$path" || fail "$name: $opt: $path differs from --extract-all"
            done < "$work/sizes"
            fusermount3 -u "$mp" || fail "$name: unmount"
        done
    done
fi
echo "$files outputs of $(real_caches | wc -l) caches signed and checked; mounts signed and unsigned"
exit 0

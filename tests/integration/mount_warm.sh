#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_warm.sh — background size warming (src/fs/warm.c): after mounting,
# every image's size becomes known without anything stat'ing the images
# (/.dscfs/status shows them), each equal to what --extract-all writes, and
# nothing is extracted; with -o nowarm no size is computed until asked for.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"
"$DSCFS" --extract-all "$objc" "$WORK/tree" > /dev/null 2>&1 || fail "--extract-all"
n=$(image_paths "$objc" | wc -l)

# status_sizes MP: "size<TAB>path" of the images whose size is known.
status_sizes() {
    awk -F '\t' '!/^#/ && $2 != "-" { print $2 "\t" $4 }' "$1/.dscfs/status"
}

mp="$WORK/warm"
mount_cache "$objc" "$mp"
for _ in $(seq 1 100); do
    [ "$(status_sizes "$mp" | wc -l)" = "$n" ] && break
    sleep 0.05
done
[ "$(status_sizes "$mp" | wc -l)" = "$n" ] || fail "only $(status_sizes "$mp" | wc -l) of $n sizes known after 5 s"
status_sizes "$mp" | while IFS="$(printf '\t')" read -r size path; do
    [ "$size" = "$(stat -c %s "$WORK/tree$path")" ] || fail "$path: warmed size $size, extracted $(stat -c %s "$WORK/tree$path")"
done || exit 1
[ "$(info_value "$mp" store.misses)" = 0 ] || fail "warming extracted something"
unmount "$mp"

mp="$WORK/cold"
mount_cache "$objc" "$mp" -o nowarm
sleep 0.5
[ "$(status_sizes "$mp" | wc -l)" = 0 ] || fail "nowarm: sizes computed without a stat"
stat "$mp/usr/lib/libobjc.A.dylib" > /dev/null || fail "stat"
[ "$(status_sizes "$mp" | wc -l)" = 1 ] || fail "nowarm: a stat should compute exactly one size"
unmount "$mp"
exit 0

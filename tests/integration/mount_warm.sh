#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_warm.sh — background size warming (src/fs/warm.c): after mounting,
# every image's size becomes known without anything stat'ing the images
# (/.dscfs/status shows them), each equal to what --extract-all writes, and
# nothing is extracted; with -o nowarm no size is computed until asked for,
# and a listing then computes what it shows (with the sizing threads), each
# image once. Once sizing pauses the cache pages are let go, and
# /.dscfs/info says so.
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
# ls -lR: every size, equal to the extracted file's; the stat's image is
# not sized again (in nowarm the threads size what listings ask for).
ls -lR "$mp" > /dev/null || fail "ls -lR"
[ "$(status_sizes "$mp" | wc -l)" = "$n" ] || fail "nowarm: ls -lR left $(status_sizes "$mp" | wc -l) of $n sizes known"
status_sizes "$mp" | while IFS="$(printf '\t')" read -r size path; do
    [ "$size" = "$(stat -c %s "$WORK/tree$path")" ] || fail "$path: listed size $size, extracted $(stat -c %s "$WORK/tree$path")"
done || exit 1
sizes=$(info_value "$mp" sizes)
[ "$sizes" -ge "$n" ] || fail "nowarm: $sizes sizes computed for $n images"
ls -lR "$mp" > /dev/null || fail "second ls -lR"
[ "$(info_value "$mp" sizes)" = "$sizes" ] || fail "a second ls -lR computed sizes again"
# The sizing has paused: the cache pages it touched are let go (no
# extraction ran, which releases on its own), within a few tenths of a
# second, and /.dscfs/info shows the release without a change of its own.
for _ in $(seq 1 50); do
    [ "$(info_value "$mp" memory.releases)" -ge 1 ] && break
    sleep 0.1
done
[ "$(info_value "$mp" memory.releases)" -ge 1 ] || fail "no release after sizing paused"
[ "$(info_value "$mp" store.misses)" = 0 ] || fail "a listing extracted something"
unmount "$mp"
exit 0

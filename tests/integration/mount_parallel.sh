#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_parallel.sh — 16 parallel readers of one image and of different
# images get the right bytes, and each image is extracted once (single
# flight through the store, visible in /.dscfs/info).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

cache="$CACHES/dyld_shared_cache_arm64e-macOS-objc"
image_paths "$cache" > "$WORK/images"
mkdir "$WORK/want"
i=0
while read -r path; do
    "$DSCFS" --extract "$path" "$cache" -o "$WORK/want/$i" 2> /dev/null || fail "--extract $path"
    i=$((i + 1))
done < "$WORK/images"
nimages=$i

# 16 readers of the same, not yet extracted image.
mp="$WORK/mnt-same"
mount_cache "$cache" "$mp"
big=$(grep -n libobjc "$WORK/images" | cut -d: -f1)
path=$(sed -n "${big}p" "$WORK/images")
for r in $(seq 1 16); do
    cat "$mp$path" > "$WORK/same.$r" &
done
wait
for r in $(seq 1 16); do
    cmp "$WORK/same.$r" "$WORK/want/$((big - 1))" || fail "reader $r of $path got wrong bytes"
done
[ "$(info_value "$mp" store.misses)" = 1 ] || fail "16 readers extracted $path $(info_value "$mp" store.misses) times"
unmount "$mp"

# 16 readers spread over every image, on a fresh mount.
mp="$WORK/mnt-spread"
mount_cache "$cache" "$mp"
for r in $(seq 0 15); do
    k=$((r % nimages))
    cat "$mp$(sed -n "$((k + 1))p" "$WORK/images")" > "$WORK/spread.$r" &
done
wait
for r in $(seq 0 15); do
    cmp "$WORK/spread.$r" "$WORK/want/$((r % nimages))" || fail "spread reader $r got wrong bytes"
done
[ "$(info_value "$mp" store.misses)" = "$nimages" ] || fail "expected $nimages extractions, got $(info_value "$mp" store.misses)"
[ "$(info_value "$mp" store.pinned)" = 0 ] || fail "pins left after every reader closed"
unmount "$mp"
exit 0

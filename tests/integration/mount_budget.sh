#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_budget.sh — with a store budget smaller than any one image the mount
# still serves every file correctly (sequentially and with 16 parallel
# readers), and the store never holds more than its budget plus the pinned
# entries (peak_unpinned <= budget in /.dscfs/info), and the mapped cache
# pages are released after every extraction (memory.releases).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

cache="$CACHES/dyld_shared_cache_arm64-macOS-objc"
mp="$WORK/mnt"
# nowarm: a release happens when the last engine call in flight ends, so
# the warming threads sizing images beside the reads below (slow under
# TSan) would make releases skip, not the reads.
mount_cache "$cache" "$mp" -o cache_size=4K,nowarm
[ "$(info_value "$mp" memory.cache_size)" = 4096 ] || fail "cache_size=4K did not set the budget"
# A quarter of it is the parsed export tries' (dscfs(1) cache_size).
[ "$(info_value "$mp" store.budget)" = 3072 ] || fail "the images' share of 4K is not 3K"

image_paths "$cache" > "$WORK/images"
n=0
while read -r path; do
    "$DSCFS" --extract "$path" "$cache" -o "$WORK/want.$n" 2> /dev/null || fail "--extract $path"
    [ "$(wc -c < "$WORK/want.$n")" -gt 4096 ] || fail "$path fits the budget: the test needs bigger images"
    cmp "$WORK/want.$n" "$mp$path" || fail "$path differs under a 4K budget"
    n=$((n + 1))
done < "$WORK/images"
[ "$(info_value "$mp" store.evictions)" -ge "$n" ] || fail "expected every image evicted after its reader"
# The mapped cache pages are let go after each extraction (dscfs(1) MEMORY).
[ "$(info_value "$mp" memory.releases)" -ge "$n" ] || fail "cache pages not released after each extraction"
[ -n "$(info_value "$mp" memory.anonymous)" ] || fail "info does not report memory.anonymous"
exports=$(info_value "$mp" memory.exports)
[ -n "$exports" ] && [ "$exports" -le 1024 ] || fail "$exports bytes of export tries kept with a 1K share"

# Twice round every image, 16 readers at once.
reads=$(info_value "$mp" requests.read)
for r in $(seq 0 15); do
    k=$((r % n))
    cat "$mp$(sed -n "$((k + 1))p" "$WORK/images")" > "$WORK/got.$r" &
done
wait
for r in $(seq 0 15); do
    cmp "$WORK/got.$r" "$WORK/want.$((r % n))" || fail "parallel reader $r wrong under a 4K budget"
done

peak=$(info_value "$mp" store.peak_unpinned)
[ -n "$peak" ] && [ "$peak" -le 3072 ] || fail "store held $peak unpinned bytes with a 3072-byte budget"
no_pins_left "$mp" "16 readers" "$reads"
[ "$(info_value "$mp" store.resident)" = "$pinned" ] || fail "unpinned bytes left resident over budget"
[ "$(info_value "$mp" store.peak_resident)" -gt 4096 ] || fail "peak_resident should show the pinned images"
unmount "$mp"
exit 0

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_noopen.sh — no-open (dscfs(1) -o open): the kernel sends one OPEN
# for the whole mount (answered ENOSYS) and re-reads of cached files send
# no request at all (requests.open and requests.read in /.dscfs/info); the
# /.dscfs files read back fresh after their text changed, with their stat
# size; images are pinned per READ, so after every image was read the
# store holds nothing pinned and has stayed within its budget; an image read
# only in part stays pinned, at most 8 of them; -o open brings OPEN back.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

cache="$CACHES/dyld_shared_cache_arm64-macOS-objc"
mp="$WORK/mnt"
image_paths "$cache" > "$WORK/images"
n=$(wc -l < "$WORK/images")
"$DSCFS" --extract-all "$cache" "$WORK/want" > /dev/null 2>&1 || fail "--extract-all"
# read_all: every image compared with --extract-all's.
read_all() {
    while read -r p; do
        cmp "$WORK/want$p" "$mp$p" || fail "$1: $p differs"
    done < "$WORK/images"
}

mount_cache "$cache" "$mp" -o nowarm,cache_size=1M
# The text before a change: nothing extracted, status all pending.
misses0=$(info_value "$mp" store.misses)
[ "$misses0" = 0 ] || fail "fresh mount: store.misses $misses0"
grep -q '^pending' "$mp/.dscfs/status" || fail "fresh status: $(cat "$mp/.dscfs/status")"
read_all "first read"
reads=$(info_value "$mp" requests.read)
read_all "second read"
read_all "third read"
[ "$(info_value "$mp" requests.open)" = 1 ] || fail "$(info_value "$mp" requests.open) OPEN requests, expected 1"
[ "$(info_value "$mp" requests.read)" = "$reads" ] || fail "cached re-reads sent READs: $reads -> $(info_value "$mp" requests.read)"
# Fresh after the change, and the stat size is the bytes read.
[ "$(info_value "$mp" store.misses)" = "$n" ] || fail "info after reading: store.misses $(info_value "$mp" store.misses), expected $n"
grep -q '^pending' "$mp/.dscfs/status" && fail "status still shows pending images: $(cat "$mp/.dscfs/status")"
for f in info status; do
    [ "$(stat -c %s "$mp/.dscfs/$f")" = "$(wc -c < "$mp/.dscfs/$f")" ] || fail "$f: stat size is not the bytes read"
done
# Pinned per READ: nothing pinned now, the store within its budget. (The
# daemon's anonymous memory against cache_size is make bench's row on the
# large cache; here the fixed overhead, or a sanitizer's, would dwarf it.)
no_pins_left "$mp" "after reading every image"
[ "$(info_value "$mp" store.resident)" -le "$(info_value "$mp" store.budget)" ] || fail "store over its budget"
[ "$(info_value "$mp" store.peak_unpinned)" -le "$(info_value "$mp" store.budget)" ] || fail "store held more than its budget unpinned"
unmount "$mp"

# Partial reads: one O_DIRECT page of each image (bigger than a page) keeps
# it pinned, at most 8; reading the rest lets go of it.
mount_cache "$cache" "$mp" -o nowarm,cache_size=4K
big=0
while read -r p; do
    [ "$(stat -c %s "$WORK/want$p")" -gt 8192 ] || continue
    dd if="$mp$p" of=/dev/null bs=4096 count=1 iflag=direct 2> /dev/null || fail "O_DIRECT read of $p"
    big=$((big + 1))
done < "$WORK/images"
[ "$big" -ge 2 ] || fail "the test needs images above 8 KiB"
want=$((big < 8 ? big : 8))
[ "$(info_value "$mp" reading)" = "$want" ] || fail "$(info_value "$mp" reading) images being read, expected $want"
[ "$(info_value "$mp" store.misses)" = "$big" ] || fail "partial reads: store.misses $(info_value "$mp" store.misses)"
read_all "after partial reads"
no_pins_left "$mp" "after full reads"
unmount "$mp"

# -o open: the kernel asks at every open; the same bytes.
mount_cache "$cache" "$mp" -o nowarm,open
read_all "-o open"
reads=$(info_value "$mp" requests.read)
read_all "-o open, cached"
[ "$(info_value "$mp" requests.open)" -ge $((2 * n)) ] || fail "-o open: $(info_value "$mp" requests.open) OPEN requests for $((2 * n)) opens"
no_pins_left "$mp" "-o open" "$reads"
unmount "$mp"
exit 0

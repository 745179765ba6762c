#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_reread.sh — pages served again do not end an image's reading early
# (reading.c's record of served pages): an image read in part stays pinned
# as "being read" however often its read pages are asked for again, and is
# let go exactly when its last unread page is served — one extraction for
# the whole read under a budget smaller than the image (store.misses), and
# nothing pinned after (store.pinned, reading, reading.bytes in
# /.dscfs/info). Pages are asked for again through O_DIRECT (each read
# reaches the daemon) and through the page cache after dropping the file's
# pages (posix_fadvise DONTNEED, dd iflag=nocache), as reclaim does.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

cache="$CACHES/dyld_shared_cache_arm64-macOS-objc"
mp="$WORK/mnt"
img=/usr/lib/libobjc.A.dylib
"$DSCFS" --extract "$img" "$cache" -o "$WORK/want" 2> /dev/null || fail "--extract $img"
size=$(wc -c < "$WORK/want")
units=$(((size + 4095) / 4096))
half=$((units / 2))
[ "$half" -ge 33 ] || fail "$img is $size bytes: the test needs one above 256 KiB (two 128 KiB READs a half)"

# expect_reading N BYTES WHAT: N images being read, BYTES pinned by them and
# by nothing else.
expect_reading() {
    [ "$(info_value "$mp" reading)" = "$1" ] || fail "$3: $(info_value "$mp" reading) images being read, expected $1"
    [ "$(info_value "$mp" reading.bytes)" = "$2" ] || fail "$3: reading.bytes $(info_value "$mp" reading.bytes), expected $2"
    [ "$(info_value "$mp" store.pinned)" = "$2" ] || fail "$3: store.pinned $(info_value "$mp" store.pinned), expected $2"
}

mount_cache "$cache" "$mp" -o nowarm,cache_size=4K

# O_DIRECT: the first half three times over (more bytes than the image),
# then the rest.
for pass in 1 2 3; do
    dd if="$mp$img" of=/dev/null bs=4096 count="$half" iflag=direct 2> /dev/null || fail "O_DIRECT read $pass"
    expect_reading 1 "$size" "first half read $pass times"
done
dd if="$mp$img" of="$WORK/tail" bs=4096 skip="$half" iflag=direct 2> /dev/null || fail "O_DIRECT read of the rest"
expect_reading 0 0 "after the last unread page"
[ "$(info_value "$mp" store.misses)" = 1 ] || fail "O_DIRECT: $(info_value "$mp" store.misses) extractions for one read, expected 1"
tail -c +$((half * 4096 + 1)) "$WORK/want" | cmp - "$WORK/tail" || fail "O_DIRECT: the rest differs"

# The page cache: the first page (and what the kernel reads ahead with
# it, 16 KiB here) dropped and read again four times, more bytes than the
# last READ of the whole file will be, then the whole file.
for pass in 1 2 3 4; do
    reads=$(info_value "$mp" requests.read)
    dd if="$mp$img" iflag=nocache count=0 2> /dev/null || fail "dropping $img's pages"
    dd if="$mp$img" of=/dev/null bs=4096 count=1 2> /dev/null || fail "page cache read of page 0"
    [ "$(info_value "$mp" requests.read)" -gt "$reads" ] || skip "the kernel kept $img's pages through POSIX_FADV_DONTNEED"
    expect_reading 1 "$size" "page 0 read $pass times through the page cache"
done
cmp "$WORK/want" "$mp$img" || fail "$img differs after its pages were dropped"
expect_reading 0 0 "after reading it all again"
[ "$(info_value "$mp" store.misses)" = 2 ] || fail "page cache: $(info_value "$mp" store.misses) extractions in all, expected 2"
unmount "$mp"
exit 0

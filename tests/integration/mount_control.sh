#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_control.sh — the very first stat of /.dscfs/info racing an image
# event still leaves the text after the event: the kernel has no inode to
# invalidate while that lookup renders, so the daemon renders again (ops.c
# control_render). An LD_PRELOAD shim (slowinfo.so) makes each rendering of
# info take 2 s, and an image is read meanwhile; the text read after the
# stat must count that extraction.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

shim="${top_builddir:-.}/tests/integration/slowinfo.so"
[ -f "$shim" ] || skip "$shim is not built"
LD_PRELOAD="$shim" "$DSCFS" --version > /dev/null 2>&1 \
    || skip "this dscfs cannot take an LD_PRELOAD shim (sanitizer build?)"
cache="$CACHES/dyld_shared_cache_arm64-macOS-objc"
mp="$WORK/mnt"
img=/usr/lib/libobjc.A.dylib

FG_RUN="SLOWINFO_MS=2000 LD_PRELOAD=$shim" mount_fg "$cache" "$mp" -o nowarm
stat "$mp/.dscfs/info" > /dev/null &
st=$!
sleep 0.5
cat "$mp$img" > /dev/null || fail "reading $img"
wait "$st" || fail "stat of /.dscfs/info"
cp "$mp/.dscfs/info" "$WORK/info"
misses=$(sed -n 's/^store.misses = //p' "$WORK/info")
[ "$misses" = 1 ] || fail "the first lookup's text is stale: store.misses $misses after an extraction"
stop_fg "$mp"
exit 0

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_sigbus.sh — the SIGBUS guard inside a real daemon. The cache copy is
# truncated under the mount while an LD_PRELOAD shim (fakestat.so) keeps its
# old size and mtime in stat/fstat, so the daemon's "cache changed?" check
# passes and the engine really touches mapped pages past the end of the file
# (what a truncation racing an extraction does). Expected: EIO for that
# image and for a size never computed, a logged reason, the daemon alive and
# still serving the image it had already extracted.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

need_fakestat

objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"
cache="$WORK/c"
cp "$objc" "$cache"
"$DSCFS" --extract /usr/lib/libobjc.A.dylib "$objc" -o "$WORK/objc.want" 2> /dev/null || fail "--extract"

mp="$WORK/mnt"
# nowarm: sizes computed in the background at mount would leave no size
# to compute after the truncation.
FG_RUN=$(fakestat_run "$cache") mount_fg "$cache" "$mp" -o cache_size=64M,nowarm

cmp "$mp/usr/lib/libobjc.A.dylib" "$WORK/objc.want" || fail "libobjc before truncation"
truncate -s 4096 "$cache"
[ "$(info_value "$mp" cache_intact)" = yes ] || fail "the shim should hide the truncation"

if cat "$mp/usr/lib/libc++.1.dylib" > /dev/null 2> "$WORK/err"; then fail "read past the truncation succeeded"; fi
grep -q 'Input/output error' "$WORK/err" || fail "expected EIO, got $(cat "$WORK/err")"
kill -0 "$pid" 2> /dev/null || fail "the daemon died of SIGBUS"
grep -q 'libc++.1.dylib: extraction failed: .*unreadable' "$WORK/log" || fail "no reason logged: $(cat "$WORK/log")"
grep -q '^failed.*libc++.1.dylib.*unreadable' "$mp/.dscfs/status" || fail "status does not show the failure"

# A size never computed goes through the engine too (stat of a new path);
# the failed image lists as one byte, so that a read reaches the daemon
# (no OPEN comes) and fails.
[ "$(stat -c %s "$mp/usr/lib/system/libdyld.dylib")" = 1 ] || fail "size of an unreadable image"
if cat "$mp/usr/lib/system/libdyld.dylib" > /dev/null 2> "$WORK/err"; then fail "libdyld read after truncation"; fi
grep -q 'Input/output error' "$WORK/err" || fail "libdyld: expected EIO, got $(cat "$WORK/err")"
kill -0 "$pid" 2> /dev/null || fail "the daemon died computing a size"

cmp "$mp/usr/lib/libobjc.A.dylib" "$WORK/objc.want" || fail "libobjc no longer served from the store"
stop_fg "$mp"
exit 0

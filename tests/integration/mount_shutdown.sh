#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_shutdown.sh — SIGTERM while files are open: the daemon frees every
# handle still open (libfuse releases none on a signal) and exits 0 with
# nothing leaked. Judged by valgrind's leak check (definitely lost blocks
# make it exit 3), or by LeakSanitizer when dscfs is an ASan build
# (--enable-sanitizers); skips when neither is at hand.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"
objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"

if nm "$DSCFS" 2> /dev/null | grep -q __asan_init; then
    run=""
elif command -v valgrind > /dev/null; then
    run="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=3"
else
    skip "neither valgrind nor an ASan build of dscfs to count leaks with"
fi

mp="$WORK/mnt"
FG_RUN=$run FG_WAIT=300 mount_fg "$objc" "$mp"
# Handles of both kinds stay open over the SIGTERM: an image, pinned by a
# read, and a rendered text.
exec 3< "$mp/usr/lib/libobjc.A.dylib" 4< "$mp/.dscfs/status"
head -c 4096 <&3 > /dev/null || fail "reading libobjc"
head -c 10 <&4 > /dev/null || fail "reading the status"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
exec 3<&- 4<&-
[ "$status" = 0 ] || fail "the daemon exited $status at SIGTERM with files open: $(cat "$WORK/log")"
! mountpoint -q "$mp" || fail "SIGTERM left the mount behind"
exit 0

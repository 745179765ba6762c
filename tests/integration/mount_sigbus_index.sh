#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_sigbus_index.sh — a cache truncated under the mount while the first
# extraction reads other images' export tries (the symbol lookups every
# extraction makes) must cost that extraction an EIO, never a lock left held:
# issue 14 found every later open and `ls -l` hanging in uninterruptible
# sleep, and the mount impossible to unmount, after a SIGBUS jumped out of
# the export index's build with its mutex locked.
#
# Deterministic, as in mount_sigbus.sh: fakestat.so keeps the old size and
# mtime, so the daemon's "cache changed?" check passes and the engine
# touches pages past the end. In the real objc cache the images' export
# tries lie together at the start of the shared LINKEDIT, before every
# symbol table; the cut keeps the first page of it (libhello's own trie)
# and drops the rest: libobjc's trie, against which libhello's binds are
# resolved, and libhello's symbol tables. With the cache-wide export index
# this faulted inside the index's build (the deadlock; the test hangs on
# that code). With per-image export sets libhello's own symbol tables are
# read first, so it faults there; a fault inside an export-set parse is
# tested in tests/unit/test_symbols.c. Every step has a timeout: a hang is a
# failure, not a stuck test.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

need_fakestat

cache="$WORK/c"
cp "$CACHES/dyld_shared_cache_arm64-macOS-objc" "$cache"
mp="$WORK/mnt"
# nowarm: nothing may read the tries before the truncation.
FG_RUN=$(fakestat_run "$cache") mount_fg "$cache" "$mp" -o cache_size=64M,nowarm
# A daemon left hanging by a failure is killed, not left behind.
trap 'kill -9 $pid 2> /dev/null; cleanup' EXIT
mountpoint -q "$mp" || fail "mount did not come up: $(cat "$WORK/log")"

# LINKEDIT starts at file offset 0x80000; libobjc's trie at 0x80bc0 runs
# past 0x81000.
truncate -s $((0x81000)) "$cache"

t() { timeout -k 2 20 "$@"; }
t cat "$mp/usr/lib/libhello-1.0.dylib" > /dev/null 2> "$WORK/err"
rc=$?
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "the first extraction hung"
[ $rc -ne 0 ] || fail "libhello read past the truncation"
grep -q 'Input/output error' "$WORK/err" || fail "expected EIO, got $(cat "$WORK/err")"
grep -q 'libhello-1.0.dylib: extraction failed: .*unreadable' "$WORK/log" ||
    fail "the SIGBUS did not happen during libhello's extraction: $(cat "$WORK/log")"
kill -0 "$pid" 2> /dev/null || fail "the daemon died of SIGBUS"

# What hung before: any later extraction or size, and a listing.
for img in libc++.1.dylib libobjc.A.dylib system/libdyld.dylib; do
    t stat -c %s "$mp/usr/lib/$img" > /dev/null 2>&1
    rc=$?
    [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "stat of $img hung after the SIGBUS"
    t cat "$mp/usr/lib/$img" > /dev/null 2>&1
    rc=$?
    [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "reading $img hung after the SIGBUS"
done
t ls -lR "$mp" > /dev/null 2>&1
rc=$?
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "ls -lR hung after the SIGBUS"
kill -0 "$pid" 2> /dev/null || fail "the daemon died"

t fusermount3 -u "$mp" || fail "unmount failed or hung"
MOUNTS=""
t sh -c "while kill -0 $pid 2> /dev/null; do sleep 0.1; done" || fail "the daemon did not exit after unmount"
wait "$pid" || fail "daemon exit status $? after unmount"
exit 0

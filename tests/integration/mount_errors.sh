#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_errors.sh — a malformed cache or bad option fails to mount with one
# clear line and a non-zero exit; a cache truncated or replaced under a
# running mount gives EIO for images not yet extracted while the daemon
# lives on and keeps serving what it has; SIGTERM/SIGINT shut down cleanly.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

mp="$WORK/mnt"
mkdir "$mp"
for f in "$DSC_TESTDATA"/malformed/*; do
    if "$DSCFS" "$f" "$mp" 2> "$WORK/err"; then
        fusermount3 -u "$mp"
        fail "$f mounted"
    fi
    [ "$(wc -l < "$WORK/err")" = 1 ] || fail "$f: error is not one line: $(cat "$WORK/err")"
    grep -q "$f" "$WORK/err" || fail "$f: error does not name the file"
    ! mountpoint -q "$mp" || fail "$f: left a mount behind"
done
objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"
if "$DSCFS" -o cache_size=lots "$objc" "$mp" 2> "$WORK/err"; then fail "cache_size=lots accepted"; fi
grep -q 'cache_size' "$WORK/err" || fail "bad cache_size: $(cat "$WORK/err")"
if "$DSCFS" "$WORK/nonexistent" "$mp" 2> "$WORK/err"; then fail "missing cache accepted"; fi
[ "$(wc -l < "$WORK/err")" = 1 ] || fail "missing cache: not one line"

# Truncation under the mount.
cp "$objc" "$WORK/trunc.cache"
mount_cache "$WORK/trunc.cache" "$mp" -o cache_size=64M
"$DSCFS" --extract /usr/lib/libobjc.A.dylib "$objc" -o "$WORK/objc.want" 2> /dev/null || fail "--extract"
cmp "$mp/usr/lib/libobjc.A.dylib" "$WORK/objc.want" || fail "libobjc before truncation"
truncate -s 4096 "$WORK/trunc.cache"
if cat "$mp/usr/lib/libc++.1.dylib" > /dev/null 2> "$WORK/err"; then fail "read after truncation succeeded"; fi
grep -q 'Input/output error' "$WORK/err" || fail "truncation: expected EIO, got $(cat "$WORK/err")"
cmp "$mp/usr/lib/libobjc.A.dylib" "$WORK/objc.want" || fail "libobjc not served from the store after truncation"
[ "$(info_value "$mp" cache_intact)" = no ] || fail "info should report the cache as changed"
grep -q '^failed.*/usr/lib/libc++.1.dylib' "$mp/.dscfs/status" || fail "status should show libc++ failed"
ls -lR "$mp" > /dev/null || fail "listing after truncation"
unmount "$mp"

# A size checks the cache files too, every FSYS_CHECK_MS (10 ms) while
# sizes come back to back: one asked for well after the cache was
# replaced fails (the image lists as one byte), although the mapping
# still holds the mounted file and the engine would size it.
cp "$objc" "$WORK/sized.cache"
mount_cache "$WORK/sized.cache" "$mp" -o nowarm
stat "$mp/usr/lib/libobjc.A.dylib" > /dev/null || fail "sized: stat before replacement"
cp "$CACHES/dyld_shared_cache_arm64e-macOS-objc" "$WORK/other" && mv "$WORK/other" "$WORK/sized.cache"
sleep 0.1
[ "$(stat -c %s "$mp/usr/lib/libc++.1.dylib")" = 1 ] || fail "sized: a size computed after replacement"
grep -q '^failed.*/usr/lib/libc++.1.dylib' "$mp/.dscfs/status" || fail "sized: status should show libc++ failed"
unmount "$mp"

# Replacement (a new file renamed over the cache) under the mount.
cp "$objc" "$WORK/repl.cache"
mount_cache "$WORK/repl.cache" "$mp"
cp "$CACHES/dyld_shared_cache_arm64e-macOS-objc" "$WORK/other" && mv "$WORK/other" "$WORK/repl.cache"
if cat "$mp/usr/lib/libobjc.A.dylib" > /dev/null 2> "$WORK/err"; then fail "read after replacement succeeded"; fi
grep -q 'Input/output error' "$WORK/err" || fail "replacement: expected EIO"
[ -r "$mp/.dscfs/info" ] || fail "daemon died after replacement"
unmount "$mp"

# The same in a directory that last changed seconds before, so that checks
# skip walking the cache's path while the directory stays as a walk found
# it (fsys_cache_ok): an unrelated new entry makes them walk and pass; a
# rename over the cache, once settled again, makes them walk and fail.
mkdir "$WORK/settled"
cp "$objc" "$WORK/settled/cache"
sleep 4
mount_cache "$WORK/settled/cache" "$mp" -o nowarm
cmp "$mp/usr/lib/libobjc.A.dylib" "$WORK/objc.want" || fail "settled: libobjc"
touch "$WORK/settled/unrelated"
[ "$(info_value "$mp" cache_intact)" = yes ] || fail "settled: an unrelated new file changed the cache"
sleep 4
stat "$mp/usr/lib/libc++.1.dylib" > /dev/null || fail "settled: stat"
cp "$CACHES/dyld_shared_cache_arm64e-macOS-objc" "$WORK/other" && mv "$WORK/other" "$WORK/settled/cache"
if cat "$mp/usr/lib/libc++.1.dylib" > /dev/null 2> "$WORK/err"; then fail "settled: read after replacement succeeded"; fi
grep -q 'Input/output error' "$WORK/err" || fail "settled: replacement: expected EIO"
[ "$(info_value "$mp" cache_intact)" = no ] || fail "settled: info should report the cache as replaced"
unmount "$mp"

# Clean shutdown on SIGTERM and SIGINT (foreground daemon).
for sig in TERM INT; do
    mount_fg "$objc" "$mp"
    cat "$mp/usr/lib/liba.dylib" > /dev/null || fail "read in foreground mount"
    kill -"$sig" "$pid"
    wait "$pid" || fail "SIG$sig: exit status $?: $(cat "$WORK/log")"
    ! mountpoint -q "$mp" || fail "SIG$sig left the mount behind"
done
grep -q 'mounted on' "$WORK/log" || fail "-f should log to stderr"

# fstab style: for "PROGRAM#CACHE MP fuse OPTS" mount(8) runs mount.fuse3,
# which runs `PROGRAM CACHE MP -o OPTS` (here with the built dscfs).
if command -v mount.fuse3 > /dev/null && [ "$(id -u)" = 0 ]; then
    mount.fuse3 "$DSCFS#$objc" "$mp" -o ro,allow_other,noatime,cache_size=1M || fail "mount.fuse3"
    MOUNTS="$mp $MOUNTS"
    [ "$(info_value "$mp" memory.cache_size)" = 1048576 ] || fail "fstab options not passed"
    cmp "$mp/usr/lib/libobjc.A.dylib" "$WORK/objc.want" || fail "fstab mount bytes"
    unmount "$mp"
fi
exit 0

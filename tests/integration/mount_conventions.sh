#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_conventions.sh — what FUSE users expect of a mount (issue 13):
# /.dscfs is left out of the root's listing but reachable by name, so
# `cp -r MOUNT` copies images only; its files stat with the size of their
# text now (= the bytes a read returns, also after the text changed) and
# read whole; -o log=FILE gets the background daemon's messages (and an
# unopenable FILE is refused, exit 1); -o max_read=N mounts and serves;
# `mount -t dscfs` and an fstab line of type dscfs work through the
# mount.dscfs helper (put into /sbin by an overlay in a private mount
# namespace), which drops mount(8)'s own options and passes dscfs's exit
# status on; --extract-all makes the same symlinks (aliases, framework
# Versions/Current links) as the mount.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"
objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"
lib=/usr/lib/libobjc.A.dylib
mp="$WORK/mnt"
"$DSCFS" --extract "$lib" "$objc" -o "$WORK/want" || fail "--extract"

# /.dscfs: hidden from readdir, reachable, not copied.
mount_cache "$objc" "$mp" -o nowarm
ls -a "$mp" | grep -qx .dscfs && fail "/.dscfs is listed: $(ls -a "$mp")"
[ -d "$mp/.dscfs" ] && [ -f "$mp/.dscfs/status" ] || fail "/.dscfs is not reachable by name"
cp -r "$mp" "$WORK/copy" || fail "cp -r of the mount"
[ ! -e "$WORK/copy/.dscfs" ] || fail "cp -r copied .dscfs"
cmp "$WORK/copy$lib" "$WORK/want" || fail "cp -r copy of $lib differs"
# The status file: the text current (the copy made every image
# resident), read whole.
cat "$mp/.dscfs/status" > "$WORK/status"
[ "$(grep -c '^resident' "$WORK/status")" = 8 ] || fail "/.dscfs/status is stale: $(cat "$WORK/status")"
unmount "$mp"

# The /.dscfs files' stat size is the length of their text now: equal to
# the bytes a read returns, first from the LOOKUP, then after their text
# changed (an image extracted, the images listed with their sizes), with
# and without a read of them in between.
# same_size FILE WHEN: stat size = bytes read.
same_size() {
    _st=$(stat -c %s "$1") _rd=$(wc -c < "$1")
    [ "$_st" = "$_rd" ] && [ "$_st" -gt 0 ] || fail "$2: $1: stat size $_st, read $_rd bytes"
}
mount_cache "$objc" "$mp" -o nowarm
before=$(stat -c %s "$mp/.dscfs/status")
same_size "$mp/.dscfs/status" "at mount"
same_size "$mp/.dscfs/info" "at mount"
cat "$mp$lib" > /dev/null
[ "$(stat -c %s "$mp/.dscfs/status")" != "$before" ] || fail "/.dscfs/status st_size did not follow an extraction"
same_size "$mp/.dscfs/status" "after an extraction"
ls -lR "$mp" > /dev/null
same_size "$mp/.dscfs/status" "after ls -lR"
same_size "$mp/.dscfs/info" "after ls -lR"
ls -l "$mp/.dscfs" > "$WORK/ls"
[ "$(awk '$NF == "status" { print $5 }' "$WORK/ls")" = "$(wc -c < "$mp/.dscfs/status")" ] ||
    fail "ls -l size of status: $(cat "$WORK/ls")"
unmount "$mp"
# A size changes before a read of the file ever came: LOOKUP's size, then
# an extraction, then stat again.
mount_cache "$objc" "$mp" -o nowarm
before=$(stat -c %s "$mp/.dscfs/status")
cat "$mp$lib" > /dev/null
after=$(stat -c %s "$mp/.dscfs/status")
[ "$after" != "$before" ] || fail "/.dscfs/status st_size stayed $before after an extraction"
[ "$after" = "$(wc -c < "$mp/.dscfs/status")" ] || fail "/.dscfs/status st_size $after, read $(wc -c < "$mp/.dscfs/status")"
unmount "$mp"

# -o log=FILE: the background daemon's lines, with time and pid.
cp "$objc" "$WORK/cache"
mount_cache "$WORK/cache" "$mp" -o nowarm,log="$WORK/log"
grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z dscfs\[[0-9]+\]: $WORK/cache mounted on $mp\$" "$WORK/log" ||
    fail "log=: no mount line: $(cat "$WORK/log")"
cp "$objc" "$WORK/other" && printf x >> "$WORK/other" && mv "$WORK/other" "$WORK/cache"
cat "$mp$lib" > /dev/null 2>&1 && fail "an image of a replaced cache was served"
grep -q "$lib: extraction failed: the cache file changed" "$WORK/log" || fail "log=: no failure line: $(cat "$WORK/log")"
unmount "$mp"
"$DSCFS" -o log="$WORK/no/such/dir/log" "$objc" "$mp" 2> "$WORK/err"
rc=$?
[ "$rc" = 1 ] || fail "an unopenable log= exits $rc, expected 1"
[ "$(wc -l < "$WORK/err")" = 1 ] && grep -q "log=$WORK/no/such/dir/log: cannot open" "$WORK/err" ||
    fail "unopenable log=: $(cat "$WORK/err")"
! mountpoint -q "$mp" || fail "mounted with an unopenable log="

# -o max_read=N: mounts, serves, and says so in /proc/mounts.
mount_cache "$objc" "$mp" -o max_read=65536
grep " $mp fuse.dscfs " /proc/mounts | grep -q 'max_read=65536' || fail "max_read not in /proc/mounts"
cmp "$mp$lib" "$WORK/want" || fail "max_read=65536: $lib differs"
unmount "$mp"

# --extract-all makes the symlinks the mount has: aliases and framework
# Versions/Current links (image 5 made a framework).
with_path "$WORK/fw" 5 '/System/Library/Frameworks/Hello.framework/Versions/A/Hello'
links() {
    (cd "$1" && find . -type l | while read -r l; do echo "$l -> $(readlink "$l")"; done | sort)
}
mount_cache "$WORK/fw" "$mp" -o nowarm
links "$mp" > "$WORK/mount.links"
unmount "$mp"
"$DSCFS" --extract-all "$WORK/fw" "$WORK/fw-out" -j 2 > "$WORK/fw.out" || fail "--extract-all of a framework"
links "$WORK/fw-out" > "$WORK/extract.links"
grep -qx './System/Library/Frameworks/Hello.framework/Versions/Current -> A' "$WORK/extract.links" &&
    grep -qx './System/Library/Frameworks/Hello.framework/Hello -> Versions/Current/Hello' "$WORK/extract.links" ||
    fail "--extract-all made no framework links: $(cat "$WORK/extract.links")"
cmp -s "$WORK/mount.links" "$WORK/extract.links" ||
    fail "--extract-all's links differ from the mount's: $(diff "$WORK/mount.links" "$WORK/extract.links")"
cmp "$WORK/fw-out/System/Library/Frameworks/Hello.framework/Hello" \
    "$WORK/fw-out/System/Library/Frameworks/Hello.framework/Versions/A/Hello" || fail "framework link does not lead to the image"

# mount -t dscfs and fstab, through mount.dscfs in /sbin (a private mount
# namespace whose /usr/sbin is overlaid with the helper).
helper="${top_builddir:-.}/mount.dscfs"
[ -f "$helper" ] || fail "$helper is not built"
if ! command -v unshare > /dev/null || ! unshare -m true 2> /dev/null; then
    echo "mount_conventions: no private mount namespace here: mount -t dscfs not tried"
    exit 0
fi
mkdir "$WORK/sbin"
dscfs_abs=$(cd "$(dirname "$DSCFS")" && pwd)/$(basename "$DSCFS")
sed "s|^DSCFS=.*|DSCFS=$dscfs_abs|" "$helper" > "$WORK/sbin/mount.dscfs" && chmod +x "$WORK/sbin/mount.dscfs"
printf '%s %s dscfs nowarm,nofail,x-systemd.automount,noauto 0 0\n' "$objc" "$mp" > "$WORK/fstab"
cat > "$WORK/ns.sh" <<'NS'
set -u
WORK=$1 objc=$2 mp=$3 lib=$4
trap 'fusermount3 -u "$mp" 2> /dev/null; umount /usr/sbin 2> /dev/null' EXIT
sbin=$(readlink -f /sbin)
mount -t overlay overlay -o "lowerdir=$WORK/sbin:$sbin" "$sbin" || { echo "no overlayfs"; exit 77; }
[ -x /sbin/mount.dscfs ] || { echo "FAIL: /sbin/mount.dscfs not in place"; exit 1; }
mount -t dscfs -o ro,nowarm,noauto,x-foo,defaults "$objc" "$mp" || { echo "FAIL: mount -t dscfs"; exit 1; }
grep -q " $mp fuse.dscfs ro," /proc/mounts || { echo "FAIL: mount -t dscfs: $(grep " $mp " /proc/mounts)"; exit 1; }
cmp "$mp$lib" "$WORK/want" || { echo "FAIL: mount -t dscfs serves another $lib"; exit 1; }
fusermount3 -u "$mp"
mount -T "$WORK/fstab" "$mp" || { echo "FAIL: mount of an fstab line"; exit 1; }
mountpoint -q "$mp" || { echo "FAIL: fstab line: nothing mounted"; exit 1; }
fusermount3 -u "$mp"
mount -t dscfs -o no_such_option "$objc" "$mp" 2> "$WORK/err"
rc=$?
[ "$rc" = 2 ] && grep -q "unknown option" "$WORK/err" || { echo "FAIL: bad option: exit $rc, $(cat "$WORK/err")"; exit 1; }
mount -t dscfs "$WORK/no-cache" "$mp" 2> "$WORK/err"
rc=$?
[ "$rc" = 1 ] && grep -q "$WORK/no-cache: cannot open" "$WORK/err" || { echo "FAIL: no cache: exit $rc, $(cat "$WORK/err")"; exit 1; }
! mountpoint -q "$mp" || { echo "FAIL: something mounted"; exit 1; }
exit 0
NS
unshare -m --propagation private sh "$WORK/ns.sh" "$WORK" "$objc" "$mp" "$lib" > "$WORK/ns.out" 2>&1
rc=$?
if [ "$rc" = 77 ]; then
    echo "mount_conventions: $(cat "$WORK/ns.out"): mount -t dscfs not tried"
    exit 0
fi
[ "$rc" = 0 ] || fail "mount -t dscfs: $(cat "$WORK/ns.out")"
exit 0

# SPDX-License-Identifier: BSD-2-Clause
# mountlib.sh — helpers for the mount tests (sourced after lib.sh).
# Every mount made through mount_cache is unmounted by an EXIT trap, even
# when the test fails half way.
[ "${DSCFS_FUSE:-yes}" = yes ] || skip "dscfs was configured with --disable-fuse"
command -v fusermount3 > /dev/null || skip "fusermount3 is not installed"
[ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse is not usable here"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dscfs-mount.XXXXXX") || exit 99
MOUNTS=""
cleanup() {
    for m in $MOUNTS; do
        fusermount3 -u "$m" 2> /dev/null || fusermount3 -uz "$m" 2> /dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# mount_cache CACHE MOUNTPOINT [dscfs options...]: mount (daemonized).
mount_cache() {
    _cache=$1 _mp=$2
    shift 2
    mkdir -p "$_mp" || fail "mkdir $_mp"
    MOUNTS="$_mp $MOUNTS"
    "$DSCFS" "$@" "$_cache" "$_mp" || fail "mounting $_cache failed"
    mountpoint -q "$_mp" || fail "$_mp is not a mount point after mounting $_cache"
}

unmount() {
    fusermount3 -u "$1" || fail "fusermount3 -u $1"
}

# info_value MOUNTPOINT KEY: a "key = value" line of /.dscfs/info.
info_value() {
    sed -n "s/^$2 = //p" "$1/.dscfs/info"
}

# Image paths (not aliases) of a cache, one per line.
image_paths() {
    "$DSCFS" --list "$1" | grep -v ' -> '
}

# Sets $shim to the LD_PRELOAD shim that keeps a truncated cache's old
# size and mtime (fakestat.so); skips when it is missing or unusable.
need_fakestat() {
    shim="${top_builddir:-.}/tests/integration/fakestat.so"
    [ -f "$shim" ] || skip "$shim is not built"
    LD_PRELOAD="$shim" "$DSCFS" --version > /dev/null 2>&1 \
        || skip "this dscfs cannot take an LD_PRELOAD shim (sanitizer build?)"
}

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

# mount_fg CACHE MOUNTPOINT [dscfs options...]: a foreground daemon run as
# a background job; $pid, its stderr in $WORK/log. $FG_RUN (a wrapper such
# as valgrind, or VAR=value words) goes between env and dscfs; FG_WAIT
# tenths of a second (default 50) for the mount to come up. SIGINT is
# restored: sh starts background jobs with it ignored, which libfuse keeps.
mount_fg() {
    _cache=$1 _mp=$2
    shift 2
    mkdir -p "$_mp" || fail "mkdir $_mp"
    MOUNTS="$_mp $MOUNTS"
    # shellcheck disable=SC2086
    env --default-signal=INT ${FG_RUN:-} "$DSCFS" -f "$@" "$_cache" "$_mp" 2> "$WORK/log" &
    pid=$!
    _i=0
    while [ "$_i" -lt "${FG_WAIT:-50}" ]; do
        mountpoint -q "$_mp" && return 0
        _i=$((_i + 1))
        sleep 0.1
    done
    fail "the mount of $_cache did not come up: $(cat "$WORK/log")"
}

# stop_fg MOUNTPOINT: SIGTERM to $pid; the daemon must exit 0 and leave no
# mount behind.
stop_fg() {
    kill -TERM "$pid"
    wait "$pid" || fail "the daemon exited $? at SIGTERM: $(cat "$WORK/log")"
    ! mountpoint -q "$1" || fail "SIGTERM left the mount of $1 behind"
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

# fakestat_run FILE: the FG_RUN words that make the shim report FILE's
# present inode, size and mtime for ever.
fakestat_run() {
    echo "FAKESTAT_INO=$(stat -c %i "$1") FAKESTAT_SIZE=$(stat -c %s "$1")" \
        "FAKESTAT_MTIME=$(stat -c %.9Y "$1") LD_PRELOAD=$shim"
}

# no_pins_left MP WHAT [READS]: after reads that covered every image and
# ended, every pinned byte is an image being read (store.pinned equals
# reading.bytes: a leaked pin fails) and no image is being read: reading.c
# lets an image go once each page was served, however often the kernel
# asked for one again. READS, requests.read before a pass over files the
# kernel had cached, allows up to 8 images being read if that pass sent
# READs: this VM's reclaim (kdamond) drops cold file pages early, and a
# file whose pages were dropped in part is read again in part, which pins
# its image as a new partial read (by design: its other pages may follow).
no_pins_left() {
    reading=$(info_value "$1" reading)
    pinned=$(info_value "$1" store.pinned)
    [ "$pinned" = "$(info_value "$1" reading.bytes)" ] \
        || fail "$2: $pinned bytes pinned, $(info_value "$1" reading.bytes) by the $reading images being read"
    [ "$reading" = 0 ] && return 0
    [ -n "${3:-}" ] && [ "$(info_value "$1" requests.read)" -gt "$3" ] \
        || fail "$2: $reading images being read after reads that covered them"
    [ "$reading" -le 8 ] || fail "$2: $reading images being read, at most 8"
    echo "note: $2: $reading images re-read in part (pages reclaimed), pinned by design"
}

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# soak.sh SECONDS READERS — the mount under load: READERS threads of
# soak_read for SECONDS over a builder split cache (arm64e, dyld-940 with
# subcaches and .symbols) mounted with cache_size=64K, every random pread
# compared with --extract-all's output, the daemon's RSS sampled every two
# seconds; then the same readers while the cache is cut short under the
# mount, while it is replaced, and while the daemon gets SIGTERM. Any wrong
# byte, a daemon that dies or exits non-zero, a mount left behind, or RSS
# that is not flat fails: idle (readers stopped, the last file closed, so
# the daemon has trimmed its heap) after the run it may exceed its idle
# level after a warm-up of the same readers by a quarter plus 4 MB at most.
# Under load RSS swings with the requests in flight (extractions, reply
# buffers), so it is printed (min, median, max), not judged. Prints its
# figures. `make soak` runs it (SOAK_SECONDS,
# SOAK_READERS); make check runs a short one (soak_smoke.sh).
set -u
seconds=${1:-600}
readers=${2:-64}
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
DSCFS=${DSCFS:-$top_builddir/dscfs}
READ=$top_builddir/tests/soak/soak_read
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/mountlib.sh"

DSCBUILD=$top_builddir/tests/builder/dscbuild DSCCHECK=$top_builddir/tests/builder/dsccheck \
    "$top_srcdir/tests/builder/make-caches.sh" "$WORK/caches" arm64e > /dev/null
case $? in 0) ;; 77) skip "the builder's toolchain is missing" ;; *) fail "make-caches.sh" ;; esac
src=$(awk -F'\t' '$1 == "arm64e-v5-0x1c8-split" { print $2 }' "$WORK/caches/caches.list")
[ -n "$src" ] || fail "no arm64e-v5-0x1c8-split cache"
"$DSCFS" --extract-all "$src" "$WORK/ref" > /dev/null || fail "--extract-all $src"
"$DSCFS" --list "$src" | grep -v ' -> ' > "$WORK/paths"
mp="$WORK/mnt"
mkdir -p "$mp"

# fresh_set: a private copy of the set (it gets cut and replaced).
fresh_set() {
    rm -rf "$WORK/set" && mkdir "$WORK/set" && cp "$src" "$src".[0-9]* "$src".symbols "$WORK/set/" ||
        fail "copying the set"
    set_main=$WORK/set/$(basename "$src")
}
# mount_set: the set mounted in the foreground with a 64 KiB budget.
mount_set() { FG_WAIT=100 mount_fg "$set_main" "$mp" -o cache_size=64K; }
# readers SECONDS: the readers, figures to $WORK/figures.
readers() {
    # shellcheck disable=SC2046
    "$READ" "$readers" "$1" "$mp" "$WORK/ref" $(cat "$WORK/paths") > "$WORK/figures" 2> "$WORK/wrong" ||
        fail "wrong bytes: $(cat "$WORK/figures"; head -5 "$WORK/wrong")"
}
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2> /dev/null; }
# idle_rss: the readers have stopped; one more open and close of a file
# makes sure the last close came after every read, then RSS.
idle_rss() {
    sleep 1
    cat "$mp/.dscfs/info" > /dev/null || fail "reading /.dscfs/info"
    sleep 1
    rss
}

# 1. Steady load: idle RSS after a warm-up and after the run, RSS sampled.
fresh_set
mount_set
warmup=$((seconds < 10 ? seconds : 10))
readers "$warmup"
warm=$(idle_rss)
(while kill -0 "$pid" 2> /dev/null; do rss; sleep 2; done) > "$WORK/rss" &
sampler=$!
readers "$seconds"
kill "$sampler" 2> /dev/null
kill -0 "$pid" 2> /dev/null || fail "the daemon died under load: $(cat "$WORK/log")"
steady=$(cat "$WORK/figures")
idle=$(idle_rss)
set -- $(sort -n "$WORK/rss" | awk '{ v[NR] = $1 } END { print v[1] + 0, v[int((NR + 1) / 2)] + 0, v[NR] + 0, NR }')
[ "$idle" -le $((warm * 5 / 4 + 4096)) ] || fail "RSS grew: idle at $warm kB after warm-up, at $idle kB after the run"
stop_fg "$mp"
echo "soak: $readers readers x $seconds s, cache_size=64K: $steady"
echo "soak: daemon RSS idle: $warm kB after a ${warmup} s warm-up, $idle kB after the run (flat);" \
    "under load: min $1, median $2, max $3 kB ($4 samples)"

# 2. The cache cut short under the readers: reads fail, none is wrong.
fresh_set
mount_set
(sleep 2; truncate -s 4096 "$set_main"; truncate -s 4096 "$set_main.1") &
readers 6
kill -0 "$pid" 2> /dev/null || fail "the daemon died after truncation: $(cat "$WORK/log")"
echo "soak: truncation under $readers readers: $(cat "$WORK/figures")"
stop_fg "$mp"

# 3. The cache replaced (a new file renamed over it) under the readers.
fresh_set
mount_set
(sleep 2; cp "$src" "$WORK/other" && mv "$WORK/other" "$set_main") &
readers 6
kill -0 "$pid" 2> /dev/null || fail "the daemon died after replacement: $(cat "$WORK/log")"
echo "soak: replacement under $readers readers: $(cat "$WORK/figures")"
stop_fg "$mp"

# 4. SIGTERM under the readers: exit 0, clean unmount.
fresh_set
mount_set
(sleep 2; kill -TERM "$pid") &
killer=$!
# shellcheck disable=SC2046
"$READ" "$readers" 4 "$mp" "$WORK/ref" $(cat "$WORK/paths") > "$WORK/figures" ||
    fail "wrong bytes around SIGTERM: $(cat "$WORK/figures")"
wait "$killer"
wait "$pid" || fail "the daemon exited $? at SIGTERM under load: $(cat "$WORK/log")"
! mountpoint -q "$mp" || fail "SIGTERM under load left the mount behind"
echo "soak: SIGTERM under $readers readers: exit 0, unmounted; $(cat "$WORK/figures")"
exit 0

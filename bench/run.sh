#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# run.sh — `make bench`: build the large cache once (tests/builder/bench.sh:
# ~5000 images, >1 GB, split arm64e with .symbols), run the extraction
# benchmark (bench_extract) and the mount benchmark (mount_bench.sh) on it and
# on the shared real caches, and print one table: every number next to the
# baseline measured in the same run, and their ratio (how bench/README reads
# them). The large cache and all outputs live in one work directory (on
# /dev/shm when it has room, so disk speed stays out of the ratios), removed
# at the end.
#   JOBS=N        --extract-all threads (default: the number of CPUs)
#   BENCH_SMALL=0 skip the shared real caches
set -eu
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
DSCFS=$top_builddir/dscfs
TESTDATA=${DSC_TESTDATA:-$top_srcdir/../shared/testdata}
JOBS=${JOBS:-$(nproc 2> /dev/null || echo 2)}

base=${TMPDIR:-/tmp}
free_kb=$(df -Pk /dev/shm 2> /dev/null | awk 'NR == 2 { print $4 }')
[ "${free_kb:-0}" -gt 8000000 ] && base=/dev/shm
W=$(mktemp -d "$base/dscfs-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
results=$W/results

t0=$(date +%s)
echo "== building the large cache (tests/builder/bench.sh) in $W"
rc=0
OUT=$W/large top_srcdir=$top_srcdir top_builddir=$top_builddir BENCH_DIR=$W \
    sh "$top_srcdir/tests/builder/bench.sh" > "$W/build.log" 2>&1 || rc=$?
cat "$W/build.log"
large=
if [ "$rc" = 77 ]; then
    echo "== no clang-19/ld64.lld-19: the large cache is skipped"
elif [ "$rc" != 0 ]; then
    echo "== building the large cache failed"
    exit 1
else
    large=$W/large/dyld_shared_cache_arm64e
    sed -n 's/^bench: \([0-9]*\) images, \([0-9]*\) bytes in \([0-9]*\) files$/\1 \2 \3/p' "$W/build.log" > "$W/shape"
    read -r nimg nbytes nfiles < "$W/shape"
    build_s=$(sed -n 's/^bench: dscbuild \([0-9.]*\) s.*/\1/p' "$W/build.log")
    echo "R|large|dscbuild: $nimg images, $nfiles files|$build_s s ($((nbytes / 1000000)) MB)|-|-" >> "$results"
fi

# bench CACHE LABEL: both benchmarks on one cache.
bench() {
    echo "== $2: $(basename "$1")"
    "$top_builddir/bench/bench_extract" "$DSCFS" "$1" "$2" "$JOBS" "$W" > "$W/one.log" 2>&1 || {
        cat "$W/one.log"; echo "== bench_extract failed on $1"; exit 1; }
    grep -v '^dscfs: warning' "$W/one.log" | tee -a "$W/log"
    sh "$top_srcdir/bench/mount_bench.sh" "$DSCFS" "$top_builddir/bench/bench_read" "$1" "$2" > "$W/one.log" 2>&1 || {
        cat "$W/one.log"; echo "== mount_bench.sh failed on $1"; exit 1; }
    tee -a "$W/log" < "$W/one.log"
}
[ -z "$large" ] || bench "$large" large
if [ "${BENCH_SMALL:-1}" != 0 ]; then
    for c in "$TESTDATA"/caches/dyld_shared_cache_*; do
        [ -f "$c" ] || continue
        bench "$c" "$(basename "$c" | sed 's/^dyld_shared_cache_//')"
    done
fi
grep '^R|' "$W/log" >> "$results"

echo
echo "== dscfs benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(($(date +%s) - t0)) s"
echo "   ratio = dscfs's cost / the baseline's cost (time, or bytes for RSS): 1 = the same, 2 = twice as slow"
{
    echo "cache|measure|dscfs|baseline, same run|ratio"
    cut -d'|' -f2- "$results"
} | column -t -s '|'

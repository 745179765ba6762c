#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_bench.sh DSCFS BENCH_READ CACHE [LABEL] — the mount's costs as ratios against a
# baseline measured in the same run: the same files (from --extract-all) on tmpfs.
#   mount time            dscfs CACHE MP until the mount is up, and unmount
#   ls -lR                on a fresh mount (sizes computed, nothing extracted)
#   first open            open + read of each image on a fresh mount
#                         (extraction included) vs the same on tmpfs
#   cached sequential read  re-reading every image once it is extracted
#   re-read after eviction  the same with a 4K store: page cache, no re-extraction
# Run by `make bench` (bench/run.sh); needs /dev/fuse and fusermount3 (else it says
# so). Besides the prose, each number is one "R|LABEL|metric|value|baseline|ratio"
# line for bench/run.sh's table. The mount's cache_size is twice the extracted
# bytes, so "cached" means cached. DSCFS_BENCH_ROUNDS=N repeats the fresh-mount
# measurements (default 10, 3 above 100 MB of images); cached reads go over at
# least 2 GB in all.
set -u
DSCFS=$1
BENCH_READ=$2
CACHE=$3
LABEL=${4:-$(basename "$CACHE")}
command -v fusermount3 > /dev/null && [ -c /dev/fuse ] || { echo "mount bench: no FUSE here, skipped"; exit 0; }
TMPFS=/dev/shm
[ -d "$TMPFS" ] && [ -w "$TMPFS" ] || TMPFS=${TMPDIR:-/tmp}
W=$(mktemp -d "$TMPFS/dscfs-bench.XXXXXX") || exit 1
MP=$(mktemp -d "${TMPDIR:-/tmp}/dscfs-bench-mnt.XXXXXX") || exit 1
trap 'fusermount3 -u "$MP" 2> /dev/null; rm -rf "$W"; rmdir "$MP"' EXIT

now() { date +%s%N; }
# ms A B: (B - A) nanoseconds as milliseconds, 3 decimals.
ms() { awk -v a="$1" -v b="$2" -v n="${3:-1}" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

"$DSCFS" --extract-all "$CACHE" "$W/tree" > /dev/null 2>&1 || { echo "mount bench: --extract-all failed"; exit 1; }
"$DSCFS" --list "$CACHE" | grep -v ' -> ' > "$W/images"
nimages=$(wc -l < "$W/images")
bytes=$(cd "$W/tree" && sed 's|^/||' "$W/images" | xargs cat | wc -c)
[ "$bytes" -gt 100000000 ] && rounds_default=3 || rounds_default=10
ROUNDS=${DSCFS_BENCH_ROUNDS:-$rounds_default}
budget=$(( (bytes * 2 >> 20) + 64 ))M
echo "mount bench: $(basename "$CACHE"): $nimages images, $bytes bytes extracted, $ROUNDS rounds, cache_size=$budget"
result() { echo "R|$LABEL|$1|$2|$3|$4"; }

mount_up() { "$DSCFS" "$CACHE" "$MP" -o cache_size="$budget" || exit 1; }
mount_down() { fusermount3 -u "$MP" || exit 1; }

# Mount time (no tmpfs equivalent: reported as is).
t0=$(now)
for _ in $(seq "$ROUNDS"); do mount_up; mount_down; done
t1=$(now)
echo "  mount + unmount:        $(ms "$t0" "$t1" "$ROUNDS") ms"
result "mount + unmount" "$(ms "$t0" "$t1" "$ROUNDS") ms" "-" "-"

# ls -lR: fresh mount each round vs the tmpfs tree.
lsfs=0
for _ in $(seq "$ROUNDS"); do
    mount_up
    t0=$(now); ls -lR "$MP" > /dev/null; t1=$(now)
    lsfs=$((lsfs + t1 - t0))
    mount_down
done
t0=$(now)
for _ in $(seq "$ROUNDS"); do ls -lR "$W/tree" > /dev/null; done
t1=$(now)
lstmp=$((t1 - t0))
echo "  ls -lR:                 $(ms 0 "$lsfs" "$ROUNDS") ms vs tmpfs $(ms 0 "$lstmp" "$ROUNDS") ms, ratio $(ratio "$lsfs" "$lstmp")"
result "ls -lR, fresh mount ($nimages images)" "$(ms 0 "$lsfs" "$ROUNDS") ms" "tmpfs $(ms 0 "$lstmp" "$ROUNDS") ms" "$(ratio "$lsfs" "$lstmp")"

# bench_read ROUNDS FILE...: nanoseconds for all the rounds (in one process).
read_ns() { "$BENCH_READ" "$@" | cut -d' ' -f1; }
files_fs=$(sed "s|^|$MP|" "$W/images")
files_tmp=$(sed "s|^|$W/tree|" "$W/images")

# First open + full read of every image on a fresh mount (extraction
# included) vs the first read of the same files on tmpfs after dropping
# nothing: tmpfs has no colder state to start from.
first=0
firsttmp=0
for _ in $(seq "$ROUNDS"); do
    mount_up
    first=$((first + $(read_ns 1 $files_fs)))
    mount_down
    firsttmp=$((firsttmp + $(read_ns 1 $files_tmp)))
done
per=$((ROUNDS * nimages))
echo "  first open+read/image:  $(ms 0 "$first" "$per") ms vs tmpfs $(ms 0 "$firsttmp" "$per") ms, ratio $(ratio "$first" "$firsttmp")"
result "first open+read, per image" "$(ms 0 "$first" "$per") ms" "tmpfs $(ms 0 "$firsttmp" "$per") ms" "$(ratio "$first" "$firsttmp")"

# Cached sequential reads: every image, extracted once, read many times.
mount_up
read_ns 1 $files_fs > /dev/null
reps=$(( 2000000000 / bytes + 1 ))
seqfs=$(read_ns "$reps" $files_fs)
seqtmp=$(read_ns "$reps" $files_tmp)
mbps() { awk -v b="$bytes" -v r="$reps" -v ns="$1" 'BEGIN { printf "%.1f", b * r / (ns / 1e9) / 1048576 }'; }
echo "  cached sequential read: $(mbps "$seqfs") MiB/s vs tmpfs $(mbps "$seqtmp") MiB/s, time ratio $(ratio "$seqfs" "$seqtmp")"
result "cached sequential read ($reps passes)" "$(mbps "$seqfs") MiB/s" "tmpfs $(mbps "$seqtmp") MiB/s" "$(ratio "$seqfs" "$seqtmp")"
grep -E '^store\.(misses|hits)' "$MP/.dscfs/info" | tr '\n' ' ' | sed 's/^/  /; s/ $/\n/'
mount_down

# Re-reading with a store budget below the output (4K: nothing stays in the
# store): the kernel's page cache still has the files, so a second pass
# should cost opens and page-cache reads, not extractions.
"$DSCFS" "$CACHE" "$MP" -o cache_size=4K,nowarm || exit 1
read_ns 1 $files_fs > /dev/null
again=$(read_ns 1 $files_fs)
misses=$(sed -n 's/^store.misses = //p' "$MP/.dscfs/info")
mount_down
againtmp=$(read_ns 1 $files_tmp)
echo "  re-read, cache_size=4K: $(ms 0 "$again") ms vs tmpfs $(ms 0 "$againtmp") ms, ratio $(ratio "$again" "$againtmp"); $misses extractions for $nimages images"
result "re-read after eviction (cache_size=4K)" "$(ms 0 "$again") ms, $misses extractions" "tmpfs $(ms 0 "$againtmp") ms" "$(ratio "$again" "$againtmp")"

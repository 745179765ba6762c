#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_bench.sh DSCFS BENCH_READ CACHE [LABEL] — the mount's costs (issue 12's
# table) as ratios against a baseline measured in the same run: the same files
# (from --extract-all) on tmpfs, and bench/fuse_ceiling (beside BENCH_READ), a
# minimal FUSE server serving those bytes from memory, the ceiling for FUSE.
#   mount + unmount        dscfs -o nowarm,cache_size=64M vs fuse_ceiling on an
#                          empty tree (the FUSE mount itself)
#   first open+read of ONE image (median and largest) on a fresh mount
#                          -o nowarm,cache_size=64M, and the daemon's RSS after
#                          it, vs the target 32 MiB + the image
#   RSS after reading every image once, cache_size=64M, vs 64 + 32 MiB
#   ls -lR                 on a fresh mount (sizes computed, nothing extracted;
#                          how many the engine computed: one per image when
#                          none is sized twice);
#                          the same through fuse_ceiling
#   FUSE requests          per ls -lR of a fresh mount and per cached re-read
#                          of every image, counted in libfuse's debug log
#                          (-d), for dscfs and for fuse_ceiling
#   first open+read        of each image on a fresh mount (extraction included)
#   the same from a second mount with -o cache_dir filled by a first one
#   cached sequential read re-reading every image once it is extracted; the
#                          same through fuse_ceiling, and through fuse_ceiling
#                          --noopen (no OPEN/RELEASE round trips)
#   open+close, cached     open(2)+close(2) per file (no request reaches dscfs)
#   re-read after eviction the same with a 4K store: page cache, no re-extraction
# Run by `make bench` (bench/run.sh); needs /dev/fuse and fusermount3 (else it says
# so). Besides the prose, each number is one "R|LABEL|metric|value|baseline|ratio"
# line for bench/run.sh's table. DSCFS_BENCH_ROUNDS=N repeats the fresh-mount
# measurements (default 10, 3 above 100 MB of images); cached reads go over at
# least 4 GB in all, alternating with the same reads on tmpfs.
set -u
DSCFS=$1
BENCH_READ=$2
CACHE=$3
LABEL=${4:-$(basename "$CACHE")}
command -v fusermount3 > /dev/null && [ -c /dev/fuse ] || { echo "mount bench: no FUSE here, skipped"; exit 0; }
# In a build tree DSCFS is libtool's wrapper, a bash script that runs sed
# and ls before it starts the real program: time the program, not that.
lt=$(cd "$(dirname "$DSCFS")" && pwd)/.libs
if [ -x "$lt/$(basename "$DSCFS")" ] && head -n 1 "$DSCFS" | grep -q '^#!'; then
    DSCFS=$lt/$(basename "$DSCFS")
    LD_LIBRARY_PATH=$lt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
fi
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

CEILING=${BENCH_CEILING:-$(dirname "$BENCH_READ")/fuse_ceiling}
[ -x "$CEILING" ] || CEILING=
SMALL="-o nowarm,cache_size=64M"   # the issue's fresh-mount settings
mount_up() { "$DSCFS" "$CACHE" "$MP" -o cache_size="$budget" "$@" || exit 1; }
mount_down() { fusermount3 -u "$MP" || exit 1; }
info() { sed -n "s/^$1 = //p" "$MP/.dscfs/info"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
# bench_read ROUNDS FILE...: nanoseconds for all the rounds (in one process).
read_ns() { "$BENCH_READ" "$@" | cut -d' ' -f1; }
# fill: read every image, untimed, until the kernel holds them all: passes
# until one sends no READ to dscfs (requests.read in /.dscfs/info; at most
# 5), through fuse_ceiling 2. One is not enough: the slow first pass (the
# extractions) loses pages to this VM's reclaim before it ends. That
# reclaim (kdamond: DAMON, paddr "pageout", 5 s aggregations) also drops
# some of a FUSE mount's file pages every 5 s however often they are read
# (tmpfs is exempt: no swap): the READs that bring them back during the
# timed passes are counted and shown.
fill() {
    _n=0
    until [ "$_n" = 5 ]; do
        _r=$(info requests.read 2> /dev/null)
        read_ns 1 $files_fs > /dev/null
        _n=$((_n + 1))
        if [ -n "$_r" ]; then [ "$(info requests.read)" != "$_r" ] || break; else [ "$_n" -lt 2 ] || break; fi
    done
}
# timed_reads REPS: $fs_ns and $tmp_ns, nanoseconds for REPS passes over
# every image through the mount and on tmpfs, taken in 4 alternating
# rounds so that a burst of load on the machine falls on both alike.
timed_reads() {
    fs_ns=0 tmp_ns=0
    for _ in 1 2 3 4; do
        fs_ns=$((fs_ns + $(read_ns $((($1 + 3) / 4)) $files_fs)))
        tmp_ns=$((tmp_ns + $(read_ns $((($1 + 3) / 4)) $files_tmp)))
    done
}
files_fs=$(sed "s|^|$MP|" "$W/images")
files_tmp=$(sed "s|^|$W/tree|" "$W/images")

# Mount time vs the FUSE mount itself (fuse_ceiling on an empty tree).
t0=$(now)
for _ in $(seq "$ROUNDS"); do "$DSCFS" "$CACHE" "$MP" $SMALL || exit 1; mount_down; done
t1=$(now)
base="-"
if [ -n "$CEILING" ]; then
    mkdir -p "$W/empty"
    c0=$(now)
    for _ in $(seq "$ROUNDS"); do "$CEILING" "$W/empty" "$MP" || exit 1; mount_down; done
    c1=$(now)
    base="FUSE alone $(ms "$c0" "$c1" "$ROUNDS") ms"
fi
echo "  mount + unmount:        $(ms "$t0" "$t1" "$ROUNDS") ms vs $base (target <= 50 ms)"
result "mount + unmount (target <= 50 ms)" "$(ms "$t0" "$t1" "$ROUNDS") ms" "$base" \
    "$([ -n "$CEILING" ] && ratio $((t1 - t0)) $((c1 - c0)) || echo -)"

# First open+read of ONE image on a fresh mount: the median-sized image and
# the largest; then the daemon's memory after it (target: 32 MiB + image).
(cd "$W/tree" && sed 's|^/||' "$W/images" | xargs stat -c '%s /%n') | sort -n > "$W/sizes"
median=$(sed -n "$(( (nimages + 1) / 2 ))p" "$W/sizes")
largest=$(tail -n 1 "$W/sizes")
for which in median largest; do
    eval "set -- \$$which"
    size=$1 path=$2
    one=0 onetmp=0 anon=0 rss=0
    for _ in $(seq "$ROUNDS"); do
        "$DSCFS" "$CACHE" "$MP" $SMALL || exit 1
        one=$((one + $(read_ns 1 "$MP$path")))
        anon=$(info memory.anonymous)
        rss=$((anon + $(info memory.file)))
        mount_down
        onetmp=$((onetmp + $(read_ns 1 "$W/tree$path")))
    done
    target=$([ $which = median ] && echo 10 || echo 50)
    echo "  first open+read, $which image ($size bytes): $(ms 0 "$one" "$ROUNDS") ms vs tmpfs $(ms 0 "$onetmp" "$ROUNDS") ms (target <= $target ms); daemon anon $(mib "$anon"), RSS $(mib "$rss")"
    result "first open+read of ONE image, $which ($(mib "$size"); target <= $target ms)" "$(ms 0 "$one" "$ROUNDS") ms" "tmpfs $(ms 0 "$onetmp" "$ROUNDS") ms" "$(ratio "$one" "$onetmp")"
    limit=$(( (32 << 20) + size ))
    result "daemon RSS after that open ($which; target <= 32 MiB + image)" "anon $(mib "$anon"), RSS $(mib "$rss")" "target $(mib "$limit")" "$(ratio "$rss" "$limit")"
done

# Memory after reading every image once with cache_size=64M (target:
# anonymous <= 64 + 32 MiB; file-backed cache pages shown apart).
"$DSCFS" "$CACHE" "$MP" $SMALL || exit 1
read_ns 1 $files_fs > /dev/null
anon=$(info memory.anonymous)
file=$(info memory.file)
mount_down
limit=$(( 96 << 20 ))
echo "  after reading every image, cache_size=64M: anon $(mib "$anon"), file-backed $(mib "$file")"
result "daemon anon after reading all, cache_size=64M (target <= 96 MiB)" "anon $(mib "$anon") (+ $(mib "$file") file)" "target $(mib "$limit")" "$(ratio "$anon" "$limit")"

# ls -lR: fresh mount each round vs the tmpfs tree (target <= 10x).
# The sizes the engine computed for it (and the warming threads meanwhile):
# one per image when nothing is sized twice.
lsfs=0 lssizes=
for _ in $(seq "$ROUNDS"); do
    mount_up
    t0=$(now); ls -lR "$MP" > /dev/null; t1=$(now)
    lsfs=$((lsfs + t1 - t0))
    lssizes="$lssizes $(info sizes)"
    mount_down
done
t0=$(now)
for _ in $(seq "$ROUNDS"); do ls -lR "$W/tree" > /dev/null; done
t1=$(now)
lstmp=$((t1 - t0))
echo "  ls -lR:                 $(ms 0 "$lsfs" "$ROUNDS") ms vs tmpfs $(ms 0 "$lstmp" "$ROUNDS") ms, ratio $(ratio "$lsfs" "$lstmp")"
echo "  sizes computed per ls -lR:$lssizes ($nimages images)"
result "ls -lR, fresh mount ($nimages images; target <= 10)" "$(ms 0 "$lsfs" "$ROUNDS") ms" "tmpfs $(ms 0 "$lstmp" "$ROUNDS") ms" "$(ratio "$lsfs" "$lstmp")"
if [ -n "$CEILING" ]; then
    lsc=0
    for _ in $(seq "$ROUNDS"); do
        "$CEILING" "$W/tree" "$MP" || exit 1
        t0=$(now); ls -lR "$MP" > /dev/null; t1=$(now)
        lsc=$((lsc + t1 - t0))
        mount_down
    done
    echo "  ls -lR, FUSE ceiling:   $(ms 0 "$lsc" "$ROUNDS") ms, ratio $(ratio "$lsc" "$lstmp")"
    result "ls -lR, fresh mount, FUSE ceiling" "$(ms 0 "$lsc" "$ROUNDS") ms" "tmpfs $(ms 0 "$lstmp" "$ROUNDS") ms" "$(ratio "$lsc" "$lstmp")"
fi

# FUSE requests per ls -lR of a fresh mount and per cached re-read of every
# image: one mount in the foreground with -d, where libfuse logs each
# request it receives as "opcode: NAME"; the lines logged while the
# workload runs are counted (after it, what is in flight has arrived).
debug_up() {
    "$@" > /dev/null 2> "$W/dlog" &
    dpid=$!
    i=0
    until mountpoint -q "$MP"; do
        i=$((i + 1))
        [ "$i" -lt 300 ] || { echo "mount bench: $1 -d did not mount"; exit 1; }
        sleep 0.1
    done
}
debug_down() { mount_down; wait "$dpid"; }
mark() { mark=$(wc -l < "$W/dlog"); }
# "TOTAL (N OPCODE, ...)" for the requests logged since the mark.
counted() {
    tail -n +"$((mark + 1))" "$W/dlog" | sed -n 's/.*opcode: \([A-Z_0-9]*\).*/\1/p' | sort | uniq -c | sort -rn \
        | awk '{ n += $1; l = l (NR > 1 ? ", " : "") $1 " " $2 } END { printf "%d (%s)", n, l }'
}
# requests WHO CMD...: counts for an ls -lR, then for a re-read (after a
# first read) of every image, through the server CMD runs in debug mode.
requests() {
    who=$1
    shift
    debug_up "$@"
    mark; ls -lR "$MP" > /dev/null; lsreq=$(counted)
    fill
    mark; read_ns 1 $files_fs > /dev/null; rereq=$(counted)
    debug_down
    echo "  FUSE requests, $who: ls -lR $lsreq; cached re-read $rereq"
    eval "lsreq_$who=\$lsreq rereq_$who=\$rereq"
}
if command -v mountpoint > /dev/null; then
    requests dscfs "$DSCFS" -d -o cache_size="$budget" "$CACHE" "$MP"
    lsreq_ceiling=- rereq_ceiling=-
    [ -z "$CEILING" ] || requests ceiling "$CEILING" -d "$W/tree" "$MP"
    result "FUSE requests per ls -lR, fresh mount" "$lsreq_dscfs" "ceiling $lsreq_ceiling" -
    result "FUSE requests per cached re-read of every image" "$rereq_dscfs" "ceiling $rereq_ceiling" -
fi

# First open + full read of every image on a fresh mount (extraction
# included) vs the first read of the same files on tmpfs after dropping
# nothing: tmpfs has no colder state to start from. The first round also
# fills a persistent store (-o cache_dir) for the next measurement.
first=0
firsttmp=0
for r in $(seq "$ROUNDS"); do
    [ "$r" = 1 ] && mount_up -o cache_dir="$W/store" || mount_up
    first=$((first + $(read_ns 1 $files_fs)))
    mount_down
    firsttmp=$((firsttmp + $(read_ns 1 $files_tmp)))
done
per=$((ROUNDS * nimages))
echo "  first open+read/image:  $(ms 0 "$first" "$per") ms vs tmpfs $(ms 0 "$firsttmp" "$per") ms, ratio $(ratio "$first" "$firsttmp")"
result "first open+read, per image" "$(ms 0 "$first" "$per") ms" "tmpfs $(ms 0 "$firsttmp" "$per") ms" "$(ratio "$first" "$firsttmp")"

# The same from a second mount whose -o cache_dir the first round filled.
second=0
for _ in $(seq "$ROUNDS"); do
    mount_up -o cache_dir="$W/store",nowarm
    second=$((second + $(read_ns 1 $files_fs)))
    extracted=$(info extractions)
    mount_down
done
echo "  second mount, cache_dir: $(ms 0 "$second" "$per") ms per image, $extracted extractions"
result "first open+read, 2nd mount with cache_dir" "$(ms 0 "$second" "$per") ms, $extracted extractions" "tmpfs $(ms 0 "$firsttmp" "$per") ms" "$(ratio "$second" "$firsttmp")"

# Cached sequential reads: every image, extracted once, read many times
# (target <= 1.25x tmpfs); then the open+close round trips alone.
# The READs the timed passes still sent (pages the kernel dropped since the
# fill) are counted and shown.
mount_up
fill
reps=$(( (4000000000 / bytes + 4) / 4 * 4 ))
reads0=$(info requests.read)
timed_reads "$reps"
seqfs=$fs_ns seqtmp=$tmp_ns
sent=$(($(info requests.read) - reads0))
oc=$(read_ns -n "$reps" $files_fs)
octmp=$(read_ns -n "$reps" $files_tmp)
grep -E '^store\.(misses|hits)' "$MP/.dscfs/info" | tr '\n' ' ' | sed 's/^/  /; s/ $/\n/'
mount_down
mbps() { awk -v b="$bytes" -v r="$reps" -v ns="$1" 'BEGIN { printf "%.1f", b * r / (ns / 1e9) / 1048576 }'; }
opens=$((reps * nimages))
echo "  cached sequential read: $(mbps "$seqfs") MiB/s vs tmpfs $(mbps "$seqtmp") MiB/s, time ratio $(ratio "$seqfs" "$seqtmp"); $sent READs reached dscfs"
result "cached sequential read ($reps passes, $sent READs; target <= 1.25)" "$(mbps "$seqfs") MiB/s" "tmpfs $(mbps "$seqtmp") MiB/s" "$(ratio "$seqfs" "$seqtmp")"
echo "  open+close, cached:     $(ms 0 "$oc" "$opens") ms vs tmpfs $(ms 0 "$octmp" "$opens") ms"
result "open+close of a cached image" "$(ms 0 "$oc" "$opens") ms" "tmpfs $(ms 0 "$octmp" "$opens") ms" "$(ratio "$oc" "$octmp")"
if [ -n "$CEILING" ]; then
    "$CEILING" "$W/tree" "$MP" || exit 1
    fill
    timed_reads "$reps"
    seqc=$fs_ns seqctmp=$tmp_ns
    occ=$(read_ns -n "$reps" $files_fs)
    mount_down
    # The same with no OPEN/RELEASE round trips (fuse_ceiling --noopen).
    "$CEILING" --noopen "$W/tree" "$MP" || exit 1
    fill
    timed_reads "$reps"
    seqn=$fs_ns seqntmp=$tmp_ns
    ocn=$(read_ns -n "$reps" $files_fs)
    mount_down
    echo "  FUSE ceiling:           $(mbps "$seqc") MiB/s cached, open+close $(ms 0 "$occ" "$opens") ms"
    echo "  FUSE ceiling, no-open:  $(mbps "$seqn") MiB/s cached, open+close $(ms 0 "$ocn" "$opens") ms"
    result "cached sequential read, FUSE ceiling" "$(mbps "$seqc") MiB/s" "tmpfs $(mbps "$seqctmp") MiB/s" "$(ratio "$seqc" "$seqctmp")"
    result "open+close of a cached file, FUSE ceiling" "$(ms 0 "$occ" "$opens") ms" "tmpfs $(ms 0 "$octmp" "$opens") ms" "$(ratio "$occ" "$octmp")"
    result "cached sequential read, FUSE ceiling --noopen" "$(mbps "$seqn") MiB/s" "tmpfs $(mbps "$seqntmp") MiB/s" "$(ratio "$seqn" "$seqntmp")"
    result "open+close of a cached file, ceiling --noopen" "$(ms 0 "$ocn" "$opens") ms" "tmpfs $(ms 0 "$octmp" "$opens") ms" "$(ratio "$ocn" "$octmp")"
fi

# Re-reading with a store budget below the output (4K: nothing stays in the
# store): the kernel's page cache still has the files, so a second pass
# should cost opens and page-cache reads, not extractions.
"$DSCFS" "$CACHE" "$MP" -o cache_size=4K,nowarm || exit 1
read_ns 1 $files_fs > /dev/null
again=$(read_ns 1 $files_fs)
misses=$(info store.misses)
mount_down
againtmp=$(read_ns 1 $files_tmp)
echo "  re-read, cache_size=4K: $(ms 0 "$again") ms vs tmpfs $(ms 0 "$againtmp") ms, ratio $(ratio "$again" "$againtmp"); $misses extractions for $nimages images"
result "re-read after eviction (cache_size=4K)" "$(ms 0 "$again") ms, $misses extractions" "tmpfs $(ms 0 "$againtmp") ms" "$(ratio "$again" "$againtmp")"

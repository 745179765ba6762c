#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench.sh — scale mode: build a split arm64e cache (slide v5, .symbols) of
# thousands of images and more than 1 GB, then time dsccheck and
# `dscfs --info`/`--list` on it. Run by `make bench`; the cache is written
# under ${BENCH_DIR:-$TMPDIR} and removed afterwards unless KEEP=1.
#   CLONES=N     copies of each input (default 150: 33 inputs -> 4983 images)
#   OUT=DIR      write the cache into DIR and keep it (bench/run.sh does, to
#                run the other benchmarks on it)
set -eu
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
DSCBUILD=${DSCBUILD:-$top_builddir/tests/builder/dscbuild}
DSCCHECK=${DSCCHECK:-$top_builddir/tests/builder/dsccheck}
DSCFS=${DSCFS:-$top_builddir/dscfs}
CLONES=${CLONES:-150}
arch=arm64e
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/dscbench.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; cache_dir=$OUT; else cache_dir=$work; fi

now() { date +%s.%N; }
elapsed() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }

"$top_srcdir/tests/builder/build-inputs.sh" "$work/in" "$arch" > "$work/inputs"

# Generated variety (bench/gen-dylibs.sh): 24 dylibs of different shapes,
# the last a big framework, so clones are not the only source of images.
sh "$top_srcdir/bench/gen-dylibs.sh" "$work/gen" $arch 24 "$work/in/libSystem.B.dylib" >> "$work/inputs"

out=$cache_dir/dyld_shared_cache_$arch
t0=$(now)
"$DSCBUILD" --arch $arch --slide 5 --header 0x200 --split 600 --local-symbols --clones "$CLONES" \
    -o "$out" $(cat "$work/inputs")
t1=$(now)
"$DSCCHECK" "$out.manifest"
t2=$(now)
"$DSCFS" --info "$out" > "$work/info"
t3=$(now)
images=$("$DSCFS" --list "$out" | grep -vc ' -> ')
t4=$(now)
bytes=$(grep "^file" "$out.manifest" | cut -f3 | xargs cat | wc -c)
echo "bench: $images images, $bytes bytes in $(grep -c '^file' "$out.manifest") files"
echo "bench: dscbuild $(elapsed "$t0" "$t1") s, dsccheck $(elapsed "$t1" "$t2") s, dscfs --info $(elapsed "$t2" "$t3") s, dscfs --list $(elapsed "$t3" "$t4") s"

#!/bin/sh
# bench.sh — scale mode: build a split arm64e cache (slide v5, .symbols) of
# thousands of images and more than 1 GB, then time dsccheck and
# `dscfs --info`/`--list` on it. Run by `make bench`; the cache is written
# under ${BENCH_DIR:-$TMPDIR} and removed afterwards unless KEEP=1.
#   CLONES=N     copies of each input (default 300: 16 inputs -> 4816 images)
set -eu
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
DSCBUILD=${DSCBUILD:-$top_builddir/tests/builder/dscbuild}
DSCCHECK=${DSCCHECK:-$top_builddir/tests/builder/dsccheck}
DSCFS=${DSCFS:-$top_builddir/dscfs}
CLONES=${CLONES:-300}
arch=arm64e
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/dscbench.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
elapsed() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }

"$top_srcdir/tests/builder/build-inputs.sh" "$work/in" "$arch" > "$work/inputs"

# Generated variety: 8 dylibs with 100-800 KB of constant data, 20-160
# functions and a table of pointers to them.
gen=$work/gen
mkdir -p "$gen"
for i in 1 2 3 4 5 6 7 8; do
    {
        echo '#include "inputs.h"'
        echo "const unsigned char gen${i}_table[$((i * 100000))] = {$i};"
        k=0
        while [ $k -lt $((i * 20)) ]; do
            echo "int gen${i}_f$k(int x) { return sys_puts(\"gen${i}_f$k\") + x * $k; }"
            k=$((k + 1))
        done
        printf 'int (*const gen%s_fns[])(int) = {' "$i"
        k=0
        while [ $k -lt $((i * 20)) ]; do printf 'gen%s_f%s, ' "$i" $k; k=$((k + 1)); done
        echo '};'
    } > "$gen/gen$i.c"
    clang-19 -target $arch-apple-macos13.0 -O1 -fno-builtin -ffreestanding -I"$top_srcdir/tests/builder/inputs" \
        -c "$gen/gen$i.c" -o "$gen/gen$i.o"
    ld64.lld-19 -arch $arch -dylib -no_fixup_chains -platform_version macos 13.0 13.0 \
        -install_name "/usr/lib/gen/libgen$i.dylib" -o "$gen/libgen$i.dylib" "$gen/gen$i.o" "$work/in/libSystem.B.dylib"
    echo "$gen/libgen$i.dylib" >> "$work/inputs"
done

out=$work/dyld_shared_cache_$arch
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

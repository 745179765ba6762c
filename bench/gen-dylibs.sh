#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# gen-dylibs.sh OUTDIR ARCH COUNT LIBSYSTEM — generate, compile and link
# COUNT dylibs of varied shape for the scale cache of `make bench`, and print
# their paths (in dependency order). Shapes differ on every axis the engine
# walks per image: code size (functions), exports, imports and stubs (calls
# to sys_puts and into the previous generated dylib), rebases (pointer tables
# in __DATA and __DATA_CONST, string pointers), constant data, and C strings.
# The last dylib is the "big framework" (thousands of functions, MBs of
# data), so the cache's largest image is not a toy.
set -eu
out=$1 arch=$2 count=$3 libsystem=$4
inputs=$(cd "$(dirname "$0")/../tests/builder/inputs" && pwd)
mkdir -p "$out"

# gen N FUNCS TABLE_BYTES PTRS CALLS_PREV: write genN.c.
gen() {
    awk -v n="$1" -v nf="$2" -v tb="$3" -v np="$4" -v prev="$5" 'BEGIN {
        print "#include \"inputs.h\""
        if (prev > 0) printf "int gen%d_f0(int x);\n", prev
        printf "const unsigned char gen%d_table[%d] = {%d, 1, 2, 3};\n", n, tb, n
        printf "int gen%d_counter;\n", n
        printf "const char *gen%d_names[%d] = {", n, np
        for (k = 0; k < np; k++) printf "\"gen%d.name.%d\", ", n, k
        print "};"
        for (k = 0; k < nf; k++) {
            body = sprintf("sys_puts(gen%d_names[%d]) + x * %d", n, k % np, k + 1)
            if (prev > 0 && k % 4 == 0) body = body sprintf(" + gen%d_f0(x)", prev)
            if (k % 3 == 0) body = body sprintf(" + gen%d_counter++", n)
            printf "int gen%d_f%d(int x) { return %s; }\n", n, k, body
        }
        printf "int (*const gen%d_fns[])(int) = {", n
        for (k = 0; k < nf; k++) printf "gen%d_f%d, ", n, k
        print "};"
        printf "int (*gen%d_hooks[])(int) = {", n
        for (k = 0; k < nf; k += 2) printf "gen%d_f%d, ", n, k
        print "};"
    }'
}

i=1
while [ "$i" -le "$count" ]; do
    if [ "$i" = "$count" ]; then
        set -- 3000 4000000 1500          # the big framework
    else
        # Spread over two orders of magnitude, not monotonic in i.
        s=$(( (i * 37) % 23 + 1 ))
        set -- $((s * s * 2 + 8)) $((s * 12000)) $((s * 8 + 4))
    fi
    prev=$((i - 1))
    gen "$i" "$1" "$2" "$3" "$prev" > "$out/gen$i.c"
    clang-19 -target "$arch-apple-macos13.0" -O1 -fno-stack-protector -fno-builtin -ffreestanding -I"$inputs" \
        -c "$out/gen$i.c" -o "$out/gen$i.o" &
    i=$((i + 1))
    [ $((i % 4)) = 0 ] && wait
done
wait
i=1
while [ "$i" -le "$count" ]; do
    link_prev=
    [ "$i" -gt 1 ] && link_prev=$out/libgen$((i - 1)).dylib
    ld64.lld-19 -arch "$arch" -dylib -no_fixup_chains -platform_version macos 13.0 13.0 \
        -install_name "/usr/lib/gen/libgen$i.dylib" -o "$out/libgen$i.dylib" "$out/gen$i.o" "$libsystem" $link_prev
    echo "$out/libgen$i.dylib"
    i=$((i + 1))
done

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# run.sh SECONDS [ARCH...] — the libFuzzer campaign of tests/fuzz: build the
# four targets (or those FUZZ_TARGETS names) with clang-19
# (-fsanitize=fuzzer,address,undefined), make their seed corpora from the builder's caches of ARCH (default: every arch)
# and the shared real caches, replay every regression input
# (tests/fuzz/regress/TARGET/*: recipes made from this run's seeds, see
# recipe.c and regress-add.sh), then run each target for SECONDS and print
# its figures (executions, seconds, coverage, findings). A crash's input is
# kept in $FUZZ_OUT (default $top_builddir/fuzz-out) and fails the run: add
# its recipe (regress-add.sh CRASH SEED) to tests/fuzz/regress/TARGET/ with
# the fix.
# Exits 77 (skip) when clang-19 or its libFuzzer runtime (libclang-rt-19-dev)
# is missing. `make fuzz` runs it with FUZZ_SECONDS, make check with 20.
set -eu
seconds=${1:-600}
shift || true
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
CC_FUZZ=${CC_FUZZ:-clang-19}
command -v "$CC_FUZZ" > /dev/null 2>&1 || { echo "SKIP: $CC_FUZZ is not installed: no libFuzzer campaign"; exit 77; }
rt=$("$CC_FUZZ" -print-file-name=libclang_rt.fuzzer-x86_64.a 2> /dev/null || true)
if [ ! -f "$rt" ]; then
    rt=$("$CC_FUZZ" --print-runtime-dir 2> /dev/null)/libclang_rt.fuzzer.a
    [ -f "$rt" ] || { echo "SKIP: the libFuzzer runtime of $CC_FUZZ is missing (Debian: libclang-rt-19-dev)"; exit 77; }
fi

bin=$top_builddir/fuzz-build
out=${FUZZ_OUT:-$top_builddir/fuzz-out}
work=$(mktemp -d "${TMPDIR:-/tmp}/dscfuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$bin/obj" "$out"

# ---- build: libdsc, the tree, the targets; objects rebuilt when older
# than their source or any header ----
FUZZ_FLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -std=c11"
FUZZ_FLAGS="$FUZZ_FLAGS -D_GNU_SOURCE -I$top_srcdir/include -I$top_srcdir/src/lib -I$top_srcdir/src/fs -I$top_srcdir/src/common"
FUZZ_FLAGS="$FUZZ_FLAGS -I$top_srcdir/tests/fuzz"
export CC_FUZZ FUZZ_FLAGS top_srcdir
newer_h=
[ -f "$bin/stamp" ] && newer_h=$(find "$top_srcdir/include" "$top_srcdir/src" "$top_srcdir/tests/fuzz" -name '*.h' \
    -newer "$bin/stamp" | head -1)
[ -f "$bin/stamp" ] && [ -z "$newer_h" ] || rm -f "$bin"/obj/*.o
libsrc=$(cd "$top_srcdir" && ls src/lib/*/*.c)
common="src/common/tree.c tests/fuzz/exercise.c tests/fuzz/structure.c tests/fuzz/fuzz_common.c"
for s in $libsrc $common; do
    o=$bin/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')
    [ "$o" -nt "$top_srcdir/$s" ] || echo "$s $o"
done | xargs -r -n 2 -P 2 sh -c '$CC_FUZZ $FUZZ_FLAGS -c "$top_srcdir/$0" -o "$1"' ||
    { echo "FAIL: building the fuzz objects"; exit 1; }
touch "$bin/stamp"
all_targets="fuzz_cache fuzz_split fuzz_output fuzz_tree"
targets=${FUZZ_TARGETS:-$all_targets}
for t in $targets; do
    # shellcheck disable=SC2086
    "$CC_FUZZ" $FUZZ_FLAGS -fsanitize=fuzzer "$top_srcdir/tests/fuzz/$t.c" "$bin"/obj/*.o -lpthread -o "$bin/$t" ||
        { echo "FAIL: linking $t"; exit 1; }
done

# ---- seeds ----
for t in $all_targets; do mkdir -p "$work/seed/$t" "$work/corpus/$t"; done # seeds of all: one loop writes them
DSCBUILD=$top_builddir/tests/builder/dscbuild DSCCHECK=$top_builddir/tests/builder/dsccheck \
    "$top_srcdir/tests/builder/make-caches.sh" "$work/caches" "$@" > /dev/null ||
    { echo "SKIP: the builder's toolchain is missing: no seeds"; exit 77; }
u32() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))\\$(printf %03o $(($1 >> 24 & 255)))"; }
n=0
while IFS="$(printf '\t')" read -r name main manifest; do
    n=$((n + 1))
    subs=$(ls "$main".[0-9]* 2> /dev/null | sort -t. -k2 -n | head -6 || true)
    if [ -z "$subs" ]; then
        cp "$main" "$work/seed/fuzz_cache/$name"
    else
        nsub=$(echo "$subs" | wc -l)
        sym=0
        [ -f "$main.symbols" ] && sym=1
        seed=$work/seed/fuzz_split/$name
        { printf "\\$(printf %03o "$nsub")\\$(printf %03o $sym)"
          u32 "$(stat -c %s "$main")"
          i=0
          for s in $subs; do
              i=$((i + 1))
              [ $i -lt "$nsub" ] || [ $sym = 1 ] && u32 "$(stat -c %s "$s")"
          done
          cat "$main" $subs
          [ $sym = 0 ] || cat "$main.symbols"; } > "$seed"
    fi
    "$top_builddir/dscfs" --list "$main" | sed 's/^/\x02/; s/ -> .*//' | tr '\n' '\0' > "$work/seed/fuzz_tree/$name"
    case $name in arm64e-v3-0x138) output_cache=$main ;; esac
    [ -n "${output_cache:-}" ] || [ -n "$subs" ] || output_cache=$main
done < "$work/caches/caches.list"
[ -d "${DSC_TESTDATA:-$top_srcdir/../shared/testdata}/caches" ] &&
    cp "${DSC_TESTDATA:-$top_srcdir/../shared/testdata}"/caches/dyld_shared_cache_* "$work/seed/fuzz_cache/"
"$top_builddir/dscfs" --extract-all "$output_cache" "$work/out" > /dev/null 2>&1 || true
i=0
"$top_builddir/dscfs" --list "$output_cache" | grep -v ' -> ' | while read -r p; do
    [ -f "$work/out$p" ] && { printf "\\$(printf %03o $i)"; cat "$work/out$p"; } > "$work/seed/fuzz_output/$i"
    i=$((i + 1))
done
export DSC_FUZZ_CACHE="$output_cache"

# ---- regression inputs: each recipe (tests/fuzz/recipe.c) made from this
# run's seeds, any other file as it is; then the campaign ----
"$CC_FUZZ" -O1 -std=c11 -D_GNU_SOURCE "$top_srcdir/tests/fuzz/recipe.c" -o "$bin/recipe" ||
    { echo "FAIL: building the recipe tool"; exit 1; }
status=0
for t in $targets; do
    mkdir -p "$work/regress/$t"
    for r in "$top_srcdir/tests/fuzz/regress/$t"/*; do
        [ -f "$r" ] || continue
        name=$(basename "$r" .recipe)
        case $r in
        *.recipe)
            rc=0
            "$bin/recipe" "$work/seed/$t" "$r" "$work/regress/$t/$name" 2> "$work/recipe.err" || rc=$?
            [ $rc = 0 ] || rm -f "$work/regress/$t/$name"
            [ $rc = 77 ] && echo "fuzz: $t: regression input $name skipped: $(cat "$work/recipe.err")"
            [ $rc = 0 ] || [ $rc = 77 ] || { cat "$work/recipe.err"; echo "FAIL: $t: recipe $r"; status=1; } ;;
        *) cp "$r" "$work/regress/$t/$name" ;;
        esac
    done
    nreg=$(ls "$work/regress/$t" | wc -l)
    if [ "$nreg" -gt 0 ]; then
        if "$bin/$t" -rss_limit_mb=2560 "$work/regress/$t"/* > "$work/$t.replay" 2>&1; then
            echo "fuzz: $t: $nreg regression inputs replayed, no finding"
        else
            tail -40 "$work/$t.replay"
            echo "FAIL: $t: a regression input fails again"
            status=1
        fi
    fi
    max_len=$((8 << 20))
    [ "$t" = fuzz_tree ] && max_len=65536
    rc=0
    "$bin/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -max_len=$max_len \
        -dict="$top_srcdir/tests/fuzz/dsc.dict" -print_final_stats=1 -artifact_prefix="$out/$t-" \
        "$work/corpus/$t" "$work/seed/$t" > "$work/$t.log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    secs=$(sed -n 's/^stat::total_time_in_secs*: *//p' "$work/$t.log" | head -1)
    cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1)
    seeds=$(ls "$work/seed/$t" | wc -l)
    if [ $rc -eq 0 ]; then
        echo "fuzz: $t: ${execs:-?} executions in ${seconds} s, ${cov:-cov: ?} edges, $seeds seeds, no finding"
    else
        tail -40 "$work/$t.log"
        echo "FAIL: $t: finding after ${execs:-?} executions (input kept in $out/$t-*)"
        status=1
    fi
done
exit $status

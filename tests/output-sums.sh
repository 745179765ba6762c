#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# output-sums.sh DSCFS WORKDIR [CACHE...] — the fingerprint of everything
# `--extract-all` writes: one line per output file, "cache path sha256",
# sorted, on stdout. With no CACHE arguments it covers the shared real
# caches (when ../shared/testdata is there) and every builder cache in
# WORKDIR/caches.list, building that set first with make-caches.sh when
# the list is absent (needs a built tree: top_builddir, default ./build).
#
# Refactoring rule: outputs are byte-identical before and after, so
#   sh tests/output-sums.sh OLD/dscfs W > before; (change, rebuild);
#   sh tests/output-sums.sh NEW/dscfs W > after; cmp before after
# The caches are written once into WORKDIR and reused, so both runs see
# the same inputs. NOSIGN=1 (any non-empty value) extracts with --no-sign
# (outputs as they were before extraction signed them).
set -eu
dscfs=$1 work=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
testdata=${DSC_TESTDATA:-$top/../shared/testdata}

caches() {
    if [ $# -gt 0 ]; then printf '%s\n' "$@"; return; fi
    for c in "$testdata"/caches/dyld_shared_cache_*; do
        [ -f "$c" ] && echo "$c"
    done
    if [ ! -f "$work/caches.list" ]; then
        top_srcdir=$top top_builddir=${top_builddir:-$top/build} \
            sh "$top/tests/builder/make-caches.sh" "$work" >/dev/null
    fi
    cut -f2 "$work/caches.list"
}

out=$(mktemp -d "${TMPDIR:-/tmp}/output-sums.XXXXXX")
trap 'rm -rf "$out"' EXIT INT TERM
caches "$@" | while read -r cache; do
    rm -rf "$out/x"
    "$dscfs" --extract-all "$cache" "$out/x" -j 2 ${NOSIGN:+--no-sign} >/dev/null 2>"$out/err" ||
        { echo "output-sums: --extract-all failed on $cache" >&2; cat "$out/err" >&2; exit 1; }
    (cd "$out/x" && find . -type f -exec sha256sum {} + ; find . -type l -printf '%p -> %l\n') |
        sed "s|^|$(basename "$(dirname "$cache")")/$(basename "$cache") |"
done | LC_ALL=C sort

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# run-all.sh — on a fresh Debian machine (as root): install what is needed,
# build, and pass the whole test suite: the plain build with `make check` and
# `make distcheck`, the Debian and RPM packages (packaging/build-packages.sh),
# the same suite under ASan+UBSan, and the threaded store under
# ThreadSanitizer. Ends with one "N passed, N failed, N skipped" line.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh packaging/install-deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
# The shared real caches sit beside the checkout; distcheck's copy needs
# the absolute path.
[ -d "$top/../shared/testdata" ] && export DSC_TESTDATA="$top/../shared/testdata"
jobs=$(nproc 2>/dev/null || echo 2)
status=0

build() { # dir, configure flags...
    dir=$1; shift
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" >/dev/null)
}

echo "== plain build: make check, make distcheck"
build build
(cd build && make -s check) || status=1
(cd build && make -s distcheck >distcheck.out 2>&1) || { tail -40 build/distcheck.out; status=1; }

echo "== packages: .deb (lintian), .rpm, --disable-fuse"
sh packaging/build-packages.sh || status=1

echo "== ASan+UBSan build: make check"
build build-asan --enable-sanitizers
(cd build-asan && make -s check) || status=1

if grep -q '^check-tsan:' build/Makefile; then
    echo "== ThreadSanitizer: threaded code"
    (cd build && make -s check-tsan) || status=1
fi

# One closing line over every test run above.
pass=0; fail=0; skip=0
for trs in $(find build build-asan -name '*.trs' 2>/dev/null); do
    r=$(sed -n 's/^:test-result: //p' "$trs")
    case "$r" in
        PASS|XFAIL) pass=$((pass + 1)) ;;
        SKIP) skip=$((skip + 1)) ;;
        *) fail=$((fail + 1)) ;;
    esac
done
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ] || status=1
echo "$pass passed, $fail failed, $skip skipped"
exit $status

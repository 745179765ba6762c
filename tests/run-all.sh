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
t0=$(date +%s)
# stage TITLE: a header with the minutes:seconds spent so far.
stage() { t=$(($(date +%s) - t0)); printf '== [%d:%02d] %s\n' $((t / 60)) $((t % 60)) "$1"; }
status=0

# Build directories of its own (ci-build, ci-build-asan): a user's build/
# in the checkout is never touched.
build() { # dir, configure flags...
    dir=$1; shift
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" >/dev/null)
}

stage "plain build: make check, make distcheck"
build ci-build
(cd ci-build && make -s -j"$jobs" check) || status=1
(cd ci-build && make -s -j"$jobs" distcheck >distcheck.out 2>&1) || { tail -40 ci-build/distcheck.out; status=1; }

stage "packages: .deb (lintian), .rpm, --disable-fuse"
sh packaging/build-packages.sh || status=1

stage "ASan+UBSan build: make check"
build ci-build-asan --enable-sanitizers
(cd ci-build-asan && make -s -j"$jobs" check) || status=1

if grep -q '^check-tsan:' ci-build/Makefile; then
    stage "ThreadSanitizer: threaded code"
    (cd ci-build && make -s check-tsan) || status=1
fi

# One closing line over every test run above.
pass=0; fail=0; skip=0
for trs in $(find ci-build ci-build-asan -name '*.trs' 2>/dev/null); do
    r=$(sed -n 's/^:test-result: //p' "$trs")
    case "$r" in
        PASS|XFAIL) pass=$((pass + 1)) ;;
        SKIP) skip=$((skip + 1)) ;;
        *) fail=$((fail + 1)) ;;
    esac
done
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ] || status=1
stage "done"
echo "$pass passed, $fail failed, $skip skipped"
exit $status

#!/bin/sh
# example.sh — on a fresh Debian machine (as root): install what is needed,
# build dscfs, and run it on a bundled example cache.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh packaging/install-deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
rm -rf build && mkdir build
(cd build && "$top/configure" -q && make -s -j"$(nproc 2>/dev/null || echo 2)")
dscfs="$top/build/dscfs"

cache="$top/../shared/testdata/caches/dyld_shared_cache_arm64e-macOS-objc"
[ -f "$cache" ] || { echo "example: $cache is absent" >&2; exit 1; }
echo "== dscfs --info $cache"
"$dscfs" --info "$cache"
echo "== dscfs --list $cache"
"$dscfs" --list "$cache"

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# example.sh — on a fresh Debian machine (as root): install what is needed,
# build dscfs, write the bundled example cache with the project's own
# test-cache builder (a split arm64e cache, slide info v5, a .symbols file,
# from real dylibs compiled here with clang-19), mount it, and look inside.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh packaging/install-deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
# A build directory of its own: a user's build/ in the checkout is kept.
rm -rf example-build && mkdir example-build
(cd example-build && "$top/configure" -q && make -s -j"$(nproc 2>/dev/null || echo 2)" >/dev/null &&
    make -s tests/builder/dscbuild >/dev/null)
dscfs="$top/example-build/dscfs"

work=$(mktemp -d /tmp/dscfs-example.XXXXXX)
mnt="$work/mnt"
mkdir -p "$mnt" "$work/cache"
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

echo "== building the example cache from real dylibs"
"$top/tests/builder/build-inputs.sh" "$work/inputs" arm64e > "$work/inputs.list"
cache="$work/cache/dyld_shared_cache_arm64e"
# shellcheck disable=SC2046
"$top/example-build/tests/builder/dscbuild" --arch arm64e --slide 5 --header 0x200 --split 3 \
    --local-symbols --alias /usr/lib/liba.1.dylib=/usr/lib/liba.dylib \
    -o "$cache" $(cat "$work/inputs.list") >/dev/null
ls -l "$work/cache"

echo "== dscfs --info"
"$dscfs" --info "$cache"

echo "== dscfs $cache $mnt"
"$dscfs" "$cache" "$mnt"
ls -lR "$mnt"
echo "== llvm-objdump-19 --macho -p /usr/lib/libb.dylib (from the mount)"
llvm-objdump-19 --macho -p "$mnt/usr/lib/libb.dylib" | head -40
echo "== llvm-nm-19 (local symbols restored from the .symbols file)"
llvm-nm-19 "$mnt/usr/lib/liba.dylib"
cp "$mnt/usr/lib/libobjc.A.dylib" "$work/"
echo "== dscfs --verify"
"$dscfs" --verify "$cache"
echo "example: done; outputs in $work"

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cli.sh — the --list / --info / --help / --version verbs on the real caches.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata

"$DSCFS" --version | grep -q '^dscfs [0-9]' || fail "--version"
"$DSCFS" --help | grep -q -- '--list' || fail "--help"

objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"
"$DSCFS" --list "$objc" > list.out || fail "--list exit status"
[ "$(grep -c -v ' -> ' list.out)" = 8 ] || fail "--list should print 8 images"
grep -qx '/usr/lib/liba.dylib -> /usr/lib/liba-1.0.dylib' list.out || fail "alias missing"
grep -qx '/usr/lib/libobjc.A.dylib' list.out || fail "libobjc missing"

"$DSCFS" --info "$CACHES/dyld_shared_cache_arm64e-macOS-objc" > info.out || fail "--info exit status"
grep -q '^Arch *= arm64e' info.out || fail "--info arch"
[ "$(grep -c ' v3 ' info.out)" = 2 ] || fail "--info should show two v3 slide mappings"
grep -q '__AUTH ' info.out || fail "--info mapping names"

"$DSCFS" --info "$CACHES/dyld_shared_cache_arm64-macOS-1042.1" > info2.out || fail "--info 1042"
grep -q 'OS Version *= 13.0.0' info2.out || fail "--info OS version"

# Malformed input: one line on stderr naming the file, non-zero exit.
for f in "$DSC_TESTDATA"/malformed/*; do
    if "$DSCFS" --list "$f" > /dev/null 2> err.out; then fail "$f accepted"; fi
    [ "$(wc -l < err.out)" = 1 ] || fail "$f: error is not one line"
    grep -q "$f" err.out || fail "$f: error does not name the file"
done
rm -f list.out info.out info2.out err.out

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# hostile_paths.sh — install paths written to break the fronts (issue 14):
# a newline that would forge a log line is escaped (\x0a) wherever a path
# is logged, by --extract-all, --verify and the mount alike; a path longer
# than 1024 bytes skips its image, with a warning, in both fronts; one
# path rule serves the same paths in both, and duplicates are reported.
# Each case is a copy of the arm64 cache whose image record 5 (libhello)
# is pointed at a path string appended to the file.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"
objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"

# A forged summary line after a newline, in a path that runs through the
# file of image 1 (liba), so that both fronts refuse it and say so.
forged="$WORK/forged.cache"
with_path "$forged" 5 '/usr/lib/liba-1.0.dylib/\nextracted 8 of 8 images (0 failed)'
"$DSCFS" --extract-all "$forged" "$WORK/out" -j 1 > "$WORK/stdout" 2> "$WORK/stderr" && fail "--extract-all succeeded"
grep -q "^extracted" "$WORK/stderr" && fail "a path forged a line: $(cat "$WORK/stderr")"
grep -qF 'liba-1.0.dylib/\x0aextracted 8 of 8 images (0 failed): cannot write' "$WORK/stderr" ||
    fail "the refused path is not escaped: $(cat "$WORK/stderr")"
grep -q "^extracted 7 of 8 images" "$WORK/stdout" || fail "summary: $(cat "$WORK/stdout")"

# A servable path with a newline: --verify's report and the mount's
# status escape it.
nl="$WORK/newline.cache"
with_path "$nl" 5 '/usr/lib/libhello\nverified: 0 problems'
"$DSCFS" --verify "$nl" > "$WORK/stdout" 2>&1
grep -q '^verified' "$WORK/stdout" && fail "--verify: a path forged a line"
grep -qF '/usr/lib/libhello\x0averified: 0 problems: pointers' "$WORK/stdout" ||
    fail "--verify does not escape the path: $(cat "$WORK/stdout")"

mp="$WORK/mnt"

# The mount logs the refused path escaped.
mount_fg "$forged" "$mp"
cat "$mp/usr/lib/libobjc.A.dylib" > /dev/null || fail "reading libobjc"
stop_fg "$mp"
grep -q "^extracted" "$WORK/log" && fail "the mount's log has a forged line: $(cat "$WORK/log")"
grep -qF 'image /usr/lib/liba-1.0.dylib/\x0aextracted 8 of 8 images (0 failed) skipped' "$WORK/log" ||
    fail "the mount does not log the path escaped: $(cat "$WORK/log")"

# One path longer than 1024 bytes skips its image with a warning; the rest
# of the cache is served and extracted.
long="$WORK/long.cache"
with_path "$long" 5 "/usr/lib/$(head -c 1100 /dev/zero | tr '\0' x)"
"$DSCFS" --extract-all "$long" "$WORK/long" > "$WORK/stdout" 2> "$WORK/stderr" ||
    fail "--extract-all with an overlong path: $(cat "$WORK/stderr")"
grep -q '^extracted 7 of 7 images (0 failed)' "$WORK/stdout" || fail "overlong: $(cat "$WORK/stdout")"
grep -q 'warning: 1 image skipped (first: record 5): install path longer than 1024 bytes' "$WORK/stderr" ||
    fail "overlong: no warning: $(cat "$WORK/stderr")"
mount_fg "$long" "$mp"
cmp "$mp/usr/lib/libobjc.A.dylib" "$WORK/long/usr/lib/libobjc.A.dylib" || fail "overlong: libobjc differs"
[ ! -e "$mp/usr/lib/libhello-1.0.dylib" ] || fail "overlong: libhello is served"
stop_fg "$mp"
grep -q 'warning: 1 image skipped' "$WORK/log" || fail "overlong: the mount does not warn: $(cat "$WORK/log")"

# One path rule for both fronts: a 255-byte component is served by the
# mount and written by --extract-all; one of 256 bytes by neither.
name255=$(head -c 255 /dev/zero | tr '\0' n)
with_path "$WORK/c255.cache" 5 "/usr/lib/$name255"
"$DSCFS" --extract-all "$WORK/c255.cache" "$WORK/c255" > /dev/null 2> "$WORK/stderr" ||
    fail "--extract-all refuses a 255-byte component: $(cat "$WORK/stderr")"
mount_fg "$WORK/c255.cache" "$mp"
cmp "$mp/usr/lib/$name255" "$WORK/c255/usr/lib/$name255" || fail "255-byte component: the fronts differ"
stop_fg "$mp"
with_path "$WORK/c256.cache" 5 "/usr/lib/${name255}n"
"$DSCFS" --extract-all "$WORK/c256.cache" "$WORK/c256" > /dev/null 2> "$WORK/stderr" &&
    fail "--extract-all wrote a 256-byte component"
grep -q "refusing unsafe install path '/usr/lib/${name255}n' of image 5" "$WORK/stderr" ||
    fail "256-byte component: $(cat "$WORK/stderr")"
mount_fg "$WORK/c256.cache" "$mp"
stop_fg "$mp"
grep -q "image /usr/lib/${name255}n skipped" "$WORK/log" || fail "the mount serves a 256-byte component"

# Two images on one install path (libb's record names liba's path): the
# first is written, the second reported, and the run fails; the mount
# serves the first and logs the second.
with_path "$WORK/dup.cache" 2 "/usr/lib/liba-1.0.dylib"
"$DSCFS" --extract-all "$WORK/dup.cache" "$WORK/dup" > "$WORK/stdout" 2> "$WORK/stderr" &&
    fail "--extract-all succeeded with a duplicate path"
grep -q 'image 2 (/usr/lib/liba-1.0.dylib): not written, image 1 has the same install path' "$WORK/stderr" ||
    fail "duplicate not reported: $(cat "$WORK/stderr")"
"$DSCFS" --extract /usr/lib/liba-1.0.dylib "$objc" -o "$WORK/liba.want" || fail "--extract liba"
cmp "$WORK/dup/usr/lib/liba-1.0.dylib" "$WORK/liba.want" || fail "duplicate: liba was overwritten"
mount_fg "$WORK/dup.cache" "$mp"
cmp "$mp/usr/lib/liba-1.0.dylib" "$WORK/liba.want" || fail "duplicate: the mount serves another liba"
stop_fg "$mp"
grep -q 'image /usr/lib/liba-1.0.dylib skipped: path already exists' "$WORK/log" ||
    fail "the mount does not report the duplicate: $(cat "$WORK/log")"
exit 0

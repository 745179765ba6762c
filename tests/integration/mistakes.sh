#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mistakes.sh — the mistakes users make (issue 13), each answered with one
# line naming the file and what to do, and the documented exit status (0 ok,
# 1 runtime error, 2 usage): a subcache given as CACHE (names the main
# file), a symlinked main file (works), a regular file, a non-empty
# directory or an existing mount as mount point (refused unless -o
# nonempty), a comma in the cache path (mounts), -o fsname= (kept), an
# unknown option (2), a missing mount point (1); --extract -o - (standard
# output), --extract-all into a non-empty OUTDIR (needs --force) or from a
# bad cache (no OUTDIR left behind).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"
objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"

# expect STATUS PATTERN CMD...: CMD exits STATUS with one stderr line
# matching PATTERN, and leaves nothing mounted on $mp.
expect() {
    want=$1 pattern=$2
    shift 2
    "$@" > /dev/null 2> "$WORK/err"
    got=$?
    [ "$got" = "$want" ] || fail "$*: exit $got, expected $want: $(cat "$WORK/err")"
    [ "$(wc -l < "$WORK/err")" = 1 ] || fail "$*: not one line: $(cat "$WORK/err")"
    grep -q -- "$pattern" "$WORK/err" || fail "$*: '$(cat "$WORK/err")' lacks '$pattern'"
}

mp="$WORK/mnt"
mkdir "$mp"

# Mount points.
: > "$WORK/file"
expect 1 "$WORK/file: not a directory" "$DSCFS" "$objc" "$WORK/file"
expect 1 "$WORK/missing: cannot mount here" "$DSCFS" "$objc" "$WORK/missing"
mkdir "$WORK/full" && : > "$WORK/full/x"
expect 1 "$WORK/full: not empty.*-o nonempty" "$DSCFS" "$objc" "$WORK/full"
! mountpoint -q "$WORK/full" || fail "mounted on a non-empty directory"
mount_cache "$objc" "$WORK/full" -o nonempty
[ -f "$WORK/full/usr/lib/libobjc.A.dylib" ] || fail "-o nonempty mount shows no images"
unmount "$WORK/full"
mount_cache "$objc" "$mp"
expect 1 "$mp: already a mount point" "$DSCFS" "$objc" "$mp"
unmount "$mp"

# Options: unknown is a usage error; fsname= is the user's.
expect 2 "unknown option" "$DSCFS" -o no_such_option "$objc" "$mp"
! mountpoint -q "$mp" || fail "mounted with an unknown option"
mount_cache "$objc" "$mp" -o fsname=mydsc
grep -q "^mydsc $mp fuse.dscfs " /proc/mounts || fail "fsname= not kept: $(grep " $mp " /proc/mounts)"
unmount "$mp"

# A comma in the cache path (escaped in fsname).
mkdir "$WORK/a,b"
ln -s "$objc" "$WORK/a,b/cache"
mount_cache "$WORK/a,b/cache" "$mp"
[ -f "$mp/usr/lib/libobjc.A.dylib" ] || fail "comma in the cache path: no images"
unmount "$mp"

# --extract -o - writes standard output; --extract-all refuses a non-empty
# OUTDIR without --force, and leaves no OUTDIR behind when CACHE is bad.
"$DSCFS" --extract /usr/lib/libobjc.A.dylib "$objc" -o - > "$WORK/stdout.o" || fail "-o -"
"$DSCFS" --extract /usr/lib/libobjc.A.dylib "$objc" -o "$WORK/file.o" || fail "-o FILE"
cmp "$WORK/stdout.o" "$WORK/file.o" || fail "-o - differs from -o FILE"
[ ! -e ./- ] || fail "-o - wrote a file named -"
expect 1 "$WORK/full: not empty.*--force" "$DSCFS" --extract-all "$objc" "$WORK/full"
[ ! -e "$WORK/full/usr" ] || fail "--extract-all wrote into a non-empty OUTDIR"
"$DSCFS" --extract-all "$objc" "$WORK/full" --force -j 2 > /dev/null || fail "--extract-all --force"
[ -f "$WORK/full/usr/lib/libobjc.A.dylib" ] || fail "--force wrote nothing"
expect 1 "$WORK/nonexistent" "$DSCFS" --extract-all "$WORK/nonexistent" "$WORK/new"
[ ! -e "$WORK/new" ] || fail "--extract-all left $WORK/new behind after a failed open"
expect 2 "usage: dscfs --extract-all" "$DSCFS" --extract-all "$objc" "$WORK/x" --frobnicate

# A symlinked main file of a split cache finds its subcaches next to the
# target; a subcache in place of the main file names the main file.
if command -v clang-19 > /dev/null 2>&1 && command -v ld64.lld-19 > /dev/null 2>&1; then
    DSCBUILD=${DSCBUILD:-${top_builddir:-.}/tests/builder/dscbuild}
    "${top_srcdir:-.}/tests/builder/build-inputs.sh" "$WORK/in" arm64 > "$WORK/in.list" || fail "build-inputs"
    mkdir "$WORK/split" "$WORK/link"
    main=$WORK/split/dyld_shared_cache_arm64
    # shellcheck disable=SC2046
    "$DSCBUILD" --arch arm64 --slide 2 --header 0x1c8 --split 3 -o "$main" $(cat "$WORK/in.list") > /dev/null ||
        fail "dscbuild --split"
    [ -f "$main.1" ] || fail "dscbuild wrote no subcache"
    expect 1 "$main.1: a subcache, not a main cache file .*; use $main\$" "$DSCFS" --list "$main.1"
    expect 1 "$main.1: a subcache.*use $main\$" "$DSCFS" "$main.1" "$mp"
    ! mountpoint -q "$mp" || fail "a subcache was mounted"
    ln -s "$main" "$WORK/link/dsc"
    "$DSCFS" --list "$WORK/link/dsc" > "$WORK/list" 2> "$WORK/err" || fail "symlinked main file: $(cat "$WORK/err")"
    [ "$(grep -c -v ' -> ' "$WORK/list")" = "$("$DSCFS" --list "$main" | grep -c -v ' -> ')" ] ||
        fail "symlinked main file lists other images"
else
    echo "mistakes: clang-19/ld64.lld-19 missing: the split-cache cases are not run"
fi
exit 0

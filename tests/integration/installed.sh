#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# installed.sh — libdsc as a user gets it: `make install DESTDIR=`, then a
# program (libdsc_user.c) compiled against the installed tree with only
# `pkg-config --cflags --libs dsc`, run against the installed libdsc.so.0,
# and its extraction compared with `dscfs --extract`. The library's SONAME
# and exported symbols are judged with llvm-readelf-19/llvm-nm-19: exactly
# the functions include/dsc/dsc.h declares, nothing of the engine's inside,
# and the same list as debian/libdsc0.symbols.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
command -v pkg-config > /dev/null 2>&1 || skip "pkg-config is not installed"
command -v llvm-nm-19 > /dev/null 2>&1 || skip "llvm-nm-19 is not installed"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/installed.XXXXXX") || fail "mktemp"
trap 'rm -rf "$WORK"' EXIT
root=$WORK/root

${MAKE:-make} -s -C "${top_builddir:-.}" install DESTDIR="$root" > "$WORK/install.log" 2>&1 ||
    fail "make install: $(tail -5 "$WORK/install.log")"
libdir=$(sed -n 's/^libdir=//p' "${top_builddir:-.}/dsc.pc")
case $libdir in *'${'*) libdir=$(sed -n 's/^prefix=//p' "${top_builddir:-.}/dsc.pc")/lib ;; esac
so="$root$libdir/libdsc.so.0"
[ -f "$so" ] || fail "$so is not installed"
[ -f "$root$libdir/pkgconfig/dsc.pc" ] || fail "dsc.pc is not installed"
for f in "$root$libdir"/libdsc.a "$root$libdir"/libdsc_core*; do
    [ -e "$f" ] && fail "$f is installed (only the shared library should be)"
done

llvm-readelf-19 -d "$so" | grep -q 'SONAME.*\[libdsc\.so\.0\]' || fail "SONAME is not libdsc.so.0"
llvm-nm-19 -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort > "$WORK/exported"
# libdsc.sym: what dsc.h declares, derived by src/lib/local.mk.
cp "${top_builddir:-.}/libdsc.sym" "$WORK/declared" || fail "libdsc.sym is not built"
diff "$WORK/declared" "$WORK/exported" > "$WORK/abi.diff" ||
    fail "exported symbols differ from dsc.h's declarations (< declared, > exported): $(cat "$WORK/abi.diff")"
# The Debian symbols file pins the same set (dpkg-gensymbols fails on a
# vanished symbol): a function added to or renamed in dsc.h goes there too.
symbols="${top_srcdir:-.}/debian/libdsc0.symbols"
if [ -f "$symbols" ]; then
    sed -n 's/^ \(dsc_[a-z0-9_]*\)@Base .*/\1/p' "$symbols" | sort > "$WORK/pinned"
    diff "$WORK/declared" "$WORK/pinned" > "$WORK/pin.diff" ||
        fail "debian/libdsc0.symbols differs from dsc.h (< declared, > pinned): $(cat "$WORK/pin.diff")"
fi

export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_PATH="$root$libdir/pkgconfig" PKG_CONFIG_LIBDIR=
flags=$(pkg-config --cflags --libs dsc) || fail "pkg-config dsc"
# A sanitized libdsc (--enable-sanitizers/--enable-tsan) needs its runtime
# first: the program is built with the same SAN_FLAGS.
${CC:-cc} -std=c99 -Wall -Wextra -Werror ${SAN_FLAGS:-} -o "$WORK/user" \
    "${top_srcdir:-.}/tests/integration/libdsc_user.c" $flags || fail "building against the installed libdsc ($flags)"
llvm-readelf-19 -d "$WORK/user" | grep -q 'NEEDED.*\[libdsc\.so\.0\]' || fail "the program does not need libdsc.so.0"

cache="$CACHES/dyld_shared_cache_arm64-macOS-objc"
LD_LIBRARY_PATH="$root$libdir" "$WORK/user" "$cache" /usr/lib/libobjc.A.dylib "$WORK/got" > "$WORK/out" ||
    fail "the program failed"
grep -q '^arm64 8 images, first /' "$WORK/out" || fail "unexpected output: $(cat "$WORK/out")"
"$DSCFS" --extract /usr/lib/libobjc.A.dylib "$cache" -o "$WORK/want" || fail "dscfs --extract"
cmp "$WORK/got" "$WORK/want" || fail "the installed library extracts something else than dscfs"
exit 0

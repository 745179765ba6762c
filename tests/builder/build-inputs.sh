#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# build-inputs.sh OUTDIR ARCH [era|swiftrel|authgot|chained-objc]... — compile and link the
# builder's input dylibs (tests/builder/inputs) for ARCH with clang-19 and
# ld64.lld-19. Prints the dylib paths in cache order. Exit 77 when the
# toolchain is missing. "era": inputs for the dyld-1231+ eras (header
# 0x208/0x228): DBCat's class data in __OBJC_CONST, and libera
# (__DATA_DIRTY, __TPRO_CONST, the read-only segment __READ_ONLY, chained
# fixups; on 64-bit targets a non-exported function with variants, given
# LC_FUNCTION_VARIANTS and LC_FUNCTION_VARIANT_FIXUPS by the post-link step
# $FVFIXUPS, default $top_builddir/tests/builder/fvfixups), and libswiftrel as with "swiftrel" on 64-bit targets (the
# modern-era caches carry every item of issue 10). "swiftrel" (64-bit
# ARCH): also libswiftrel, Swift-shaped relative references to GOT slots,
# last. "authgot" (arm64e): also
# libauthgot, calls through ld64's arm64e stubs and __AUTH_CONST,__auth_got
# (ld64.lld-19's link of inputs/libauthgot.s made into ld64's shape by the
# post-link step $AUTHGOT, default $top_builddir/tests/builder/authgot),
# last. "chained-objc": DBUser, DBSub and DBCat linked with ld64.lld-19's
# default chained fixups (DYLD_CHAINED_PTR_64; arm64 and x86_64, as lld
# refuses them on arm64e), so Apple's IMP-cache builder, which takes only
# images with chained fixups (dyld-1378 estimateIMPCaches), takes them.
# BUILD_INPUTS_LDFLAGS (e.g.
# "-headerpad 0x400", room for load commands extraction adds) goes to every
# link.
set -eu
out=$1 arch=$2
shift 2
extras=" $* "
era=
case $extras in *" era "*) era=yes ;; esac
# The modern eras carry libswiftrel on 64-bit targets (issue 10 item 2).
[ -z "$era" ] || [ "$arch" = arm64_32 ] || extras="$extras swiftrel "
src=$(cd "$(dirname "$0")/inputs" && pwd)
CLANG=${CLANG:-clang-19}
LLD=${LLD:-ld64.lld-19}
command -v "$CLANG" >/dev/null 2>&1 || { echo "no $CLANG" >&2; exit 77; }
command -v "$LLD" >/dev/null 2>&1 || { echo "no $LLD" >&2; exit 77; }
case $arch in
    arm64_32) target=arm64_32-apple-watchos8.0 platform="watchos 8.0 8.0" ;;
    arm64|arm64e|x86_64) target=$arch-apple-macos13.0 platform="macos 13.0 13.0" ;;
    *) echo "unknown arch $arch" >&2; exit 2 ;;
esac
mkdir -p "$out"
cc() { "$CLANG" -target "$target" -O1 -fno-stack-protector -fno-builtin -ffreestanding -I"$src" -c "$@"; }
# ld NAME INSTALL_NAME OBJECT [LINK ARGS...]
# --threads=1: ld64.lld-19 writes every lazy pointer as 8 bytes (write64le in
# LazyPointerSection::writeTo), also on arm64_32 where they are 4, and writes
# output sections in parallel; so the first word after __la_symbol_ptr (a
# class isa, a selref, an int) ends up 0 or right depending on which thread
# wins. Written in order, that section's own bytes land last.
fixups=-no_fixup_chains
ld() {
    name=$1 install=$2 obj=$3
    shift 3
    "$LLD" -arch "$arch" -dylib $fixups --threads=1 -platform_version $platform \
        -install_name "$install" -o "$out/$name.dylib" "$obj" "$@" ${BUILD_INPUTS_LDFLAGS:-}
    echo "$out/$name.dylib"
}
srcs="libsystem liba libc_impl libb libd libobjc"
[ -n "$era" ] && srcs="$srcs libera"
for f in $srcs; do
    cc "$src/$f.c" -o "$out/$f.o"
done
"$CLANG" -target "$target" -O1 -fno-stack-protector -fexceptions -ffreestanding -I"$src" -c "$src/libcxxuser.cpp" \
    -o "$out/libcxxuser.o"
for f in libobjcuser libobjcsub libobjccat; do
    cc -fobjc-runtime=macosx-13.0 -fno-objc-arc "$src/$f.m" -o "$out/$f.o"
done
objc_fixups=$fixups
case $extras in *" chained-objc "*)
    [ "$arch" != arm64e ] || { echo "chained-objc: ld64.lld-19 refuses chained fixups on arm64e" >&2; exit 2; }
    objc_fixups= ;;
esac
S=$out/libSystem.B.dylib A=$out/liba.dylib C=$out/libc_impl.dylib B=$out/libb.dylib O=$out/libobjc.A.dylib
ld libSystem.B /usr/lib/libSystem.B.dylib "$out/libsystem.o"
# _sys_absent exists nowhere: a flat-lookup weak import that binds to 0.
ld liba /usr/lib/liba.dylib "$out/liba.o" "$S" -U _sys_absent
ld libc_impl /usr/lib/system/libc_impl.dylib "$out/libc_impl.o" "$S" "$A"
ld libb /usr/lib/libb.dylib "$out/libb.o" "$S" "$A" -reexport_library "$C"
# lld finds libb's re-exported library by its install name under a sysroot.
mkdir -p "$out/root/usr/lib/system"
cp "$C" "$out/root/usr/lib/system/libc_impl.dylib"
ld libd /usr/lib/libd.dylib "$out/libd.o" "$S" "$B" -syslibroot "$out/root"
# On arm64e its vtables and type_info objects go to __AUTH_CONST, so their
# pointers are signed: the type_info vtable binds become authenticated
# binds with addend 16.
auth_const=
[ "$arch" = arm64e ] && auth_const="-rename_section __DATA __const __AUTH_CONST __const"
# shellcheck disable=SC2086
ld libcxxuser /usr/lib/libcxxuser.dylib "$out/libcxxuser.o" "$S" $auth_const
# Header padding: the cache builder inserts two segment commands (__OBJC_RO,
# __OBJC_RW: 144 bytes) in libobjc's load commands (objc_segs.c).
ld libobjc.A /usr/lib/libobjc.A.dylib "$out/libobjc.o" "$S" -headerpad 0x100
fixups=$objc_fixups
ld libobjcuser /System/Library/Frameworks/DBUser.framework/Versions/A/DBUser "$out/libobjcuser.o" "$S" "$O"
# DBSub and DBCat get relative method lists ({i32 name -> selref, types,
# imp}, in __TEXT,__objc_methlist), DBUser keeps pointer lists: caches hold
# both kinds, and DBCat's categories add relative lists to DBUser's class.
# arm64 and arm64e only: ld64.lld-19 crashes in ObjCMethListSection::setUp
# with -objc_relative_method_lists for x86_64 and arm64_32.
rel=
case $arch in arm64|arm64e) rel=-objc_relative_method_lists ;; esac
ld libobjcsub /System/Library/PrivateFrameworks/DBSub.framework/Versions/A/DBSub "$out/libobjcsub.o" "$S" "$O" \
    "$out/libobjcuser.dylib" $rel
# On arm64e DBCat's class_ro_t structures go to __AUTH_CONST, so the cache
# signs their pointers (preattached method lists: DA, 0xC310).
auth_ro=
[ "$arch" = arm64e ] && auth_ro="-rename_section __DATA __objc_const __AUTH_CONST __objc_const"
# dyld-1231+ (CacheDylib::categorizeSegments): __OBJC_CONST, signed on arm64e
[ -n "$era" ] && auth_ro="-rename_section __DATA __objc_const __OBJC_CONST __objc_const"
# shellcheck disable=SC2086
ld libobjccat /System/Library/PrivateFrameworks/DBCat.framework/Versions/A/DBCat "$out/libobjccat.o" "$S" "$O" \
    "$out/libobjcuser.dylib" $auth_ro $rel
fixups=-no_fixup_chains
# libera keeps lld's default for macOS 13: chained fixups (DYLD_CHAINED_PTR_64)
# and LC_DYLD_EXPORTS_TRIE, no LC_DYLD_INFO (not on arm64e, where lld-19
# refuses chained fixups).
if [ -n "$era" ]; then
    [ "$arch" = arm64e ] || fixups=
    ld libera /usr/lib/libera.dylib "$out/libera.o" "$S" "$A" -segprot __READ_ONLY r r > /dev/null
    # 64-bit: its non-exported function with variants, as ld64 links it
    # (LC_FUNCTION_VARIANTS, LC_FUNCTION_VARIANT_FIXUPS: fvfixups.c)
    if [ "$arch" != arm64_32 ]; then
        FVFIXUPS=${FVFIXUPS:-${top_builddir:-.}/tests/builder/fvfixups}
        [ -x "$FVFIXUPS" ] || { echo "$FVFIXUPS is not built" >&2; exit 2; }
        "$FVFIXUPS" "$out/libera.dylib" _era_ifv_ptr _era_ifv _era_ifv_fast
    fi
    echo "$out/libera.dylib"
    fixups=-no_fixup_chains
fi
# Selector loads of every shape (AArch64 assembly, 64-bit only).
case $arch in
    arm64|arm64e)
        "$CLANG" -target "$target" -c "$src/libselloads.s" -o "$out/libselloads.o"
        ld libselloads /usr/lib/libselloads.dylib "$out/libselloads.o" "$S" "$O" ;;
esac
case $extras in *" swiftrel "*)
    [ "$arch" != arm64_32 ] || { echo "libswiftrel is for 64-bit targets" >&2; exit 2; }
    cc "$src/libswiftrel.S" -o "$out/libswiftrel.o"
    ld libswiftrel /usr/lib/swift/libswiftrel.dylib "$out/libswiftrel.o" "$S" "$A" ;;
esac
case $extras in *" authgot "*)
    [ "$arch" = arm64e ] || { echo "libauthgot is for arm64e" >&2; exit 2; }
    AUTHGOT=${AUTHGOT:-${top_builddir:-.}/tests/builder/authgot}
    [ -x "$AUTHGOT" ] || { echo "$AUTHGOT is not built" >&2; exit 2; }
    "$CLANG" -target "$target" -c "$src/libauthgot.s" -o "$out/libauthgot.o"
    ld libauthgot /usr/lib/libauthgot.dylib "$out/libauthgot.o" "$S" > /dev/null
    "$AUTHGOT" "$out/libauthgot.dylib"
    echo "$out/libauthgot.dylib" ;;
esac

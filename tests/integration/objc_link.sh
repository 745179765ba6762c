#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# objc_link.sh — an extracted ObjC class is a usable link input: a small
# Objective-C object that subclasses libhello's Test (and calls -init on
# super) links with ld64.lld-19 against the extracted libhello, libobjc and
# libSystem, for arm64 and arm64e, and the result binds Test's class and
# metaclass to libhello. Also: dscfs --verify reports no ObjC reference
# outside any image of the real caches.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
for tool in clang-19 ld64.lld-19 llvm-nm-19; do
    command -v $tool >/dev/null 2>&1 || skip "$tool is not installed"
done
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT

cat > "$work/sub.m" <<'SRC'
@interface Test
- (id)init;
- (void)methodWithoutArgs;
@end
@interface Sub : Test
- (int)extra;
@end
@implementation Sub
- (id)init { self = [super init]; [self methodWithoutArgs]; return self; }
- (int)extra { return 42; }
@end
SRC

for arch in arm64 arm64e; do
    cache="$CACHES/dyld_shared_cache_$arch-macOS-objc"
    root="$work/$arch"
    "$DSCFS" --extract-all "$cache" "$root" >/dev/null || fail "$arch: --extract-all failed"
    clang-19 -target "$arch-apple-macos13" -fobjc-runtime=macosx-13 -c "$work/sub.m" -o "$work/sub-$arch.o" ||
        fail "$arch: clang-19 cannot compile the test object"
    ld64.lld-19 -arch "$arch" -platform_version macos 13.0 13.0 -dylib -syslibroot "$root" \
        -o "$work/libsub-$arch.dylib" "$work/sub-$arch.o" \
        "$root/usr/lib/libhello-1.0.dylib" "$root/usr/lib/libobjc.A.dylib" "$root/usr/lib/libSystem.B.dylib" \
        2>"$work/ld.err" || fail "$arch: ld64.lld-19 failed: $(cat "$work/ld.err")"
    [ -s "$work/ld.err" ] && fail "$arch: ld64.lld-19 warned: $(cat "$work/ld.err")"
    nm=$(llvm-nm-19 -m "$work/libsub-$arch.dylib") || fail "$arch: llvm-nm-19 cannot read the linked dylib"
    for sym in '_OBJC_CLASS_$_Test' '_OBJC_METACLASS_$_Test'; do
        echo "$nm" | grep -F "(undefined) external $sym (from libhello-1)" >/dev/null ||
            fail "$arch: $sym is not bound to libhello: $nm"
    done
    "$DSCFS" --verify "$cache" > "$work/verify.txt" || fail "$arch: --verify reports problems: $(cat "$work/verify.txt")"
    grep -E '^total: .* selrefs-outside 0 method-names-outside 0 objc-other-outside 0$' "$work/verify.txt" >/dev/null ||
        fail "$arch: ObjC references outside the image: $(tail -1 "$work/verify.txt")"
done
exit 0

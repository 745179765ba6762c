# SPDX-License-Identifier: BSD-2-Clause
# lib.sh — helpers for the shell integration tests (sourced).
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, else fail.
set -u
: "${DSCFS:=${top_builddir:-.}/dscfs}"
: "${DSC_TESTDATA:=${top_srcdir:-.}/../shared/testdata}"
CACHES="$DSC_TESTDATA/caches"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
need_testdata() { [ -d "$CACHES" ] || skip "$CACHES is absent (shared test data not available)"; }
real_caches() {
    echo "$CACHES/dyld_shared_cache_arm64-macOS-objc"
    echo "$CACHES/dyld_shared_cache_arm64e-macOS-objc"
    echo "$CACHES/dyld_shared_cache_arm64-macOS-1042.1"
}

# builder_setup: for tests that build caches with tests/builder/dscbuild.
# Skips without clang-19/ld64.lld-19; links the input dylibs of every arch
# into $WORK/<arch>/ (list in $WORK/<arch>.inputs); removes $WORK on exit.
builder_setup() {
    : "${DSCBUILD:=${top_builddir:-.}/tests/builder/dscbuild}"
    : "${DSCCHECK:=${top_builddir:-.}/tests/builder/dsccheck}"
    command -v clang-19 > /dev/null 2>&1 || skip "clang-19 is not installed"
    command -v ld64.lld-19 > /dev/null 2>&1 || skip "ld64.lld-19 is not installed"
    [ -x "$DSCBUILD" ] && [ -x "$DSCCHECK" ] || fail "dscbuild/dsccheck are not built"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/dscbuild.XXXXXX") || fail "mktemp"
    trap 'rm -rf "$WORK"' EXIT
    for arch in ${BUILDER_ARCHES:-arm64 arm64e arm64_32 x86_64}; do
        "${top_srcdir:-.}/tests/builder/build-inputs.sh" "$WORK/$arch" "$arch" > "$WORK/$arch.inputs" ||
            fail "building the $arch input dylibs"
    done
}

# builder_caches DIR: a representative set of builder caches for tests that
# need caches of every arch/slide/era (see tests/builder/make-caches.sh);
# DIR/caches.list has "name TAB main cache TAB manifest". Skips without
# clang-19/ld64.lld-19/llvm-objdump-19.
builder_caches() {
    DSCBUILD=${DSCBUILD:-${top_builddir:-.}/tests/builder/dscbuild} \
    DSCCHECK=${DSCCHECK:-${top_builddir:-.}/tests/builder/dsccheck} \
        "${top_srcdir:-.}/tests/builder/make-caches.sh" "$1" > /dev/null
    case $? in
        0) ;;
        77) skip "the builder's toolchain (clang-19, ld64.lld-19, llvm-objdump-19) is missing" ;;
        *) fail "tests/builder/make-caches.sh $1" ;;
    esac
}

# u32 VALUE: four little-endian bytes.
u32() {
    for shift in 0 8 16 24; do
        # shellcheck disable=SC2059
        printf "\\$(printf %03o $(($1 >> shift & 255)))"
    done
}

# with_path OUT RECORD PATH: a copy of the arm64 objc cache whose image
# record RECORD names PATH (printf escapes allowed), a string appended to
# the file.
with_path() {
    cp "$CACHES/dyld_shared_cache_arm64-macOS-objc" "$1" && chmod u+w "$1" || fail "copying the objc cache"
    size=$(stat -c %s "$1")
    # shellcheck disable=SC2059
    printf "$3\0" >> "$1"
    table=$(od -An -tu4 -j 24 -N4 "$1" | tr -d ' ')
    u32 "$size" | dd of="$1" bs=1 seek=$((table + 32 * $2 + 24)) conv=notrunc status=none || fail "patching $1"
}

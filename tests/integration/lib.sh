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

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount_store.sh — -o cache_dir: a second mount serves every image from the
# disk store without extracting (same bytes as --extract); two mounts of the
# same cache share the directory at once; a corrupt, truncated or foreign
# entry is rejected, re-extracted and replaced; cache_dir_size bounds the
# directory with LRU eviction; no temporary file is left behind.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

cache="$CACHES/dyld_shared_cache_arm64e-macOS-objc"
dir="$WORK/store"
image_paths "$cache" > "$WORK/images"
n=$(wc -l < "$WORK/images")
i=0
while read -r path; do
    "$DSCFS" --extract "$path" "$cache" -o "$WORK/want.$i" 2> /dev/null || fail "--extract $path"
    i=$((i + 1))
done < "$WORK/images"

# check_all MP: every image reads back as --extract wrote it.
check_all() {
    i=0
    while read -r path; do
        cmp "$WORK/want.$i" "$1$path" || fail "$1$path differs from --extract"
        i=$((i + 1))
    done < "$WORK/images"
}
entries() { find "$dir" -name '*.dsc' | wc -l; }

# First mount fills the store; a second one, at the same time, reads it.
mount_cache "$cache" "$WORK/a" -o cache_dir="$dir"
check_all "$WORK/a"
[ "$(info_value "$WORK/a" persist.writes)" = "$n" ] || fail "first mount wrote $(info_value "$WORK/a" persist.writes) of $n entries"
[ "$(entries)" = "$n" ] || fail "$(entries) entries in the store, want $n"
mount_cache "$cache" "$WORK/b" -o cache_dir="$dir",nowarm
check_all "$WORK/b"
[ "$(info_value "$WORK/b" extractions)" = 0 ] || fail "second mount extracted $(info_value "$WORK/b" extractions) images"
[ "$(info_value "$WORK/b" persist.misses)" = 0 ] || fail "second mount missed the store"
[ "$(info_value "$WORK/b" persist.hits)" = "$n" ] || fail "second mount hits: $(info_value "$WORK/b" persist.hits)"
unmount "$WORK/a"
unmount "$WORK/b"

# Damage three entries: a flipped byte, a truncation, another image's entry
# copied over it (foreign). Each is rejected, extracted again and replaced.
set -- $(ls "$dir"/*.dsc)
size=$(wc -c < "$1")
printf 'X' | dd of="$1" bs=1 seek=$((size - 100)) conv=notrunc 2> /dev/null
truncate -s 1000 "$2"
cp "$4" "$3"
mount_cache "$cache" "$WORK/c" -o cache_dir="$dir",nowarm
check_all "$WORK/c"
[ "$(info_value "$WORK/c" persist.rejected)" = 3 ] || fail "rejected $(info_value "$WORK/c" persist.rejected) entries, want 3"
[ "$(info_value "$WORK/c" extractions)" = 3 ] || fail "extracted $(info_value "$WORK/c" extractions) images, want 3"
unmount "$WORK/c"
mount_cache "$cache" "$WORK/d" -o cache_dir="$dir",nowarm
check_all "$WORK/d"
[ "$(info_value "$WORK/d" extractions)" = 0 ] || fail "damaged entries were not replaced"
unmount "$WORK/d"

# Eviction: a limit of about two small images keeps the directory under
# it (the bigger images, each over the limit, are not written at all).
limit=$((40 * 1024))
rm -rf "$dir"
mount_cache "$cache" "$WORK/e" -o cache_dir="$dir",cache_dir_size=40K,nowarm
check_all "$WORK/e"
[ "$(info_value "$WORK/e" persist.evictions)" -gt 0 ] || fail "nothing evicted under cache_dir_size=40K"
total=$(find "$dir" -name '*.dsc' -exec cat {} + | wc -c)
[ "$total" -le "$limit" ] || fail "store holds $total bytes over cache_dir_size=40K"
unmount "$WORK/e"
[ -z "$(find "$dir" -name '.tmp.*')" ] || fail "temporary files left in the store"

# A cache_dir that cannot be made is one clear error before mounting.
mkdir -p "$WORK/f"
if "$DSCFS" "$cache" "$WORK/f" -o cache_dir=/proc/no/such 2> "$WORK/err"; then
    fusermount3 -u "$WORK/f"; fail "mounted with an impossible cache_dir"
fi
grep -q 'cache_dir=/proc/no/such' "$WORK/err" || fail "no error naming cache_dir: $(cat "$WORK/err")"
exit 0

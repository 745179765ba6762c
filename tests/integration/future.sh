#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# future.sh — reading what dyld would read, also where we have not seen it:
#  1. an architecture the magic names but our table does not (Apple has
#     added new ones before) is opened with a warning: the first image's
#     Mach-O header gives the pointer width and the CPU whose codecs read
#     the code, so listing and extraction give what the known name gives,
#     byte for byte; a sub-cache naming another arch, or an unprintable
#     arch, is still refused;
#  2. sub-caches of a ".development" main file are found as dyld finds
#     them: v2 entries (dyld-1042+) as basePath + fileSuffix, basePath
#     being the name without ".development", for every cacheType (0
#     development, 1 production, 2 universal: dyld-1378
#     SharedCacheRuntime getCachePath/openSubSharedCacheFile); v1 entries
#     (dyld-940) as the main path as opened + ".N".
. "${top_srcdir:-.}/tests/integration/lib.sh"
BUILDER_ARCHES=arm64 builder_setup
cd "$WORK" || fail "cd $WORK"

# put_u8 FILE OFFSET VALUE
put_u8() { printf "\\$(printf %03o "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2> /dev/null; }
# mk DIR ARGS...: an arm64 builder cache DIR/dyld_shared_cache_arm64
mk() {
    dir=$1
    shift
    mkdir -p "$dir"
    "$DSCBUILD" --arch arm64 --slide 2 -o "$dir/dyld_shared_cache_arm64" "$@" $(cat "$WORK/arm64.inputs") \
        > /dev/null 2>&1 || fail "dscbuild $*"
}
mk v2 --header 0x200 --split 3 --platform 2
mk v1 --header 0x1c8 --split 3
mk flat --header 0x200

# 1. Unknown architecture.
cp flat/dyld_shared_cache_arm64 new
printf 'dyld_v1  arm64f' | dd of=new conv=notrunc 2> /dev/null
"$DSCFS" --info new > info.out 2> err.out || fail "unknown arch refused: $(cat err.out)"
grep -q '^Arch *= arm64f ' info.out || fail "--info arch: $(grep '^Arch' info.out)"
grep -q "^Warning: unknown architecture 'arm64f': read as arm64 " info.out || fail "no warning: $(cat info.out)"
"$DSCFS" --list new > new.list 2> /dev/null && "$DSCFS" --list flat/dyld_shared_cache_arm64 > flat.list ||
    fail "--list"
cmp -s new.list flat.list || fail "--list differs under an unknown arch name"
"$DSCFS" --extract-all new out.new > /dev/null 2>&1 || fail "--extract-all of an unknown arch"
"$DSCFS" --extract-all flat/dyld_shared_cache_arm64 out.flat > /dev/null 2>&1 || fail "--extract-all"
diff -r out.new out.flat > /dev/null || fail "outputs differ under an unknown arch name"
n=$(find out.new -type f | wc -l)
[ "$n" -gt 5 ] || fail "only $n outputs"
"$DSCFS" --verify new > verify.out 2> /dev/null || fail "--verify of an unknown arch"
grep '^total:' verify.out | grep -q ' pointers-outside 0 .* bad-stubs 0 branches-outside 0 ' ||
    fail "--verify: $(grep '^total:' verify.out)"
# every file of a split set names the new arch: fine; only the main: refused
cp -r v2 v2new
for f in v2new/dyld_shared_cache_arm64*; do printf 'dyld_v1  arm64f' | dd of="$f" conv=notrunc 2> /dev/null; done
"$DSCFS" --list v2new/dyld_shared_cache_arm64 > /dev/null 2>&1 || fail "split set with an unknown arch refused"
cp v2/dyld_shared_cache_arm64 v2new/dyld_shared_cache_arm64
printf 'dyld_v1  arm64f' | dd of=v2new/dyld_shared_cache_arm64.01 conv=notrunc 2> /dev/null
"$DSCFS" --list v2new/dyld_shared_cache_arm64 > /dev/null 2> err.out && fail "a sub-cache of another arch accepted"
grep -q 'differs from the main' err.out || fail "wrong complaint: $(cat err.out)"
cp flat/dyld_shared_cache_arm64 bad
printf 'dyld_v1  arm\001f' | dd of=bad conv=notrunc 2> /dev/null
"$DSCFS" --info bad > /dev/null 2>&1 && fail "an unprintable architecture accepted"
echo "future.sh: an unknown architecture read as arm64, $n outputs identical"

# 2. ".development" mains.
"$DSCFS" --list v2/dyld_shared_cache_arm64 > want.list || fail "--list v2"
for type in 0 1 2; do
    d=dev$type
    mkdir "$d"
    cp v2/dyld_shared_cache_arm64.0* "$d/"
    cp v2/dyld_shared_cache_arm64 "$d/dyld_shared_cache_arm64.development"
    put_u8 "$d/dyld_shared_cache_arm64.development" 104 "$type"   # cacheType (0x68)
    "$DSCFS" --list "$d/dyld_shared_cache_arm64.development" > got.list 2> err.out ||
        fail "cacheType $type: .development main: $(cat err.out)"
    cmp -s got.list want.list || fail "cacheType $type: .development main lists other images"
    # dyld never looks for NAME.development.NN
    mkdir "$d.wrong"
    cp "$d/dyld_shared_cache_arm64.development" "$d.wrong/"
    for f in v2/dyld_shared_cache_arm64.0*; do
        cp "$f" "$d.wrong/dyld_shared_cache_arm64.development${f#v2/dyld_shared_cache_arm64}"
    done
    "$DSCFS" --list "$d.wrong/dyld_shared_cache_arm64.development" > /dev/null 2>&1 &&
        fail "cacheType $type: sub-caches found under the .development name"
done
# v1 entries: the main path as opened + ".N"
mkdir v1dev v1wrong
for f in v1/dyld_shared_cache_arm64*; do
    case $f in *.manifest) continue ;; esac
    cp "$f" "v1dev/dyld_shared_cache_arm64.development${f#v1/dyld_shared_cache_arm64}"
    cp "$f" "v1wrong/${f#v1/}"
done
mv v1wrong/dyld_shared_cache_arm64 v1wrong/dyld_shared_cache_arm64.development
"$DSCFS" --list v1dev/dyld_shared_cache_arm64.development > /dev/null 2> err.out ||
    fail "v1 .development main: $(cat err.out)"
"$DSCFS" --list v1wrong/dyld_shared_cache_arm64.development > /dev/null 2>&1 &&
    fail "v1: sub-caches found without the .development name"
echo "future.sh: .development mains resolve their sub-caches as dyld does (cacheType 0, 1, 2; v1 and v2 entries)"

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# verb_flags.sh — the verbs' flags (issue 13): --json of --list (images and
# aliases apart), --info and --verify is valid JSON (python3 -m json.tool,
# and jq when installed) with the facts of the text output, also for a path
# holding '"', a newline, a backslash and bytes that are not UTF-8; -q and
# -v of every verb (dscfs(1): less / more text; --json alike with either);
# a flag a verb does not take is a usage error (2, one line).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
command -v python3 > /dev/null || skip "python3 is not installed"
objc="$CACHES/dyld_shared_cache_arm64-macOS-objc"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dscfs-flags.XXXXXX") || exit 99
trap 'rm -rf "$WORK"' EXIT

# valid FILE: FILE is one JSON document.
valid() {
    python3 -m json.tool "$1" > /dev/null 2> "$WORK/json.err" || fail "$1: not JSON: $(cat "$WORK/json.err")"
    if command -v jq > /dev/null; then jq -e . "$1" > /dev/null || fail "$1: jq refuses it"; fi
}
# py FILE EXPR: EXPR evaluated with d = the JSON document of FILE.
py() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# usage_error CMD...: exit 2 with one line on stderr.
usage_error() {
    "$@" > /dev/null 2> "$WORK/err"
    rc=$?
    [ "$rc" = 2 ] || fail "$*: exit $rc, expected 2"
    [ "$(wc -l < "$WORK/err")" = 1 ] || fail "$*: not one line: $(cat "$WORK/err")"
}

# --list --json: the same images and aliases as the text.
"$DSCFS" --list "$objc" --json > "$WORK/list.json" || fail "--list --json"
valid "$WORK/list.json"
"$DSCFS" --list "$objc" | grep -v ' -> ' > "$WORK/images.want"
py "$WORK/list.json" '"\n".join(d["images"])' > "$WORK/images.got"
cmp "$WORK/images.want" "$WORK/images.got" || fail "--list --json images differ"
"$DSCFS" --list "$objc" | grep ' -> ' > "$WORK/aliases.want"
py "$WORK/list.json" '"\n".join(a["path"] + " -> " + a["target"] for a in d["aliases"])' > "$WORK/aliases.got"
cmp "$WORK/aliases.want" "$WORK/aliases.got" || fail "--list --json aliases differ"
[ "$(py "$WORK/list.json" 'all(d["images"][a["image"]] == a["target"] for a in d["aliases"])')" = True ] ||
    fail "--list --json: an alias's image index is not its target"

# --info --json: the header facts as numbers and strings.
for cache in $(real_caches); do
    "$DSCFS" --info --json "$cache" > "$WORK/info.json" || fail "--info --json $cache"
    valid "$WORK/info.json"
    "$DSCFS" --info "$cache" > "$WORK/info.txt"
    [ "$(py "$WORK/info.json" 'd["arch"]')" = "$(sed -n 's/^Arch *= \([^ ]*\) .*/\1/p' "$WORK/info.txt")" ] ||
        fail "$cache: --info --json arch"
    [ "$(py "$WORK/info.json" 'd["images"]')" = "$(sed -n 's/^Images *= //p' "$WORK/info.txt")" ] ||
        fail "$cache: --info --json images"
    [ "$(py "$WORK/info.json" '"0x%x" % d["base_address"]')" = "$(sed -n 's/^Base Address *= //p' "$WORK/info.txt")" ] ||
        fail "$cache: --info --json base_address"
    [ "$(py "$WORK/info.json" 'len(d["mappings"])')" = "$(sed -n '/^Mappings:/,$p' "$WORK/info.txt" | grep -c '^  __')" ] ||
        fail "$cache: --info --json mappings"
    [ "$(py "$WORK/info.json" 'd["files"][0]["role"]')" = main ] || fail "$cache: --info --json files"
done

# --verify --json: per image counts and a total, as the text says.
"$DSCFS" --verify "$objc" --json > "$WORK/verify.json" || fail "--verify --json"
valid "$WORK/verify.json"
[ "$(py "$WORK/verify.json" 'len(d["images"])')" = 8 ] || fail "--verify --json: not 8 images"
[ "$(py "$WORK/verify.json" 'd["total"]["pointers"]')" = \
  "$("$DSCFS" --verify "$objc" | sed -n 's/^total: pointers \([0-9]*\) .*/\1/p')" ] || fail "--verify --json total"
[ "$(py "$WORK/verify.json" 'd["failed"]')" = 0 ] || fail "--verify --json failed"
# Every count the text shows is in the JSON, under the same name.
"$DSCFS" --verify "$objc" | sed -n 's/^total: //p' | tr ' ' '\n' | sed -n '1~2p' | tr - _ > "$WORK/keys"
[ -s "$WORK/keys" ] || fail "--verify: no total line"
while read -r key; do
    [ "$(py "$WORK/verify.json" "'$key' in d['total']")" = True ] || fail "--verify --json lacks $key"
done < "$WORK/keys"
# -q: only images with a problem (none here), no total.
"$DSCFS" --verify -q "$objc" > "$WORK/q.out" || fail "--verify -q"
[ ! -s "$WORK/q.out" ] || fail "--verify -q printed: $(cat "$WORK/q.out")"

# A hostile path: every byte survives as JSON (escaped as in messages).
with_path "$WORK/hostile" 5 '/usr/lib/a"b\\c\nd\377\303\251.dylib'
"$DSCFS" --list --json "$WORK/hostile" > "$WORK/hostile.json" || fail "--list --json hostile"
valid "$WORK/hostile.json"
[ "$(py "$WORK/hostile.json" 'd["images"][5]')" = '/usr/lib/a"b\x5cc\x0ad\xffé.dylib' ] ||
    fail "hostile path in JSON: $(py "$WORK/hostile.json" 'd["images"][5]')"
"$DSCFS" --verify --json "$WORK/hostile" > "$WORK/hostile-verify.json" 2> /dev/null
valid "$WORK/hostile-verify.json"

# -q / -v of --list: paths only; "ADDRESS<tab>UUID<tab>PATH" per image,
# the address and UUID those of the extracted file (llvm-objdump-19 reads
# its LC_UUID; its __TEXT vmaddr is the header's address).
"$DSCFS" --list "$objc" -q > "$WORK/list-q" || fail "--list -q"
cmp "$WORK/list-q" "$WORK/images.want" || fail "--list -q is not the image paths: $(cat "$WORK/list-q")"
"$DSCFS" --list "$objc" -v > "$WORK/list-v" || fail "--list -v"
cut -f3 "$WORK/list-v" | grep -v ' -> ' | cmp - "$WORK/images.want" || fail "--list -v paths: $(cat "$WORK/list-v")"
grep ' -> ' "$WORK/list-v" | cmp - "$WORK/aliases.want" || fail "--list -v aliases"
[ "$(grep -c '^0x[0-9a-f]*	[0-9A-F-]*	/' "$WORK/list-v")" = 8 ] || fail "--list -v lines: $(cat "$WORK/list-v")"
if command -v llvm-objdump-19 > /dev/null; then
    line=$(grep 'libobjc' "$WORK/list-v")
    "$DSCFS" --extract /usr/lib/libobjc.A.dylib "$objc" -o "$WORK/objc-v" -q || fail "--extract libobjc"
    uuid=$(llvm-objdump-19 --macho --private-headers "$WORK/objc-v" | sed -n 's/^ *uuid //p')
    vmaddr=$(llvm-objdump-19 --macho --private-headers "$WORK/objc-v" | grep -A3 'segname __TEXT$' |
        sed -n 's/^ *vmaddr 0x0*//p')
    [ "$(echo "$line" | cut -f2)" = "$uuid" ] || fail "--list -v UUID $(echo "$line" | cut -f2), LC_UUID $uuid"
    [ "$(echo "$line" | cut -f1)" = "0x$vmaddr" ] || fail "--list -v address $(echo "$line" | cut -f1), __TEXT 0x$vmaddr"
fi
# -q / -v of --info: the header without the tables; the images table too.
"$DSCFS" --info "$objc" > "$WORK/info"
"$DSCFS" --info "$objc" -q > "$WORK/info-q" || fail "--info -q"
sed '/^$/,$d' "$WORK/info" | cmp - "$WORK/info-q" || fail "--info -q is not the header: $(cat "$WORK/info-q")"
"$DSCFS" --info "$objc" -v > "$WORK/info-v" || fail "--info -v"
head -n "$(wc -l < "$WORK/info")" "$WORK/info-v" | cmp - "$WORK/info" || fail "--info -v changed the text"
grep -v ' -> ' "$WORK/list-v" > "$WORK/list-v-images"
sed -n '/^Images (address, UUID, path):$/,$p' "$WORK/info-v" | tail -n +2 | cmp - "$WORK/list-v-images" ||
    fail "--info -v images differ from --list -v: $(cat "$WORK/info-v")"
# --json is the same with -q or -v.
"$DSCFS" --info "$objc" --json > "$WORK/info-objc.json"
for f in -q -v; do
    "$DSCFS" --list "$objc" --json $f | cmp - "$WORK/list.json" || fail "--list --json $f differs"
    "$DSCFS" --info "$objc" --json $f | cmp - "$WORK/info-objc.json" || fail "--info --json $f differs"
done
# -v of --verify: a progress line per image on stderr, stdout as without it.
"$DSCFS" --verify "$objc" -v > "$WORK/verify-v" 2> "$WORK/verify-v.err" || fail "--verify -v"
"$DSCFS" --verify "$objc" | cmp - "$WORK/verify-v" || fail "--verify -v changed the report"
[ "$(grep -c '^dscfs: verifying [1-8]/8 /usr/' "$WORK/verify-v.err")" = 8 ] ||
    fail "--verify -v progress: $(cat "$WORK/verify-v.err")"
"$DSCFS" --verify "$objc" -v --json > "$WORK/verify-vj.json" 2> /dev/null || fail "--verify -v --json"
cmp "$WORK/verify-vj.json" "$WORK/verify.json" || fail "--verify -v --json differs"

# -q / -v of the extraction verbs.
"$DSCFS" --extract /usr/lib/libobjc.A.dylib "$objc" -o "$WORK/objc" -v 2> "$WORK/v.err" || fail "--extract -v"
grep -q '^dscfs: /usr/lib/libobjc.A.dylib: [0-9]* bytes to .*rebases' "$WORK/v.err" ||
    fail "--extract -v: $(cat "$WORK/v.err")"
"$DSCFS" --extract /usr/lib/libhello-1.0.dylib "$objc" -o "$WORK/hello" -q 2> "$WORK/q.err" || fail "--extract -q"
[ ! -s "$WORK/q.err" ] || fail "--extract -q printed: $(cat "$WORK/q.err")"
# -q keeps errors: an image whose path runs through another's file.
with_path "$WORK/through" 5 '/usr/lib/liba-1.0.dylib/x.dylib'
"$DSCFS" --extract-all "$WORK/through" "$WORK/through-q" -q -j 1 > "$WORK/q.out" 2> "$WORK/q.err" &&
    fail "--extract-all -q of a path through a file succeeded"
[ ! -s "$WORK/q.out" ] || fail "--extract-all -q printed a summary: $(cat "$WORK/q.out")"
grep -q 'liba-1.0.dylib/x.dylib: cannot write' "$WORK/q.err" ||
    fail "--extract-all -q: errors: $(cat "$WORK/q.err")"
"$DSCFS" --extract-all "$objc" "$WORK/all-q" -q -j 2 > "$WORK/q.out" 2> "$WORK/q.err" || fail "--extract-all -q"
[ ! -s "$WORK/q.out" ] && [ ! -s "$WORK/q.err" ] || fail "--extract-all -q printed: $(cat "$WORK/q.out" "$WORK/q.err")"
[ -f "$WORK/all-q/usr/lib/libobjc.A.dylib" ] || fail "--extract-all -q wrote nothing"
"$DSCFS" --extract-all "$objc" "$WORK/all-v" -v -j 2 > "$WORK/v.out" 2> /dev/null || fail "--extract-all -v"
[ "$(grep -c '^/usr/.* [0-9][0-9]*$' "$WORK/v.out")" = 8 ] || fail "--extract-all -v: $(cat "$WORK/v.out")"
grep -q '^extracted 8 of 8 images' "$WORK/v.out" || fail "--extract-all -v lost the summary"

# Flags a verb does not take, and -q with -v.
usage_error "$DSCFS" --list "$objc" --force
usage_error "$DSCFS" --list "$objc" --no-sign
grep -q -- '--list does not take --no-sign' "$WORK/err" || fail "--list --no-sign: $(cat "$WORK/err")"
usage_error "$DSCFS" --extract-all "$objc" "$WORK/x" --json
usage_error "$DSCFS" --info "$objc" --no-sign
usage_error "$DSCFS" --extract /usr/lib/libobjc.A.dylib "$objc" -o "$WORK/x" -q -v
grep -q -- '-q and -v together' "$WORK/err" || fail "-q -v: $(cat "$WORK/err")"
for verb in --list --info --verify; do
    usage_error "$DSCFS" $verb "$objc" -v -q
done
# The word after -o is a file name, even "-q".
dscfs=$(cd "$(dirname "$DSCFS")" && pwd)/$(basename "$DSCFS")
objc_abs=$(cd "$(dirname "$objc")" && pwd)/$(basename "$objc")
(cd "$WORK" && "$dscfs" --extract /usr/lib/libobjc.A.dylib "$objc_abs" -o -q) || fail "--extract -o -q"
[ -f "$WORK/-q" ] || fail "--extract -o -q did not write a file named -q"
exit 0

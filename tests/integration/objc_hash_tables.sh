#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# objc_hash_tables.sh — the ObjC selector, class and protocol hash tables of
# builder caches (issue 10, item 5; format: dyld-1042.1 .. dyld-1378
# common/OptimizerObjC.h StringHashTable/ObjectHashTable, written by
# dscbuild objc_opts.c/objc_clsopt.c, looked up by dsccheck as dyld does
# for objc4's getPreoptimizedClass/Protocol).
#  1. dsccheck passes an arm64 0x200 cache and one with --clones 3, whose
#     class names each have 4 classes (duplicates runs), and counts the
#     classes and protocols it found through the tables;
#  2. each table corrupted in a copy (the selector table's salt; the class
#     and protocol tables' salt, then their objects; the clones cache's
#     duplicates run) makes dsccheck fail with one line naming the table;
#  3. dscfs --extract of libobjc and --verify on every corrupted copy exit
#     normally (the engine does not read the tables: the extracted libobjc
#     is byte for byte the one of the intact cache, --verify the same).
. "${top_srcdir:-.}/tests/integration/lib.sh"
BUILDER_ARCHES=arm64 builder_setup

# u64 at file offset $2 of $1.
u64_at() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
u32_at() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
# put32 FILE OFFSET VALUE; VALUE zeros:N writes N zero bytes.
put32() {
    case $3 in
        zeros:*) dd if=/dev/zero of="$1" bs=1 seek="$2" count="${3#zeros:}" conv=notrunc status=none ;;
        *) u32 "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none ;;
    esac || fail "patching $1"
}

build() {
    mkdir -p "$WORK/$1"
    name=$1
    shift
    "$DSCBUILD" --arch arm64 --slide 2 --header 0x200 -o "$WORK/$name/dsc" "$@" $(cat "$WORK/arm64.inputs") > /dev/null ||
        fail "$name: dscbuild"
    out=$("$DSCCHECK" "$WORK/$name/dsc.manifest") || fail "$name: dsccheck"
    echo "$out" | grep -oE '[0-9]+ hashed classes, [0-9]+ hashed protocols'
}

# file_off CACHE OFFSET: the main file's offset of that cache offset.
file_off() {
    "$DSCFS" --info "$1" | awk '$1 == "Base" { print "base", $4 } $1 ~ /^__/ && $8 == "0" { print $4, $5, $6 }' |
        while read -r size addr off; do
            if [ "$size" = base ]; then
                a=$((addr + $2))
            elif [ "$a" -ge $((addr)) ] && [ "$a" -lt $((addr + size)) ]; then
                echo $((off + a - addr))
                break
            fi
        done
}
# The opts header and the three tables' file offsets (all in the main file).
tables() {
    opts=$(file_off "$1" "$(u64_at "$1" $((0x1d0)))")
    sel=$(file_off "$1" "$(u64_at "$1" $((opts + 0x18)))")
    cls=$(file_off "$1" "$(u64_at "$1" $((opts + 0x20)))")
    proto=$(file_off "$1" "$(u64_at "$1" $((opts + 0x28)))")
    [ -n "$opts" ] && [ -n "$sel" ] && [ -n "$cls" ] && [ -n "$proto" ] || fail "$1: the ObjC tables are not in the main file"
}
# objects TABLE: file offset of its objects array.
objects() {
    cap=$(u32_at "$victim" $(($1 + 4)))
    mask=$(u32_at "$victim" $(($1 + 16)))
    echo $(($1 + 1056 + mask + 1 + 5 * cap))
}

plain=$(build plain --local-symbols)
clones=$(build clones --clones 3)
set -- $plain
[ "$1" -ge 5 ] && [ "$4" -ge 4 ] || fail "plain: only $plain"
set -- $clones
[ "$1" -ge 20 ] && [ "$4" -ge 16 ] || fail "clones: only $clones"
echo "ok: dsccheck finds $plain (plain) and $clones (clones) through the tables"

"$DSCFS" --extract /usr/lib/libobjc.A.dylib "$WORK/plain/dsc" -o "$WORK/libobjc.want" 2> /dev/null ||
    fail "--extract of the intact cache"
"$DSCFS" --verify "$WORK/plain/dsc" > "$WORK/verify.want" 2> /dev/null || fail "--verify of the intact cache"

# corrupt NAME CACHE WHAT OFFSET VALUE: patch a copy, dsccheck must name WHAT
# in one line; dscfs must not crash and extract what it did before.
corrupt() {
    dir=$WORK/bad-$1
    rm -rf "$dir"
    cp -r "$WORK/$2" "$dir"
    sed "s|$WORK/$2/|$dir/|" "$WORK/$2/dsc.manifest" > "$dir/dsc.manifest"
    victim=$dir/dsc
    put32 "$victim" "$4" "$5"
    "$DSCCHECK" "$dir/dsc.manifest" > /dev/null 2> "$dir/err" && fail "$1: dsccheck accepts the corrupted table"
    [ "$(wc -l < "$dir/err")" -eq 1 ] && grep -qE "^dsccheck: .*$3" "$dir/err" ||
        fail "$1: dsccheck said: $(cat "$dir/err")"
    echo "ok: $1: $(cat "$dir/err")"
    [ "$2" = plain ] || return 0
    "$DSCFS" --extract /usr/lib/libobjc.A.dylib "$victim" -o "$dir/libobjc" 2> "$dir/xerr" ||
        fail "$1: --extract failed: $(cat "$dir/xerr")"
    cmp -s "$dir/libobjc" "$WORK/libobjc.want" || fail "$1: the extracted libobjc differs"
    "$DSCFS" --verify "$victim" > "$dir/verify" 2> /dev/null || fail "$1: --verify failed"
    sed "s|$dir/|$WORK/plain/|g" "$dir/verify" | cmp -s - "$WORK/verify.want" || fail "$1: --verify reports differ"
}

victim=$WORK/plain/dsc
tables "$victim"
corrupt selector-salt plain "selector hash table" $((sel + 24)) 12345
corrupt class-salt plain "class hash table" $((cls + 24)) 12345
corrupt class-objects plain "class hash table" "$(objects "$cls")" zeros:$((8 * $(u32_at "$victim" $((cls + 4)))))
corrupt protocol-salt plain "protocol hash table" $((proto + 24)) 12345
corrupt protocol-objects plain "protocol hash table" "$(objects "$proto")" zeros:$((8 * $(u32_at "$victim" $((proto + 4)))))
victim=$WORK/clones/dsc
tables "$victim"
# the first duplicates entry's dylibObjCIndex (bits 48..63: bytes 6..7)
dups=$(($(objects "$cls") + 8 * $(u32_at "$victim" $((cls + 4))) + 4))
corrupt class-duplicates clones "class hash table" $((dups + 4)) $((0x7777 << 16))
echo "ok: dscfs --extract/--verify are unchanged on the corrupted copies"

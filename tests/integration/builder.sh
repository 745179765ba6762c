#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# builder.sh — dscbuild writes a cache for every (arch, slide version,
# header era, split/unsplit, local symbols or not) combination; dsccheck
# proves each against its input dylibs, and `dscfs --info`/`--list` must
# report the right arch, slide versions, files, images and aliases.
. "${top_srcdir:-.}/tests/integration/lib.sh"
builder_setup
cd "$WORK" || fail "cd $WORK"

# arch:slide pairs dyld uses (the slide info version per architecture of
# dyld's cache-builder/SharedCacheBuilder.cpp)
PAIRS="arm64:2 arm64e:3 arm64e:5 arm64_32:1 arm64_32:4 x86_64:1 x86_64:2"
ERAS="0x98 0x138 0x140 0x1c8 0x200"

command -v llvm-objdump-19 > /dev/null 2>&1 || skip "llvm-objdump-19 is not installed"
"$top_srcdir/tests/builder/x86-refs.sh" "$WORK/x86_64.inputs" > "$WORK/x86_64.refs"
[ -s "$WORK/x86_64.refs" ] || fail "llvm-objdump found no RIP-relative operands in the x86_64 inputs"

check_cache() {
    out=$1 arch=$2 slide=$3 split=$4 syms=$5
    m=$out.manifest
    refs=
    [ "$arch" = x86_64 ] && refs="--x86-refs $WORK/x86_64.refs"
    "$DSCCHECK" $refs "$m" > check.out 2>&1 || { cat check.out >&2; fail "$out: dsccheck"; }
    case $arch in
        x86_64) grep -q ' [1-9][0-9]* rip operands' check.out || fail "$out: no RIP-relative operand checked" ;;
        *) grep -q ' [1-9][0-9]* adrp pairs' check.out || fail "$out: no ADRP pair checked" ;;
    esac
    "$DSCFS" --info "$out" > info.out 2> err.out || { cat err.out >&2; fail "$out: --info"; }
    grep -q "^Arch *= $arch " info.out || fail "$out: --info arch"
    # Every writable mapping carries slide info of the chosen version.
    nrw=$(grep -c '^  __\(DATA\|AUTH\)' info.out)
    nslide=$(grep -c " v$slide " info.out)
    [ "$nrw" -gt 0 ] && [ "$nrw" = "$nslide" ] || fail "$out: $nrw data mappings, $nslide with v$slide"
    [ "$(grep -c ' v[0-9] ' info.out)" = "$nslide" ] || fail "$out: other slide versions present"
    # Files: the manifest's list, in roles.
    nsub=$(grep -c '^file	subcache' "$m")
    [ "$(grep -c '^  subcache ' info.out)" = "$nsub" ] || fail "$out: subcache count"
    if [ "$split" = yes ]; then
        [ "$nsub" -ge 3 ] || fail "$out: split cache has $nsub subcaches"
        for s in $(grep '^file	subcache' "$m" | cut -f3); do [ -f "$s" ] || fail "$s missing"; done
    else
        [ "$nsub" = 0 ] || fail "$out: unsplit cache has subcaches"
    fi
    if [ "$syms" = yes ] && [ "$split" = yes ]; then
        grep -q '^  symbols ' info.out || fail "$out: .symbols not opened"
        [ -f "$out.symbols" ] || fail "$out.symbols missing"
    else
        grep -q '^  symbols ' info.out && fail "$out: unexpected .symbols"
    fi
    if [ "$syms" = yes ]; then
        grep -q ' [1-9][0-9]* locals' check.out || fail "$out: no local symbols were checked"
        grep -q ' [1-9][0-9]* redacted locals' check.out || fail "$out: no <redacted> locals"
    fi
    grep -q ' [1-9][0-9]* objc image infos' check.out || fail "$out: objc_image_info not checked"
    if [ "$arch" = arm64e ]; then
        grep -q ' [1-9][0-9]* auth pointers' check.out || fail "$out: no authenticated pointers"
    fi
    # dyld-940+ eras unique selectors, protocols and GOTs; older ones do not.
    case $era in
        0x1c8|0x200)
            grep -q ' [1-9][0-9]* uniqued selectors' check.out || fail "$out: selectors not uniqued"
            grep -q ' [1-9][0-9]* uniqued protocols' check.out || fail "$out: protocols not uniqued"
            grep -q ' [1-9][0-9]* GOT loads' check.out || fail "$out: no GOT load redirected"
            case $arch in arm64|arm64e)
                grep -q ' [1-9][0-9]* selector loads' check.out || fail "$out: no selector load rewritten" ;;
            esac
            # dyld-1042.1+: the images' own GOT slots are zeroed, twins live.
            if [ "$era" = 0x200 ]; then
                grep -q ' [1-9][0-9]* zeroed GOT slots' check.out || fail "$out: no own GOT slot zeroed"
            else
                grep -q ' 0 zeroed GOT slots' check.out || fail "$out: own GOT slots zeroed before dyld-1042"
            fi
            if [ "$era" = 0x200 ] && [ "$arch" != arm64_32 ]; then
                grep -q ' [1-9][0-9]* header infos' check.out || fail "$out: no ObjC optimisation header"
            fi ;;
        *) grep -q ' 0 uniqued selectors, 0 uniqued protocols' check.out || fail "$out: ObjC uniqued in an old era"
           grep -q ' 0 GOT loads' check.out || fail "$out: GOTs uniqued in an old era" ;;
    esac
    # Images and aliases, exactly the manifest's.
    "$DSCFS" --list "$out" > list.out 2> err.out || { cat err.out >&2; fail "$out: --list"; }
    grep -v ' -> ' list.out | sort > got.images
    grep '^image	' "$m" | cut -f2 | sort > want.images
    cmp -s got.images want.images || fail "$out: --list images differ from the manifest"
    grep ' -> ' list.out | sort > got.aliases
    grep '^alias	' "$m" | cut -f2,3 | sed 's/	/ -> /' | sort > want.aliases
    [ -s want.aliases ] && cmp -s got.aliases want.aliases || fail "$out: --list aliases differ"
}

n=0
for pair in $PAIRS; do
    arch=${pair%:*} slide=${pair#*:}
    for era in $ERAS; do
        for split in no yes; do
            [ "$split" = yes ] && [ "$era" != 0x1c8 ] && [ "$era" != 0x200 ] && continue
            for syms in no yes; do
                dir=$WORK/$arch-v$slide-$era-split$split-syms$syms
                mkdir -p "$dir"
                out=$dir/dyld_shared_cache_$arch
                set -- --arch "$arch" --slide "$slide" --header "$era" -o "$out" \
                    --alias /usr/lib/liba.1.dylib=/usr/lib/liba.dylib \
                    --alias /usr/lib/libSystem.dylib=/usr/lib/libSystem.B.dylib
                [ "$split" = yes ] && set -- "$@" --split 3
                [ "$syms" = yes ] && set -- "$@" --local-symbols
                "$DSCBUILD" "$@" $(cat "$WORK/$arch.inputs") > build.out 2>&1 ||
                    { cat build.out >&2; fail "dscbuild $*"; }
                check_cache "$out" "$arch" "$slide" "$split" "$syms"
                n=$((n + 1))
            done
        done
    done
done
echo "builder.sh: $n caches built and verified"

# More images per TEXT file than there are images: one TEXT file, then DATA
# and LINKEDIT sub-caches.
out=$WORK/wide/dyld_shared_cache_arm64
mkdir -p "$WORK/wide"
"$DSCBUILD" --arch arm64 --slide 2 --header 0x1c8 --split 100 -o "$out" $(cat "$WORK/arm64.inputs") > build.out ||
    fail "dscbuild --split 100"
"$DSCCHECK" "$out.manifest" > check.out 2>&1 || { cat check.out >&2; fail "$out: dsccheck"; }
[ "$(grep -c '^file	subcache' "$out.manifest")" = 2 ] || fail "--split 100 should make two sub-caches"

# Stub optimisation (arm64, arm64e): calls go straight to other images.
for pair in arm64:2 arm64e:3; do
    arch=${pair%:*} slide=${pair#*:}
    out=$WORK/stubs-$arch/dyld_shared_cache_$arch
    mkdir -p "$WORK/stubs-$arch"
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header 0x1c8 --optimize-stubs -o "$out" \
        $(cat "$WORK/$arch.inputs") > build.out || fail "dscbuild --optimize-stubs $arch"
    "$DSCCHECK" "$out.manifest" > check.out 2>&1 || { cat check.out >&2; fail "$out: dsccheck"; }
    built=$(sed -n 's/.* \([0-9]*\) branches redirected.*/\1/p' build.out)
    calls=$(sed -n 's/.* \([0-9]*\) direct calls.*/\1/p' check.out)
    stubs=$(sed -n 's/.* \([0-9]*\) direct stubs.*/\1/p' check.out)
    [ "${built:-0}" -gt 0 ] && [ "$built" = "$calls" ] && [ "${stubs:-0}" -gt 0 ] ||
        fail "$arch: $built branches redirected, dsccheck saw $calls calls and $stubs stubs"
done

# Universal sets (dyld-1042+): a customer and a .development main sharing
# every sub-cache but the TEXT_STUBS ones, where calls now go.
for pair in arm64:2 arm64e:5; do
    arch=${pair%:*} slide=${pair#*:}
    out=$WORK/universal-$arch/dyld_shared_cache_$arch
    mkdir -p "$WORK/universal-$arch"
    "$DSCBUILD" --arch "$arch" --slide "$slide" --header 0x200 --split 3 --universal --local-symbols -o "$out" \
        $(cat "$WORK/$arch.inputs") > build.out || fail "dscbuild --universal $arch"
    for main in "$out" "$out.development"; do
        "$DSCCHECK" "$main.manifest" > check.out 2>&1 || { cat check.out >&2; fail "$main: dsccheck"; }
        grep -q ' [1-9][0-9]* calls to stub copies' check.out || fail "$main: no call reaches a stub copy"
        "$DSCFS" --info "$main" > info.out || fail "$main: --info"
        grep -q '^Cache Type *= universal' info.out || fail "$main: not universal"
        grep -q '^  __TEXT_STUBS ' info.out || fail "$main: no __TEXT_STUBS mapping"
        grep -q '^  symbols ' info.out || fail "$main: .symbols not found"
        "$DSCFS" --list "$main" | grep -v ' -> ' | sort > "got.$(basename "$main")"
    done
    cmp -s "got.$(basename "$out")" "got.$(basename "$out").development" || fail "$arch: the two mains list different images"
    "$DSCFS" --info "$out" | grep -q '^  subcache .*\.development$' && fail "$arch: customer main lists development stubs"
    [ "$("$DSCFS" --info "$out.development" | grep -c '^  subcache .*\.development$')" -gt 0 ] ||
        fail "$arch: development main lists no development stubs"
done

# The dyld-1231 eras (0x208: dyld-1245.1, 0x228: dyld-1284.13) on iOS, from
# the "era" inputs (__DATA_DIRTY, __TPRO_CONST, __OBJC_CONST, __READ_ONLY;
# 14 images with libswiftrel: 6 TEXT files of --split 3 with the main):
# TPRO_CONST and READ_ONLY mappings in dyld's Region::Kind order, 32 MiB of
# VM where Region::needsRegionPadding wants it (1 = a gap of 32 MiB or more
# before the mapping), .dylddata/.dyldreadonly/.dyldlinkedit sub-caches off
# macOS only.
era_layout_arm64="__TEXT 0 __TEXT 0 __TEXT 0 __TEXT 0 __TEXT 0 __TEXT 0 __DATA_CONST 0 __TPRO_CONST 1 __DATA 0 __TEXT 1 __READ_ONLY 0 __TEXT 0 __LINKEDIT 0"
era_layout_arm64e="__TEXT 0 __TEXT 0 __TEXT 0 __TEXT 0 __TEXT 0 __TEXT 0 __DATA_CONST 0 __DATA 1 __TPRO_CONST 0 __AUTH 0 __AUTH_CONST 0 __TEXT 1 __READ_ONLY 0 __TEXT 0 __LINKEDIT 0"
for pair in arm64:2 arm64e:5; do
    arch=${pair%:*} slide=${pair#*:}
    "$top_srcdir/tests/builder/build-inputs.sh" "$WORK/$arch-era" "$arch" era > "$WORK/$arch-era.inputs" ||
        fail "building the $arch era inputs"
    for era in 0x208 0x228; do
        for platform in 2 1; do
            out=$WORK/era-$arch-$era-$platform/dyld_shared_cache_$arch
            mkdir -p "${out%/*}"
            "$DSCBUILD" --arch "$arch" --slide "$slide" --header "$era" --split 3 --platform "$platform" -o "$out" \
                $(cat "$WORK/$arch-era.inputs") > build.out 2>&1 || { cat build.out >&2; fail "dscbuild $era $arch"; }
            "$DSCCHECK" "$out.manifest" > check.out 2>&1 || { cat check.out >&2; fail "$out: dsccheck"; }
            "$DSCFS" --info "$out" > info.out 2> err.out || { cat err.out >&2; fail "$out: --info"; }
            grep -q "^Header Size *= $era\$" info.out || fail "$out: header size"
            got=$(awk 'function hex(s,   n, i) {
                           n = 0; s = tolower(s); sub(/^0x/, "", s)
                           for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
                           return n }
                       /^Mappings:/ { m = 1; next }
                       m && /^  __/ { a = hex($5); printf "%s%s %d", sep, $1, (end && a - end >= 33554432)
                                      sep = " "; end = a + hex($4) }' info.out)
            eval want=\$era_layout_$arch
            [ "$got" = "$want" ] || fail "$out: mappings/padding are '$got', expected '$want'"
            suffixes=$(awk '$1 == "subcache" { sub(/.*dyld_shared_cache_[a-z0-9_]*\./, "", $NF); s = s " " $NF }
                            END { print s }' info.out)
            want=" 01 02 03 04 05 06 07"
            [ "$platform" = 2 ] && want=" 01 02 03 04 05.dylddata 06.dyldreadonly 07.dyldlinkedit"
            [ "$suffixes" = "$want" ] || fail "$out: sub-cache suffixes '$suffixes', expected '$want'"
            # tproMappingsOffset/Count (0x200) -> {unslidAddress, size} of the TPRO_CONST mapping
            set -- $(od -An -tu4 -j 512 -N 8 "$out")
            [ "$2" = 1 ] || fail "$out: tproMappingsCount $2"
            set -- $(od -An -tx8 -j "$1" -N 16 "$out")
            tpro=$(printf '%d %d' "0x$1" "0x$2")
            want=$(printf '%d %d' $(awk '$1 == "__TPRO_CONST" { print $5, $4 }' info.out))
            [ "$tpro" = "$want" ] || fail "$out: TPRO mapping entry $tpro, mapping $want"
        done
    done
done
# x86_64 (discontiguous, dyld-1284.13 addTPROConstChunk): no TPRO or
# READ_ONLY mapping, no padding.
out=$WORK/era-x86_64/dyld_shared_cache_x86_64
mkdir -p "${out%/*}"
"$DSCBUILD" --arch x86_64 --slide 2 --header 0x228 -o "$out" $(cat "$WORK/x86_64.inputs") > build.out 2>&1 ||
    { cat build.out >&2; fail "dscbuild 0x228 x86_64"; }
"$DSCCHECK" --x86-refs "$WORK/x86_64.refs" "$out.manifest" > check.out 2>&1 || { cat check.out >&2; fail "$out: dsccheck"; }
echo "builder.sh: the dyld-1231 eras: 8 caches (arm64, arm64e; iOS and macOS) and x86_64"

# A split 0x208 cache of the arm64 era inputs with --clones 3: liba's GOT
# loads that lld relaxed into NOP + LDR literal (its optimisation hints)
# are then beyond 1 MiB of their cache-wide twins, and the own slots are
# zeroed (dyld-1042.1+). The builder widens them back into ADRP + LDR of
# the twin, the form ld64 leaves in a shared-region dylib (ld64-956.6
# applies no hint when it writes split-seg v2; dyld-1378 re-aims ADRP/OFF12
# at the coalesced GOT). dsccheck judges every load against the input (none
# may read a zeroed slot); llvm-objdump-19 must find at least one input
# literal GOT load that is an ADRP + LDR in the extracted liba.
out=$WORK/era-clones/dyld_shared_cache_arm64
mkdir -p "${out%/*}"
"$DSCBUILD" --arch arm64 --slide 2 --header 0x208 --split 3 --clones 3 -o "$out" \
    $(cat "$WORK/arm64-era.inputs") > build.out 2>&1 || { cat build.out >&2; fail "dscbuild --clones 3 0x208"; }
"$DSCCHECK" "$out.manifest" > check.out 2>&1 || { cat check.out >&2; fail "$out: dsccheck"; }
"$DSCFS" --extract /usr/lib/liba.dylib "$out" -o liba.out 2> err.out || { cat err.out >&2; fail "$out: --extract liba"; }
# got_loads MACHO: "OFFSET FORM" of each __text instruction loading from
# __got (OFFSET in __text; FORM lit for LDR literal, pair for ADRP + LDR).
got_loads() {
    { llvm-objdump-19 -h "$1"; llvm-objdump-19 -d --no-show-raw-insn --section=__text "$1"; } |
        awk 'function hex(s,   n, i) {
                 n = 0; s = tolower(s); sub(/^0x/, "", s)
                 for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
                 return n }
             $2 == "__text" { text = hex($4) } $2 == "__got" { got = hex($4); gotend = got + hex($3) }
             /^ *[0-9a-f]+:/ { sub(/:$/, "", $1); a = hex($1)
                 if ($2 == "adrp") { page[$3] = hex($4); at[$3] = a; next }
                 if ($2 != "ldr") next
                 if ($4 ~ /^0x/ && hex($4) >= got && hex($4) < gotend) print a - text, "lit"
                 r = $4; sub(/^\[/, "", r); sub(/,$/, "", r); o = $5; sub(/^#/, "", o); sub(/\]$/, "", o)
                 if ((r ",") in page && page[r ","] + hex(o) >= got && page[r ","] + hex(o) < gotend)
                     print a - text, "pair" }'
}
got_loads "$WORK/arm64-era/liba.dylib" | awk '$2 == "lit" { print $1 }' | sort > lits.in
got_loads liba.out | awk '$2 == "pair" { print $1 }' | sort > pairs.out
widened=$(comm -12 lits.in pairs.out | wc -l)
[ "$widened" -ge 1 ] || fail "$out: no literal GOT load of liba was widened (literals: $(wc -l < lits.in))"
echo "builder.sh: --clones 3 0x208 split cache: $widened of liba's $(wc -l < lits.in) literal GOT loads widened"

# The set other tests get from builder_caches (lib.sh).
builder_caches "$WORK/set"
[ "$(wc -l < "$WORK/set/caches.list")" -ge 30 ] || fail "make-caches.sh made too few caches"
cut -f2 "$WORK/set/caches.list" | while read -r main; do
    "$DSCFS" --list "$main" > /dev/null || fail "$main: --list"
done

# The checker must be able to fail: clear a data mapping.
victim=$WORK/arm64e-v3-0x140-splitno-symsno/dyld_shared_cache_arm64e
set -- $("$DSCFS" --info "$victim" | awk '$1 == "__DATA" { print $4, $6; exit }')
[ $# = 2 ] || fail "no __DATA mapping to corrupt"
dd if=/dev/zero of="$victim" bs=4096 count=$(($1 / 4096)) seek=$(($2 / 4096)) conv=notrunc 2> /dev/null
if "$DSCCHECK" "$victim.manifest" > /dev/null 2>&1; then fail "dsccheck accepted a corrupted cache"; fi

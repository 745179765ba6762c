#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# extract_builder.sh — extraction judged against the truth, on every cache of
# tests/builder/make-caches.sh (arm64, arm64e, arm64_32, x86_64; slide info
# v1-v5; header eras 0x98/0x138, 0x140, 0x1c8 split with a .symbols file,
# 0x200 with local symbols moved out; optimised stubs; universal sets, both
# main files). The builder linked every image from an input dylib, named in
# the cache's manifest, so every extracted image is compared with it:
#
#  1. the slide info (test_lib, "builder caches" case of test_extract.c):
#     the rebase set of each image equals the in-image pointers found by
#     walking the cache's slide info, and segment bytes equal the cache's
#     except at pointer slots, in code and in the load commands;
#  1b. on the caches over 4 GiB of VM (*-0x228-large-vm, every LINKEDIT
#     more than 4 GiB above its TEXT), DBSub with its selrefs hidden gets
#     new ones in __OBJC_EXTRA right after its own segments, where every
#     relative method name reaches them (test_pass_objc.c "builder caches");
#  2. llvm-objdump-19 -p and --dyld-info print no warning or error;
#  3. llvm-nm-19 lists every symbol of the export trie;
#  4. the same exports (name, flags, place) as the input's trie;
#  5. the same symbols, locals included, each at the same offset in the
#     same section (llvm-nm-19 -m -a; the cache moved every segment; with
#     --local-symbols the locals come back from the cache or .symbols file);
#     the same sections (name, size, alignment, type, attributes,
#     reserved1/2; the builder retypes GOTs S_REGULAR), function starts (as
#     section offsets), dylibs used, and indirect symbols per section;
#  6. the same rebases as (segment, offset) -> (segment, offset) pairs, and
#     the same bytes in every section that holds neither code nor zero fill,
#     outside the pointer slots of either file, a Swift relative reference
#     into another segment naming the same (segment, offset) (macho_facts
#     data; the *-swift caches' libswiftrel);
#  4b. function-variant exports the builder made (dyld-1284+ caches) are
#     plain exports of the default again (the input's), without
#     LC_FUNCTION_VARIANTS; llvm-objdump-19 --exports-trie reads them;
#  4c. libera's LC_FUNCTION_VARIANT_FIXUPS (era inputs, 64-bit): no output
#     carries it or LC_FUNCTION_VARIANTS, the slot is the input's rebase to
#     the default implementation;
#  6c. thread-local descriptors (keyed, thunks at _tlv_get_addr, packed, in
#     the 0x200 caches): thunks bind __tlv_bootstrap, key 0, the input's
#     offset; outside arm64e the section equals the input's byte for byte;
#  7. the same binds, slot by slot: (segment, offset, library, symbol,
#     addend), lazy binds as lazy binds; where the input binds lazily, the
#     same lazy-bind stream, byte for byte, and stub-helper entries pushing
#     the same offsets into it (so pointer, helper and stream agree as in the
#     input; dyld-1042 caches keep no bind opcodes and extraction writes the
#     stream again); on arm64e the input's fixups as chained fixups hold
#     them: lazy binds eager, and every weak-bind slot a bind through the
#     weak-lookup ordinal, as ld64 and lld write it (chained_truth); own
#     GOT slots the 0x200 caches zeroed, libb's __auth_ptr slots the
#     arm64e preattach cache zeroed and libauthgot's __AUTH_CONST,__auth_got
#     slots (ld64's arm64e stubs; arm64e-swift) are bound again like the
#     input's;
#  7b. binds whose addend is beyond 32 bits (liba's and libera's &sys_big +
#     0x123456789, named again from the image's undefined symbols where
#     the cache kept no bind opcodes): in chained outputs (arm64e; arm64
#     and x86_64 libera) DYLD_CHAINED_IMPORT_ADDEND64 imports carrying the
#     input's addend (llvm-objdump-19 --chained-fixups);
#  6e. the same personality references in the unwind information (the
#     __unwind_info personality array, llvm-objdump-19 --unwind-info, and
#     __eh_frame CIE personality pointers, --dwarf=frames), each as the
#     SECTION+offset of the GOT slot it names: libcxxuser's
#     __gxx_personality_v0 slot, which no code loads, zeroed by the 0x200+
#     caches and named through the coalesced GOT there (dyld-1042+
#     adjustReferencesUsingInfoV2), is bound again (7.) and named again;
#  6c. the same relative method lists, entry by entry, each field as the
#     section and offset it reaches (objclists.sh rellists);
#  8. except arm64e: the same weak binds and ObjC metadata (llvm-objdump-19
#     --weak-bind, --objc-meta-data with addresses and relative-list
#     entries removed: objclists.sh).
#  8b. x86_64: every RIP-relative operand of the code (MOV, CMP $imm,
#     CALL/JMP *, LEA, ...) names the same place as in the input
#     (instruction and target as SECTION+offset; llvm-objdump-19 -d
#     computes the targets), so no load reads a cache GOT chunk;
#  9. dscfs --extract-all prints no warning, and dscfs --verify finds no
#     pointer, bind, stub, branch, code or ObjC reference leaving an image.
# 10. Every output carries an ad-hoc code signature whose layout matches
#     Apple's cs_blobs.h and whose page hashes sha256sum recomputes
#     (sigcheck.sh); where ld64.lld-19 signed the input (arm64, arm64e),
#     ours has its CodeDirectory version, flags, hash parameters, execSeg
#     flags and identifier. Nothing else compares the signatures (their
#     sizes and offsets differ with the files), and none of the facts above
#     reads LC_CODE_SIGNATURE: no comparison had to be relaxed.
# 11. ld64.lld-19 links a program against every output of every cache
#     (-undefined dynamic_lookup: it reads each as a dylib input, and finds
#     libb's re-exported libc_impl under the output root).
#
# Inputs linked with chained fixups (libera of the arm64 era set): the
# output must carry chained fixups too (DYLD_CHAINED_PTR_64), the same
# slots and binds as the input, and llvm-objdump-19 --dyld-info must read
# the same slots and binds as macho_facts in both files.
#
# Where the tools cannot read a file, our own decoder speaks, and says so:
# llvm-objdump-19 rejects arm64e chained fixups ("unsupported chained fixup
# pointer_format"), so the extracted arm64e files' rebases and binds are read
# with macho_facts (libdsc's fixup_decode.c) only; elsewhere macho_facts'
# slots are also checked against llvm-objdump-19 --rebase/--bind.
#
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/sigcheck.sh"
. "${top_srcdir:-.}/tests/integration/objclists.sh"
for tool in llvm-objdump-19 llvm-nm-19 clang-19 ld64.lld-19; do
    command -v $tool > /dev/null || skip "$tool is not installed"
done
FACTS=${top_builddir:-.}/tests/integration/macho_facts
TEST_LIB=${top_builddir:-.}/tests/unit/test_lib
[ -x "$FACTS" ] || fail "tests/integration/macho_facts is not built"

work=$(mktemp -d "${TMPDIR:-/tmp}/xbuild.XXXXXX") || fail "mktemp"
trap 'rm -rf "$work"' EXIT INT TERM
builder_caches "$work/caches"
list="$work/caches/caches.list"
cd "$work" && mkdir out || fail "cd $work"

# 1. The slide-info judgement, by the Check case that runs it on $list.
if [ -x "$TEST_LIB" ]; then
    DSC_BUILDER_LIST="$list" CK_RUN_SUITE=extract CK_RUN_CASE="builder caches" "$TEST_LIB" > slide.out 2>&1 ||
        fail "slide info vs. extraction: $(grep -v '^Running' slide.out | tail -5)"
    grep -q '100%: Checks: 1, Failures: 0, Errors: 0' slide.out || fail "the builder caches case did not run: $(cat slide.out)"
    [ "$(grep -c 'rebases equal the slide info' slide.out)" = "$(wc -l < "$list")" ] ||
        fail "not every cache judged against its slide info: $(cat slide.out)"
    # 1b. The cache over 4 GiB of VM: what extraction adds stays in 32-bit reach.
    DSC_BUILDER_LIST="$list" CK_RUN_SUITE=pass_objc CK_RUN_CASE="builder caches" "$TEST_LIB" > far.out 2>&1 ||
        fail "added segments vs. a far LINKEDIT: $(grep -v '^Running' far.out | tail -5)"
    grep -q '100%: Checks: 1, Failures: 0, Errors: 0' far.out || fail "the large-vm case did not run: $(cat far.out)"
else
    echo "note: tests/unit/test_lib (Check) is not built; the slide-info comparison did not run"
fi

# Sections of a Mach-O as "(SEG,SECT) ADDR SIZE" (hex), from its
# llvm-objdump-19 -p output in $1.
sections() {
    awk '$1 == "sectname" { s = $2 } $1 == "segname" && s != "" { g = $2 }
             $1 == "addr" && s != "" { a = $2 } $1 == "size" && s != "" { print "(" g "," s ")", a, $2; s = "" }' "$1"
}

# NORM_AWK reads "sections" output first, then lines starting with a hex
# address, which is replaced by SECTION+0xOFF. mode nm: llvm-nm-19 -m -a lines (section named in the line); trie:
# llvm-objdump --exports-trie lines (the section holding the address).
NORM_AWK='
function hex(s,   n, i) {
    n = 0; s = tolower(s); sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n
}
NR == FNR { name[++ns] = $1; base[ns] = hex($2); size[ns] = hex($3); next }
mode == "nm" && $2 ~ /^\(/ && $2 != "(undefined)" && $2 != "(absolute)" {
    for (i = 1; i <= ns; i++) if (name[i] == $2) break
    off = i <= ns ? sprintf("+0x%x", hex($1) - base[i]) : "+?" $1
    $1 = ""; print $2 off substr($0, length($2) + 2); next
}
mode == "nm" { print; next }
mode == "trie" && $1 ~ /^0x/ {
    place = "?" $1
    for (i = 1; i <= ns; i++) if (hex($1) >= base[i] && hex($1) < base[i] + size[i]) place = sprintf("%s+0x%x", name[i], hex($1) - base[i])
    $1 = place; print
}'
# Segments of a Mach-O as "SEG VMADDR" (hex), from its -p output in $1.
segments() {
    awk '$1 == "cmd" { c = $2 } $1 == "segname" && c ~ /^LC_SEGMENT/ { s = $2 }
        $1 == "vmaddr" && c ~ /^LC_SEGMENT/ && s != "" { print s, $2; s = "" }' "$1"
}
# llvm-objdump-19 --bind/--lazy-bind/--weak-bind/--rebase tables, slot as
# SEG+0xOFF: "bind SLOT LIB SYMBOL ADDEND", "lazy-bind SLOT LIB SYMBOL",
# "weak SLOT SYMBOL ADDEND", "slot SLOT".
LLVM_AWK='
function hex(s,   n, i) {
    n = 0; s = tolower(s); sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n
}
NR == FNR { base[$1] = hex($2); next }
/^Bind table:/ { t = "bind"; next }
/^Lazy bind table:/ { t = "lazy-bind"; next }
/^Weak bind table:/ { t = "weak"; next }
/^Rebase table:/ { t = "slot"; next }
/^[A-Z]/ || !($1 in base) { next }
{ slot = sprintf("%s+0x%x", $1, hex($3) - base[$1]) }
t == "bind" { print "bind", slot, $6, $7, $5 }
t == "lazy-bind" { print "lazy-bind", slot, $4, $5 }
t == "weak" { print "weak", slot, $6, $5 }
t == "slot" { print "slot", slot }'
# llvm_fixups FILE FACTS TABLE: a table of FILE, FACTS/segs giving segments.
llvm_fixups() {
    llvm-objdump-19 --macho "$3" "$1" 2> "$2/llvm.err" | awk "$LLVM_AWK" "$2/segs" - | sort
    [ -s "$2/llvm.err" ] && fail "$1: llvm-objdump-19 $3: $(cat "$2/llvm.err")"
    return 0
}

# facts FILE DIR CHAINED: what is compared, into DIR: exports, syms (position
# free, by llvm), rebases and lazy (macho_facts rebase/lazy-rebase lines),
# binds (llvm's bind and lazy-bind tables, or with CHAINED=yes macho_facts'
# binds, as llvm-objdump-19 cannot read arm64e chained fixups), and, when
# llvm can read the fixups, the proof that macho_facts agrees with it.
facts() {
    f=$1 d=$2
    mkdir -p "$d"
    llvm-objdump-19 --macho -p "$f" > "$d/p" 2> "$d/e" || fail "$f: llvm-objdump -p failed"
    [ -s "$d/e" ] && fail "$f: llvm-objdump -p: $(cat "$d/e")"
    sections "$d/p" > "$d/sects"
    segments "$d/p" > "$d/segs"
    awk '$1 == "sectname" { s = $2 }
         s != "" && $1 ~ /^(segname|size|align|type|attributes|reserved1|reserved2)$/ { printf "%s %s ", $1, $2 }
         s != "" && $1 == "reserved2" { print s; s = "" }' "$d/p" > "$d/sections"
    llvm-objdump-19 --macho --exports-trie "$f" 2> "$d/e" | awk -v mode=trie "$NORM_AWK" "$d/sects" - | sort > "$d/exports"
    [ -s "$d/e" ] && fail "$f: llvm-objdump --exports-trie: $(cat "$d/e")"
    llvm-nm-19 -m -a "$f" | awk -v mode=nm "$NORM_AWK" "$d/sects" - | sort > "$d/syms"
    llvm-objdump-19 --macho --function-starts "$f" | tail -n +2 | sed 's/^/0x/' |
        awk -v mode=trie "$NORM_AWK" "$d/sects" - > "$d/starts"
    llvm-objdump-19 --macho --dylibs-used "$f" | tail -n +2 > "$d/dylibs"
    llvm-objdump-19 --macho --indirect-symbols "$f" | awk 'NR > 1 && $1 ~ /^0x/ { print $3; next } NR > 1' > "$d/indirect"
    "$FACTS" fixups "$f" > "$d/pairs" 2> "$d/e" || fail "$f: macho_facts: $(cat "$d/e")"
    grep '^rebase ' "$d/pairs" | sort > "$d/rebases"
    grep '^lazy-rebase ' "$d/pairs" | sort > "$d/lazy"
    grep '^bind ' "$d/pairs" | sort > "$d/our.binds"
    rellists "$f" > "$d/rellists"
    unwind_refs "$f" "$d" > "$d/unwind"
    if [ "$3" = yes ]; then
        cp "$d/our.binds" "$d/binds"
        : > "$d/weak.slots"  # chained fixups have no weak-bind table
        return 0
    fi
    objc_meta "$f" > "$d/objc"
    llvm-objdump-19 --macho --weak-bind "$f" | awk '/ pointer / { print "weak", $2, $6 }' | sort > "$d/weak"
    llvm_fixups "$f" "$d" --bind > "$d/llvm.binds"
    cmp -s "$d/our.binds" "$d/llvm.binds" ||
        fail "$f: macho_facts and llvm-objdump --bind disagree: $(diff "$d/our.binds" "$d/llvm.binds" | head -4)"
    llvm_fixups "$f" "$d" --lazy-bind > "$d/llvm.lazy"
    sort "$d/llvm.lazy" "$d/llvm.binds" > "$d/binds"
    llvm_fixups "$f" "$d" --weak-bind > "$d/weak.slots"
    lazy_stream "$f" > "$d/lazy.stream"
    llvm-objdump-19 --macho -d --section=__TEXT,__stub_helper "$f" |
        awk '($(NF-1) == "udf" || $(NF-1) == "pushq") && $NF ~ /^[#$]0x/ { print $NF }' > "$d/helper.pushes"
    awk '$1 ~ /rebase$/ { print "slot", $2 }' "$d/pairs" | sort > "$d/our.slots"
    llvm_fixups "$f" "$d" --rebase > "$d/llvm.slots"
    cmp -s "$d/our.slots" "$d/llvm.slots" ||
        fail "$f: macho_facts and llvm-objdump --rebase disagree: $(diff "$d/our.slots" "$d/llvm.slots" | head -4)"
}

# dyld_info_agrees FILE DIR: where llvm-objdump-19 reads the chained
# fixups (DYLD_CHAINED_PTR_64, not arm64e), its --dyld-info slots and binds
# are macho_facts' (DIR/pairs). With DYLD_CHAINED_IMPORT_ADDEND64 imports
# llvm-objdump-19 misreads each import's name and weak bit (every
# name_offset 0: the limit shows on the lld-linked input as well), so there
# binds agree by slot, dylib and addend; the names are macho_facts' (7.).
dyld_info_agrees() {
    a64=0
    llvm-objdump-19 --macho --chained-fixups "$1" 2> /dev/null | grep -q 'imports_format = 3 ' && a64=1
    llvm-objdump-19 --macho --dyld-info "$1" 2> "$2/e" | awk -v a64=$a64 '
        function hex(s,   n, i) {
            n = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return n
        }
        NR == FNR { base[$1] = hex($2); next }
        !($1 in base) { next }
        { slot = sprintf("%s+0x%x", $1, hex($3) - base[$1]) }
        $5 == "bind" && a64 { print "bind", slot, $7, sprintf("%.0f", hex($6)); next }
        $5 == "bind" { print "bind", slot, $7, $8, sprintf("%.0f", hex($6)); next }
        $5 == "rebase" { print "slot", slot }' "$2/segs" - | sort > "$2/llvm.dyld"
    [ -s "$2/e" ] && fail "$1: llvm-objdump --dyld-info: $(cat "$2/e")"
    { awk -v a64=$a64 '$1 == "bind" && a64 { print $1, $2, $3, $5; next } $1 == "bind"' "$2/our.binds"
      awk '$1 ~ /rebase$/ { print "slot", $2 }' "$2/pairs"; } | sort > "$2/our.dyld"
    cmp -s "$2/our.dyld" "$2/llvm.dyld" ||
        fail "$1: macho_facts and llvm-objdump --dyld-info disagree: $(diff "$2/our.dyld" "$2/llvm.dyld" | head -4)"
    dyld_info_files=$((dyld_info_files + 1))
}

# lazy_stream FILE: its lazy-bind opcodes (LC_DYLD_INFO_ONLY lazy_bind_off
# and lazy_bind_size, as llvm-objdump-19 -p reads them) in hex.
lazy_stream() {
    llvm-objdump-19 --macho -p "$1" | awk '$1 == "lazy_bind_off" { o = $2 } $1 == "lazy_bind_size" { s = $2 }
        END { print o + 0, s + 0 }' | {
        read -r off size
        [ "$size" -gt 0 ] && tail -c +$((off + 1)) "$1" | head -c "$size" | od -An -v -tx1
        return 0
    }
}

# chained_truth FACTS: what the input's fixups are when written as chained
# fixups, as ld64 and lld write them (lld ordinalForSymbol, needsWeakBind):
# no lazy binding (lazy binds are eager binds) and no weak-bind table: each
# slot the weak-bind table lists binds its symbol through the weak-lookup
# ordinal (-3, "weak"), whether the input bound it to a library or rebased
# it to the image's own weak definition. Into FACTS/*.chained.
chained_truth() {
    [ -f "$1/binds.chained" ] && return 0
    awk 'FILENAME == ARGV[1] { w[$2] = $3 " " $4; next }
         $2 in w { next }
         $1 == "lazy-bind" { print "bind", $2, $3, $4, 0; next }
         { print }
         END { for (s in w) print "bind", s, "weak", w[s] }' "$1/weak.slots" "$1/binds" | sort > "$1/binds.chained"
    awk 'FILENAME == ARGV[1] { w[$2]; next } !($2 in w)' "$1/weak.slots" "$1/rebases" > "$1/rebases.chained"
    awk 'FILENAME != ARGV[3] { if ($1 == "weak" || $1 == "lazy-bind") gone[$2]; next } !($2 in gone)' \
        "$1/weak.slots" "$1/binds" "$1/lazy" > "$1/lazy.chained"
}

# rip_refs FILE SECTS: FILE's RIP-relative operands (x86_64) as
# "SECTION+0xOFF MNEMONIC -> SECTION+0xOFF", the target as llvm-objdump-19
# computes it (its "## 0x..." comment); SECTS is its "sections" output.
rip_refs() {
    llvm-objdump-19 -d --no-show-raw-insn "$1" | awk '
        function hex(s,   n, i) {
            n = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return n
        }
        function place(a,   i) {
            for (i = 1; i <= ns; i++) if (a >= base[i] && a < base[i] + size[i]) return sprintf("%s+0x%x", name[i], a - base[i])
            return "outside"
        }
        NR == FNR { name[++ns] = $1; base[ns] = hex($2); size[ns] = hex($3); next }
        /\(%rip\)/ && /## 0x/ {
            a = $1; sub(/:$/, "", a); t = $0; sub(/.*## /, "", t); sub(/ .*/, "", t)
            print place(hex(a)), $2, "->", place(hex(t))
        }' "$2" -
}

# unwind_refs FILE DIR: FILE's personality references (DIR/sects and
# DIR/segs from facts) as "unwind-info SECTION+0xOFF" (an image offset,
# from the __TEXT segment) and "eh-frame SECTION+0xOFF", as llvm-objdump-19
# reads them.
unwind_refs() {
    { llvm-objdump-19 --macho --unwind-info "$1" | awk '$1 ~ /^personality\[[0-9]+\]:$/ { print "unwind-info", $2 }'
      llvm-objdump-19 --macho --dwarf=frames "$1" | awk '/Personality Address:/ { print "eh-frame", "0x" $3 }'
    } 2> "$2/e" | awk '
        function hex(s,   n, i) {
            n = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return n
        }
        FILENAME == ARGV[1] { name[++ns] = $1; base[ns] = hex($2); size[ns] = hex($3); next }
        FILENAME == ARGV[2] { if ($1 == "__TEXT") text = hex($2); next }
        { a = hex($2) + ($1 == "unwind-info" ? text : 0); p = "outside"
          for (i = 1; i <= ns; i++) if (a >= base[i] && a < base[i] + size[i]) p = sprintf("%s+0x%x", name[i], a - base[i])
          print $1, p }' "$2/sects" "$2/segs" - | sort
    [ -s "$2/e" ] && fail "$1: llvm-objdump-19 --unwind-info/--dwarf=frames: $(cat "$2/e")"
    return 0
}

# tlv_bytes FILE: its __DATA,__thread_vars bytes in hex (llvm-objdump-19).
tlv_bytes() {
    llvm-objdump-19 --macho -s --section=__DATA,__thread_vars "$1" | awk '$1 ~ /^[0-9a-f]+$/ { $1 = ""; print }'
}

# broken_input FACTS: a rebased pointer of the input holding 0 (it "targets"
# the mach header). ld64.lld-19 wrote such arm64_32 ObjC dylibs (a class
# isa, a selector reference zeroed) when it linked with several threads;
# build-inputs.sh links with one. Such an input cannot be the truth.
broken_input() {
    grep -q -- '-> __TEXT+0x0$' "$1/rebases"
}

caches=0 images=0 syms=0 rebases=0 binds=0 objc=0 data=0 lazy=0 weak=0 rips=0 cmps=0 tlvs=0 fvs=0 authgot=0 linked=0 relm=0 unwind=0 wide=0 fvfix=0 chained_images=0 dyld_info_files=0
while IFS="	" read -r name main manifest; do
    caches=$((caches + 1))
    arch=$(awk '$1 == "arch" { print $2 }' "$manifest")
    chained=no
    [ "$arch" = arm64e ] && chained=yes
    root="$work/out/$name"
    "$DSCFS" --extract-all "$main" "$root" > summary 2> err || fail "$name: --extract-all: $(cat err)"
    grep -Eq '^extracted ([0-9]+) of \1 images \(0 failed\)' summary || fail "$name: $(cat summary)"
    [ -s err ] && fail "$name: --extract-all warned: $(head -3 err)"
    # 9. Nothing of any image depends on the cache any more (our own reader
    # of the outputs; pointer slots from the cache's slide info).
    "$DSCFS" --verify "$main" > verify 2> err || fail "$name: --verify: $(cat err)"
    total=$(grep '^total:' verify)
    echo "$total" | grep -q ' pointers [1-9]' || fail "$name: --verify saw no pointers: $total"
    for field in pointers-outside unknown-symbols bad-stubs branches-outside code-refs-outside selrefs-outside \
        method-names-outside objc-other-outside; do
        echo "$total" | grep -q " $field 0\( \|$\)" || fail "$name: --verify $field: $total"
    done
    # 11. ld64.lld-19 takes every output of the cache as a link input.
    case $arch in
        arm64_32) target="arm64_32-apple-watchos8.0" platform="watchos 8.0 8.0" ;;
        *) target="$arch-apple-macos13.0" platform="macos 13.0 13.0" ;;
    esac
    printf 'int main(void) { return 0; }\n' > m.c
    clang-19 -target "$target" -c m.c -o m.o 2> err || fail "clang-19 $target: $(cat err)"
    # shellcheck disable=SC2086
    ld64.lld-19 -arch "$arch" -platform_version $platform -syslibroot "$root" -undefined dynamic_lookup m.o \
        $(find "$root" -type f) -o a.out 2> err || fail "$name: ld64.lld-19 rejects an output: $(head -3 err)"
    [ -s err ] && fail "$name: ld64.lld-19 warned: $(head -3 err)"
    linked=$((linked + $(find "$root" -type f | wc -l)))
    while IFS="	" read -r tag path input; do
        [ "$tag" = image ] || continue
        out="$root$path"
        images=$((images + 1))
        [ -f "$out" ] || fail "$name: $path was not extracted"
        check_signature "$out" # 10.
        same_signer "$input" "$out"
        # the inputs are shared by every cache of an input set (inputs/ARCH, inputs/ARCH-era)
        want="$work/facts/$(basename "$(dirname "$input")")/$(basename "$input")"
        # chained fixups in, chained fixups out: on arm64e always; elsewhere
        # where the input was linked with them (its cache image has no
        # LC_DYLD_INFO, so extraction writes DYLD_CHAINED_PTR_64)
        in_input=no
        llvm-objdump-19 --macho -p "$input" | grep -q 'cmd LC_DYLD_CHAINED_FIXUPS' && in_input=yes
        in_chained=$chained
        [ $in_input = yes ] && in_chained=yes
        if [ ! -d "$want" ]; then
            facts "$input" "$want" $in_input
            [ $in_input = yes ] && dyld_info_agrees "$input" "$want"
        fi
        got="$work/got"
        rm -rf "$got"
        facts "$out" "$got" $in_chained
        if [ $in_chained = yes ] && [ $chained = no ]; then
            grep -q 'cmd LC_DYLD_CHAINED_FIXUPS' "$got/p" || fail "$name: $path: a chained input's output has no chained fixups"
            dyld_info_agrees "$out" "$got"
            chained_images=$((chained_images + 1))
        fi

        # 2. llvm-objdump reads the file without complaint (-p: in facts).
        llvm-objdump-19 --macho --dyld-info "$out" > /dev/null 2> e
        if [ $in_chained = yes ]; then
            # the known limit; macho_facts read these chains in facts
            grep -v 'unsupported chained fixup pointer_format' e | grep -q . && fail "$name: $path: --dyld-info: $(cat e)"
        else
            [ -s e ] && fail "$name: $path: llvm-objdump --dyld-info: $(cat e)"
        fi

        # 3.-5. Exports and symbols. A function variant the builder made
        # (dyld-1284+) is a plain export again, as in the input, and the
        # output has no LC_FUNCTION_VARIANTS for it.
        fv=$(awk '$1 == "function-variant" { sub(/=.*/, "", $2); print $2 }' "$manifest")
        if [ -n "$fv" ] && grep -q " $fv\$" "$want/exports"; then
            grep -q LC_FUNCTION_VARIANTS "$got/p" && fail "$name: $path: LC_FUNCTION_VARIANTS was kept"
            fvs=$((fvs + 1))
        fi
        # 4c. An input carrying LC_FUNCTION_VARIANT_FIXUPS (libera's
        # non-exported function with variants, fvfixups.c; llvm-objdump-19
        # prints both commands as ?(0x37), ?(0x38)): the cache kept no
        # fixups blob (dyld-1378), so the output has neither command, and
        # the slot it named is the input's rebase to the default (6.).
        if grep -q 'cmd ?(0x00000038)' "$want/p"; then
            grep -q 'cmd ?(0x0000003[78])' "$got/p" &&
                fail "$name: $path: LC_FUNCTION_VARIANTS or LC_FUNCTION_VARIANT_FIXUPS kept"
            fvfix=$((fvfix + 1))
        fi
        [ -s "$want/exports" ] || fail "$input: no exports read"
        cmp -s "$want/exports" "$got/exports" ||
            fail "$name: $path: exports differ from $input: $(diff "$want/exports" "$got/exports" | head -6)"
        llvm-nm-19 "$out" | awk '{ print $NF }' | sort -u > nm.names
        awk '{ print $2 }' "$got/exports" | sort -u | comm -23 - nm.names > missing
        [ -s missing ] && fail "$name: $path: exports missing from llvm-nm: $(cat missing)"
        cmp -s "$want/syms" "$got/syms" ||
            fail "$name: $path: symbols differ from $input: $(diff "$want/syms" "$got/syms" | head -6)"
        syms=$((syms + $(wc -l < "$want/syms")))
        for fact in sections starts dylibs indirect; do
            [ -s "$want/$fact" ] || fail "$input: no $fact read"
            cmp -s "$want/$fact" "$got/$fact" ||
                fail "$name: $path: $fact differ from $input: $(diff "$want/$fact" "$got/$fact" | head -6)"
        done

        broken_input "$want" && fail "$input: a rebased pointer holds 0: $(grep -- '-> __TEXT+0x0$' "$want/rebases")"

        # The truth for a chained output (arm64e) is the input's fixups as
        # chained fixups write them (chained_truth).
        w=
        [ $in_chained = yes ] && chained_truth "$want" && w=.chained

        # 6. Rebases as (segment, offset) -> (segment, offset) pairs, lazy
        # pointers' rebases to their stub-helper entries apart.
        cmp -s "$want/rebases$w" "$got/rebases" ||
            fail "$name: $path: rebases differ from $input: $(diff "$want/rebases$w" "$got/rebases" | head -6)"
        cmp -s "$want/lazy$w" "$got/lazy" ||
            fail "$name: $path: lazy pointers differ from $input: $(diff "$want/lazy$w" "$got/lazy" | head -6)"
        rebases=$((rebases + $(wc -l < "$want/rebases$w")))

        # 6b. Every byte of every data section outside pointer slots.
        "$FACTS" data "$input" "$out" > data.out 2>&1 ||
            fail "$name: $path: section data differs from $input: $(head -6 data.out)"
        data=$((data + $(awk '{ print $3 }' data.out)))

        # 6d. Relative method lists (not in 6b's bytes: their offsets move
        # with the segments), entry by entry, every arch.
        cmp -s "$want/rellists" "$got/rellists" ||
            fail "$name: $path: relative method lists differ from $input: $(diff "$want/rellists" "$got/rellists" | head -6)"
        relm=$((relm + $(grep -c '^  name' "$want/rellists")))

        # 6e. Personality references of the unwind information.
        cmp -s "$want/unwind" "$got/unwind" ||
            fail "$name: $path: unwind personality references differ from $input: $(diff "$want/unwind" "$got/unwind" | head -4)"
        unwind=$((unwind + $(wc -l < "$want/unwind")))

        # 6c. Thread-local descriptors (dyld-1042+ caches key them and aim
        # the thunks at _tlv_get_addr, dyld-1284+ pack them): each thunk
        # binds __tlv_bootstrap as in the input (7.), key and offset words
        # are in 6b; where the fixups are opcodes the section is the
        # input's byte for byte.
        if [ -n "$(awk '$1 == "(__DATA,__thread_vars)"' "$want/sects")" ]; then
            tlv_bytes "$input" > tlv.want
            tlv_bytes "$out" > tlv.got
            [ $in_chained = yes ] || cmp -s tlv.want tlv.got ||
                fail "$name: $path: __thread_vars differs from $input: $(diff tlv.want tlv.got | head -4)"
            ntlv=$(grep -c "^bind __DATA+[^ ]* [^ ]* __tlv_bootstrap 0$" "$got/binds")
            [ "$ntlv" -gt 0 ] && [ "$ntlv" = "$(grep -c "__tlv_bootstrap 0$" "$want/binds$w")" ] ||
                fail "$name: $path: $ntlv thunks bind __tlv_bootstrap"
            tlvs=$((tlvs + ntlv))
        fi

        # 7. Binds, slot by slot, lazy binds included (on arm64e weak
        # lookups too).
        [ -s "$want/binds" ] || [ "$path" = /usr/lib/libSystem.B.dylib ] || fail "$input: no binds read"
        cmp -s "$want/binds$w" "$got/binds" ||
            fail "$name: $path: binds differ from $input: $(diff "$want/binds$w" "$got/binds" | head -6)"
        binds=$((binds + $(wc -l < "$want/binds$w")))
        # ld64's arm64e __auth_got (libauthgot): its slots are in the binds
        # above, and signed as ld64 signs them (IA, address diversity,
        # discriminator 0: ld64-956.6 stub_arm64e.hpp NonLazyPointerAtom;
        # the input, linked by lld, carries no auth data to compare with)
        if grep -q '^(__AUTH_CONST,__auth_got) ' "$want/sects"; then
            "$FACTS" auth "$out" | grep '^auth __AUTH_CONST+' > auth.got
            [ -s auth.got ] && [ "$(wc -l < auth.got)" = "$(grep -c '^bind __AUTH_CONST+' "$got/binds")" ] &&
                ! grep -v ' IA 1 0x0$' auth.got > /dev/null ||
                fail "$name: $path: __auth_got slots not signed IA/address/0: $(head -3 auth.got)"
            authgot=$((authgot + 1))
        fi
        # 7b. Addends beyond 32 bits (liba's and libera's &sys_big +
        # 0x123456789): a chained output holds them in
        # DYLD_CHAINED_IMPORT_ADDEND64 imports, as llvm-objdump-19
        # --chained-fixups reads them (format and addends; it misreads
        # those imports' names, see dyld_info_agrees).
        wide_addends=$(awk '$1 == "bind" && ($NF > 2147483647 || $NF < -2147483648) { print $NF }' "$want/binds$w" | sort -u)
        if [ -n "$wide_addends" ] && [ $in_chained = yes ]; then
            llvm-objdump-19 --macho --chained-fixups "$out" > cf 2> e || fail "$name: $path: --chained-fixups: $(cat e)"
            grep -q 'imports_format = 3 (DYLD_CHAINED_IMPORT_ADDEND64)' cf ||
                fail "$name: $path: imports are not DYLD_CHAINED_IMPORT_ADDEND64: $(grep imports_format cf)"
            for a in $wide_addends; do
                grep -q "^  addend *= $a\$" cf || fail "$name: $path: no import with addend $a"
            done
            wide=$((wide + $(awk '$1 == "bind" && ($NF > 2147483647 || $NF < -2147483648)' "$want/binds$w" | wc -l)))
        fi
        weak=$((weak + $(grep -c '^bind [^ ]* weak ' "$want/binds$w")))
        [ $in_chained = yes ] && continue
        cmp -s "$want/lazy.stream" "$got/lazy.stream" ||
            fail "$name: $path: lazy-bind stream differs from $input: $(diff "$want/lazy.stream" "$got/lazy.stream" | head -4)"
        cmp -s "$want/helper.pushes" "$got/helper.pushes" ||
            fail "$name: $path: stub helpers push other offsets than in $input: $(diff "$want/helper.pushes" "$got/helper.pushes" | head -4)"
        [ -s "$want/lazy.stream" ] && lazy=$((lazy + 1))

        # 8b. x86_64 RIP-relative operands, instruction by instruction.
        if [ "$arch" = x86_64 ]; then
            [ -f "$want/rips" ] || rip_refs "$input" "$want/sects" > "$want/rips"
            rip_refs "$out" "$got/sects" > "$got/rips"
            cmp -s "$want/rips" "$got/rips" ||
                fail "$name: $path: RIP-relative operands differ from $input: $(diff "$want/rips" "$got/rips" | head -4)"
            rips=$((rips + $(wc -l < "$want/rips")))
            cmps=$((cmps + $(grep -c ' cmp[bwlq]* -> ' "$want/rips")))
        fi

        # 8. Where llvm-objdump-19 reads the output's fixups (not arm64e):
        # weak binds (section, symbol) and the ObjC metadata, addresses
        # removed (objc_builder.sh does this on fewer caches, without
        # arm64_32; arm64e there is judged by dscfs --verify).
        cmp -s "$want/weak" "$got/weak" ||
            fail "$name: $path: weak binds differ from $input: $(diff "$want/weak" "$got/weak" | head -4)"
        grep -q 'Contents of' "$want/objc" || continue
        cmp -s "$want/objc" "$got/objc" ||
            fail "$name: $path: ObjC metadata differs from $input: $(diff "$want/objc" "$got/objc" | head -6)"
        objc=$((objc + 1))
    done < "$manifest"
done < "$list"
[ "$caches" -ge 34 ] || fail "only $caches caches"
[ "$cmps" -gt 0 ] || fail "no x86_64 CMP with a RIP-relative operand was compared"
[ "$relm" -gt 0 ] || fail "no relative method was compared"
[ "$unwind" -gt 0 ] || fail "no unwind personality reference was compared"
[ "$wide" -gt 0 ] || fail "no bind with an addend beyond 32 bits was compared in a chained output"
[ "$tlvs" -gt 0 ] || fail "no thread-local descriptor was compared"
[ "$fvs" -gt 0 ] || fail "no function variant was compared"
[ "$fvfix" -gt 0 ] || fail "no input with LC_FUNCTION_VARIANT_FIXUPS was compared"
[ "$authgot" -gt 0 ] || fail "no __auth_got (libauthgot) was compared"
[ "$chained_images" -gt 0 ] || fail "no output of an input linked with chained fixups (arm64) was compared"
echo "$caches caches, $images images: $syms symbols, $rebases rebases, $binds binds, $data data bytes equal the input dylibs';" \
    "lazy binding of $lazy images, $weak weak lookups (arm64e), $tlvs TLV descriptors, $fvs function variants, $fvfix inputs' LC_FUNCTION_VARIANT_FIXUPS dropped, $authgot __auth_got images," \
    "$rips x86_64 RIP-relative operands ($cmps CMP)" \
    "and ObjC metadata of $objc images too, $relm relative methods, $unwind unwind personality references;" \
    "$wide binds with addends beyond 32 bits in DYLD_CHAINED_IMPORT_ADDEND64 outputs;" \
    "$chained_images arm64 outputs of chained-fixups inputs chained" \
    "($dyld_info_files files read by llvm-objdump --dyld-info too); ld64.lld-19 linked against all $linked outputs"
[ -x "$TEST_LIB" ] && sed -n 's/^\(.*\): \([0-9]*\) images, \([0-9]*\) rebases.*/\1: slide info \3 in-image pointers/p' slide.out | tr '\n' ';' && echo
exit 0

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# selloads_builder.sh — selector loads of every shape (issue 10 item 3).
# tests/builder/inputs/libselloads.s has 11 selref loads: a hoisted ADRP
# used in a loop across calls, one ADRP feeding loads of three selrefs,
# loads on both sides of a branch, three selrefs in one function with a
# tail call, a jump table (LC_DATA_IN_CODE) whose cases load through an
# ADRP made before the indirect jump. For arm64 and arm64e, dyld-940 and
# dyld-1042 eras, and the modern ones (0x208, 0x228 split iOS caches with
# every ObjC item):
#  1. dscbuild rewrites all 11 (a cache of libSystem, libobjc and
#     libselloads alone reports exactly 11; the old sole-use rule found 4);
#  2. in the full cache, dsccheck passes, every ObjC image's __text as
#     extracted equals the input dylib's instruction by instruction
#     (llvm-objdump-19's disassembly; ADRP pages compared as segment
#     offsets, branches as displacements or stub names), and
#     dscfs --verify reports sel-loads-outside 0 and code-refs-outside 0.
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v llvm-objdump-19 > /dev/null 2>&1 || skip "llvm-objdump-19 is not installed"
command -v python3 > /dev/null 2>&1 || skip "python3 is not installed"
BUILDER_ARCHES="arm64 arm64e"
builder_setup
cd "$WORK" || fail "cd $WORK"

# same_text IN OUT: llvm-objdump's disassembly of both __text sections,
# compared instruction by instruction (python3 only compares the text).
same_text() {
    for f in "$1" "$2"; do
        llvm-objdump-19 --macho -d --no-show-raw-insn "$f" > "$f.dis" || fail "llvm-objdump $f"
        llvm-objdump-19 --macho --private-headers "$f" > "$f.hdr" || fail "llvm-objdump $f"
    done
    python3 - "$1" "$2" <<'PY'
import re, sys

def segments(path):
    segs, cur = [], None
    for line in open(path + ".hdr"):
        w = line.split()
        if len(w) == 2 and w[0] == "segname":
            cur = [w[1]]
        elif cur is not None and len(w) == 2 and w[0] in ("vmaddr", "vmsize"):
            cur.append(int(w[1], 16))
            if len(cur) == 3:
                segs.append(tuple(cur))
                cur = None
    return segs

def where(segs, a):
    for name, lo, size in segs:
        if lo <= a < lo + size:
            return (name, a - lo)
    return ("?", a)

BRANCH = re.compile(r"^(b|bl|b\.\w+|cbz|cbnz|tbz|tbnz)$")

def insns(path):
    """(function, text, info): info is ("page", reg, seg, off) for an ADRP,
    ("lit", reg, seg, off) for a pc-relative literal, ("lo12", reg, imm)
    for an ADD/LDR of its own register with an immediate, else None."""
    segs, out, fn, text = segments(path), [], "?", False
    for line in open(path + ".dis"):
        line = line.rstrip("\n")
        if line.startswith("("):
            text = line.startswith("(__TEXT,__text)")
            continue
        if not text:
            continue
        if line.endswith(":") and "\t" not in line:
            fn = line[:-1]
            continue
        m = re.match(r"^\s*([0-9a-f]+):\t(\S+)\t?([^;]*)(?:;\s*(.*))?$", line)
        if not m:
            continue
        addr, mn, ops, com = int(m.group(1), 16), m.group(2), m.group(3).strip(), (m.group(4) or "").strip()
        info, reg = None, ops.split(",")[0]
        if mn == "adrp":
            info = ("page", reg) + where(segs, int(com, 16))
            ops, com = "%s, %s+0x%x" % info[1:], ""
        elif mn in ("ldr", "ldrsw", "adr", "prfm") and "[" not in ops and ops.split(",")[-1].strip().startswith("#"):
            info = ("lit", reg) + where(segs, addr + int(ops.split(",")[-1].strip()[1:], 0))
            ops = "%s, %s+0x%x" % info[1:]
        elif BRANCH.match(mn):
            parts = [p.strip() for p in ops.split(",")]
            parts[-1] = "%+d" % (int(parts[-1], 16) - addr)  # __TEXT moves as a whole
            ops, com = ", ".join(parts), ""
        else:
            m2 = re.match(r"^(x\d+), (?:\[)?(x\d+), #(0x[0-9a-f]+|\d+)\]?$", ops)
            if mn in ("add", "ldr") and m2 and m2.group(1) == m2.group(2):
                info = ("lo12", m2.group(1), int(m2.group(3), 0))
        out.append((fn, "%s %s" % (mn, ops), info, com))
    return out

def widened(a, b, k):
    """lld's NOP + literal in the input, ADRP + ADD/LDR to the same place in
    the output (the builder widens a literal its target moved out of reach of)."""
    if k + 1 >= len(a) or not a[k][1].startswith("nop") or not a[k + 1][2] or a[k + 1][2][0] != "lit":
        return False
    p, q, lit = b[k][2], b[k + 1][2], a[k + 1][2]
    return (p and q and p[0] == "page" and q[0] == "lo12" and p[1] == q[1] == lit[1] and
            (p[2], p[3] + q[2]) == (lit[2], lit[3]))

a, b = insns(sys.argv[1]), insns(sys.argv[2])
if len(a) != len(b) or not a:
    sys.exit("%s: %d instructions in __text, the input has %d" % (sys.argv[2], len(b), len(a)))
# Comments (names llvm-objdump read through pointers) are compared where
# both have one: it reads no arm64e chained fixups.
k = 0
while k < len(a):
    if a[k][1] != b[k][1] or (a[k][3] and b[k][3] and a[k][3] != b[k][3]):
        if not widened(a, b, k):
            sys.exit("%s: in %s: '%s ; %s', the input has '%s ; %s'" % (sys.argv[2], b[k][0], b[k][1], b[k][3], a[k][1], a[k][3]))
        k += 1
    k += 1
print(len(a))
PY
}

for arch in arm64 arm64e; do
    slide=2
    [ "$arch" = arm64e ] && slide=5
    in=$WORK/$arch
    # 1. only libselloads has selector loads here: all 11 rewritten
    mkdir -p "small-$arch"
    "$DSCBUILD" --arch $arch --slide $slide --header 0x200 -o "small-$arch/dyld_shared_cache_$arch" \
        "$in/libSystem.B.dylib" "$in/libobjc.A.dylib" "$in/libselloads.dylib" > build.out 2> err ||
        fail "dscbuild $arch (small): $(cat err)"
    grep -q ' 11 selector loads rewritten' build.out ||
        fail "$arch: the builder did not rewrite all 11 selector loads of libselloads: $(cat build.out)"
    for era in "0x1c8 --split 3" "0x200 --local-symbols" \
        "0x208 --split 3 --platform 2 --preattach-categories --imp-caches" \
        "0x228 --split 3 --platform 2 --preattach-categories --imp-caches --objc-era 1376 --method-type-offsets"; do
        set -- $era
        header=$1
        shift
        c="$WORK/c-$arch-$header/dyld_shared_cache_$arch"
        mkdir -p "$(dirname "$c")"
        # shellcheck disable=SC2046
        "$DSCBUILD" --arch $arch --slide $slide --header "$header" "$@" -o "$c" $(cat "$WORK/$arch.inputs") \
            > build.out 2> err || fail "dscbuild $arch $header: $(cat err)"
        "$DSCCHECK" "$c.manifest" > check.out 2> err || fail "dsccheck $arch $header: $(cat err)"
        total=0
        for lib in libobjcuser libobjcsub libobjccat libselloads; do
            path=$(awk -F '\t' -v f="$in/$lib.dylib" '$1 == "image" && $3 == f { print $2 }' "$c.manifest")
            [ -n "$path" ] || fail "$lib is not in $c.manifest"
            "$DSCFS" --extract "$path" "$c" -o "$WORK/$lib.out" 2> err || fail "extract $path: $(cat err)"
            k=$(same_text "$in/$lib.dylib" "$WORK/$lib.out") || fail "$arch $header: $lib differs from its input"
            total=$((total + k))
        done
        "$DSCFS" --verify "$c" > verify.out 2> err || fail "$arch $header: --verify: $(tail -1 verify.out) $(cat err)"
        for field in sel-loads-outside code-refs-outside; do
            grep "^total:" verify.out | grep -q " $field 0 " || fail "$arch $header: $(tail -1 verify.out)"
        done
        echo "$arch $header: $(grep -o '[0-9]* selector loads rewritten' build.out) by the builder;" \
            "$total instructions of 4 ObjC images equal their inputs'; --verify: 0 selector loads outside"
    done
done

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# selloads_builder.sh — selector loads of every shape (issue 10 item 3).
# tests/builder/inputs/libselloads.s has 18 selref loads in 11 functions:
# a hoisted ADRP used in a loop across calls, one ADRP feeding loads of
# three selrefs, loads on both sides of a branch, three selrefs in one
# function with a tail call, a jump table (LC_DATA_IN_CODE) whose cases
# load through an ADRP made before the indirect jump, ADRPs on both arms
# of a branch meeting at one load, an ADRP made before a loop and again in
# it meeting at the loop head; and loads the builder must leave: a selref
# whose address is also taken (Apple's all or none per selref,
# dyld-1378 optimizeLoadsFromConstants), a load after a join of two pages.
# For arm64 and arm64e:
#  1. dscbuild rewrites exactly 14 of them in a cache of libSystem, libobjc
#     and libselloads alone, and per function exactly the loads (LDR ->
#     ADD) and ADRPs (re-pointed at the selector strings) the shape calls
#     for, read from the cache's bytes of libselloads' __text
#     (llvm-objdump-19 on the extracted file with the cache's __text
#     copied over its own: same addresses, symbols and segments);
#  2. for the caches of make-caches.sh's configurations (dyld-940 split,
#     dyld-1042 with local symbols, the 0x208 and 0x228 split iOS caches
#     of the era inputs with every ObjC item, and the 0x228 cache over
#     4 GiB of VM), dsccheck passes, every ObjC image's __text as
#     extracted equals the input dylib's instruction by instruction
#     (llvm-objdump-19's disassembly; ADRP pages compared as segment
#     offsets, branches as displacements or stub names), and
#     dscfs --verify reports sel-loads-outside 0 and code-refs-outside 0.
. "${top_srcdir:-.}/tests/integration/lib.sh"
# Apple's ObjC optimizations file for the IMP caches (--objc-opts)
opts_dir=$(cd "${top_srcdir:-.}/tests/builder/inputs" && pwd)
command -v llvm-objdump-19 > /dev/null 2>&1 || skip "llvm-objdump-19 is not installed"
command -v python3 > /dev/null 2>&1 || skip "python3 is not installed"
BUILDER_ARCHES="arm64 arm64e"
builder_setup
cd "$WORK" || fail "cd $WORK"

# text.py same IN OUT: llvm-objdump's disassembly of both __text sections
# compared instruction by instruction; prints their number.
# text.py shapes IN VIEW: per function of libselloads, the loads (LDR ->
# ADD) and ADRPs (re-pointed out of the image) in which VIEW differs from
# IN; each as the shape calls for, and nothing else differs. Prints the
# totals. (python3 only compares the text.)
cat > text.py <<'PY'
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
    """(function, text, info, comment): info is ("page", reg, seg, off) for
    an ADRP, ("lit", reg, seg, off) for a pc-relative literal, ("lo12",
    reg, imm) for an ADD/LDR of its own register with an immediate, else
    None. ADRP and literal targets are written as segment offsets,
    branches as displacements (__TEXT moves as a whole)."""
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
            parts[-1] = "%+d" % (int(parts[-1], 16) - addr)
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

def same(a, b, out):
    if len(a) != len(b) or not a:
        sys.exit("%s: %d instructions in __text, the input has %d" % (out, len(b), len(a)))
    # Comments (names llvm-objdump read through pointers) are compared where
    # both have one: it reads no arm64e chained fixups.
    k = 0
    while k < len(a):
        if a[k][1] != b[k][1] or (a[k][3] and b[k][3] and a[k][3] != b[k][3]):
            if not widened(a, b, k):
                sys.exit("%s: in %s: '%s ; %s', the input has '%s ; %s'" % (out, b[k][0], b[k][1], b[k][3], a[k][1], a[k][3]))
            k += 1
        k += 1
    print(len(a))

WANT = {  # function: (loads rewritten, ADRPs re-pointed)
    "_sel_hoisted": (1, 1), "_sel_shared": (3, 1), "_sel_branches": (2, 1),
    "_sel_many": (3, 3), "_sel_switch": (2, 1), "_sel_join": (1, 2),
    "_sel_join_loop": (1, 2), "_sel_nu_load": (0, 0), "_sel_nu_address": (0, 0),
    "_sel_join_mixed": (0, 0), "_sel_xi_load": (1, 1),
}

def shapes(a, b, out):
    if len(a) != len(b) or {x[0] for x in a} != set(WANT):
        sys.exit("%s: functions %s, the input has %s" % (out, sorted({x[0] for x in b}), sorted(WANT)))
    got = {fn: [0, 0] for fn in WANT}
    for x, y in zip(a, b):
        if x[1] == y[1]:
            continue
        lx = re.match(r"^ldr (x\d+), \[(x\d+), #", x[1])
        ly = re.match(r"^add (x\d+), (x\d+), #", y[1])
        load = lx and ly and lx.groups() == ly.groups()
        adrp = x[2] and y[2] and x[2][0] == y[2][0] == "page" and x[2][1] == y[2][1] and y[2][2] == "?"
        if not (load or adrp):
            sys.exit("%s: in %s: '%s', the input has '%s'" % (out, y[0], y[1], x[1]))
        got[y[0]][0 if load else 1] += 1
    for fn, want in sorted(WANT.items()):
        if tuple(got[fn]) != want:
            sys.exit("%s: %s: %d loads and %d ADRPs rewritten, the shape calls for %d and %d" %
                     ((out, fn) + tuple(got[fn]) + want))
    print(sum(g[0] for g in got.values()), sum(g[1] for g in got.values()))

globals()[sys.argv[1]](insns(sys.argv[2]), insns(sys.argv[3]), sys.argv[3])
PY

# text MODE IN OUT: text.py on both files' disassembly and headers.
text() {
    for f in "$2" "$3"; do
        llvm-objdump-19 --macho -d --no-show-raw-insn "$f" > "$f.dis" || fail "llvm-objdump $f"
        llvm-objdump-19 --macho --private-headers "$f" > "$f.hdr" || fail "llvm-objdump $f"
    done
    python3 text.py "$@"
}

# cache_view CACHE IMAGE OUT: OUT is IMAGE (extracted from the unsplit
# CACHE) with the cache's own bytes of its __text: the mapping holding the
# section's address is read from the cache header (dyld_cache_header
# mappingOffset/Count, dyld_cache_mapping_info), the section from
# llvm-objdump-19's headers.
cache_view() {
    set -- "$1" "$2" "$3" $(llvm-objdump-19 --macho --section-headers "$2" |
        awk '$2 == "__text" { print "0x" $4, "0x" $3; exit }')
    python3 - "$@" <<'PY' || fail "cache_view $2"
import re, struct, subprocess, sys
cache, image, out, addr, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 16), int(sys.argv[5], 16)
c = open(cache, "rb").read()
moff, mcount = struct.unpack_from("<II", c, 16)
for k in range(mcount):
    a, s, fo = struct.unpack_from("<QQQ", c, moff + 32 * k)
    if a <= addr and addr + size <= a + s:
        code = c[fo + addr - a:fo + addr - a + size]
        break
else:
    sys.exit("no mapping holds __text at 0x%x" % addr)
hdr = subprocess.run(["llvm-objdump-19", "--macho", "--private-headers", image], capture_output=True,
                     text=True, check=True).stdout
m = re.search(r"sectname __text\n\s*segname __TEXT\n(?:.*\n)*?\s*offset (\d+)", hdr)
img = bytearray(open(image, "rb").read())
img[int(m.group(1)):int(m.group(1)) + size] = code
open(out, "wb").write(img)
PY
}

# image_of MANIFEST DYLIB: the cache path of the input DYLIB
image_of() {
    awk -F '\t' -v f="$2" '$1 == "image" && $3 == f { print $2 }' "$1"
}

for arch in arm64 arm64e; do
    slide=2 last=2
    [ "$arch" = arm64e ] && slide=3 last=5
    in=$WORK/$arch
    # the era inputs of the 0x208/0x228 caches, and with header room for
    # the cache over 4 GiB of VM, as make-caches.sh builds them
    "$top_srcdir/tests/builder/build-inputs.sh" "$WORK/$arch-era" $arch era > "$WORK/$arch-era.inputs" ||
        fail "building the $arch era inputs"
    BUILD_INPUTS_LDFLAGS="-headerpad 0x400" "$top_srcdir/tests/builder/build-inputs.sh" "$WORK/$arch-big" \
        $arch era > "$WORK/$arch-big.inputs" || fail "building the $arch inputs with header room"

    # 1. only libselloads has selector loads here: 14 rewritten, each
    #    function as its shape calls for
    c=small-$arch/dyld_shared_cache_$arch
    mkdir -p "small-$arch"
    "$DSCBUILD" --arch $arch --slide $last --header 0x200 -o "$c" \
        "$in/libSystem.B.dylib" "$in/libobjc.A.dylib" "$in/libselloads.dylib" > build.out 2> err ||
        fail "dscbuild $arch (small): $(cat err)"
    grep -q ' 14 selector loads rewritten' build.out ||
        fail "$arch: the builder did not rewrite 14 selector loads of libselloads: $(cat build.out)"
    "$DSCFS" --extract /usr/lib/libselloads.dylib "$c" -o small.out 2> err || fail "extract: $(cat err)"
    cache_view "$c" small.out small.view
    counts=$(text shapes "$in/libselloads.dylib" small.view) || fail "$arch: $counts"
    set -- $counts
    echo "$arch small: every shape as it should be in the cache: $1 loads made ADD, $2 ADRPs re-pointed"

    # 2. make-caches.sh's configurations (inputs list, header, options)
    for cfg in ". $slide 0x1c8 --split 3 --local-symbols" ". $slide 0x200 --local-symbols" \
        "-era $last 0x208 --split 3 --platform 2 --local-symbols --preattach-categories --objc-opts $opts_dir/objc-opts.json --imp-unchained" \
        "-era $last 0x228 --split 3 --platform 2 --preattach-categories --objc-opts $opts_dir/objc-opts.json --imp-unchained --objc-era 1376 --method-type-offsets" \
        "-big $last 0x228 --split 3 --platform 2 --preattach-categories --large-vm"; do
        # shellcheck disable=SC2086
        set -- $cfg
        list=${1#.} sl=$2 header=$3
        shift 3
        name=$arch$list-$header
        c="$WORK/c-$name/dyld_shared_cache_$arch"
        mkdir -p "$(dirname "$c")"
        # shellcheck disable=SC2046
        "$DSCBUILD" --arch $arch --slide $sl --header "$header" "$@" -o "$c" $(cat "$WORK/$arch$list.inputs") \
            > build.out 2> err || fail "dscbuild $name: $(cat err)"
        "$DSCCHECK" "$c.manifest" > check.out 2> err || fail "dsccheck $name: $(cat err)"
        total=0
        for lib in libobjcuser libobjcsub libobjccat libselloads; do
            path=$(image_of "$c.manifest" "$WORK/$arch$list/$lib.dylib")
            [ -n "$path" ] || fail "$lib is not in $c.manifest"
            "$DSCFS" --extract "$path" "$c" -o "$WORK/$lib.out" 2> err || fail "extract $path: $(cat err)"
            k=$(text same "$WORK/$arch$list/$lib.dylib" "$WORK/$lib.out") || fail "$name: $k"
            total=$((total + k))
        done
        "$DSCFS" --verify "$c" > verify.out 2> err || fail "$name: --verify: $(tail -1 verify.out) $(cat err)"
        for field in sel-loads-outside code-refs-outside; do
            grep "^total:" verify.out | grep -q " $field 0 " || fail "$name: $(tail -1 verify.out)"
        done
        echo "$name $*: $(grep -o '[0-9]* selector loads rewritten' build.out) by the builder;" \
            "$total instructions of 4 ObjC images equal their inputs'; --verify: 0 selector loads outside"
    done
done

# SPDX-License-Identifier: BSD-2-Clause
# objclists.sh — sourced by the builder tests: ObjC metadata as
# llvm-objdump-19 prints it, in forms that compare across layouts.
#
# objc_meta FILE: --objc-meta-data without addresses and without the name
#   and types lines of relative method lists (llvm-objdump-19 adds their
#   offsets in 32 bits, so it names their selectors and types in the input
#   dylibs but not in images above 4 GiB; rellists judges those fields, and
#   selrefs_named the selrefs they reach, instead). Their imp lines stay:
#   llvm-objdump-19 names each method there by its implementation's symbol
#   (-[Class selector]) in both.
# selrefs_named FILE: __DATA,__objc_selrefs, one selector name per slot.
# rellists FILE: every relative method list of __TEXT,__objc_methlist,
#   entry by entry, each field as the section and offset it reaches (from
#   llvm-objdump-19's section headers and raw words), so an input and its
#   extraction compare although their segments moved apart.
objc_meta() {
    llvm-objdump-19 --macho --objc-meta-data "$1" | tail -n +2 |
        sed '/^\t\t *\(name\|types\) 0x[0-9a-f]* (0x/d; s/0x[0-9a-f]*//g; s/^[0-9a-f]* //'
}
selrefs_named() { llvm-objdump-19 --macho --section=__DATA,__objc_selrefs "$1" | tail -n +3 | sed 's/^[0-9a-f]* *//'; }
rellists() {
    { llvm-objdump-19 --macho -h "$1" | awk 'NF >= 4 && $1 ~ /^[0-9]+$/ { print "S", $2, $4, $3 }'
      llvm-objdump-19 --macho --section=__TEXT,__objc_methlist "$1" | awk 'NF >= 2 && $1 ~ /^[0-9a-f]+$/ { print "W", $0 }'
    } | awk '
    function hex(s,   i, v) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
    function s32(v) { return v >= 2147483648 ? v - 4294967296 : v }
    function where(a,   i) { for (i = 0; i < ns; i++) if (a >= sv[i] && a < sv[i] + sz[i]) return sn[i] "+" (a - sv[i]); return "outside" }
    $1 == "S" { ns += 0; sn[ns] = $2; sv[ns] = hex($3); sz[ns] = hex($4); ns++; next }
    $1 == "W" { nw += 0; a = hex($2); for (i = 3; i <= NF; i++) { wa[nw] = a + 4 * (i - 3); w[nw++] = hex($i) } }
    END {
        for (i = 0; i < nw; ) {
            printf "list %x count %d\n", w[i], w[i + 1]; count = w[i + 1]; i += 2
            for (k = 0; k < count && i + 2 < nw; k++) {
                printf "  name %s types %s imp %s\n", where(wa[i] + s32(w[i])), where(wa[i + 1] + s32(w[i + 1])),
                    where(wa[i + 2] + s32(w[i + 2]))
                i += 3
            }
        }
    }'
}

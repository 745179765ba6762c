#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# x86-refs.sh LIST — the RIP-relative operands of the x86_64 dylibs named in
# LIST (one path a line), as llvm-objdump-19 disassembles them, for
# `dsccheck --x86-refs`: "dylib TAB address TAB length TAB displacement".
set -eu
command -v llvm-objdump-19 > /dev/null 2>&1 || { echo "no llvm-objdump-19" >&2; exit 77; }
for d in $(cat "$1"); do
    llvm-objdump-19 -d --section=__text --section=__stubs --section=__stub_helper "$d" |
        awk -v d="$d" -F '\t' '/\(%rip\)/ && /^ *[0-9a-f]+: / {
            split($1, a, ":"); addr = a[1]; gsub(/ /, "", addr); n = split(a[2], b, " ")
            if (match($0, /-?0x[0-9a-f]+\(%rip\)/))
                print d "\t" addr "\t" n "\t" substr($0, RSTART, RLENGTH - 6) }'
done

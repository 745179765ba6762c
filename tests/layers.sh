#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# layers.sh — libdsc's folders are layers, base -> cache -> index -> extract
# -> verify; a file may include headers from its own layer and earlier ones
# only, always as "layer/name.h". Prints each include that points up (or
# names no layer) and fails if there is one.
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
rank() {
    case $1 in
        base) echo 1 ;; cache) echo 2 ;; index) echo 3 ;;
        extract) echo 4 ;; verify) echo 5 ;; *) echo 0 ;;
    esac
}
bad=0
for f in "$top"/src/lib/*/*.[ch]; do
    layer=$(basename "$(dirname "$f")")
    mine=$(rank "$layer")
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        case $inc in
            dsc/*) continue ;;
            */*) them=$(rank "${inc%%/*}") ;;
            *) them=0 ;;
        esac
        if [ "$them" -eq 0 ] || [ "$them" -gt "$mine" ]; then
            echo "layers: ${f#"$top"/} includes \"$inc\" (layer $layer)"
            bad=1
        fi
    done
done
[ "$bad" -eq 0 ] && echo "layers: every include of src/lib points down"
exit "$bad"

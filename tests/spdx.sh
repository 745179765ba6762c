#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# spdx.sh — every source file git tracks (C, ObjC, C++, shell, automake,
# autoconf, man) names its license on one SPDX line near its top, so a new
# file cannot land without one. Prints each file that lacks it and fails.
# Outside a git checkout (a dist tarball) there is nothing to list: skip.
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
files=$(git -C "$top" ls-files 2>/dev/null) || { echo "SKIP: not a git checkout"; exit 77; }
bad=0
for f in $files; do
    case $f in
        *.c|*.h|*.m|*.cpp|*.sh|*.mk|*.am|*.ac|*.1|*.in|*.rb|*.spec|.ci/*|debian/rules) ;;
        *) continue ;;
    esac
    [ -f "$top/$f" ] || continue
    head -3 "$top/$f" | grep -q 'SPDX-License-Identifier: BSD-2-Clause' && continue
    echo "spdx: $f lacks '/* SPDX-License-Identifier: BSD-2-Clause */' (C) or a '#' line (after any #!)"
    bad=1
done
exit $bad

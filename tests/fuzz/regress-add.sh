#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# regress-add.sh CRASH SEED [NOTE] — print the recipe (see tests/fuzz/recipe.c)
# that makes the input CRASH out of the campaign's seed SEED: the bytes that
# differ, the size when it changed. Save it as
# tests/fuzz/regress/TARGET/NAME.recipe with the fix; run.sh (make fuzz, and
# make check's smoke run) makes the input again from the seed of that run
# and replays it. SEED must be a seed name run.sh makes (a builder cache's
# name or a shared real cache's file name), so no binary is committed.
set -eu
crash=$1 seed=$2
echo "# ${3:-regression input}"
echo "base $(basename "$seed")"
cs=$(stat -c %s "$crash") ss=$(stat -c %s "$seed")
[ "$cs" = "$ss" ] || echo "size $cs"
# Differing bytes of the common part, in runs of up to 32 bytes.
cmp -l "$seed" "$crash" 2> /dev/null | awk '
    function oct(s,   v, i) { v = 0; for (i = 1; i <= length(s); i++) v = v * 8 + substr(s, i, 1); return v }
    function flush() { if (n) print "at " start " " hex; n = 0; hex = "" }
    { at = $1 - 1
      if (!n || at != start + n || n == 32) { flush(); start = at }
      hex = hex sprintf("%02x", oct($3)); n++ }
    END { flush() }'
# Bytes past the seed's end that are not zero.
if [ "$cs" -gt "$ss" ]; then
    od -An -v -tx1 -j "$ss" "$crash" | tr -s ' \n' '\n\n' | grep . | awk -v base="$ss" '
        function flush() { if (n) print "at " start " " hex; n = 0; hex = "" }
        { at = base + NR - 1
          if ($1 == "00") { flush(); next }
          if (!n || n == 32) { flush(); start = at }
          hex = hex $1; n++ }
        END { flush() }'
fi

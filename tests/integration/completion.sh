#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# completion.sh — the shell completions and the mount helper as installed
# (issue 13): `make install` puts completions/dscfs, completions/_dscfs and
# mount.dscfs (running the installed dscfs) where configure said; both
# completions offer every verb and every -o option `dscfs --help` lists;
# bash completes verbs, mount options after -o (also after a comma) and the
# flags of a verb; zsh parses the file.
. "${top_srcdir:-.}/tests/integration/lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/completion.XXXXXX") || exit 99
trap 'rm -rf "$WORK"' EXIT
top=${top_srcdir:-.}

# Installed where configure says.
${MAKE:-make} -s -C "${top_builddir:-.}" install-dist_bashcompletionDATA install-dist_zshcompletionDATA \
    DESTDIR="$WORK/root" > "$WORK/install.log" 2>&1 || fail "make install (completions): $(tail -5 "$WORK/install.log")"
value() { MAKEFLAGS= ${MAKE:-make} -s --no-print-directory -C "${top_builddir:-.}" -f Makefile -f - print <<MK
print:
	@echo \$($1)
MK
}
[ -f "$WORK/root$(value bashcompletiondir)/dscfs" ] || fail "bash completion not installed in $(value bashcompletiondir)"
[ -f "$WORK/root$(value zshcompletiondir)/_dscfs" ] || fail "zsh completion not installed in $(value zshcompletiondir)"
if "$DSCFS" --help | grep -q -- '-o nowarm'; then # not with --disable-fuse
    ${MAKE:-make} -s -C "${top_builddir:-.}" install-mounthelperSCRIPTS DESTDIR="$WORK/root" \
        >> "$WORK/install.log" 2>&1 || fail "make install (mount.dscfs): $(tail -5 "$WORK/install.log")"
    helper="$WORK/root$(value mounthelperdir)/mount.dscfs"
    [ -x "$helper" ] || fail "mount.dscfs not installed in $(value mounthelperdir)"
    grep -qx "DSCFS=$(value bindir)/dscfs" "$helper" || fail "mount.dscfs does not run $(value bindir)/dscfs"
    sh -n "$helper" || fail "mount.dscfs is not valid sh"
fi

# Every verb and -o option of --help is offered by both.
"$DSCFS" --help > "$WORK/help"
verbs=$(grep -o '^       dscfs --[a-z-]*' "$WORK/help" | sed 's/.*dscfs //' | sort -u)
options=$(grep -o '^  -o [a-z_]*' "$WORK/help" | sed 's/.*-o //' | sort -u)
[ -n "$verbs" ] && [ -n "$options" ] || fail "no verbs or options found in --help"
for w in $verbs $options; do
    grep -q -- "$w" "$top/completions/dscfs" || fail "bash completion lacks $w"
    grep -q -- "$w" "$top/completions/_dscfs" || fail "zsh completion lacks $w"
done

# bash: what a TAB offers.
if command -v bash > /dev/null; then
    # complete WORDS...: COMPREPLY for the last word, one a line.
    complete_words() {
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _dscfs; printf "%s\n" "${COMPREPLY[@]}"' \
            _ "$top/completions/dscfs" "$@"
    }
    complete_words dscfs --ext | grep -qx -- --extract-all || fail "bash: --ext does not offer --extract-all"
    complete_words dscfs -o no | grep -qx nowarm || fail "bash: -o no does not offer nowarm"
    complete_words dscfs -o nowarm,cache_s | grep -qx 'nowarm,cache_size=' || fail "bash: -o a,b does not complete b"
    complete_words dscfs --list cache --j | grep -qx -- --json || fail "bash: --list does not offer --json"
    complete_words dscfs --extract-all c d --f | grep -qx -- --force || fail "bash: --extract-all does not offer --force"
fi
if command -v zsh > /dev/null; then
    zsh -n "$top/completions/_dscfs" || fail "zsh cannot parse _dscfs"
fi
exit 0

# SPDX-License-Identifier: BSD-2-Clause
# Shell completion for dscfs: bash (completions/dscfs, named after the
# command as bash-completion's loader wants) and zsh (completions/_dscfs).
dist_bashcompletion_DATA = completions/dscfs
dist_zshcompletion_DATA = completions/_dscfs

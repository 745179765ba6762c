#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# install-deps.sh — install what dscfs needs to build and test on Debian 12
# (bookworm) or later. Run as root. Idempotent.
set -eu
# The second line is what packaging/build-packages.sh needs (Debian and RPM
# packages, lintian).
pkgs="build-essential autoconf automake libtool pkg-config libfuse3-dev fuse3 check
      clang-19 lld-19 llvm-19 libclang-rt-19-dev valgrind
      debhelper dh-autoreconf lintian rpm cpio git"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# try-debs.sh WORKDIR — install the .debs build-packages.sh left in WORKDIR
# with dpkg -i, for real but without changing this machine: in a private
# mount namespace whose /usr, /var and /etc are overlays (the writes land in
# WORKDIR and vanish with the namespace). Then, as a user of the packages:
# `mount -t dscfs` through the installed /sbin/mount.dscfs serves the same
# bytes as the installed `dscfs --extract`, the installed bash completion
# completes, and a program builds with `pkg-config --cflags --libs dsc` and
# runs. Needs root and overlayfs; exits 77 (skip) without them.
set -eu
work=$(cd "$1" && pwd)
cache=${2:-${DSC_TESTDATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/testdata}/caches/dyld_shared_cache_arm64-macOS-objc}
arch=$(dpkg --print-architecture)
[ "$(id -u)" = 0 ] && command -v unshare > /dev/null && unshare -m true 2> /dev/null || {
    echo "try-debs: needs root and unshare: not tried"; exit 77; }
[ -f "$cache" ] || { echo "try-debs: $cache is absent: not tried"; exit 77; }
rm -rf "$work/ns" && mkdir -p "$work/ns/mnt"
cat > "$work/ns/run.sh" <<'NS'
set -u
work=$1 cache=$2 arch=$3 ns=$1/ns
die() { echo "try-debs: FAIL: $*"; exit 1; }
for d in usr var etc; do
    mkdir -p "$ns/upper/$d" "$ns/work/$d"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$ns/upper/$d,workdir=$ns/work/$d" "/$d" ||
        { echo "try-debs: no overlayfs: not tried"; exit 77; }
done
trap 'fusermount3 -u "$ns/mnt" 2> /dev/null' EXIT
dpkg -i "$work/libdsc0_0.1.0-1_$arch.deb" "$work/dscfs_0.1.0-1_$arch.deb" "$work/libdsc-dev_0.1.0-1_$arch.deb" \
    > "$ns/dpkg.log" 2>&1 || die "dpkg -i: $(tail -5 "$ns/dpkg.log")"
[ -x /sbin/mount.dscfs ] || die "/sbin/mount.dscfs is not installed"
mount -t dscfs -o nowarm "$cache" "$ns/mnt" || die "mount -t dscfs"
/usr/bin/dscfs --extract /usr/lib/libobjc.A.dylib "$cache" -o "$ns/want" || die "dscfs --extract"
cmp "$ns/mnt/usr/lib/libobjc.A.dylib" "$ns/want" || die "the mount serves other bytes than --extract"
fusermount3 -u "$ns/mnt" || die "unmount"
bash -c '. /usr/share/bash-completion/completions/dscfs; COMP_WORDS=(dscfs --ext); COMP_CWORD=1; _dscfs;
         printf "%s\n" "${COMPREPLY[@]}"' | grep -qx -- --extract-all || die "the installed bash completion"
printf '#include <dsc/dsc.h>\nint main(void) { return dsc_version() ? 0 : 1; }\n' > "$ns/user.c"
# shellcheck disable=SC2046
${CC:-cc} -o "$ns/user" "$ns/user.c" $(pkg-config --cflags --libs dsc) && "$ns/user" ||
    die "a program through pkg-config dsc"
NS
# The version in the file names is the one build-packages.sh built.
version=$(ls "$work"/dscfs_*_"$arch".deb | sed -n 's/.*dscfs_\([^-]*\)-1_.*/\1/p' | head -1)
sed -i "s/0\.1\.0-1/$version-1/g" "$work/ns/run.sh"
if unshare -m --propagation private sh "$work/ns/run.sh" "$work" "$cache" "$arch"; then rc=0; else rc=$?; fi
rm -rf "$work/ns"
[ "$rc" = 0 ] && echo "try-debs: dpkg -i, mount -t dscfs, completion and pkg-config work"
exit "$rc"

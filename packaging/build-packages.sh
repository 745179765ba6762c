#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# build-packages.sh [WORKDIR] — build and check what a distribution would
# ship, from the files git knows in this checkout (tracked, or untracked and
# not ignored):
#   1. Debian: dpkg-buildpackage -us -uc -b (dscfs, libdsc0, libdsc-dev),
#      lintian with no errors, then the .debs unpacked: mount.dscfs and the
#      bash and zsh completions are there, dscfs runs on the
#      packaged libdsc.so.0, and a program builds against libdsc-dev with
#      only `pkg-config --cflags --libs dsc`; then installed with dpkg -i
#      without changing this machine (packaging/try-debs.sh): mount -t
#      dscfs, the completion and pkg-config work as installed;
#   2. RPM: rpmbuild -bb packaging/dscfs.spec (Debian's rpm; --nodeps, its
#      database knows no BuildRequires), the packaged dscfs run the same way;
#   3. ./configure --disable-fuse with no fuse3.pc in sight: the verbs build,
#      link no libfuse, and a mount attempt says why it cannot.
# The packages' own test runs are off (nocheck): tests/run-all.sh runs the
# suite itself. WORKDIR (default: a temporary directory, removed) keeps the
# packages and logs. Run as any user; needs packaging/install-deps.sh's set.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^AC_INIT(\[dscfs\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
if [ $# -gt 0 ]; then work=$1; mkdir -p "$work"; else
    work=$(mktemp -d "${TMPDIR:-/tmp}/dscfs-pkg.XXXXXX"); trap 'rm -rf "$work"' EXIT
fi
work=$(cd "$work" && pwd)
say() { echo "build-packages: $*"; }
die() { echo "build-packages: FAIL: $*" >&2; exit 1; }
cache=${DSC_TESTDATA:-$top/../shared/testdata}/caches/dyld_shared_cache_arm64-macOS-objc

# One clean copy of the source, and its tarball for rpmbuild.
src=$work/dscfs-$version
rm -rf "$src" && mkdir -p "$src"
(cd "$top" && git ls-files -co --exclude-standard | grep -v -e '^build' -e '^b-tsan/' | tar cf - -T -) |
    (cd "$src" && tar xf -) || die "copying the source (is this a git checkout?)"
tar czf "$work/dscfs-$version.tar.gz" -C "$work" "dscfs-$version"

# check_tree ROOT LIBDIR: what a package set unpacked into ROOT must do.
check_tree() {
    root=$1 libdir=$2
    [ -f "$root$libdir/libdsc.so.0" ] || die "$root$libdir/libdsc.so.0 missing"
    [ -x "$root/usr/sbin/mount.dscfs" ] || die "$root/usr/sbin/mount.dscfs missing"
    grep -qx 'DSCFS=/usr/bin/dscfs' "$root/usr/sbin/mount.dscfs" || die "mount.dscfs does not run /usr/bin/dscfs"
    [ -f "$root/usr/share/bash-completion/completions/dscfs" ] || die "bash completion missing"
    ls "$root"/usr/share/zsh/*/_dscfs > /dev/null 2>&1 || die "zsh completion missing"
    LD_LIBRARY_PATH="$root$libdir" "$root/usr/bin/dscfs" --version | grep -q "^dscfs $version" ||
        die "the packaged dscfs does not run"
    LD_LIBRARY_PATH="$root$libdir" ldd "$root/usr/bin/dscfs" | grep -q "libdsc.so.0 => $root$libdir/" ||
        die "the packaged dscfs does not use the packaged libdsc.so.0"
    [ -f "$cache" ] || return 0
    PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root$libdir/pkgconfig \
        pkg-config --cflags --libs dsc > "$work/flags" || die "pkg-config dsc in $root"
    # shellcheck disable=SC2046
    ${CC:-cc} -Wall -Werror -o "$work/user" "$top/tests/integration/libdsc_user.c" $(cat "$work/flags") ||
        die "building a program against $root"
    LD_LIBRARY_PATH="$root$libdir" "$work/user" "$cache" /usr/lib/libobjc.A.dylib "$work/objc" > /dev/null ||
        die "the program built against $root fails"
}

say "Debian packages (dpkg-buildpackage -us -uc -b)"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) > "$work/deb.log" 2>&1 ||
    { tail -30 "$work/deb.log"; die "dpkg-buildpackage"; }
changes=$work/dscfs_${version}-1_$(dpkg --print-architecture).changes
[ -f "$changes" ] || die "$changes missing"
lintian --fail-on error --suppress-tags-from-file /dev/null "$changes" > "$work/lintian.log" 2>&1 ||
    { cat "$work/lintian.log"; die "lintian reports errors"; }
say "lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors, $(grep -c '^W:' "$work/lintian.log" || true) warnings"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
rm -rf "$work/deb-root"
for d in dscfs libdsc0 libdsc-dev; do
    dpkg-deb -x "$work/${d}_${version}-1_$(dpkg --print-architecture).deb" "$work/deb-root" || die "$d.deb"
done
dpkg-deb -f "$work/dscfs_${version}-1_$(dpkg --print-architecture).deb" Depends | grep -q 'libdsc0 (>= ' ||
    die "dscfs does not depend on libdsc0"
check_tree "$work/deb-root" "/usr/lib/$multiarch"
say "dpkg -i of the .debs (in a private mount namespace over overlays)"
sh "$top/packaging/try-debs.sh" "$work" "$cache" || [ $? = 77 ] || die "the installed .debs do not work"

say "RPM packages (rpmbuild -bb packaging/dscfs.spec)"
rm -rf "$work/rpm" && mkdir -p "$work/rpm/SOURCES"
cp "$work/dscfs-$version.tar.gz" "$work/rpm/SOURCES/"
rpmbuild -bb --nodeps --define "_topdir $work/rpm" --define 'debug_package %{nil}' \
    --define '_smp_mflags -j2' "$top/packaging/dscfs.spec" > "$work/rpm.log" 2>&1 ||
    { tail -30 "$work/rpm.log"; die "rpmbuild"; }
rm -rf "$work/rpm-root" && mkdir -p "$work/rpm-root"
for r in "$work"/rpm/RPMS/*/*.rpm; do
    (cd "$work/rpm-root" && rpm2cpio "$r" | cpio -idm --quiet) || die "unpacking $r"
done
check_tree "$work/rpm-root" "$(rpm --eval '%{_libdir}')"

say "--disable-fuse (no fuse3.pc visible)"
rm -rf "$work/nofuse" && mkdir -p "$work/nofuse/empty"
tar xzf "$work/dscfs-$version.tar.gz" -C "$work/nofuse"
(cd "$work/nofuse/dscfs-$version" && autoreconf -fi && mkdir b && cd b &&
    PKG_CONFIG_LIBDIR=$work/nofuse/empty ../configure -q --disable-fuse && make -s -j2 dscfs) \
    > "$work/nofuse.log" 2>&1 || { tail -30 "$work/nofuse.log"; die "--disable-fuse build"; }
nofuse=$work/nofuse/dscfs-$version/b/dscfs
"$nofuse" --help | grep -q -- '--extract-all' || die "--disable-fuse: --help"
if "$nofuse" "$cache" "$work/nofuse/mnt" 2> "$work/nofuse.err"; then die "--disable-fuse: a mount succeeded"; fi
grep -q 'built without FUSE' "$work/nofuse.err" || die "--disable-fuse: no reason given: $(cat "$work/nofuse.err")"
if [ -f "$cache" ]; then
    [ "$("$nofuse" --list "$cache" | grep -c -v ' -> ')" = 8 ] || die "--disable-fuse: --list"
fi
(cd "$work/nofuse/dscfs-$version/b" && ./libtool --mode=execute ldd ./dscfs) | grep -q libfuse &&
    die "--disable-fuse: dscfs links libfuse"
say "PASS: .deb, .rpm and --disable-fuse builds${1:+ (in $work)}"

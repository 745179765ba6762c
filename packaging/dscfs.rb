# SPDX-License-Identifier: BSD-2-Clause
# Homebrew formula for dscfs. UNTESTED: no macOS machine runs this project's
# CI (README, "What is tested where"). Put it in a tap (brew tap-new
# USER/dscfs; copy this file to its Formula/) and set url/sha256 to a
# release tarball made with `make dist`.
#
# Mounting needs a FUSE 3 implementation, which Homebrew core cannot ship:
# FUSE-T (brew install macos-fuse-t/homebrew-cask/fuse-t, kext-less, NFS
# based) or macFUSE (brew install --cask macfuse, a kernel extension). When
# neither provides fuse3.pc the formula builds with --disable-fuse: the
# verbs (--list, --info, --extract, --extract-all, --verify) work, mounting
# says it was built without FUSE. libdsc (dsc.pc) is installed either way.
class Dscfs < Formula
  desc "Mount Apple dyld shared caches; extract their images as Mach-O files"
  homepage "https://example.invalid/dscfs"
  url "https://example.invalid/dscfs/dscfs-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "BSD-2-Clause"

  depends_on "autoconf" => :build
  depends_on "automake" => :build
  depends_on "libtool" => :build
  depends_on "pkgconf" => :build

  on_linux do
    depends_on "libfuse"
  end

  def fuse_available?
    return true if OS.linux?

    # FUSE-T and macFUSE install their pkg-config files outside Homebrew.
    %w[/usr/local/lib/pkgconfig/fuse3.pc /usr/local/lib/pkgconfig/fuse-t.pc].any? { |f| File.exist?(f) }
  end

  def install
    args = %W[--prefix=#{prefix} --disable-static]
    args << "--disable-fuse" unless fuse_available?
    system "autoreconf", "-fi"
    system "./configure", *args
    system "make"
    system "make", "install"
  end

  def caveats
    <<~EOS
      Mounting needs FUSE-T or macFUSE (see the formula's header). Without
      either, dscfs was built with --disable-fuse and only its verbs work.
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/dscfs --version")
    (testpath/"t.c").write <<~C
      #include <dsc/dsc.h>
      int main(void) { return dsc_arch_name(DSC_ARCH_ARM64E) == 0; }
    C
    flags = shell_output("pkg-config --cflags --libs dsc").split
    system ENV.cc, "t.c", "-o", "t", *flags
    system "./t"
  end
end

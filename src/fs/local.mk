# SPDX-License-Identifier: BSD-2-Clause
# fs: the FUSE daemon (dscfs without a verb mounts). The store, the tree and
# the SIGBUS guard know nothing of FUSE or Mach-O; they live in libdscfs.la
# so the unit tests link them without libfuse (and --extract-all, built
# without FUSE too, makes the links of the mount's tree).
noinst_LTLIBRARIES += libdscfs.la
libdscfs_la_SOURCES = \
	src/fs/store.c src/fs/store.h \
	src/common/tree.c src/common/tree.h \
	src/fs/guard.c src/fs/guard.h
libdscfs_la_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)

# make check-tsan: the store's (and the guard's) unit tests, then the
# parallel, small-budget, disk-store and no-open mount tests with the daemon, under
# ThreadSanitizer (halt_on_error: a report kills the daemon, failing the
# test). Built in b-tsan/ from a copy of the source files git knows (tracked
# or not ignored), so the normal in-tree build is left alone.
TSAN_DIR = b-tsan
TSAN_RUN = TSAN_OPTIONS='halt_on_error=1 second_deadlock_stack=1'
check-tsan:
	rm -rf $(TSAN_DIR) && mkdir $(TSAN_DIR)
	cd $(srcdir) && git ls-files -co --exclude-standard | grep -v '^$(TSAN_DIR)/' | tar cf - -T - \
	  | (cd $(abs_builddir)/$(TSAN_DIR) && tar xf -)
	cd $(TSAN_DIR) && autoreconf -fi && ./configure -q --enable-tsan CC="$(CC)" && \
	  $(MAKE) $(AM_MAKEFLAGS) tests/unit/test_lib dscfs$(EXEEXT)
	cd $(TSAN_DIR) && for suite in store guard; do \
	  CK_RUN_SUITE=$$suite CK_FORK=no $(TSAN_RUN) ./tests/unit/test_lib || exit 1; \
	done
	cd $(TSAN_DIR) && for t in mount_parallel mount_budget mount_store mount_noopen mount_reread; do \
	  top_srcdir=. top_builddir=. DSCFS=$$PWD/dscfs$(EXEEXT) \
	  DSC_TESTDATA="$${DSC_TESTDATA:-$(abs_top_srcdir)/../shared/testdata}" $(TSAN_RUN) \
	    sh tests/integration/$$t.sh; rc=$$?; \
	  [ $$rc = 0 ] || [ $$rc = 77 ] || exit 1; echo "PASS (tsan): $$t"; \
	done
.PHONY: check-tsan

# tests/integration/mount_sigbus.sh preloads this shim into the daemon
# (a plain -shared build: a test shim, not a libtool library).
check_DATA = tests/integration/fakestat.so tests/integration/slowinfo.so
tests/integration/fakestat.so: $(srcdir)/tests/integration/fakestat.c
	@$(MKDIR_P) tests/integration
	$(AM_V_CC)$(CC) -shared -fPIC $(CFLAGS) -o $@ $(srcdir)/tests/integration/fakestat.c -ldl
# tests/integration/mount_control.sh preloads this one (slow renders).
tests/integration/slowinfo.so: $(srcdir)/tests/integration/slowinfo.c
	@$(MKDIR_P) tests/integration
	$(AM_V_CC)$(CC) -shared -fPIC $(CFLAGS) -o $@ $(srcdir)/tests/integration/slowinfo.c -ldl
CLEANFILES += tests/integration/fakestat.so tests/integration/slowinfo.so
EXTRA_DIST += tests/integration/fakestat.c tests/integration/slowinfo.c

# The FUSE side, linked into the dscfs command (not with --disable-fuse).
# dscfs links the shared libdsc, which exports only dsc.h; the disk store
# names entries by SHA-256, so base/sha256.c (self-contained) is built in.
if HAVE_FUSE
dscfs_SOURCES += \
	src/fs/fs.h src/fs/fsys.h src/fs/fsys.c src/fs/build.c \
	src/fs/produce.c src/fs/reading.c src/fs/report.c src/fs/ops.c src/fs/ops.h src/fs/daemon.c \
	src/fs/warm.c src/fs/warm.h src/fs/disk_store.c src/fs/disk_store.h \
	src/lib/base/sha256.c src/fs/mountpoint.c src/fs/mountpoint.h
dscfs_CPPFLAGS += -I$(top_srcdir)/src/fs
dscfs_CFLAGS += $(FUSE_CFLAGS)
dscfs_LDADD += $(FUSE_LIBS)
# The ceiling of bench/mount_bench.sh: a tree served from memory.
noinst_PROGRAMS += bench/fuse_ceiling
bench_fuse_ceiling_SOURCES = bench/fuse_ceiling.c
bench_fuse_ceiling_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
bench_fuse_ceiling_LDADD = $(FUSE_LIBS)
# The mount(8) helper (mount -t dscfs, fstab type dscfs), a script that
# runs the installed dscfs.
mounthelper_SCRIPTS = mount.dscfs
endif
mount.dscfs: $(srcdir)/src/fs/mount.dscfs.in Makefile
	$(AM_V_GEN)sed -e 's|@bindir[@]|$(bindir)|g' $(srcdir)/src/fs/mount.dscfs.in > $@.tmp && \
	  chmod +x $@.tmp && mv $@.tmp $@
CLEANFILES += mount.dscfs
EXTRA_DIST += src/fs/mount.dscfs.in

# The mount's benchmark (bench/mount_bench.sh), run by `make bench`
# (bench/run.sh); bench-mount runs it alone on each shared cache.
EXTRA_DIST += bench/mount_bench.sh
noinst_PROGRAMS += bench/bench_read
bench_bench_read_SOURCES = bench/bench_read.c
MOUNT_BENCH_TESTDATA = $${DSC_TESTDATA:-$(abs_top_srcdir)/../shared/testdata}
.PHONY: bench-mount
bench-mount: dscfs$(EXEEXT) bench/bench_read$(EXEEXT)
	@for c in $(MOUNT_BENCH_TESTDATA)/caches/dyld_shared_cache_*; do \
	    sh $(srcdir)/bench/mount_bench.sh ./dscfs$(EXEEXT) bench/bench_read$(EXEEXT) "$$c" || exit 1; \
	done

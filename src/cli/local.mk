# SPDX-License-Identifier: BSD-2-Clause
# dscfs: the command line and the FUSE daemon, thin fronts on libdsc.
bin_PROGRAMS += dscfs
dscfs_SOURCES = src/cli/main.c src/cli/cli.h src/cli/info.c \
	src/cli/extract.c src/cli/outdir.c src/cli/outdir.h \
	src/cli/verify.c src/cli/json.c src/cli/json.h src/common/open.c src/common/open.h
# src/common: what the verbs and the mount share (opening a cache; the
# tree, built into libdscfs.la).
dscfs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/cli -I$(top_srcdir)/src/common
dscfs_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
dscfs_LDADD = libdscfs.la libdsc.la

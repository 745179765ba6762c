# SPDX-License-Identifier: BSD-2-Clause
dist_man_MANS += man/dscfs.1
dist_man_MANS += man/libdsc.3
dist_man_MANS += man/mount.dscfs.8

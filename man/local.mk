# SPDX-License-Identifier: BSD-2-Clause
dist_man_MANS += man/dscfs.1

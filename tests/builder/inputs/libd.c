/* SPDX-License-Identifier: BSD-2-Clause */
/* libd.c — links only against libb, so c_reexported is found through
 * libb's re-export of libc_impl. */
#include "inputs.h"

int d_use(int x) { return c_reexported(x) + b_entry(x); }
int (*d_fn)(int) = c_reexported;

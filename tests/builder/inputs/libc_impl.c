/* SPDX-License-Identifier: BSD-2-Clause */
/* libc_impl.c — a library that libb re-exports (LC_REEXPORT_DYLIB). */
#include "inputs.h"

static int c_state = 11;
int c_reexported(int x) { return x + c_state + a_compute(x); }

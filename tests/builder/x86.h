/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86.h — x86-64 instruction length decoder (see x86.c for its scope).
 */
#ifndef DSCBUILD_X86_H
#define DSCBUILD_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct x86_insn {
    unsigned length;
    unsigned rip_disp;  /* offset of a RIP-relative disp32 in the instruction, 0 if none */
};

/* Decode the instruction at p (avail bytes readable); false when it is not
 * one the decoder knows or runs past avail. */
bool x86_decode(const uint8_t *p, size_t avail, struct x86_insn *out);

#endif

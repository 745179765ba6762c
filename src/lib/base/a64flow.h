/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * a64flow.h — which ADRP's page each AArch64 address computation uses,
 * by register data flow over each function of an instruction section.
 *
 * Apple's cache builder knows every ADRP and its ADD/LDR users from the
 * dylib's split-seg info; dylibs linked by lld have none, and the cache
 * keeps none, so the test builder (rewriting selector loads) and extraction
 * (restoring them) both recover the pairs here, with one analysis. A
 * "user" is an ADD Xd, Xn, #imm (64-bit, unshifted) or a load/store with an
 * unsigned 12-bit offset whose base register Xn holds one page on every
 * path reaching it: that of one ADRP, or of several ADRPs of the same page
 * meeting at a join (an ADRP on each arm of a branch, or one before a loop
 * and one in it). ADRPs that meet at a user form a group, named by its
 * first ADRP. An ADRP "escapes" when its page may reach anything else:
 * another instruction's operand, a user where the register may also hold
 * another value (unknown, or another page), a call's or return's argument
 * registers (x0-x7), an indirect jump, the end of the function; a group
 * escapes when one of its ADRPs does. Rewriting a group (all its ADRPs and
 * all its users) is safe only when it does not escape.
 *
 * Functions are LC_FUNCTION_STARTS ranges (the whole section when there
 * are none); LC_DATA_IN_CODE words are not instructions. Blocks no edge
 * reaches (landing pads, targets of indirect jumps that carry no page) are
 * entered with unknown registers, except x19-x29, which the unwinder
 * restores to any value they held at a call. A function of more than
 * DSC_A64_FLOW_MAX_INSNS instructions is not analysed: every ADRP in it
 * escapes and it has no users; so is one whose analysis would take more
 * than DSC_A64_FLOW_WORK_PER_INSN block joins and instruction steps per
 * instruction (+4096), which compiled code does not approach and hostile
 * branch and indirect-jump mazes do.
 */
#ifndef DSC_A64FLOW_H
#define DSC_A64FLOW_H

#include "base/reader.h"

#include <stdbool.h>
#include <stdint.h>

#define DSC_A64_NO_ADRP UINT32_MAX
#define DSC_A64_FLOW_MAX_INSNS (1u << 16)
#define DSC_A64_FLOW_WORK_PER_INSN 16u

/* An instruction section and the image's function starts and data in code. */
struct dsc_a64_code {
    dsc_span bytes;         /* the section's instructions */
    uint64_t addr;          /* address of bytes.data[0], 4-aligned */
    dsc_span fstarts;       /* LC_FUNCTION_STARTS payload (may be empty) */
    dsc_span dic;           /* LC_DATA_IN_CODE entries (may be empty) */
    uint64_t text_addr;     /* address both of them count from (__TEXT) */
    /* Optional (NULL: every function). A caller that follows only some
     * pages says which (called with dsc_a64_each_function's ctx): a
     * function none of whose words is an ADRP of such a page is neither
     * analysed nor passed to fn. */
    bool (*page_wanted)(void *ctx, uint64_t page);
};

/* One analysed function: per instruction i (address pc + 4 * i),
 * adrp[i] is the group (first ADRP's index) whose page user i adds to, or
 * DSC_A64_NO_ADRP; for an ADRP i, group[i] is its group; escaped[i] is
 * set for an ADRP whose group escapes. */
struct dsc_a64_func {
    const uint8_t *code;
    uint64_t pc;
    uint32_t n;
    const uint32_t *adrp;
    const uint32_t *group;
    const bool *escaped;
};

/* Calls fn for each function of the section (c->page_wanted says which),
 * in address order. Returns
 * 0, -1 when out of memory, or fn's first nonzero return. */
typedef int (*dsc_a64_func_fn)(void *ctx, const struct dsc_a64_func *f);
int dsc_a64_each_function(const struct dsc_a64_code *c, dsc_a64_func_fn fn, void *ctx);

#endif

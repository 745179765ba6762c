/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relref.c — Swift's 32-bit relative reference fields (relref.h). Section
 * names and the symbolic-reference marker from the Swift ABI
 * (docs/ABI/Mangling.rst, "Symbolic references": 0x01-0x17 are followed
 * by a 32-bit relative offset, 0x02 naming an indirect context descriptor;
 * include/swift/ABI/Metadata.h for the relative fields).
 */
#include "base/relref.h"

#include <string.h>

#include "base/reader.h"

/* Markers of symbolic references with a 32-bit relative offset. */
#define SYMBOLIC_FIRST 0x01
#define SYMBOLIC_LAST 0x17

bool dsc_relref_section(const char *segname, const char *sectname, bool *symbolic)
{
    *symbolic = strcmp(sectname, "__swift5_typeref") == 0;
    if (strncmp(sectname, "__swift5_", 9) == 0)
        return true;
    return strcmp(segname, "__TEXT") == 0 && strcmp(sectname, "__const") == 0;
}

static uint64_t target_of(const uint8_t *p, uint64_t field)
{
    return field + (uint64_t)(int64_t)(int32_t)dsc_le32(p);
}

int dsc_relref_each(const uint8_t *bytes, uint64_t size, uint64_t addr, bool symbolic, dsc_relref_fn fn, void *ctx)
{
    int rc = 0;
    if (symbolic) {
        for (uint64_t o = 0; rc == 0 && size >= 5 && o <= size - 5; o++)
            if (bytes[o] >= SYMBOLIC_FIRST && bytes[o] <= SYMBOLIC_LAST) {
                rc = fn(ctx, addr + o + 1, target_of(bytes + o + 1, addr + o + 1));
                o += 4;
            }
        return rc;
    }
    for (uint64_t o = (4 - (addr & 3)) & 3; rc == 0 && size >= 4 && o <= size - 4; o += 4)
        rc = fn(ctx, addr + o, target_of(bytes + o, addr + o));
    return rc;
}

bool dsc_relref_encode(uint64_t field, uint64_t target, uint32_t *value)
{
    int64_t d = (int64_t)(target - field);
    if (d < INT32_MIN || d > INT32_MAX)
        return false;
    *value = (uint32_t)(int32_t)d;
    return true;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unwind.c — personality references of unwind sections (unwind.h).
 * Layouts from Apple's mach-o/compact_unwind_encoding.h
 * (unwind_info_section_header: version 1, then the common-encodings,
 * personality-array and index offsets and counts) and from the LSB's
 * .eh_frame description (length, CIE id 0, version, augmentation string,
 * code/data alignment, return register, augmentation data with the 'P'
 * encoding byte and pointer), as ld64 and ld64.lld write them.
 */
#include "base/unwind.h"

#include <string.h>

#include "base/reader.h"
#include "base/relref.h"

#define UNWIND_SECTION_VERSION 1
#define DW_EH_PE_INDIRECT_PCREL_SDATA4 0x9b
#define EH_PE_OMIT 0xff

bool dsc_unwind_section(const char *segname, const char *sectname)
{
    return strcmp(segname, "__TEXT") == 0 && (strcmp(sectname, "__unwind_info") == 0 || strcmp(sectname, "__eh_frame") == 0);
}

static int each_personality(dsc_span s, uint64_t addr, uint64_t image_base, dsc_unwind_fn fn, void *ctx)
{
    uint32_t version, off, count, v;
    if (!span_u32(s, 0, &version) || version != UNWIND_SECTION_VERSION || !span_u32(s, 12, &off) ||
        !span_u32(s, 16, &count))
        return 0;
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < count && span_u32(s, off + i * 4, &v); i++)
        rc = fn(ctx, addr + off + i * 4, image_base + v, DSC_UNWIND_IMAGE_OFF32);
    return rc;
}

/* The CIE whose fields start at `o` (after length and id): its 'P' field. */
static int each_cie(dsc_span s, uint64_t o, uint64_t end, uint64_t addr, dsc_unwind_fn fn, void *ctx)
{
    const char *aug;
    size_t len;
    uint64_t u;
    int64_t d;
    uint8_t version, b;
    if (!span_u8(s, o++, &version) || !span_cstr(s, o, end - o, &aug, &len) || aug[0] != 'z')
        return 0;
    o += len + 1;
    if (!span_uleb(s, &o, &u) || !span_sleb(s, &o, &d) || (version == 1 ? !span_u8(s, o++, &b) : !span_uleb(s, &o, &u)) ||
        !span_uleb(s, &o, &u))
        return 0;
    for (size_t i = 1; i < len && o < end; i++) {
        if (aug[i] == 'P') {
            if (!span_u8(s, o++, &b) || b == EH_PE_OMIT)
                return 0;
            uint32_t v;
            if (b == DW_EH_PE_INDIRECT_PCREL_SDATA4 && o + 4 <= end && span_u32(s, o, &v))
                return fn(ctx, addr + o, addr + o + (uint64_t)(int64_t)(int32_t)v, DSC_UNWIND_DELTA32);
            return 0;
        } else if (aug[i] == 'L' || aug[i] == 'R') {
            o++;
        } else {
            return 0; /* an augmentation we cannot step over */
        }
    }
    return 0;
}

static int each_eh_frame(dsc_span s, uint64_t addr, dsc_unwind_fn fn, void *ctx)
{
    uint64_t o = 0;
    uint32_t len, id;
    int rc = 0;
    while (rc == 0 && span_u32(s, o, &len) && len != 0 && len != 0xffffffffu && dsc_range_ok(s.size, o + 4, len) &&
           span_u32(s, o + 4, &id)) {
        if (id == 0)
            rc = each_cie(s, o + 8, o + 4 + len, addr, fn, ctx);
        o += 4 + (uint64_t)len;
    }
    return rc;
}

int dsc_unwind_each(const uint8_t *bytes, uint64_t size, uint64_t addr, const char *sectname, uint64_t image_base,
                    dsc_unwind_fn fn, void *ctx)
{
    dsc_span s = {bytes, size};
    if (strcmp(sectname, "__unwind_info") == 0)
        return each_personality(s, addr, image_base, fn, ctx);
    return each_eh_frame(s, addr, fn, ctx);
}

bool dsc_unwind_encode(enum dsc_unwind_kind kind, uint64_t field, uint64_t slot, uint64_t image_base,
                       uint32_t *value)
{
    if (kind == DSC_UNWIND_DELTA32)
        return dsc_relref_encode(field, slot, value);
    if (slot < image_base || slot - image_base > UINT32_MAX)
        return false;
    *value = (uint32_t)(slot - image_base);
    return true;
}

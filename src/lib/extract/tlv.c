/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlv.c — thread-local variable descriptors restored. See tlv.h.
 */
#include "extract/tlv.h"

#include "base/macho_format.h"
#include "cache/cache.h"

#define NEW_FORMAT_TLVS (1u << 12) /* dyld_cache_header.newFormatTLVs */

static uint64_t descriptor_size(const struct dsc_plan *p) { return 3ULL * p->ptr_size; }

static bool is_descriptors(const struct dsc_section *x)
{
    return (x->flags & SECTION_TYPE) == S_THREAD_LOCAL_VARIABLES;
}

bool dsc_tlv_thunk(const struct dsc_plan *p, uint64_t slot)
{
    if (!(p->mo.flags & MH_HAS_TLV_DESCRIPTORS))
        return false;
    for (unsigned i = 0; i < p->mo.nsects; i++) {
        const struct dsc_section *x = &p->mo.sects[i];
        if (is_descriptors(x) && slot >= x->addr && slot - x->addr < x->size &&
            (slot - x->addr) % descriptor_size(p) == 0)
            return true;
    }
    return false;
}

static bool packed_cache(const struct dsc_plan *p)
{
    const struct dsc_file *m = dsc_main_file(p->cache);
    return dsc_hdr_has(m, HDR_FORMAT_VERSION, 4) && (dsc_hdr32(m, HDR_FORMAT_VERSION) & NEW_FORMAT_TLVS);
}

/* The descriptor at `d` (words after the thunk) back in the linked layout.
 * In a newFormatTLVs cache a descriptor is packed only when it has a key:
 * static keys are never 0, and images past the key range stay as linked. */
static void restore_one(const struct dsc_plan *p, uint8_t *d, bool packed)
{
    packed = packed && (p->ptr_size == 8 ? dsc_le32(d + 8) : dsc_le16(d + 4)) != 0;
    if (p->ptr_size == 8) {
        uint64_t offset = packed ? dsc_le32(d + 12) : dsc_le64(d + 16);
        dsc_put64(d + 8, 0);
        dsc_put64(d + 16, offset);
    } else {
        uint32_t offset = packed ? dsc_le16(d + 6) : dsc_le32(d + 8);
        dsc_put32(d + 4, 0);
        dsc_put32(d + 8, offset);
    }
}

int dsc_tlv_restore(struct dsc_plan *p)
{
    if (!p->copy_bytes || !(p->mo.flags & MH_HAS_TLV_DESCRIPTORS))
        return 0;
    bool packed = packed_cache(p);
    uint64_t size = descriptor_size(p);
    for (unsigned i = 0; i < p->mo.nsects; i++) {
        const struct dsc_section *x = &p->mo.sects[i];
        for (uint64_t off = 0; is_descriptors(x) && off + size <= x->size; off += size) {
            uint8_t *d = plan_seg_bytes(p, x->addr + off, size);
            if (!d)
                return plan_fail(p, "thread-local descriptor at 0x%llx is outside its segment",
                                 (unsigned long long)(x->addr + off));
            restore_one(p, d, packed);
        }
    }
    return 0;
}

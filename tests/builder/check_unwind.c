/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_unwind.c — dsccheck: personality references of unwind information
 * (base/unwind.h, read in each input dylib) name, in the cache, the slot's
 * new address or, in the GOT-uniquing eras for a bound GOT slot, a GOT twin
 * holding the same pointer (got_twin: outside every image) — as
 * adjustReferencesUsingInfoV2 leaves an IMAGE_OFF_32 or DELTA_32 into a
 * coalesced GOT (tests/builder/unwind.c).
 */
#include "check.h"

static void check_ref(void *ctx, const struct image *img, struct unwind_ref u)
{
    struct counts *n = ctx;
    uint32_t have = dsc_le32(vm(u.field, 4, "unwind reference").data);
    uint64_t t = u.kind == DSC_UNWIND_DELTA32 ? u.field + (uint64_t)(int64_t)(int32_t)have : u.header + have;
    const struct ptr *p = image_ptr_at(img, u.slot);
    bool twin = gots_uniqued && p && p->bind && p->target && got_in_section(img, u.in_slot);
    if (twin ? t == u.slot || !got_twin(img, u.slot, t, n) : t != u.slot)
        die("%s: unwind reference at 0x%llx names 0x%llx, not %s 0x%llx", img->cache_path,
            (unsigned long long)u.field, (unsigned long long)t, twin ? "a GOT twin of" : "its slot",
            (unsigned long long)u.slot);
    n->unwind_refs++;
}

void check_unwind(struct counts *n)
{
    for (size_t i = 0; i < bc.nimages; i++)
        unwind_each(&bc.images[i], check_ref, n);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_largevm.c — dsccheck's proof that a --large-vm cache (manifest
 * "layout large-vm", layout.c) is what it claims: more than 4 GiB of VM
 * held by small files (every mapping's file offset and size fit 32 bits),
 * every image's LINKEDIT more than 4 GiB above its mach header, and slid
 * pointers whose target lies 4 GiB or more above the base, i.e. whose v5
 * runtimeOffset (34 bits, dyld_chained_ptr_arm64e_shared_cache_rebase and
 * _auth_rebase, dyld-1160+) needs bits 32-33 — plain and authenticated
 * ones on arm64e. check_pointers has already proven each of those pointers
 * decodes to its input's target; this only proves they exist.
 */
#include "check.h"

#include <stdio.h>

#define FOUR_GIB (1ULL << 32)

static void check_mappings(void)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < cache->nmaps; i++) {
        const dsc_mapping_info *mi = &cache->maps[i].info;
        if (mi->file_offset + mi->size >= FOUR_GIB)
            die("large-vm: mapping at 0x%llx ends 4 GiB or more into its file", (unsigned long long)mi->address);
        if (mi->address < lo)
            lo = mi->address;
        if (mi->address + mi->size > hi)
            hi = mi->address + mi->size;
    }
    if (hi - lo <= FOUR_GIB)
        die("large-vm: the mappings span only 0x%llx bytes of VM", (unsigned long long)(hi - lo));
}

void check_large_vm(struct counts *n)
{
    check_mappings();
    for (size_t i = 0; i < bc.nimages; i++)
        if (cached[i].le_vmaddr - cached[i].mh <= FOUR_GIB)
            die("large-vm: %s: LINKEDIT at 0x%llx is within 4 GiB of its header at 0x%llx", bc.images[i].in_path,
                (unsigned long long)cached[i].le_vmaddr, (unsigned long long)cached[i].mh);
    size_t plain = 0, auth = 0;
    for (size_t i = 0; i < dec.n; i++)
        if ((dec.v[i].value & 0x00FFFFFFFFFFFFFFull) - bc.ai->base >= FOUR_GIB && dec.v[i].value)
            dec.v[i].auth ? auth++ : plain++;
    if (!plain || (bc.opt.arch == ARCH_ARM64E && !auth))
        die("large-vm: %zu plain and %zu authenticated pointers target 4 GiB or more above the base", plain, auth);
    n->far_ptrs = plain + auth;
}

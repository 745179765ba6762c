/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_objcsegs.c — libobjc's __OBJC_RO and __OBJC_RW segment commands
 * (objc_segs.c): present exactly when the cache has an ObjC optimisation
 * header and a 64-bit libobjc, without sections, vmsize = filesize, file
 * offset = the place of vmaddr in its mapping's file, r-- and rw-, each
 * inside one mapping: __OBJC_RO in TEXT for the 0x200 header and in the
 * READ_ONLY mapping from 0x208 (arm64*), holding the opts header and the
 * selector buffer; __OBJC_RW in a writable mapping holding header info RW.
 */
#include "check.h"

#include <string.h>

static const char *const names[2] = {"__OBJC_RO", "__OBJC_RW"};

/* The ObjC optimisation header's address, or 0 when the cache has none. */
static uint64_t opts_header(void)
{
    const struct dsc_file *m = dsc_main_file(cache);
    if (!dsc_hdr_has(m, HDR_OBJC_OPTS_SIZE, 8) || !dsc_hdr64(m, HDR_OBJC_OPTS_OFFSET))
        return 0;
    return dsc_cache_get_info(cache)->base_address + dsc_hdr64(m, HDR_OBJC_OPTS_OFFSET);
}

/* The mapping holding [addr, addr + size), or die. */
static const struct dsc_map *one_mapping(const char *what, uint64_t addr, uint64_t size)
{
    const struct dsc_map *m = dsc_vm_map(cache, addr);
    if (!size || !m || size > m->info.size - (addr - m->info.address))
        die("libobjc: %s (0x%llx bytes at 0x%llx) is not inside one mapping", what, (unsigned long long)size,
            (unsigned long long)addr);
    return m;
}

static void check_one(int which, const uint8_t *lc, uint64_t opts)
{
    uint64_t addr = dsc_le64(lc + 24), size = dsc_le64(lc + 32), fileoff = dsc_le64(lc + 40);
    const struct dsc_map *m = one_mapping(names[which], addr, size);
    uint32_t prot = which == 0 ? 1 : 3;
    if (dsc_le32(lc + 4) != 72 || dsc_le32(lc + 64) != 0 || dsc_le64(lc + 48) != size ||
        fileoff != m->info.file_offset + (addr - m->info.address) || dsc_le32(lc + 56) != prot ||
        dsc_le32(lc + 60) != prot)
        die("libobjc: %s is not a sectionless segment of prot %u at its file offset", names[which], prot);
    uint64_t base = dsc_cache_get_info(cache)->base_address;
    dsc_span h = vm(opts, 0x38, "ObjC optimisation header");
    if (which == 0) {
        bool read_only = dsc_main_file(cache)->header_size >= 0x208 && bc.opt.arch != ARCH_X86_64;
        bool right_map = read_only ? (m->info.flags & DSC_MAPPING_READ_ONLY_DATA) != 0 : (m->info.max_prot & 4) != 0;
        uint64_t selectors = base + dsc_le64(h.data + 0x30);
        if (!right_map || (m->info.max_prot & 2) || opts - addr >= size || selectors - addr >= size)
            die("libobjc: __OBJC_RO (0x%llx) is not in the %s mapping over the opts header (0x%llx) and selectors "
                "(0x%llx)", (unsigned long long)addr, read_only ? "READ_ONLY" : "TEXT", (unsigned long long)opts,
                (unsigned long long)selectors);
    } else if (!(m->info.max_prot & 2) || base + dsc_le64(h.data + 0x10) != addr) {
        die("libobjc: __OBJC_RW (0x%llx) does not start at header info RW", (unsigned long long)addr);
    }
}

bool check_objc_segment(const struct image *img, const uint8_t *lc, unsigned *seen)
{
    if (strcmp(img->install_name, "/usr/lib/libobjc.A.dylib") != 0 || dsc_le32(lc) != LC_SEGMENT_64)
        return false;
    for (int which = 0; which < 2; which++) {
        if (strncmp((const char *)lc + 8, names[which], 16) != 0)
            continue;
        uint64_t opts = opts_header();
        if (!opts || *seen != (unsigned)which)
            die("libobjc: unexpected %s", names[which]);
        check_one(which, lc, opts);
        (*seen)++;
        return true;
    }
    return false;
}

void check_objc_segments_seen(const struct image *img, unsigned seen)
{
    bool want = !strcmp(img->install_name, "/usr/lib/libobjc.A.dylib") && bc.ai->ptr_size == 8 && opts_header();
    if (seen != (want ? 2u : 0u))
        die("libobjc: %u of its __OBJC_RO/__OBJC_RW segments, want %u", seen, want ? 2u : 0u);
}

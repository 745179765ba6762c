/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_objcsegs.c — libobjc's __OBJC_RO and __OBJC_RW segment commands
 * (objc_segs.c): present exactly when the cache has an ObjC optimisation
 * header and a 64-bit libobjc, without sections, vmsize = filesize, file
 * offset = the place of vmaddr in its mapping's file, r-- and rw-, each
 * inside one mapping: __OBJC_RO in the TEXT mapping holding libobjc for
 * the 0x200 header and x86_64 (dyld-940, dyld-1042.1 .. 1165.3: the
 * sub-cache whose TEXT takes libobjc) and in the READ_ONLY mapping from
 * 0x208 (arm64*); __OBJC_RW from header info RW
 * over the canonical protocols, opening the AUTH mapping on arm64e and the
 * DATA mapping elsewhere (dyld-1042.1 .. 1378 addObjCReadWriteChunk and
 * Chunk::Kind order: before every image segment of the region).
 * __OBJC_RO's bounds are Apple's chunks of the manifest's ObjC era
 * (dyld-1042.1 .. dyld-1378 CacheDylib.cpp addObjcSegments, Chunk.h order):
 * from header info RO over the selector (and type) strings and the selector
 * hash table, then from dyld-1284 the IMP caches, then the preattached
 * categories, ending with the last of them.
 * Where the opts header and the IMP caches are, per era: from dyld-1284
 * (SubCache::addObjCOptsHeaderChunk/addObjCIMPCachesChunk: addReadOnlyChunk)
 * the opts header right before header info RO, outside __OBJC_RO, and the
 * IMP caches after the selector hash table; before it (dyld-1042.1 ..
 * 1245.1: addLinkeditChunk) both in the mapping of the images' LINKEDIT,
 * after every image's symbol strings, the IMP caches after the header,
 * each 8-byte aligned (Chunk::Kind order, Alignment::struct64/impCaches).
 * libobjc's __TEXT,__objc_opt_ro (objc_opt_t, objc4-951.1) as the builder
 * filled it (dyld-1042.1 .. dyld-1378 emitObjCOptsHeader): the input's
 * version, the opts header's flags, the selector table, header info RO and
 * RW and the selector base as offsets from the section, every other byte the input's.
 */
#include "check.h"

#include <string.h>

static const char *const names[2] = {"__OBJC_RO", "__OBJC_RW"};

uint64_t opts_header(void)
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

static uint64_t ro_addr, ro_size;   /* __OBJC_RO as the cache's libobjc says */

/* `mh`: libobjc's mach header, whose TEXT mapping holds a TEXT __OBJC_RO. */
static void check_one(int which, const uint8_t *lc, uint64_t opts, uint64_t mh)
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
        uint64_t hinfo = base + dsc_le64(h.data + 0x08);
        if (!right_map || (m->info.max_prot & 2) || addr != hinfo || (!read_only && m != dsc_vm_map(cache, mh)))
            die("libobjc: __OBJC_RO (0x%llx) is not in the %s mapping from header info RO (0x%llx)",
                (unsigned long long)addr, read_only ? "READ_ONLY" : "libobjc's TEXT", (unsigned long long)hinfo);
        ro_addr = addr;
        ro_size = size;
    } else if (!(m->info.max_prot & 2) || base + dsc_le64(h.data + 0x10) != addr) {
        die("libobjc: __OBJC_RW (0x%llx) does not start at header info RW", (unsigned long long)addr);
    } else if (addr != m->info.address || (m->info.flags & DSC_MAPPING_CONST_DATA) ||
               !(m->info.flags & DSC_MAPPING_AUTH_DATA) != (bc.opt.arch != ARCH_ARM64E)) {
        die("libobjc: __OBJC_RW (0x%llx) does not open the %s mapping", (unsigned long long)addr,
            bc.opt.arch == ARCH_ARM64E ? "AUTH" : "DATA");
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
        check_one(which, lc, opts, cached[img - bc.images].mh);
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

/* The end of __OBJC_RO in the manifest's era: strings, the selector hash
 * table, IMP caches from dyld-1284, categories. */
static uint64_t want_ro_end(void)
{
    uint64_t end = dsc_align_up(sb.end + types_size, 8) + selopt_size;
    if (impc_size && objc_era_m >= 1284) {
        if (impc_addr != end)
            die("libobjc: the IMP caches (0x%llx) do not follow the strings (0x%llx)", (unsigned long long)impc_addr,
                (unsigned long long)end);
        end += impc_size;
    }
    if (cats_size) {
        if (cats_addr != end)
            die("libobjc: the categories (0x%llx) do not follow 0x%llx", (unsigned long long)cats_addr,
                (unsigned long long)end);
        end += cats_size;
    }
    return end;
}

/* The end of the images' LINKEDIT data: their symbol strings, last. */
static uint64_t images_linkedit_end(const struct dsc_map *le)
{
    uint64_t end = 0;
    for (size_t i = 0; i < bc.nimages; i++) {
        uint64_t s = cached[i].le_vmaddr + (cached[i].stroff + (uint64_t)cached[i].strsize - cached[i].le_fileoff);
        if (dsc_vm_map(cache, cached[i].le_vmaddr) != le)
            die("%s: LINKEDIT is not in the cache's LINKEDIT mapping", bc.images[i].cache_path);
        end = s > end ? s : end;
    }
    return end;
}

/* The opts header and the IMP caches where the era's builder puts them (see
 * the top); `size` is the opts header's. */
static void check_placement(uint64_t opts, uint64_t size)
{
    uint64_t hinfo = ro_addr;
    if (objc_era_m >= 1284) {
        if (dsc_align_up(opts + size, 8) != hinfo)
            die("libobjc: the opts header (0x%llx) does not end at header info RO (0x%llx) (dyld-%u: READ_ONLY)",
                (unsigned long long)opts, (unsigned long long)hinfo, objc_era_m);
        return;
    }
    const struct dsc_map *le = dsc_vm_map(cache, cached[0].le_vmaddr);
    uint64_t end = images_linkedit_end(le);
    if ((opts & 7) || opts < end || dsc_vm_map(cache, opts) != le)
        die("libobjc: the opts header (0x%llx) is not a LINKEDIT chunk after the images' (to 0x%llx) (dyld-%u)",
            (unsigned long long)opts, (unsigned long long)end, objc_era_m);
    if (impc_size && ((impc_addr & 7) || impc_addr < opts + size || dsc_vm_map(cache, impc_addr) != le ||
                      impc_size > le->info.size - (impc_addr - le->info.address)))
        die("libobjc: the IMP caches (0x%llx) are not a LINKEDIT chunk after the opts header (dyld-%u)",
            (unsigned long long)impc_addr, objc_era_m);
}

/* libobjc's objc_opt_t: fields at 4, 12, 24 (32-bit) and 40 (64-bit). */
static void check_opt_ro(const struct image *img, const uint8_t *h)
{
    const struct sect *x = image_sect(img, "__TEXT", "__objc_opt_ro");
    uint64_t at, base = dsc_cache_get_info(cache)->base_address;
    dsc_span in;
    if (!x)
        return;
    if (!image_reloc(img, x->in_addr, &at) || !image_in_bytes(img, x->in_addr, x->size, &in) || in.size < 48)
        die("libobjc: __objc_opt_ro is unreadable");
    dsc_span o = vm(at, x->size, "__objc_opt_ro");
    uint8_t want[48];
    memcpy(want, in.data, 48);
    dsc_put32(want + 4, dsc_le32(h + 4));
    dsc_put32(want + 8, (uint32_t)(base + dsc_le64(h + 0x18) - at));
    dsc_put32(want + 12, (uint32_t)(base + dsc_le64(h + 0x08) - at));
    dsc_put32(want + 24, (uint32_t)(base + dsc_le64(h + 0x10) - at));
    dsc_put64(want + 40, base + dsc_le64(h + 0x30) - at);
    if (memcmp(o.data, want, 48) != 0 || memcmp(o.data + 48, in.data + 48, in.size - 48) != 0 ||
        !dsc_le32(want + 8) || !dsc_le32(want + 12) || !dsc_le32(want + 24) || !dsc_le64(want + 40))
        die("libobjc: __objc_opt_ro is not the input's placeholder with the opts header's flags and offsets");
}

void check_objc_ro_bounds(void)
{
    uint64_t opts = opts_header();
    const struct image *img = NULL;
    for (size_t i = 0; i < bc.nimages && !img; i++)
        if (!strcmp(bc.images[i].install_name, "/usr/lib/libobjc.A.dylib"))
            img = &bc.images[i];
    if (!opts || !img || bc.ai->ptr_size != 8)
        return;
    check_placement(opts, objc_era_m >= 1376 ? 0x48 : 0x38);
    uint64_t end = want_ro_end();
    if (ro_addr + ro_size != end)
        die("libobjc: __OBJC_RO ends at 0x%llx, Apple's chunks of dyld-%u at 0x%llx",
            (unsigned long long)(ro_addr + ro_size), objc_era_m, (unsigned long long)end);
    check_opt_ro(img, vm(opts, 0x38, "ObjC optimisation header").data);
}

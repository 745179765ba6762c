/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objc_segs.c — libobjc's __OBJC_RO and __OBJC_RW: the two segment commands
 * Apple's builder inserts in the cached /usr/lib/libobjc.A.dylib, just
 * before its __LINKEDIT command, so that libobjc's image covers the cache's
 * ObjC tables (dyld-1042.1, dyld-1245.1 and dyld-1378
 * cache_builder/CacheDylib.cpp addObjcSegments; dyld-1042.1's older
 * cache-builder/OptimizerObjC.cpp does the same). The input libobjc has
 * neither segment: objc4-951.1 links only placeholders inside its own
 * segments (__TEXT,__objc_opt_ro, __DATA,__objc_opt_ptrs,
 * __DATA_CONST,__objc_scoffs). Both commands have no sections, vmsize =
 * filesize, fileoff = the offset in the (sub-)cache file holding the
 * range, maxprot = initprot = r-- (__OBJC_RO) and rw- (__OBJC_RW). Apple
 * warns and adds nothing when the load commands have no room for them; this
 * builder stops (its libobjc input is linked with header padding for them).
 *
 * __OBJC_RO: Apple's spans header info RO to the protocol hash table
 * (dyld-1042) or to the preattached categories (dyld-1122+), over image
 * infos, strings and the hash tables, and from dyld-1284 the IMP caches
 * (before, a LINKEDIT chunk); the opts header, the chunk kind before header
 * info RO, stays outside. This builder's ObjC read-only area (layout.c) is
 * laid out in Apple's Chunk::Kind order, so __OBJC_RO spans the same
 * chunks: from header info RO over the strings and the selector, class and
 * protocol hash tables, IMP caches (dyld-1284+) and categories: in TEXT for
 * the 0x200 header (dyld-1042..1165), in the READ_ONLY mapping from 0x208
 * (dyld-1231+).
 * __OBJC_RW: header info RW and the canonical protocols after it, as in
 * Apple's Chunk::Kind order. Only caches with an ObjC optimisation header
 * (0x200+, 64-bit) get them, the caches whose builder adds them.
 */
#include "bld.h"

#include <string.h>

/* Bytes between the mach header and the first section of the first segment. */
static uint64_t header_room(const struct image *img)
{
    uint64_t room = img->segs[0].size;
    for (unsigned i = 0; i < img->nsects; i++)
        if (img->sects[i].segi == 0 && img->sects[i].in_addr - img->segs[0].in_addr < room)
            room = img->sects[i].in_addr - img->segs[0].in_addr;
    return room;
}

static void put_segment(struct cache *c, uint8_t *lc, const char *name, uint64_t addr, uint64_t size,
                        uint32_t prot)
{
    memset(lc, 0, 72);
    dsc_put32(lc, LC_SEGMENT_64);
    dsc_put32(lc + 4, 72);
    memcpy(lc + 8, name, strlen(name));
    dsc_put64(lc + 24, addr);
    dsc_put64(lc + 32, size);
    dsc_put64(lc + 40, file_offset_of(c, addr));
    dsc_put64(lc + 48, size);
    dsc_put32(lc + 56, prot);
    dsc_put32(lc + 60, prot);
}

void objc_segments_add(struct cache *c)
{
    struct image *img = objc_libobjc(c);
    if (!img || !c->objc_ro_size || c->ai->ptr_size != 8)
        return;
    const uint32_t hdr = 32, seg = 72;
    uint8_t *mh = cache_bytes(c, img->segs[0].addr, hdr);
    uint32_t ncmds = dsc_le32(mh + 16), sizeofcmds = dsc_le32(mh + 20);
    if (hdr + sizeofcmds + 2 * seg > header_room(img))
        die("%s: no room for __OBJC_RO and __OBJC_RW (link it with more -headerpad)", img->in_path);
    uint8_t *cmds = cache_bytes(c, img->segs[0].addr + hdr, sizeofcmds + 2 * seg);
    uint32_t at = 0;
    while (at < sizeofcmds && !(dsc_le32(cmds + at) == LC_SEGMENT_64 && !strncmp((char *)cmds + at + 8, "__LINKEDIT", 16)))
        at += dsc_le32(cmds + at + 4);
    if (at >= sizeofcmds)
        die("%s: no __LINKEDIT segment command", img->in_path);
    memmove(cmds + at + 2 * seg, cmds + at, sizeofcmds - at);
    put_segment(c, cmds + at, "__OBJC_RO", c->hinfo_addr, objc_ro_end(c) - c->hinfo_addr, 1);
    put_segment(c, cmds + at + seg, "__OBJC_RW", c->objc_rw_addr, c->objc_rw_size + c->proto_area_size, 3);
    dsc_put32(mh + 16, ncmds + 2);
    dsc_put32(mh + 20, sizeofcmds + 2 * seg);
}

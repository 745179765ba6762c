/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * loadcmds.c — rewrite each cached image's mach_header and load commands:
 * segments and sections at their cache addresses and file offsets, every
 * LINKEDIT command pointing into the shared LINKEDIT, the commands Apple's
 * builder drops removed, rebase info zeroed, MH_DYLIB_IN_CACHE set.
 */
#include "bld.h"

#include <string.h>

uint64_t file_offset_of(struct cache *c, uint64_t addr)
{
    struct region *r = region_of(c, addr);
    if (!r)
        die("internal: 0x%llx is in no mapping", (unsigned long long)addr);
    return r->fileoff + (addr - r->addr);
}

/* Commands Apple's builder drops; LC_FUNCTION_VARIANTS comes back naming
 * the merged LINKEDIT's copy (add_function_variants), and
 * LC_FUNCTION_VARIANT_FIXUPS does not (dyld-1378 copies no such blob:
 * fvariants.c). */
static bool dropped(uint32_t cmd)
{
    return cmd == LC_CODE_SIGNATURE || cmd == LC_SEGMENT_SPLIT_INFO || cmd == LC_ENCRYPTION_INFO ||
           cmd == LC_ENCRYPTION_INFO_64 || cmd == LC_DYLIB_CODE_SIGN_DRS || cmd == LC_RPATH ||
           cmd == LC_DYLD_CHAINED_FIXUPS || cmd == LC_FUNCTION_VARIANTS || cmd == LC_FUNCTION_VARIANT_FIXUPS;
}

static bool is_zerofill(uint32_t flags)
{
    uint32_t t = flags & SECTION_TYPE;
    return t == S_ZEROFILL || t == S_GB_ZEROFILL || t == S_THREAD_LOCAL_ZEROFILL;
}

static void put_word(uint8_t *p, bool is64, uint64_t v)
{
    if (is64)
        dsc_put64(p, v);
    else
        dsc_put32(p, (uint32_t)v);
}

static void fix_segment(struct cache *c, struct image *img, uint8_t *lc, bool is64, unsigned *segi)
{
    const struct seg *s = &img->segs[(*segi)++];
    unsigned w = is64 ? 8 : 4;
    uint64_t addr = s->addr, size = s->size;
    if (s->kind == RK_LINKEDIT) {
        const struct region *r = &c->regions[c->le_region];
        addr = r->addr;
        size = r->size;
    }
    put_word(lc + 24, is64, addr);
    put_word(lc + 24 + w, is64, size);
    put_word(lc + 24 + 2 * w, is64, file_offset_of(c, addr));
    put_word(lc + 24 + 3 * w, is64, size);
    uint32_t nsects = dsc_le32(lc + 24 + 4 * w + 8);
    uint8_t *sect = lc + (is64 ? 72 : 56);
    for (uint32_t i = 0; i < nsects; i++, sect += is64 ? 80 : 68) {
        uint64_t in_addr = is64 ? dsc_le64(sect + 32) : dsc_le32(sect + 32), a;
        uint32_t flags = dsc_le32(sect + (is64 ? 64 : 56));
        if (!image_reloc(img, in_addr, &a))
            die("%s: section at 0x%llx is outside its segment", img->in_path, (unsigned long long)in_addr);
        put_word(sect + 32, is64, a);
        if (c->got_uniquing && got_section(&(struct sect){.flags = flags}))
            dsc_put32(sect + (is64 ? 64 : 56), flags & ~SECTION_TYPE);   /* uniqued GOTs become S_REGULAR */
        dsc_put32(sect + 32 + 2 * w, is_zerofill(flags) ? 0 : (uint32_t)file_offset_of(c, a));
    }
}

static void fix_command(struct cache *c, struct image *img, uint8_t *lc, uint32_t cmd, bool is64, unsigned *segi)
{
    switch (cmd) {
    case LC_SEGMENT:
    case LC_SEGMENT_64:
        fix_segment(c, img, lc, is64, segi);
        break;
    case LC_SYMTAB:
        dsc_put32(lc + 8, (uint32_t)img->le_symoff);
        dsc_put32(lc + 12, (uint32_t)img->le_nsyms);
        dsc_put32(lc + 16, (uint32_t)c->le_stroff);
        dsc_put32(lc + 20, (uint32_t)c->le_strsize);
        break;
    case LC_DYSYMTAB:
        dsc_put32(lc + 8, 0);
        dsc_put32(lc + 12, img->le_nlocal);
        dsc_put32(lc + 16, img->le_iextdef);
        dsc_put32(lc + 24, img->le_iundef);
        memset(lc + 32, 0, 24);  /* toc, module table, external references */
        dsc_put32(lc + 56, (uint32_t)img->le_indirectoff);
        memset(lc + 64, 0, 16);  /* relocations */
        break;
    case LC_ID_DYLIB:
        dsc_put32(lc + 12, 2);
        break;
    case LC_DYLD_INFO:
    case LC_DYLD_INFO_ONLY:
        memset(lc + 8, 0, 8);
        dsc_put32(lc + 16, (uint32_t)img->le_bindoff);
        dsc_put32(lc + 20, img->le_bindoff ? img->bind_size : 0);
        dsc_put32(lc + 24, (uint32_t)img->le_weakoff);
        dsc_put32(lc + 28, img->le_weakoff ? img->weak_size : 0);
        dsc_put32(lc + 32, (uint32_t)img->le_lazyoff);
        dsc_put32(lc + 36, img->le_lazyoff ? img->lazy_size : 0);
        dsc_put32(lc + 40, (uint32_t)img->le_exportoff);
        dsc_put32(lc + 44, (uint32_t)img->le_exportsize);
        break;
    case LC_DYLD_EXPORTS_TRIE:
        dsc_put32(lc + 8, (uint32_t)img->le_exportoff);
        dsc_put32(lc + 12, (uint32_t)img->le_exportsize);
        break;
    case LC_FUNCTION_STARTS:
        dsc_put32(lc + 8, (uint32_t)img->le_fstartsoff);
        break;
    case LC_DATA_IN_CODE:
        dsc_put32(lc + 8, (uint32_t)img->le_dicoff);
        break;
    default:
        break;
    }
}

/* LC_FUNCTION_VARIANTS (fvariants.c), in the room of dropped commands or
 * the header padding before the first section. */
static void add_function_variants(const struct image *img, uint32_t hdr, struct buf *out, uint32_t *ncmds)
{
    uint64_t room = UINT64_MAX;
    for (unsigned i = 0; i < img->nsects; i++)
        if (img->sects[i].segi == 0 && img->sects[i].in_addr - img->segs[0].in_addr < room)
            room = img->sects[i].in_addr - img->segs[0].in_addr;
    if (hdr + out->len + 16 > room)
        die("%s: no room for LC_FUNCTION_VARIANTS", img->in_path);
    buf_u32(out, LC_FUNCTION_VARIANTS);
    buf_u32(out, 16);
    buf_u32(out, (uint32_t)img->le_fvoff);
    buf_u32(out, (uint32_t)img->le_fvsize);
    (*ncmds)++;
}

void loadcmds_rewrite(struct cache *c)
{
    bool is64 = c->ai->ptr_size == 8;
    uint32_t hdr = is64 ? 32 : 28;
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        uint8_t *mh = cache_bytes(c, img->segs[0].addr, hdr + img->sizeofcmds + (img->le_fvsize ? 16 : 0));
        struct buf out = {0};
        uint32_t ncmds = 0;
        unsigned segi = 0;
        uint8_t *lc = mh + hdr;
        for (uint32_t k = 0; k < img->ncmds; k++) {
            uint32_t cmd = dsc_le32(lc), size = dsc_le32(lc + 4);
            if (!dropped(cmd)) {
                fix_command(c, img, lc, cmd, is64, &segi);
                buf_put(&out, lc, size);
                ncmds++;
            }
            lc += size;
        }
        if (img->le_fvsize)
            add_function_variants(img, hdr, &out, &ncmds);
        memset(mh + hdr, 0, out.len > img->sizeofcmds ? out.len : img->sizeofcmds);
        memcpy(mh + hdr, out.data, out.len);
        dsc_put32(mh + 16, ncmds);
        dsc_put32(mh + 20, (uint32_t)out.len);
        dsc_put32(mh + 24, dsc_le32(mh + 24) | MH_DYLIB_IN_CACHE);
        buf_free(&out);
    }
}

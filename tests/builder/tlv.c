/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlv.c — thread-local variable descriptors as Apple's builder sets them up
 * (dyld-1042+ headers): every S_THREAD_LOCAL_VARIABLES descriptor {thunk,
 * key, offset} of an image with MH_HAS_TLV_DESCRIPTORS gets the image's
 * static pthread key (one per image, in cache order, from
 * __pthread_tsd_shared_cache_first up to _last) and its thunk points at the
 * non-exported _tlv_get_addr instead of the __tlv_bootstrap the input
 * binds; on arm64e the thunk is signed IA, diversity 0, no address
 * diversity.
 *  - dyld-1042.1 (cache_builder/NewSharedCacheBuilder.cpp optimizeTLVs):
 *    _tlv_get_addr is the tlv_get_addrAddr pointer of libdyld's __dyld4
 *    section; the descriptor keeps its layout, the key a whole word.
 *  - dyld-1284.13+ (same function in dyld-1378; always with the 0x228
 *    header, --packed-tlvs on 0x200): it is
 *    __tlv_bootstrap + 8, and the descriptor becomes TLV_Thunkv2 (64-bit:
 *    func, u32 key, u32 offset, i32 initialContentDelta, u32
 *    initialContentSize; 32-bit: func, u16 key, u16 offset, i32
 *    machHeaderDelta), flagged by newFormatTLVs in the header (write.c).
 * Images past the key range stay as linked (Apple warns and stops there).
 * Apple finds libdyld and libsystem_pthread by install name; our
 * libSystem stand-in is both, so they are found by what they define.
 */
#include "bld.h"

#include <string.h>


struct tlv_setup {
    uint64_t get_addr;      /* cache address of _tlv_get_addr */
    uint32_t first, last;   /* static key range */
};

/* Cache address of `name` exported (not re-exported) by some image. */
static bool export_addr(struct cache *c, const char *name, uint64_t *out)
{
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct export_sym *e = image_export(img, name);
        if (e && !(e->flags & EXPORT_SYMBOL_FLAGS_REEXPORT))
            return image_reloc(img, img->segs[0].in_addr + e->value, out);
    }
    return false;
}

/* dyld-1042: FixedSizeLibdyldDyld4Section.tlv_get_addrAddr, the ninth word. */
static bool dyld4_get_addr(struct cache *c, uint64_t *out)
{
    unsigned psz = c->ai->ptr_size;
    for (size_t i = 0; i < c->nimages; i++) {
        const struct image *img = &c->images[i];
        const struct sect *x = image_sect(img, "__DATA", "__dyld4");
        uint64_t at;
        if (!x || x->size < 9ULL * psz || !image_reloc(img, x->in_addr + 8ULL * psz, &at))
            continue;
        const struct ptr *p = image_ptr_at(img, at);
        if (!p)
            die("%s: __dyld4 holds no tlv_get_addrAddr pointer", img->in_path);
        *out = p->target;
        return true;
    }
    return false;
}

static bool find_setup(struct cache *c, struct tlv_setup *s)
{
    uint64_t first, last, boot = 0;
    bool found = c->opt.packed_tlvs ? export_addr(c, "__tlv_bootstrap", &boot) : dyld4_get_addr(c, &boot);
    s->get_addr = c->opt.packed_tlvs ? boot + 8 : boot;
    if (!found || !export_addr(c, "__pthread_tsd_shared_cache_first", &first) ||
        !export_addr(c, "__pthread_tsd_shared_cache_last", &last))
        return false;
    s->first = dsc_le32(cache_bytes(c, first, 4));
    s->last = dsc_le32(cache_bytes(c, last, 4));
    return s->first <= s->last;
}

/* The template's cache address and size (contiguous TLV data/zero-fill
 * sections, as Apple accumulates them) and whether any is not zero fill. */
static void initial_content(const struct image *img, uint64_t *addr, uint64_t *size, bool *nonzero)
{
    *addr = *size = 0;
    *nonzero = false;
    for (unsigned i = 0; i < img->nsects; i++) {
        const struct sect *x = &img->sects[i];
        uint32_t type = x->flags & SECTION_TYPE;
        uint64_t at;
        if ((type != S_THREAD_LOCAL_REGULAR && type != S_THREAD_LOCAL_ZEROFILL) || !image_reloc(img, x->in_addr, &at))
            continue;
        *nonzero |= type == S_THREAD_LOCAL_REGULAR;
        if (*size == 0)
            *addr = at;
        *size = at + x->size - *addr;
    }
}

static void set_thunk(struct cache *c, struct image *img, uint64_t at, uint64_t get_addr)
{
    struct ptr *p = (struct ptr *)image_ptr_at(img, at);
    if (!p)
        die("%s: TLV descriptor at 0x%llx has no thunk fixup", img->in_path, (unsigned long long)at);
    bool arm64e = strcmp(c->ai->name, "arm64e") == 0;
    *p = (struct ptr){.addr = at, .target = get_addr, .auth = arm64e};
}

/* One descriptor at `at` (index i of its section): key, layout, thunk. */
static void set_descriptor(struct cache *c, struct image *img, uint64_t at, uint32_t key, const struct tlv_setup *s)
{
    unsigned psz = c->ai->ptr_size;
    uint8_t *d = cache_bytes(c, at, 3ULL * psz);
    uint64_t offset = psz == 8 ? dsc_le64(d + 16) : dsc_le32(d + 8);
    set_thunk(c, img, at, s->get_addr);
    if (!c->opt.packed_tlvs) {
        if (psz == 8)
            dsc_put64(d + 8, key);
        else
            dsc_put32(d + 4, key);
        return;
    }
    uint64_t content, size;
    bool nonzero;
    initial_content(img, &content, &size, &nonzero);
    if (psz == 8) {
        int64_t delta = nonzero ? (int64_t)(content - (at + 16)) : 0;
        if (offset > UINT32_MAX || size > UINT32_MAX || delta != (int32_t)delta)
            die("%s: thread-local at 0x%llx does not fit TLV_Thunkv2", img->in_path, (unsigned long long)at);
        dsc_put32(d + 8, key);
        dsc_put32(d + 12, (uint32_t)offset);
        dsc_put32(d + 16, (uint32_t)delta);
        dsc_put32(d + 20, (uint32_t)size);
        return;
    }
    if (offset > 0xFFFF || key > 0xFFFF)
        die("%s: thread-local at 0x%llx does not fit TLV_Thunkv2_32", img->in_path, (unsigned long long)at);
    d[4] = (uint8_t)key;
    d[5] = (uint8_t)(key >> 8);
    d[6] = (uint8_t)offset;
    d[7] = (uint8_t)(offset >> 8);
    dsc_put32(d + 8, nonzero ? (uint32_t)(img->segs[0].addr - (at + 8)) : (uint32_t)size);
}

static void image_tlvs(struct cache *c, struct image *img, uint32_t key, const struct tlv_setup *s)
{
    uint64_t dsize = 3ULL * c->ai->ptr_size;
    for (unsigned i = 0; i < img->nsects; i++) {
        const struct sect *x = &img->sects[i];
        uint64_t at;
        if ((x->flags & SECTION_TYPE) != S_THREAD_LOCAL_VARIABLES)
            continue;
        if (x->size % dsize || !image_reloc(img, x->in_addr, &at))
            die("%s: __thread_vars is not a whole number of descriptors", img->in_path);
        for (uint64_t off = 0; off < x->size; off += dsize)
            set_descriptor(c, img, at + off, key, s);
    }
}

void tlv_optimize(struct cache *c)
{
    struct tlv_setup s;
    if (c->opt.header_size < 0x200)
        return;
    if (!find_setup(c, &s))
        die("TLVs: no image defines _tlv_get_addr and the pthread key range");
    uint32_t key = s.first;
    for (size_t i = 0; i < c->nimages; i++) {
        struct image *img = &c->images[i];
        if (!(dsc_le32(img->file.data + MH_FLAGS) & MH_HAS_TLV_DESCRIPTORS))
            continue;
        if (key > s.last)
            return; /* as Apple: out of keys, the rest keep their binds */
        image_tlvs(c, img, key++, &s);
        c->stats_tlv_images++;
    }
}

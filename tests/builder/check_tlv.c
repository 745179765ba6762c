/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_tlv.c — dsccheck: thread-local variable descriptors of dyld-1042+
 * caches (tlv.c). Every image with MH_HAS_TLV_DESCRIPTORS, in cache order,
 * must carry the next key from __pthread_tsd_shared_cache_first on (until
 * _last), its thunks must point 8 bytes past the __tlv_bootstrap export
 * (where libdyld keeps _tlv_get_addr; arm64e: signed IA, no diversity) and
 * each descriptor must hold its input's offset: as a word in the linked
 * layout, or in TLV_Thunkv2 / TLV_Thunkv2_32 when the header has
 * newFormatTLVs (bit 12 of the word at 0xDC), with the initial-content
 * delta and size dyld reads (dyld-1378 libdyld/ThreadLocalVariables.h);
 * newFormatTLVs must be set in 0x228 headers (dyld-1284.13 always sets
 * it) and clear in 0x208 ones (dyld-1245.1 never does).
 * The expected thunk replaces the input's bind in bc's slots, so
 * check_pointers proves the slide info holds it.
 */
#include "check.h"

#include <string.h>

#define NEW_FORMAT_TLVS (1u << 12)

static uint64_t export_at(const char *name)
{
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct export_sym *e = image_export(img, name);
        uint64_t at;
        if (e && !(e->flags & EXPORT_SYMBOL_FLAGS_REEXPORT) && image_reloc(img, img->segs[0].in_addr + e->value, &at))
            return at;
    }
    die("TLVs: no image exports %s", name);
}

/* The input's bytes of section x at offset off. */
static const uint8_t *input_bytes(const struct image *img, const struct sect *x, uint64_t off, uint64_t len)
{
    const struct seg *s = &img->segs[x->segi];
    dsc_span out;
    if (!span_sub(img->file, s->in_fileoff + (x->in_addr - s->in_addr) + off, len, &out))
        die("%s: __thread_vars is outside the input", img->in_path);
    return out.data;
}

/* Template start (cache address), size, and whether it has data. */
static void template_of(const struct image *img, uint64_t *addr, uint64_t *size, bool *data)
{
    uint64_t end = 0, at;
    *addr = UINT64_MAX;
    *data = false;
    for (unsigned i = 0; i < img->nsects; i++) {
        uint32_t t = img->sects[i].flags & SECTION_TYPE;
        if ((t != S_THREAD_LOCAL_REGULAR && t != S_THREAD_LOCAL_ZEROFILL) || !image_reloc(img, img->sects[i].in_addr, &at))
            continue;
        *data |= t == S_THREAD_LOCAL_REGULAR;
        *addr = at < *addr ? at : *addr;
        end = at + img->sects[i].size > end ? at + img->sects[i].size : end;
    }
    *size = *addr == UINT64_MAX ? 0 : end - *addr;
}

static void check_packed(const struct image *img, uint64_t at, const uint8_t *d, uint32_t key, uint64_t offset)
{
    uint64_t tmpl, size;
    bool data;
    template_of(img, &tmpl, &size, &data);
    bool ok;
    if (bc.ai->ptr_size == 8)
        ok = dsc_le32(d + 8) == key && dsc_le32(d + 12) == offset && dsc_le32(d + 20) == size &&
             (int32_t)dsc_le32(d + 16) == (data ? (int64_t)tmpl - (int64_t)(at + 16) : 0);
    else
        ok = dsc_le16(d + 4) == key && dsc_le16(d + 6) == offset &&
             (int32_t)dsc_le32(d + 8) == (data ? (int64_t)img->segs[0].addr - (int64_t)(at + 8) : (int64_t)size);
    if (!ok)
        die("%s: packed TLV descriptor at 0x%llx is wrong", img->cache_path, (unsigned long long)at);
}

static void check_descriptor(struct image *img, const struct sect *x, uint64_t off, uint32_t key, bool packed,
                             uint64_t get_addr)
{
    unsigned psz = bc.ai->ptr_size;
    uint64_t at;
    image_reloc(img, x->in_addr + off, &at);
    const uint8_t *in = input_bytes(img, x, off, 3ULL * psz), *d = vm(at, 3ULL * psz, "TLV descriptor").data;
    uint64_t offset = psz == 8 ? dsc_le64(in + 16) : dsc_le32(in + 8);
    struct ptr *p = (struct ptr *)image_ptr_at(img, at);
    if (!p)
        die("%s: the input binds no thunk at 0x%llx", img->in_path, (unsigned long long)at);
    *p = (struct ptr){.addr = at, .target = get_addr, .auth = strcmp(bc.ai->name, "arm64e") == 0};
    if (packed)
        check_packed(img, at, d, key, offset);
    else if ((psz == 8 ? dsc_le64(d + 8) : dsc_le32(d + 4)) != key ||
             (psz == 8 ? dsc_le64(d + 16) : dsc_le32(d + 8)) != offset)
        die("%s: TLV descriptor at 0x%llx has key/offset 0x%llx/0x%llx, expected 0x%x/0x%llx", img->cache_path,
            (unsigned long long)at, (unsigned long long)(psz == 8 ? dsc_le64(d + 8) : dsc_le32(d + 4)),
            (unsigned long long)(psz == 8 ? dsc_le64(d + 16) : dsc_le32(d + 8)), key, (unsigned long long)offset);
}

void check_tlvs(uint32_t header, struct counts *n)
{
    const struct dsc_file *m = dsc_main_file(cache);
    bool packed = dsc_hdr_has(m, HDR_FORMAT_VERSION, 4) && (dsc_hdr32(m, HDR_FORMAT_VERSION) & NEW_FORMAT_TLVS);
    if (header < 0x200) {
        if (packed)
            die("newFormatTLVs before the dyld-1042 header");
        return;
    }
    /* dyld-1284.13 sets it in every cache it writes; dyld-1245.1 in none */
    if (packed != (header >= 0x228) && header != 0x200)
        die("newFormatTLVs is %s in a 0x%x header", packed ? "set" : "clear", header);
    uint64_t get_addr = export_at("__tlv_bootstrap") + 8;
    uint32_t key = dsc_le32(vm(export_at("__pthread_tsd_shared_cache_first"), 4, "first key").data);
    uint32_t last = dsc_le32(vm(export_at("__pthread_tsd_shared_cache_last"), 4, "last key").data);
    uint64_t dsize = 3ULL * bc.ai->ptr_size;
    for (size_t i = 0; i < bc.nimages && key <= last; i++) {
        struct image *img = &bc.images[i];
        if (!(dsc_le32(img->file.data + MH_FLAGS) & MH_HAS_TLV_DESCRIPTORS))
            continue;
        for (unsigned k = 0; k < img->nsects; k++)
            for (uint64_t off = 0; (img->sects[k].flags & SECTION_TYPE) == S_THREAD_LOCAL_VARIABLES &&
                                   off + dsize <= img->sects[k].size;
                 off += dsize, n->tlvs++)
                check_descriptor(img, &img->sects[k], off, key, packed, get_addr);
        key++;
    }
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ptrfmt.h — the one codec of pointer words as dyld stores them: the slide
 * info formats of a shared cache (v1 to v5) and the chained-fixup pointer
 * formats of a standalone Mach-O (DYLD_CHAINED_PTR_*), decoded to one
 * struct; the DYLD_CHAINED_PTR_ARM64E and _64 encoders the extractor
 * writes, and the slide-info encoder the test builder writes (each the
 * inverse of its decoder).
 *
 * Layouts: dyld_cache_slide_info* and dyld_cache_slide_pointer* in dyld's
 * cache-builder/dyld_cache_format.h (dyld-1042.1; v5 from dyld-1160.6),
 * dyld_chained_ptr_* in mach-o/fixup-chains.h of the same tag. Slide v3 and
 * DYLD_CHAINED_PTR_ARM64E share one bit layout (arm64e_*() in ptrfmt.c);
 * nothing else in the tree spells it out.
 *
 * Pure functions of a word and a format: the caller has read the word from
 * checked bytes, and chain steps (`next`) are the caller's to bound.
 */
#ifndef DSC_PTRFMT_H
#define DSC_PTRFMT_H

#include "base/reader.h"

/* arm64 ignores a pointer's top byte (TBI): high8 bits are no address. */
#define DSC_TBI_MASK 0x00FFFFFFFFFFFFFFull

/* DYLD_CHAINED_PTR_* (mach-o/fixup-chains.h) that the decoder knows. */
enum dsc_chained_format {
    DSC_CHAINED_PTR_ARM64E = 1,
    DSC_CHAINED_PTR_64 = 2,
    DSC_CHAINED_PTR_32 = 3,
    DSC_CHAINED_PTR_64_OFFSET = 6,
    DSC_CHAINED_PTR_ARM64E_USERLAND = 9,
    DSC_CHAINED_PTR_ARM64E_USERLAND24 = 12,
};
/* Import table formats (dyld_chained_fixups_header.imports_format). */
enum dsc_chained_import_format {
    DSC_CHAINED_IMPORT = 1,          /* u32: lib_ordinal:8 weak_import:1 name_offset:23 */
    DSC_CHAINED_IMPORT_ADDEND = 2,   /* the same, then int32 addend */
    DSC_CHAINED_IMPORT_ADDEND64 = 3, /* u64: lib_ordinal:16 weak_import:1 reserved:15
                                        name_offset:32, then uint64 addend */
};

/* One import table entry. Ordinals are signed: 0 self, -1 main executable,
 * -2 flat lookup, -3 weak lookup (stored as 0xF0..0xFF / 0xFFF0..0xFFFF). */
struct dsc_chained_import {
    int lib_ordinal;
    bool weak_import;
    uint32_t name_offset;
    int64_t addend;     /* 0 in DSC_CHAINED_IMPORT */
};

/* Bytes of one entry of `format`, 0 for an unknown format. */
unsigned dsc_chained_import_size(unsigned format);
/* Decode the entry at `entry` (dsc_chained_import_size(format) bytes). */
void dsc_chained_import_decode(unsigned format, const uint8_t *entry, struct dsc_chained_import *out);
/* Encode `in` at `entry`; false when a field does not fit `format`. */
bool dsc_chained_import_encode(unsigned format, const struct dsc_chained_import *in, uint8_t *entry);
/* Whether a DYLD_CHAINED_PTR_ARM64E bind holds `addend` itself (19 signed
 * bits, none when authenticated); dyld adds the import's addend to it. */
bool dsc_ptr_arm64e_holds_addend(bool auth, int64_t addend);

/* One decoded pointer word. */
struct dsc_ptr {
    uint64_t value;     /* rebase: the unslid target as an extracted file
                           stores it, high8 (TBI) bits kept; non-pointer:
                           the integer the word holds */
    uint64_t next;      /* bytes to the next slot of its chain, 0 at the end */
    bool is_pointer;    /* false for v2 zero links and v4 small integers */
    bool bind;          /* chained bind: `import` + `addend`, no value */
    uint32_t import;
    int64_t addend;
    bool auth;          /* arm64e authenticated */
    uint8_t key;        /* 0 IA, 1 IB, 2 DA, 3 DB */
    bool addr_div;
    uint16_t diversity;
};

/* What decoding a slide-info word needs from its blob's header. */
struct dsc_slide_format {
    uint32_t version;   /* 1..5 */
    unsigned slot_size; /* 4 or 8: v4 slots are 4, v3/v5 slots 8 */
    uint64_t delta_mask, value_add;
};

/* Read the header of slide blob `blob` of a cache with `ptr_size`-byte
 * pointers. NULL on success, else what is wrong ("header is truncated",
 * "implausible delta mask", "needs 64-bit pointers", "unknown version"). */
const char *dsc_slide_format_read(dsc_span blob, unsigned ptr_size, struct dsc_slide_format *f);

/* Decode the slide-info word `raw`. */
void dsc_ptr_decode_slide(const struct dsc_slide_format *f, uint64_t raw, struct dsc_ptr *out);

/* Where a pointer word keeps its chain link: the bytes to the next slot
 * are (raw >> shift & mask) * scale, 0 at a chain's end (mask 0: no
 * chains, as in slide v1). The decoders take `next` from it; a walk
 * passing over slots it does not report needs nothing else. */
struct dsc_ptr_link {
    unsigned shift, scale;
    uint64_t mask;
};
static inline uint64_t dsc_ptr_link_next(struct dsc_ptr_link l, uint64_t raw)
{
    return (raw >> l.shift & l.mask) * l.scale;
}
/* The link of the slide-info words of `f`. */
struct dsc_ptr_link dsc_ptr_slide_link(const struct dsc_slide_format *f);

/* Decode the chained-fixup word `raw` of `format`; `base` is the image's
 * __TEXT vmaddr (offset formats count from it). False for an unknown format. */
bool dsc_ptr_decode_chained(unsigned format, uint64_t base, uint64_t raw, struct dsc_ptr *out);

enum dsc_ptr_encode_status {
    DSC_PTR_ENCODED = 0,
    DSC_PTR_IMPORT_RANGE,   /* bind import > 16 bits */
    DSC_PTR_AUTH_ADDEND,    /* authenticated bind with an addend */
    DSC_PTR_ADDEND_RANGE,   /* bind addend beyond 19 signed bits */
    DSC_PTR_AUTH_RANGE,     /* authenticated target beyond base + 4 GiB */
    DSC_PTR_TARGET_RANGE,   /* plain target beyond 43 bits (high8 aside) */
    /* only from dsc_ptr_encode_slide: */
    DSC_PTR_NEXT_RANGE,     /* `next` off the format's stride or beyond its field */
    DSC_PTR_UNSUPPORTED,    /* no such word in the format: a bind, a v5 key
                               other than IA or DA, a v2 non-pointer other than
                               0, a v4 one that is no small integer */
};

/* Encode `p` (value or bind/import/addend, auth data, `next` in bytes, a
 * multiple of 8 below 16 KiB) as a DYLD_CHAINED_PTR_ARM64E word for an
 * image at `base`. */
enum dsc_ptr_encode_status dsc_ptr_encode_arm64e(const struct dsc_ptr *p, uint64_t base, uint64_t *raw);
/* The same as DYLD_CHAINED_PTR_64 (base 0: absolute 36-bit targets) or
 * DYLD_CHAINED_PTR_64_OFFSET (base = the image's address: 36-bit offsets
 * from it); high8 kept; binds with a 24-bit import and an addend of
 * 0..255; `next` a multiple of 4 below 16 KiB; nothing authenticated. */
enum dsc_ptr_encode_status dsc_ptr_encode_64(const struct dsc_ptr *p, uint64_t base, uint64_t *raw);
/* Encode `p` as a slide-info word of `f`, so that dsc_ptr_decode_slide
 * gives it back: a pointer (`value` unslid, auth data on v3/v5) or, on a
 * v2/v4 chain, a non-pointer (`is_pointer` false: v2's zero, v4's small
 * integers); `next` in bytes to the next slot of its chain, 0 at the end
 * (v1 has no chains). Out-of-range values are DSC_PTR_TARGET_RANGE (v3
 * and v5 authenticated ones DSC_PTR_AUTH_RANGE), never a wrong word. */
enum dsc_ptr_encode_status dsc_ptr_encode_slide(const struct dsc_slide_format *f, const struct dsc_ptr *p,
                                                uint64_t *raw);

#endif

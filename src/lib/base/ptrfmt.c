/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ptrfmt.c — decode slide-info and chained-fixup pointer words, encode
 * DYLD_CHAINED_PTR_ARM64E. Bit layouts from dyld-1042.1's
 * cache-builder/dyld_cache_format.h (dyld_cache_slide_pointer3, v2/v4
 * delta chains), dyld-1160.6's dyld_cache_slide_pointer5 and
 * mach-o/fixup-chains.h (dyld_chained_ptr_*). See ptrfmt.h.
 */
#include "base/ptrfmt.h"

#include <string.h>

/* ---- arm64e: dyld_cache_slide_pointer3 == dyld_chained_ptr_arm64e_* ----
 *   bit 63 auth, 62 bind, 51..61 next (8-byte strides);
 *   rebase: target 0..42, high8 43..50;  auth rebase: target 0..31;
 *   bind: ordinal 0..15 (0..23 in USERLAND24), addend 32..50 (signed);
 *   auth (rebase or bind): diversity 32..47, addrDiv 48, key 49..50. */

#define ARM64E_AUTH (1ull << 63)
#define ARM64E_BIND (1ull << 62)
#define ARM64E_NEXT_SHIFT 51
#define ARM64E_NEXT_MAX 0x7FFu /* 11 bits of 8-byte strides, v5's too */
#define ARM64E_TARGET 0x7FFFFFFFFFFull /* 43 bits */
#define ARM64E_HIGH8_SHIFT 43

/* `offsets`: plain targets are offsets from base (USERLAND formats); with
 * `ordinal_bits` 0 the bind bit is ignored (slide v3 has none). */
static const struct dsc_ptr_link arm64e_link = {ARM64E_NEXT_SHIFT, 8, ARM64E_NEXT_MAX};

static void arm64e_decode(uint64_t raw, uint64_t base, bool offsets, unsigned ordinal_bits, struct dsc_ptr *out)
{
    out->next = dsc_ptr_link_next(arm64e_link, raw);
    out->auth = raw & ARM64E_AUTH;
    if (out->auth) {
        out->diversity = (uint16_t)(raw >> 32);
        out->addr_div = raw >> 48 & 1;
        out->key = raw >> 49 & 3;
    }
    if (ordinal_bits && (raw & ARM64E_BIND)) {
        out->bind = true;
        out->is_pointer = false;
        out->import = (uint32_t)(raw & ((1u << ordinal_bits) - 1));
        if (!out->auth)
            out->addend = dsc_sext(raw >> 32 & 0x7FFFF, 19);
        return;
    }
    if (out->auth)
        out->value = base + (raw & 0xFFFFFFFFu);
    else
        out->value = ((offsets ? base : 0) + (raw & ARM64E_TARGET)) | (raw >> ARM64E_HIGH8_SHIFT & 0xFF) << 56;
}

enum dsc_ptr_encode_status dsc_ptr_encode_arm64e(const struct dsc_ptr *p, uint64_t base, uint64_t *raw)
{
    uint64_t auth = (uint64_t)p->diversity << 32 | (uint64_t)p->addr_div << 48 | (uint64_t)(p->key & 3) << 49 |
                    ARM64E_AUTH;
    uint64_t r = (p->next / 8) << ARM64E_NEXT_SHIFT;
    if (p->bind) {
        if (p->import > 0xFFFF)
            return DSC_PTR_IMPORT_RANGE;
        r |= p->import | ARM64E_BIND;
        if (!dsc_ptr_arm64e_holds_addend(p->auth, p->addend))
            return p->auth ? DSC_PTR_AUTH_ADDEND : DSC_PTR_ADDEND_RANGE;
        r |= p->auth ? auth : ((uint64_t)p->addend & 0x7FFFF) << 32;
    } else if (p->auth) {
        uint64_t off = p->value - base;
        if (p->value < base || off > UINT32_MAX)
            return DSC_PTR_AUTH_RANGE;
        r |= off | auth;
    } else {
        uint64_t addr = p->value & DSC_TBI_MASK;
        if (addr & ~ARM64E_TARGET)
            return DSC_PTR_TARGET_RANGE;
        r |= addr | (p->value >> 56) << ARM64E_HIGH8_SHIFT;
    }
    *raw = r;
    return DSC_PTR_ENCODED;
}

/* ---- other chained formats (4-byte strides) ---- */

/* dyld_chained_ptr_64_rebase / _bind: bit 63 bind, next 51..62;
 * rebase target 0..35, high8 36..43; bind ordinal 0..23, addend 32..39. */
static void chained64_decode(uint64_t raw, uint64_t base, struct dsc_ptr *out)
{
    out->next = (raw >> 51 & 0xFFF) * 4;
    if (raw >> 63) {
        out->bind = true;
        out->is_pointer = false;
        out->import = raw & 0xFFFFFF;
        out->addend = (int64_t)(raw >> 32 & 0xFF);
        return;
    }
    out->value = (base + (raw & 0xFFFFFFFFFull)) | (raw >> 36 & 0xFF) << 56;
}

enum dsc_ptr_encode_status dsc_ptr_encode_64(const struct dsc_ptr *p, uint64_t base, uint64_t *raw)
{
    if (p->next % 4 || p->next / 4 > 0xFFF)
        return DSC_PTR_TARGET_RANGE;
    uint64_t r = (p->next / 4) << 51;
    if (p->bind) {
        if (p->import > 0xFFFFFF)
            return DSC_PTR_IMPORT_RANGE;
        if (p->addend < 0 || p->addend > 0xFF)
            return DSC_PTR_ADDEND_RANGE;
        r |= 1ull << 63 | p->import | (uint64_t)p->addend << 32;
    } else {
        uint64_t addr = (p->value & DSC_TBI_MASK) - base;
        if (p->auth)
            return DSC_PTR_AUTH_RANGE;
        if (addr > 0xFFFFFFFFFull)
            return DSC_PTR_TARGET_RANGE;
        r |= addr | (p->value >> 56) << 36;
    }
    *raw = r;
    return DSC_PTR_ENCODED;
}

/* dyld_chained_ptr_32_rebase / _bind: bit 31 bind, next 26..30; rebase
 * target 0..25; bind ordinal 0..19, addend 20..25. */
static void chained32_decode(uint64_t raw, struct dsc_ptr *out)
{
    out->next = (raw >> 26 & 0x1F) * 4;
    if (raw >> 31 & 1) {
        out->bind = true;
        out->is_pointer = false;
        out->import = raw & 0xFFFFF;
        out->addend = (int64_t)(raw >> 20 & 0x3F);
        return;
    }
    out->value = raw & 0x3FFFFFFu;
}

bool dsc_ptr_decode_chained(unsigned format, uint64_t base, uint64_t raw, struct dsc_ptr *out)
{
    memset(out, 0, sizeof *out);
    out->is_pointer = true;
    switch (format) {
    case DSC_CHAINED_PTR_ARM64E:
        arm64e_decode(raw, base, false, 16, out);
        return true;
    case DSC_CHAINED_PTR_ARM64E_USERLAND:
        arm64e_decode(raw, base, true, 16, out);
        return true;
    case DSC_CHAINED_PTR_ARM64E_USERLAND24:
        arm64e_decode(raw, base, true, 24, out);
        return true;
    case DSC_CHAINED_PTR_64:
    case DSC_CHAINED_PTR_64_OFFSET:
        chained64_decode(raw, format == DSC_CHAINED_PTR_64_OFFSET ? base : 0, out);
        return true;
    case DSC_CHAINED_PTR_32:
        chained32_decode(raw, out);
        return true;
    default:
        return false;
    }
}

/* ---- slide info ---- */

const char *dsc_slide_format_read(dsc_span blob, unsigned ptr_size, struct dsc_slide_format *f)
{
    memset(f, 0, sizeof *f);
    if (!span_u32(blob, 0, &f->version))
        return "header is truncated";
    f->slot_size = ptr_size;
    switch (f->version) {
    case 1:
        return NULL;
    case 2:
    case 4:
        /* dyld_cache_slide_info2/4: delta_mask at 24, value_add at 32. */
        if (!span_u64(blob, 24, &f->delta_mask) || !span_u64(blob, 32, &f->value_add))
            return "header is truncated";
        if (ptr_size == 4 || f->version == 4) {
            f->slot_size = 4;
            f->delta_mask &= 0xffffffffu;
            f->value_add &= 0xffffffffu;
        }
        if (f->delta_mask == 0 || __builtin_ctzll(f->delta_mask) < 2)
            return "implausible delta mask";
        return NULL;
    case 3:
    case 5:
        /* dyld_cache_slide_info3/5: (auth_)value_add at 16. */
        if (ptr_size != 8)
            return "needs 64-bit pointers";
        if (!span_u64(blob, 16, &f->value_add))
            return "header is truncated";
        return NULL;
    default:
        return "unknown version";
    }
}

/* v2/v4: the delta to the next slot sits in delta_mask's bits (in 4-byte
 * units); v4 keeps small integers on the chain. */

/* What the v2/v4 word `v` (delta bits cleared) stands for: a pointer
 * (value_add added back), v2's zero link or a v4 small integer. */
static uint64_t delta_value(const struct dsc_slide_format *f, uint64_t v, bool *is_pointer)
{
    if (f->slot_size == 4)
        v &= 0xffffffffu;
    *is_pointer = true;
    if (f->version == 2) {
        *is_pointer = v != 0; /* a zero is a link the builder did not rebase */
        if (v)
            v += f->value_add;
    } else if ((v & 0xFFFF8000u) == 0) {
        *is_pointer = false; /* small positive integer */
    } else if ((v & 0x3FFF8000u) == 0x3FFF8000u) {
        *is_pointer = false; /* small negative integer */
        v |= 0xC0000000u;
    } else {
        v += f->value_add;
    }
    return f->slot_size == 4 ? (v & 0xffffffffu) : v;
}

static unsigned delta_shift(const struct dsc_slide_format *f)
{
    return (unsigned)__builtin_ctzll(f->delta_mask) - 2;
}

/* v2/v4 links count 4-byte steps in the delta_mask bits. */
static struct dsc_ptr_link delta_link(const struct dsc_slide_format *f)
{
    unsigned shift = delta_shift(f) + 2;
    return (struct dsc_ptr_link){shift, 4, f->delta_mask >> shift};
}

static void delta_decode(const struct dsc_slide_format *f, uint64_t raw, struct dsc_ptr *out)
{
    out->next = dsc_ptr_link_next(delta_link(f), raw);
    out->value = delta_value(f, raw & ~f->delta_mask, &out->is_pointer);
}

/* The inverse of delta_decode: a word that does not decode back to `p`
 * is out of range. */
static enum dsc_ptr_encode_status delta_encode(const struct dsc_slide_format *f, const struct dsc_ptr *p,
                                               uint64_t *raw)
{
    uint64_t link = p->next << delta_shift(f), v = p->is_pointer ? p->value - f->value_add : p->value;
    bool is_pointer;
    if (p->bind || p->auth)
        return DSC_PTR_UNSUPPORTED;
    if (p->next % 4 || link >> delta_shift(f) != p->next || (link & ~f->delta_mask))
        return DSC_PTR_NEXT_RANGE;
    if (f->slot_size == 4) {
        if (p->value > 0xffffffffu)
            return p->is_pointer ? DSC_PTR_TARGET_RANGE : DSC_PTR_UNSUPPORTED;
        v &= 0xffffffffu;   /* 32-bit slots slide modulo 2^32 */
    }
    v &= ~f->delta_mask;
    if (delta_value(f, v, &is_pointer) != p->value || is_pointer != p->is_pointer)
        return p->is_pointer ? DSC_PTR_TARGET_RANGE : DSC_PTR_UNSUPPORTED;
    *raw = v | link;
    return DSC_PTR_ENCODED;
}

/* v5: bit 63 auth, next 52..62; target offset 0..33 from value_add;
 * plain: high8 34..41; auth: diversity 34..49, addrDiv 50, keyIsData 51. */
#define V5_AUTH (1ull << 63)
#define V5_NEXT_SHIFT 52
#define V5_TARGET 0x3FFFFFFFFull /* 34 bits */
#define V5_HIGH8_SHIFT 34
#define V5_DIVERSITY_SHIFT 34
#define V5_ADDR_DIV_SHIFT 50
#define V5_KEY_IS_DATA_SHIFT 51
static const struct dsc_ptr_link v5_link = {V5_NEXT_SHIFT, 8, ARM64E_NEXT_MAX};

static void v5_decode(const struct dsc_slide_format *f, uint64_t raw, struct dsc_ptr *out)
{
    out->next = dsc_ptr_link_next(v5_link, raw);
    out->auth = raw & V5_AUTH;
    out->value = f->value_add + (raw & V5_TARGET);
    if (out->auth) {
        out->diversity = (uint16_t)(raw >> V5_DIVERSITY_SHIFT);
        out->addr_div = raw >> V5_ADDR_DIV_SHIFT & 1;
        out->key = (raw >> V5_KEY_IS_DATA_SHIFT & 1) ? 2 : 0; /* only IA and DA */
    } else {
        out->value |= ((raw >> V5_HIGH8_SHIFT) & 0xFF) << 56;
    }
}

static enum dsc_ptr_encode_status v5_encode(const struct dsc_slide_format *f, const struct dsc_ptr *p, uint64_t *raw)
{
    uint64_t addr = p->value & DSC_TBI_MASK, off = addr - f->value_add, high8 = p->value >> 56;
    if (p->auth && p->key != 0 && p->key != 2)
        return DSC_PTR_UNSUPPORTED;
    if (addr < f->value_add || off > V5_TARGET || (p->auth && high8))
        return p->auth ? DSC_PTR_AUTH_RANGE : DSC_PTR_TARGET_RANGE;
    uint64_t r = off | (uint64_t)(p->next / 8) << V5_NEXT_SHIFT;
    if (p->auth)
        r |= (uint64_t)p->diversity << V5_DIVERSITY_SHIFT | (uint64_t)p->addr_div << V5_ADDR_DIV_SHIFT |
             (uint64_t)(p->key == 2) << V5_KEY_IS_DATA_SHIFT | V5_AUTH;
    else
        r |= high8 << V5_HIGH8_SHIFT;
    *raw = r;
    return DSC_PTR_ENCODED;
}

void dsc_ptr_decode_slide(const struct dsc_slide_format *f, uint64_t raw, struct dsc_ptr *out)
{
    memset(out, 0, sizeof *out);
    out->is_pointer = true;
    switch (f->version) {
    case 2:
    case 4:
        delta_decode(f, raw, out);
        break;
    case 3:
        arm64e_decode(raw, f->value_add, false, 0, out);
        break;
    case 5:
        v5_decode(f, raw, out);
        break;
    default: /* v1: the word is the unslid value; a bitmap, no chain */
        out->value = raw;
        break;
    }
}

struct dsc_ptr_link dsc_ptr_slide_link(const struct dsc_slide_format *f)
{
    switch (f->version) {
    case 2:
    case 4:
        return delta_link(f);
    case 3:
        return arm64e_link;
    case 5:
        return v5_link;
    default: /* v1: no chains */
        return (struct dsc_ptr_link){0, 0, 0};
    }
}

enum dsc_ptr_encode_status dsc_ptr_encode_slide(const struct dsc_slide_format *f, const struct dsc_ptr *p,
                                                uint64_t *raw)
{
    if (f->version == 2 || f->version == 4)
        return delta_encode(f, p, raw);
    if (p->bind || !p->is_pointer || f->version < 1 || f->version > 5)
        return DSC_PTR_UNSUPPORTED;
    if (f->version == 1) {
        if (p->next)
            return DSC_PTR_NEXT_RANGE;
        if (p->auth)
            return DSC_PTR_UNSUPPORTED;
        if (f->slot_size == 4 && p->value > 0xffffffffu)
            return DSC_PTR_TARGET_RANGE;
        *raw = p->value;
        return DSC_PTR_ENCODED;
    }
    if (p->next % 8 || p->next / 8 > ARM64E_NEXT_MAX)
        return DSC_PTR_NEXT_RANGE;
    return f->version == 5 ? v5_encode(f, p, raw) : dsc_ptr_encode_arm64e(p, f->value_add, raw);
}

/* ---- chained import tables (dyld_chained_import*, fixup-chains.h) ---- */

unsigned dsc_chained_import_size(unsigned format)
{
    switch (format) {
    case DSC_CHAINED_IMPORT: return 4;
    case DSC_CHAINED_IMPORT_ADDEND: return 8;
    case DSC_CHAINED_IMPORT_ADDEND64: return 16;
    default: return 0;
    }
}

/* An ordinal field of `bits`: values above the top 16 are the negative
 * special ordinals. */
static int ordinal_decode(uint32_t v, unsigned bits)
{
    uint32_t top = (1u << bits) - 1;
    return v > top - 15 ? (int)v - (int)top - 1 : (int)v;
}

void dsc_chained_import_decode(unsigned format, const uint8_t *entry, struct dsc_chained_import *out)
{
    memset(out, 0, sizeof *out);
    if (format == DSC_CHAINED_IMPORT_ADDEND64) {
        uint64_t v = dsc_le64(entry);
        out->lib_ordinal = ordinal_decode(v & 0xFFFF, 16);
        out->weak_import = v >> 16 & 1;
        out->name_offset = (uint32_t)(v >> 32);
        out->addend = (int64_t)dsc_le64(entry + 8);
        return;
    }
    uint32_t v = dsc_le32(entry);
    out->lib_ordinal = ordinal_decode(v & 0xFF, 8);
    out->weak_import = v >> 8 & 1;
    out->name_offset = v >> 9;
    if (format == DSC_CHAINED_IMPORT_ADDEND)
        out->addend = (int32_t)dsc_le32(entry + 4);
}

bool dsc_chained_import_encode(unsigned format, const struct dsc_chained_import *in, uint8_t *entry)
{
    unsigned bits = format == DSC_CHAINED_IMPORT_ADDEND64 ? 16 : 8;
    int top = (1 << bits) - 1;
    if (in->lib_ordinal < -15 || in->lib_ordinal > top - 16 || dsc_chained_import_size(format) == 0)
        return false;
    uint32_t ord = (uint32_t)(in->lib_ordinal < 0 ? in->lib_ordinal + top + 1 : in->lib_ordinal);
    if (format == DSC_CHAINED_IMPORT_ADDEND64) {
        dsc_put64(entry, ord | (uint64_t)in->weak_import << 16 | (uint64_t)in->name_offset << 32);
        dsc_put64(entry + 8, (uint64_t)in->addend);
        return true;
    }
    if (in->name_offset >= 1u << 23 || (format == DSC_CHAINED_IMPORT && in->addend != 0) ||
        in->addend < INT32_MIN || in->addend > INT32_MAX)
        return false;
    dsc_put32(entry, ord | (uint32_t)in->weak_import << 8 | in->name_offset << 9);
    if (format == DSC_CHAINED_IMPORT_ADDEND)
        dsc_put32(entry + 4, (uint32_t)(int32_t)in->addend);
    return true;
}

bool dsc_ptr_arm64e_holds_addend(bool auth, int64_t addend)
{
    return addend == 0 || (!auth && addend >= -(1 << 18) && addend < (1 << 18));
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slide_decode.c — dsccheck's own slide-info decoder (v1–v5), written from
 * the dyld_cache_slide_info* layouts of dyld's cache-builder/
 * dyld_cache_format.h independently of slide.c's encoder, so a
 * builder bug cannot hide behind a matching decoder bug. It reads the cache
 * through libdsc's opened, range-checked mappings.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void add_auth(struct decoded *d, uint64_t addr, uint64_t value, bool auth, uint8_t key, bool addr_div,
                     uint16_t diversity)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 1024;
        d->v = xrealloc(d->v, d->cap * sizeof *d->v);
    }
    d->v[d->n++] = (struct decoded_ptr){addr, value, auth, key, addr_div, diversity};
}

static void add(struct decoded *d, uint64_t addr, uint64_t value, bool auth, uint8_t key)
{
    add_auth(d, addr, value, auth, key, false, 0);
}

static uint16_t u16_at(dsc_span s, uint64_t off)
{
    uint16_t v;
    if (!span_u16(s, off, &v))
        die("slide info: u16 at 0x%llx is out of the blob", (unsigned long long)off);
    return v;
}

static uint32_t u32_at(dsc_span s, uint64_t off)
{
    uint32_t v;
    if (!span_u32(s, off, &v))
        die("slide info: u32 at 0x%llx is out of the blob", (unsigned long long)off);
    return v;
}

static uint64_t u64_at(dsc_span s, uint64_t off)
{
    uint64_t v;
    if (!span_u64(s, off, &v))
        die("slide info: u64 at 0x%llx is outside", (unsigned long long)off);
    return v;
}

static void decode_v1(const struct dsc_map *m, unsigned psz, struct decoded *d)
{
    uint32_t toc_off = u32_at(m->slide, 4), toc_count = u32_at(m->slide, 8);
    uint32_t ent_off = u32_at(m->slide, 12), ent_size = u32_at(m->slide, 20);
    if (ent_size != 128)
        die("v1 slide info: entries_size %u", ent_size);
    for (uint32_t pg = 0; pg < toc_count; pg++) {
        uint64_t bitmap = ent_off + (uint64_t)u16_at(m->slide, toc_off + 2ULL * pg) * 128;
        for (unsigned j = 0; j < 128; j++) {
            uint8_t byte;
            if (!span_u8(m->slide, bitmap + j, &byte))
                die("v1 slide info: bitmap is out of the blob");
            for (unsigned k = 0; k < 8; k++)
                if (byte & (1u << k)) {
                    uint64_t off = (uint64_t)pg * 4096 + (j * 8 + k) * 4, v;
                    if (!span_ptr(m->bytes, off, psz, &v))
                        die("v1 slide info: slot 0x%llx is outside the mapping", (unsigned long long)off);
                    add(d, m->info.address + off, v, false, 0);
                }
        }
    }
}

/* v2 and v4 share the header; chains differ in word size and value rules. */
static void walk_v2v4(const struct dsc_map *m, uint64_t page_off, uint64_t off, unsigned version, unsigned psz,
                      uint64_t mask, uint64_t value_add, struct decoded *d)
{
    unsigned shift = (unsigned)__builtin_ctzll(mask) - 2;
    for (unsigned guard = 0; guard < 4096; guard++) {
        uint64_t raw;
        if (!span_ptr(m->bytes, page_off + off, psz, &raw))
            die("v%u chain leaves the mapping", version);
        uint64_t delta = (raw & mask) >> shift, v = raw & ~mask;
        if (version == 4) {
            if ((v & 0xFFFF8000u) == 0) {
                /* small positive integer: not a pointer */
            } else if ((v & 0x3FFF8000u) == 0x3FFF8000u) {
                /* small negative integer: not a pointer */
            } else {
                add(d, m->info.address + page_off + off, v + value_add, false, 0);
            }
        } else if (v != 0) {
            add(d, m->info.address + page_off + off, v + value_add, false, 0);
        }
        if (delta == 0)
            return;
        off += delta;
    }
    die("v%u chain does not end", version);
}

static void decode_v2v4(const struct dsc_map *m, unsigned version, unsigned psz, struct decoded *d)
{
    uint32_t page_size = u32_at(m->slide, 4), starts = u32_at(m->slide, 8), count = u32_at(m->slide, 12);
    uint32_t extras = u32_at(m->slide, 16);
    uint64_t mask = u64_at(m->slide, 24), value_add = u64_at(m->slide, 32);
    if (psz == 4)
        mask &= 0xFFFFFFFFu;
    uint16_t none = version == 2 ? 0x4000 : 0xFFFF, use_extra = 0x8000, index = version == 2 ? 0x3FFF : 0x7FFF;
    for (uint32_t pg = 0; pg < count; pg++) {
        uint16_t s = u16_at(m->slide, starts + 2ULL * pg);
        uint64_t page_off = (uint64_t)pg * page_size;
        if (s == none)
            continue;
        if (!(s & use_extra)) {
            walk_v2v4(m, page_off, (uint64_t)s * 4, version, psz, mask, value_add, d);
            continue;
        }
        for (uint32_t j = s & index;; j++) {
            uint16_t e = u16_at(m->slide, extras + 2ULL * j);
            walk_v2v4(m, page_off, (uint64_t)(e & index) * 4, version, psz, mask, value_add, d);
            if (e & 0x8000)
                break;
        }
    }
}

static void decode_v3v5(const struct dsc_map *m, unsigned version, struct decoded *d)
{
    uint32_t page_size = u32_at(m->slide, 4), count = u32_at(m->slide, 8);
    uint64_t add_value = u64_at(m->slide, 16);
    for (uint32_t pg = 0; pg < count; pg++) {
        uint16_t s = u16_at(m->slide, 24 + 2ULL * pg);
        if (s == 0xFFFF)
            continue;
        uint64_t off = (uint64_t)pg * page_size + s;
        for (unsigned guard = 0;; guard++) {
            uint64_t raw;
            if (guard > 4096 || !span_u64(m->bytes, off, &raw))
                die("v%u chain leaves the mapping or does not end", version);
            bool auth = raw >> 63;
            uint64_t next, target;
            uint8_t key;
            if (version == 3) {
                next = (raw >> 51) & 0x7FF;
                target = auth ? add_value + (raw & 0xFFFFFFFFu)
                              : (raw & 0x7FFFFFFFFFFULL) | ((raw >> 43) & 0xFF) << 56;
                key = (uint8_t)((raw >> 49) & 3);
            } else {
                next = (raw >> 52) & 0x7FF;
                target = add_value + (raw & 0x3FFFFFFFFULL);
                if (!auth)
                    target |= ((raw >> 34) & 0xFF) << 56;
                key = (raw >> 51) & 1 ? 2 : 0;
            }
            /* v3: diversity bits 32-47, addrDiv 48; v5: 34-49 and 50. */
            unsigned div_shift = version == 3 ? 32 : 34, addr_div_bit = version == 3 ? 48 : 50;
            if (auth)
                add_auth(d, m->info.address + off, target, true, key, (raw >> addr_div_bit) & 1,
                         (uint16_t)(raw >> div_shift));
            else
                add(d, m->info.address + off, target, false, 0);
            if (!next)
                break;
            off += next * 8;
        }
    }
}

static int cmp_decoded(const void *a, const void *b)
{
    const struct decoded_ptr *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void slide_decode_all(const dsc_cache *c, struct decoded *d)
{
    unsigned psz = dsc_ptr_size(c);
    for (unsigned i = 0; i < c->nmaps; i++) {
        const struct dsc_map *m = &c->maps[i];
        switch (m->info.slide_version) {
        case 0: break;
        case 1: decode_v1(m, psz, d); break;
        case 2:
        case 4: decode_v2v4(m, m->info.slide_version, psz, d); break;
        case 3:
        case 5: decode_v3v5(m, m->info.slide_version, d); break;
        default: die("unknown slide info version %u", m->info.slide_version);
        }
    }
    if (d->n)
        qsort(d->v, d->n, sizeof *d->v, cmp_decoded);
    for (size_t i = 1; i < d->n; i++)
        if (d->v[i].addr == d->v[i - 1].addr)
            die("slide info lists 0x%llx twice", (unsigned long long)d->v[i].addr);
}

const struct decoded_ptr *decoded_at(const struct decoded *d, uint64_t addr)
{
    struct decoded_ptr key = {addr, 0, false, 0, false, 0};
    if (!d->n)
        return NULL;
    return bsearch(&key, d->v, d->n, sizeof key, cmp_decoded);
}

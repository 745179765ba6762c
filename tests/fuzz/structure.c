/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * structure.c — see structure.h. Field offsets follow dyld's
 * dyld_cache_format.h (dyld-1042, the header eras libdsc reads) and
 * <mach-o/loader.h>; only what the damage needs is decoded.
 */
#include "structure.h"

#include <string.h>

static const uint64_t interesting[] = {
    0, 1, 0x7f, 0x80, 0xff, 0x1000, 0x4000, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000ull,
    0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
};

static uint32_t rd32(const uint8_t *b, size_t size, uint64_t off)
{
    if (off > size || size - off < 4)
        return 0;
    return (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 | (uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;
}

static uint64_t rd64(const uint8_t *b, size_t size, uint64_t off)
{
    return rd32(b, size, off) | (uint64_t)rd32(b, size, off + 4) << 32;
}

/* Write an interesting value, or the old one nudged, as 4 or 8 bytes. */
static void hit_field(uint8_t *b, size_t size, uint64_t off, unsigned width, fuzz_rng rnd, void *st)
{
    if (off > size || size - off < width)
        return;
    uint64_t v;
    switch (rnd(st) % 3) {
    case 0: v = interesting[rnd(st) % (sizeof interesting / sizeof interesting[0])]; break;
    case 1: v = (width == 8 ? rd64(b, size, off) : rd32(b, size, off)) + (rnd(st) % 33) - 16; break;
    default: v = (width == 8 ? rd64(b, size, off) : rd32(b, size, off)) ^ (1ull << (rnd(st) % (8 * width))); break;
    }
    for (unsigned i = 0; i < width; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}

/* A field of the header (its size is mappingOffset). */
static void hit_header(uint8_t *b, size_t size, fuzz_rng rnd, void *st)
{
    uint32_t hsize = rd32(b, size, 0x10);
    if (hsize < 0x18 || hsize > 0x400)
        hsize = 0x200;
    hit_field(b, size, (rnd(st) % (hsize / 4)) * 4, rnd(st) & 1 ? 8 : 4, rnd, st);
}

/* A field of an entry of a table the header points to: (offset field,
 * count field, entry size). */
static void hit_table(uint8_t *b, size_t size, fuzz_rng rnd, void *st)
{
    static const struct { uint32_t off, count, esize; } tables[] = {
        {0x10, 0x14, 32},   /* mappings */
        {0x138, 0x13c, 56}, /* mappings with slide info */
        {0x18, 0x1c, 32},   /* images (old) */
        {0x1c0, 0x1c4, 32}, /* images */
        {0x88, 0x90, 32},   /* images text */
        {0x188, 0x18c, 56}, /* subcaches */
    };
    unsigned t = (unsigned)(rnd(st) % (sizeof tables / sizeof tables[0]));
    uint32_t off = rd32(b, size, tables[t].off), count = rd32(b, size, tables[t].count);
    if (!off || !count || off >= size)
        return;
    uint64_t entry = off + (rnd(st) % (count < 4096 ? count : 4096)) * (uint64_t)tables[t].esize;
    hit_field(b, size, entry + (rnd(st) % (tables[t].esize / 4)) * 4, rnd(st) & 1 ? 8 : 4, rnd, st);
}

/* File offset of the Mach-O header of a random image: its address turned
 * into a file offset through the first mapping holding it. */
static uint64_t image_header(const uint8_t *b, size_t size, fuzz_rng rnd, void *st)
{
    uint32_t ioff = rd32(b, size, 0x1c0), icount = rd32(b, size, 0x1c4);
    if (!ioff || !icount) {
        ioff = rd32(b, size, 0x18);
        icount = rd32(b, size, 0x1c);
    }
    uint32_t moff = rd32(b, size, 0x10), mcount = rd32(b, size, 0x14);
    if (!icount || !mcount)
        return 0;
    uint64_t addr = rd64(b, size, ioff + (rnd(st) % icount) * 32ull);
    for (uint32_t m = 0; m < mcount && m < 32; m++) {
        uint64_t maddr = rd64(b, size, moff + 32ull * m), msize = rd64(b, size, moff + 32ull * m + 8);
        if (addr >= maddr && addr - maddr < msize)
            return rd64(b, size, moff + 32ull * m + 16) + (addr - maddr);
    }
    return 0;
}

/* A field of one load command of one image; sometimes a segment command
 * copied over the command after it (overlapping segments). */
static void hit_load_command(uint8_t *b, size_t size, fuzz_rng rnd, void *st)
{
    uint64_t mh = image_header(b, size, rnd, st);
    uint32_t magic = rd32(b, size, mh);
    if (!mh || (magic != 0xfeedfacfu && magic != 0xfeedfaceu))
        return;
    uint64_t at = mh + (magic == 0xfeedfacfu ? 32 : 28);
    uint32_t ncmds = rd32(b, size, mh + 16), pick = ncmds ? (uint32_t)(rnd(st) % ncmds) : 0;
    if (rnd(st) % 8 == 0) {
        hit_field(b, size, mh + 16 + 4 * (rnd(st) % 3), 4, rnd, st); /* ncmds, sizeofcmds, flags */
        return;
    }
    for (uint32_t i = 0; i < pick; i++) {
        uint32_t cmdsize = rd32(b, size, at + 4);
        if (cmdsize < 8)
            return;
        at += cmdsize;
    }
    uint32_t cmd = rd32(b, size, at), cmdsize = rd32(b, size, at + 4);
    if (cmdsize < 8 || at + cmdsize > size)
        return;
    if ((cmd == 0x19 || cmd == 0x1) && rnd(st) % 4 == 0) {
        uint32_t next = rd32(b, size, at + cmdsize + 4);
        if (next >= cmdsize && at + cmdsize + cmdsize <= size) {
            memmove(b + at + cmdsize, b + at, cmdsize);
            return;
        }
    }
    hit_field(b, size, at + 4 * (rnd(st) % (cmdsize / 4)), rnd(st) & 1 ? 8 : 4, rnd, st);
}

size_t fuzz_damage(uint8_t *buf, size_t size, fuzz_rng rnd, void *st)
{
    if (!size)
        return 0;
    unsigned edits = 1 + (unsigned)(rnd(st) % 8);
    for (unsigned e = 0; e < edits; e++) {
        switch (rnd(st) % 8) {
        case 0: buf[rnd(st) % size] ^= (uint8_t)(1u << (rnd(st) % 8)); break;
        case 1: buf[rnd(st) % size] = (uint8_t)rnd(st); break;
        case 2: hit_field(buf, size, (rnd(st) % size) & ~(uint64_t)3, rnd(st) & 1 ? 8 : 4, rnd, st); break;
        case 3: hit_header(buf, size, rnd, st); break;
        case 4: case 5: hit_table(buf, size, rnd, st); break;
        default: hit_load_command(buf, size, rnd, st); break;
        }
    }
    if (rnd(st) % 32 == 0)
        size = 1 + rnd(st) % size;
    return size;
}

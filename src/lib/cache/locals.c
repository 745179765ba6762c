/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * locals.c — unmapped local symbols: which file holds them, which entry is
 * the image's, and the checked ranges of its nlists and strings.
 */
#include "cache/locals.h"

#include <string.h>

#define INFO_SIZE 24
#define ENTRY32_SIZE 12
#define ENTRY64_SIZE 16
#define HEADER_WITH_SYMBOL_UUID 0x190

int dsc_locals_in_blob(dsc_span info, bool entries64, bool is64, uint64_t dylib_offset, uint32_t hint,
                       const char *file, struct dsc_locals *out, dsc_error *err)
{
    memset(out, 0, sizeof *out);
    out->file = file;
    uint32_t nl_off, nl_count, str_off, str_size, ent_off, ent_count;
    if (!span_u32(info, 0, &nl_off) || !span_u32(info, 4, &nl_count) || !span_u32(info, 8, &str_off) ||
        !span_u32(info, 12, &str_size) || !span_u32(info, 16, &ent_off) || !span_u32(info, 20, &ent_count))
        return dsc_fail(err, file, "local symbols info is truncated");
    unsigned nl_size = is64 ? 16 : 12, ent_size = entries64 ? ENTRY64_SIZE : ENTRY32_SIZE;
    dsc_span nlists, entries;
    if (!span_sub(info, nl_off, (uint64_t)nl_count * nl_size, &nlists) ||
        !span_sub(info, str_off, str_size, &out->strings) ||
        !span_sub(info, ent_off, (uint64_t)ent_count * ent_size, &entries))
        return dsc_fail(err, file, "local symbols tables are out of the file");
    for (uint32_t k = 0; k <= ent_count; k++) {
        /* The hint first (entries are in image order), then every entry. */
        uint32_t i = k == 0 ? hint : k - 1;
        if (i >= ent_count)
            continue;
        const uint8_t *e = entries.data + (uint64_t)i * ent_size;
        uint64_t off = entries64 ? dsc_le64(e) : dsc_le32(e);
        if (off != dylib_offset)
            continue;
        uint32_t start = dsc_le32(e + (entries64 ? 8 : 4)), count = dsc_le32(e + (entries64 ? 12 : 8));
        if (!span_sub(nlists, (uint64_t)start * nl_size, (uint64_t)count * nl_size, &out->nlists))
            return dsc_fail(err, file, "local symbols of the image at offset 0x%llx (%u from %u) exceed the %u nlists",
                            (unsigned long long)dylib_offset, count, start, nl_count);
        out->count = count;
        out->found = true;
        return 0;
    }
    return 0;
}

int dsc_locals_find(const dsc_cache *c, uint64_t image_addr, uint32_t image, struct dsc_locals *out,
                    dsc_error *err)
{
    memset(out, 0, sizeof *out);
    const struct dsc_file *f = c->symbols_file >= 0 ? &c->files[c->symbols_file] : dsc_main_file(c);
    if (!dsc_hdr_has(f, HDR_LOCAL_SYMBOLS_SIZE, 8))
        return 0;
    uint64_t off = dsc_hdr64(f, HDR_LOCAL_SYMBOLS_OFFSET), size = dsc_hdr64(f, HDR_LOCAL_SYMBOLS_SIZE);
    if (off == 0)
        return 0;
    dsc_span info;
    if (!span_sub(f->bytes, off, size, &info) || size < INFO_SIZE)
        return dsc_fail(err, f->info.path, "local symbols (0x%llx bytes at 0x%llx) are out of the file",
                        (unsigned long long)size, (unsigned long long)off);
    bool entries64 = f->header_size >= HEADER_WITH_SYMBOL_UUID;
    return dsc_locals_in_blob(info, entries64, c->info.is64, image_addr - c->info.base_address, image, f->info.path,
                              out, err);
}

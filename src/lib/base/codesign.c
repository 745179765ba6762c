/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * codesign.c — dsc_codesign_size, dsc_codesign_write. See codesign.h for
 * the layout and where it comes from.
 */
#include "base/codesign.h"

#include <string.h>

#include "base/sha256.h"

#define SUPERBLOB_SIZE(count) (12u + 8u * (count))
#define NBLOBS 2u
#define NSPECIAL 2u                       /* slots -1 (Info.plist) and -2 (requirements) */
#define REQUIREMENTS_SIZE 12u

static uint8_t *be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
    return p + 4;
}

static uint8_t *be64(uint8_t *p, uint64_t v) { return be32(be32(p, (uint32_t)(v >> 32)), (uint32_t)v); }

static uint64_t npages(const struct dsc_codesign *cs)
{
    return (cs->code_limit + (1u << CS_PAGE_SHIFT) - 1) >> CS_PAGE_SHIFT;
}

static uint64_t cd_size(const struct dsc_codesign *cs)
{
    return CS_CODEDIRECTORY_SIZE + strlen(cs->identifier) + 1 + (NSPECIAL + npages(cs)) * CS_SHA256_LEN;
}

uint64_t dsc_codesign_size(const struct dsc_codesign *cs)
{
    uint64_t n = SUPERBLOB_SIZE(NBLOBS) + cd_size(cs) + REQUIREMENTS_SIZE;
    return (n + 7) & ~(uint64_t)7;
}

/* The CodeDirectory's fixed fields (cs_blobs.h, through execSegFlags). */
static uint8_t *cd_header(const struct dsc_codesign *cs, uint8_t *p)
{
    uint32_t ident_off = CS_CODEDIRECTORY_SIZE;
    uint32_t hash_off = ident_off + (uint32_t)strlen(cs->identifier) + 1 + NSPECIAL * CS_SHA256_LEN;
    p = be32(p, CSMAGIC_CODEDIRECTORY);
    p = be32(p, (uint32_t)cd_size(cs));
    p = be32(p, CS_SUPPORTSEXECSEG);
    p = be32(p, CS_ADHOC | CS_LINKER_SIGNED);
    p = be32(p, hash_off);
    p = be32(p, ident_off);
    p = be32(p, NSPECIAL);
    p = be32(p, (uint32_t)npages(cs));
    p = be32(p, (uint32_t)cs->code_limit);
    *p++ = CS_SHA256_LEN;
    *p++ = CS_HASHTYPE_SHA256;
    *p++ = 0;                              /* platform: not a platform binary */
    *p++ = CS_PAGE_SHIFT;
    p = be32(p, 0);                        /* spare2 */
    p = be32(p, 0);                        /* scatterOffset: none */
    p = be32(p, 0);                        /* teamOffset: none */
    p = be32(p, 0);                        /* spare3 */
    p = be64(p, 0);                        /* codeLimit64: codeLimit holds it */
    p = be64(p, cs->exec_base);
    p = be64(p, cs->exec_limit);
    return be64(p, cs->exec_flags);
}

void dsc_codesign_write(const struct dsc_codesign *cs, const uint8_t *file, uint8_t *out)
{
    uint64_t size = dsc_codesign_size(cs), cd = cd_size(cs);
    uint32_t cd_off = SUPERBLOB_SIZE(NBLOBS), req_off = cd_off + (uint32_t)cd;
    memset(out, 0, size);
    uint8_t *p = be32(out, CSMAGIC_EMBEDDED_SIGNATURE);
    p = be32(p, req_off + REQUIREMENTS_SIZE);
    p = be32(p, NBLOBS);
    p = be32(be32(p, CSSLOT_CODEDIRECTORY), cd_off);
    p = be32(be32(p, CSSLOT_REQUIREMENTS), req_off);

    uint8_t *req = out + req_off;
    be32(be32(be32(req, CSMAGIC_REQUIREMENTS), REQUIREMENTS_SIZE), 0);

    p = cd_header(cs, p);
    size_t idlen = strlen(cs->identifier) + 1;
    memcpy(p, cs->identifier, idlen);
    p += idlen;
    /* Special slots run backwards from the code slots: -2 first, then -1. */
    dsc_sha256(req, REQUIREMENTS_SIZE, p);
    p += NSPECIAL * CS_SHA256_LEN;
    const uint64_t page = 1u << CS_PAGE_SHIFT;
    for (uint64_t at = 0; at < cs->code_limit; at += page, p += CS_SHA256_LEN)
        dsc_sha256(file + at, cs->code_limit - at < page ? cs->code_limit - at : page, p);
}

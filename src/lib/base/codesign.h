/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * codesign.h — the ad-hoc code signature of a Mach-O file, as Apple's
 * linker writes it when it signs what it links (ld64-956.6,
 * src/ld/LinkEdit.hpp CodeSignatureAtom and src/ld/libcodedirectory.c), with
 * the empty internal-requirements blob codesign(1) adds to ad-hoc
 * signatures. Layouts and constants are those of xnu's
 * osfmk/kern/cs_blobs.h; every field is big-endian.
 *
 * What is written, at the file offset `code_limit` (where LC_CODE_SIGNATURE
 * points, the last bytes of __LINKEDIT):
 *   SuperBlob  CSMAGIC_EMBEDDED_SIGNATURE, length, count 2,
 *              index {CSSLOT_CODEDIRECTORY, off}, {CSSLOT_REQUIREMENTS, off}
 *   CodeDirectory  version 0x20400 (CS_SUPPORTSEXECSEG), flags
 *              CS_ADHOC | CS_LINKER_SIGNED, SHA-256, 4096-byte pages,
 *              codeLimit = code_limit, execSeg = __TEXT's file range,
 *              identifier, 2 special slots (-1 Info.plist: zero,
 *              -2 requirements: its hash), one hash per page of
 *              [0, code_limit) (the last page hashed as far as it goes)
 *   Requirements  CSMAGIC_REQUIREMENTS, length 12, count 0
 * then zeros up to a multiple of 8 bytes (ld64 pads the same way).
 */
#ifndef DSC_CODESIGN_H
#define DSC_CODESIGN_H

#include <stdint.h>

/* ---- cs_blobs.h ---- */
#define CSMAGIC_REQUIREMENTS 0xfade0c01u
#define CSMAGIC_CODEDIRECTORY 0xfade0c02u
#define CSMAGIC_EMBEDDED_SIGNATURE 0xfade0cc0u
#define CSSLOT_CODEDIRECTORY 0u
#define CSSLOT_REQUIREMENTS 2u
#define CS_SUPPORTSEXECSEG 0x20400u
#define CS_ADHOC 0x2u
#define CS_LINKER_SIGNED 0x20000u
#define CS_HASHTYPE_SHA256 2u
#define CS_SHA256_LEN 32u
#define CS_EXECSEG_MAIN_BINARY 0x1u
#define CS_PAGE_SHIFT 12u                 /* 4096-byte pages, whatever the VM page */
#define CS_CODEDIRECTORY_SIZE 88u         /* the fixed fields through execSegFlags */

/* What the signature covers and names. */
struct dsc_codesign {
    const char *identifier;     /* NUL-terminated */
    uint64_t code_limit;        /* bytes signed from the file's start; < 4 GiB */
    uint64_t exec_base, exec_limit, exec_flags; /* __TEXT's file range; flags CS_EXECSEG_* */
};

/* Bytes dsc_codesign_write writes for `cs` (padding included). */
uint64_t dsc_codesign_size(const struct dsc_codesign *cs);

/* Hash file[0, cs->code_limit) and write the signature into `out`, which
 * holds dsc_codesign_size(cs) bytes (normally file + code_limit). */
void dsc_codesign_write(const struct dsc_codesign *cs, const uint8_t *file, uint8_t *out);

#endif

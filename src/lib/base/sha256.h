/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sha256.h — SHA-256 (FIPS 180-4, identical to FIPS 180-2's SHA-256), the
 * one hash the engine uses: the page hashes of an ad-hoc code signature.
 * Streaming (init/update/final) and one-shot; no allocation, no failure.
 * On x86 CPUs with the SHA extensions the blocks go through them (about
 * six times the portable code's speed: every output byte is hashed once).
 */
#ifndef DSC_SHA256_H
#define DSC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSC_SHA256_LEN 32

typedef struct {
    uint32_t h[8];
    uint64_t len;       /* bytes hashed so far */
    uint8_t buf[64];    /* a partial block, len % 64 bytes of it used */
    bool accel;         /* set by init when the CPU has SHA instructions;
                           a test may clear it to run the portable code */
} dsc_sha256_ctx;

void dsc_sha256_init(dsc_sha256_ctx *c);
void dsc_sha256_update(dsc_sha256_ctx *c, const void *data, size_t n);
void dsc_sha256_final(dsc_sha256_ctx *c, uint8_t out[DSC_SHA256_LEN]);

/* The digest of `n` bytes at `data`. */
void dsc_sha256(const void *data, size_t n, uint8_t out[DSC_SHA256_LEN]);

#endif

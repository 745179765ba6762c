/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sha256.c — SHA-256 as FIPS 180-4 §6.2 defines it: message schedule of 64
 * words, 64 rounds with the constants of §4.2.2, big-endian length padding.
 * Portable C, and the x86 SHA extensions where the CPU has them.
 */
#include <string.h>

#include "base/sha256.h"

/* First 32 bits of the fractional parts of the cube roots of the first 64
 * primes (FIPS 180-4 §4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* `n` 64-byte blocks into the state (FIPS 180-4 §6.2.2). */
static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
    for (; n--; p += 64) {
        uint32_t w[64];
        for (int t = 0; t < 16; t++)
            w[t] = be32(p + 4 * t);
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
        for (int t = 0; t < 64; t++) {
            uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
            uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            k = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d;
        h[4] += e; h[5] += f; h[6] += g; h[7] += k;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_SHA_NI 1

static bool cpu_has_sha(void) { return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1"); }

/* The same blocks with the SHA extensions (Intel's SHA-NI): sha256rnds2
 * does two rounds on the state held as ABEF/CDGH word pairs, sha256msg1/2
 * the two halves of the message schedule. m[j % 4] holds W[4j..4j+3]. */
__attribute__((target("sha,sse4.1"))) static void blocks_sha_ni(uint32_t h[8], const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)h), hgfe = _mm_loadu_si128((const __m128i *)(h + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xb1), efgh = _mm_shuffle_epi32(hgfe, 0x1b);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8), cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
    for (; n--; p += 64) {
        __m128i save_abef = abef, save_cdgh = cdgh, m[4];
        for (int j = 0; j < 16; j++) {
            __m128i *w = &m[j % 4];
            if (j < 4) {
                *w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), bswap);
            } else { /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] */
                __m128i prev = m[(j + 3) % 4];
                __m128i x = _mm_add_epi32(_mm_sha256msg1_epu32(*w, m[(j + 1) % 4]),
                                          _mm_alignr_epi8(prev, m[(j + 2) % 4], 4));
                *w = _mm_sha256msg2_epu32(x, prev);
            }
            __m128i wk = _mm_add_epi32(*w, _mm_loadu_si128((const __m128i *)(K + 4 * j)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
        }
        abef = _mm_add_epi32(abef, save_abef);
        cdgh = _mm_add_epi32(cdgh, save_cdgh);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1b), dchg = _mm_shuffle_epi32(cdgh, 0xb1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xf0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}
#else
static bool cpu_has_sha(void) { return false; }
#endif

static void blocks(dsc_sha256_ctx *c, const uint8_t *p, size_t n)
{
#ifdef HAVE_SHA_NI
    if (c->accel) {
        blocks_sha_ni(c->h, p, n);
        return;
    }
#endif
    blocks_portable(c->h, p, n);
}

void dsc_sha256_init(dsc_sha256_ctx *c)
{
    /* Fractional parts of the square roots of the first 8 primes (§5.3.3). */
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, H0, sizeof H0);
    c->len = 0;
    c->accel = cpu_has_sha();
}

void dsc_sha256_update(dsc_sha256_ctx *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t used = c->len % 64;
    c->len += n;
    if (used) {
        size_t take = 64 - used < n ? 64 - used : n;
        memcpy(c->buf + used, p, take);
        p += take, n -= take;
        if (used + take < 64)
            return;
        blocks(c, c->buf, 1);
    }
    blocks(c, p, n / 64);
    p += n / 64 * 64;
    memcpy(c->buf, p, n % 64);
}

void dsc_sha256_final(dsc_sha256_ctx *c, uint8_t out[DSC_SHA256_LEN])
{
    /* 0x80, zeros up to 56 mod 64, then the message length in bits (§5.1.1). */
    uint64_t bits = c->len * 8;
    uint8_t pad[72] = {0x80};
    size_t used = c->len % 64, npad = (used < 56 ? 56 : 120) - used;
    for (int i = 0; i < 8; i++)
        pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
    dsc_sha256_update(c, pad, npad + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void dsc_sha256(const void *data, size_t n, uint8_t out[DSC_SHA256_LEN])
{
    dsc_sha256_ctx c;
    dsc_sha256_init(&c);
    dsc_sha256_update(&c, data, n);
    dsc_sha256_final(&c, out);
}

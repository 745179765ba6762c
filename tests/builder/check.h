/*
 * check.h — dsccheck: verify a cache dscbuild wrote against its inputs,
 * reading the cache only through libdsc and its own slide decoder.
 */
#ifndef DSCBUILD_CHECK_H
#define DSCBUILD_CHECK_H

#include "bld.h"
#include "cache.h"

struct decoded_ptr {
    uint64_t addr, value;
    bool auth;
    uint8_t key;        /* auth only: 0 IA, 1 IB, 2 DA, 3 DB */
    bool addr_div;
    uint16_t diversity;
};

struct decoded {
    struct decoded_ptr *v;  /* sorted by addr */
    size_t n, cap;
};

/* Every pointer the slide info of every mapping names, decoded. */
void slide_decode_all(const dsc_cache *c, struct decoded *d);
const struct decoded_ptr *decoded_at(const struct decoded *d, uint64_t addr);

#endif

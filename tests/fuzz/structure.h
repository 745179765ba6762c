/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * structure.h — damage for dyld shared caches that knows where the fields
 * are: the header, the mapping and image tables it points to, and the load
 * commands of the images. Shared by the standalone mutation fuzzer
 * (mutate.c) and the libFuzzer targets' custom mutator (fuzz_common.c).
 *
 * Everything here reads the bytes it damages with bounds checks of its own
 * (it must never crash on what it is given) and draws its randomness from
 * the caller's generator, so a run is reproducible from its seed.
 */
#ifndef DSC_FUZZ_STRUCTURE_H
#define DSC_FUZZ_STRUCTURE_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*fuzz_rng)(void *state);

/* Apply 1 to 8 edits to buf[0, size): bit flips, random bytes, "interesting"
 * integers over header, table and load-command fields, a segment command
 * copied over the next command, and (rarely) truncation. Returns the new
 * size (never more than `size`). */
size_t fuzz_damage(uint8_t *buf, size_t size, fuzz_rng rnd, void *state);

#endif

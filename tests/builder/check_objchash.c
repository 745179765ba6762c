/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_objchash.c — the selector perfect hash table the ObjC opts header
 * names (selectorHashTableCacheOffset, dyld-1378 emitObjCOptsHeader;
 * format: dyld-1378 OptimizerObjC.h StringHashTable, objc_hash.c), looked
 * up as objc4's shared-cache reader does: hash the string with the table's
 * salt, shift, mask, tab and scramble, reject on the check byte, follow the
 * slot's offset from the table and compare the string. Every string of the
 * selector buffer is found at its own address, no slot names anything
 * else (occupied = the buffer's strings = the non-empty slots), and every
 * selector reference of every image that check_pointers proves uniqued is
 * found through the table at its canonical address (selector_hashed). The
 * table is the chunk after the strings (selectors, types, class and
 * protocol names: check_objcobjs.c), 8-aligned, of Apple's hashTableSize
 * for its count (dyld-1378 NewSharedCacheBuilder.cpp). hash_lookup is the
 * lookup of all three tables (dyld-1378 OptimizerObjC.h tryGetIndex).
 */
#include "check.h"

#include <string.h>

uint64_t selopt_addr, selopt_size;

/* The table (empty span: the cache has none). */
static dsc_span table(void)
{
    static dsc_span t;
    static bool done;
    if (done)
        return t;
    done = true;
    uint64_t opts = opts_header(), base = dsc_cache_get_info(cache)->base_address;
    if (!opts)
        return t;
    dsc_span h = vm(opts, 0x38, "ObjC optimisation header");
    if (!dsc_le64(h.data + 0x18))
        die("ObjC optimisation header: no selector hash table");
    selopt_addr = base + dsc_le64(h.data + 0x18);
    dsc_span head = vm(selopt_addr, OBJC_HASH_TAB, "selector hash table");
    selopt_size = objc_hash_chunk_size(dsc_le32(head.data + 8), 5);
    t = vm(selopt_addr, selopt_size, "selector hash table");
    return t;
}

uint64_t hash_lookup(dsc_span t, uint64_t at, const char *s, uint32_t *slotp)
{
    uint32_t slot, cap = dsc_le32(t.data + 4), mask = dsc_le32(t.data + 16);
    if (!objc_hash_index(t.data, t.size, s, &slot))
        return 0;
    const uint8_t *check = t.data + OBJC_HASH_TAB + mask + 1;
    int32_t off = (int32_t)dsc_le32(check + cap + 4ULL * slot);
    const char *have;
    if (check[slot] != objc_hash_checkbyte(s, strlen(s)) || !off ||
        !dsc_vm_cstr(cache, at + (int64_t)off, 4096, &have) || strcmp(have, s) != 0)
        return 0;
    if (slotp)
        *slotp = slot;
    return at + (int64_t)off;
}

static uint64_t lookup(dsc_span t, const char *s) { return hash_lookup(t, selopt_addr, s, NULL); }

uint32_t hash_used_slots(dsc_span t)
{
    uint32_t cap = dsc_le32(t.data + 4), mask = dsc_le32(t.data + 16), used = 0;
    for (uint32_t i = 0; i < cap; i++)
        used += dsc_le32(t.data + OBJC_HASH_TAB + mask + 1 + cap + 4ULL * i) != 0;
    return used;
}

bool selector_hashed(const char *s, uint64_t at)
{
    dsc_span t = table();
    return !t.size || lookup(t, s) == at;
}

void check_selector_table(void)
{
    dsc_span t = table();
    if (!t.size || !sb.slots)
        return;
    uint32_t cap = dsc_le32(t.data + 4), occupied = dsc_le32(t.data + 8), mask = dsc_le32(t.data + 16);
    if (dsc_le32(t.data) || (cap & (cap - 1)) || occupied > cap || ((mask + 1) & mask) ||
        OBJC_HASH_TAB + mask + 1 + 5ULL * cap > t.size || selopt_addr != dsc_align_up(objc_names_end(), 8))
        die("selector hash table at 0x%llx: version %u, capacity %u, occupied %u, mask 0x%x, or not after the "
            "strings (0x%llx)", (unsigned long long)selopt_addr, dsc_le32(t.data), cap, occupied, mask,
            (unsigned long long)objc_names_end());
    dsc_span buf = vm(sb.start, sb.end - sb.start, "selector buffer");
    uint32_t n = 0, used = hash_used_slots(t);
    for (uint64_t off = 0; off < buf.size; off += strlen((const char *)buf.data + off) + 1) {
        if (!buf.data[off])
            continue;
        if (lookup(t, (const char *)buf.data + off) != sb.start + off)
            die("selector hash table: %s (0x%llx) is not found", (const char *)buf.data + off,
                (unsigned long long)(sb.start + off));
        n++;
    }
    if (n != occupied || used != n)
        die("selector hash table: %u occupied, %u slots used, %u selectors in the buffer", occupied, used, n);
}

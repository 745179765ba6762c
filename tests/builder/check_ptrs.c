/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_ptrs.c — dsccheck: every rebase/bind slot of every input decodes to
 * its expected target, with the dyld-940+ exceptions each proven: selector
 * pointers may reach the canonical string, protocol references the
 * canonical protocol, loads of GOT slots a cache-wide twin, and class_ro_t
 * list fields a preattached list of lists (check_cats.c).
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The selector buffer must start with the magic selector and hold each
 * string once (NULs between strings are holes: --objc-opts places its
 * selectors in 128-byte bags, dyld-1378 IMPCaches.cpp). */
static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void find_selbuf(const struct decoded *d, struct selbuf *out)
{
    unsigned psz = bc.ai->ptr_size;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct sect *x = image_sect(&bc.images[i], "__DATA_CONST", "__objc_scoffs");
        uint64_t at;
        if (!x || !image_reloc(&bc.images[i], x->in_addr, &at))
            continue;
        const struct decoded_ptr *s0 = decoded_at(d, at + psz), *s1 = decoded_at(d, at + 2ULL * psz);
        if (!s0 && !s1)
            return;     /* an era without uniquing; later copies of libobjc stay empty */
        if (!s0 || !s1 || s1->value <= s0->value)
            die("objc_opt_offsets do not name a selector buffer");
        out->start = s0->value;
        out->end = s1->value;
        out->slots = 2;
    }
    if (!out->slots)
        return;
    dsc_span buf = vm(out->start, out->end - out->start, "selector buffer");
    if (memcmp(buf.data, "\xF0\x9F\xA4\xAF", 5) != 0)
        die("the selector buffer does not start with the magic selector");
    size_t n = 0;
    const char **strs = xcalloc(buf.size, sizeof *strs);
    for (uint64_t off = 0; off < buf.size;) {
        const char *str;
        size_t len;
        if (off && !buf.data[off]) {
            off++;
            continue;
        }
        if (!span_cstr(buf, off, buf.size - off, &str, &len))
            die("the selector buffer ends inside a string");
        strs[n++] = str;
        off += len + 1;
    }
    qsort(strs, n, sizeof *strs, cmp_cstr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(strs[i - 1], strs[i]) == 0)
            die("selector %s is in the buffer twice", strs[i]);
    free(strs);
}

/* A slot whose input pointed at a selector string may point at the
 * canonical copy of the same string instead, the one the selector hash
 * table finds. */
bool uniqued_selector(uint64_t target, uint64_t got)
{
    const char *want, *have;
    if (!(sb.slots && got >= sb.start && got < sb.end && dsc_vm_cstr(cache, target, 4096, &want) &&
          dsc_vm_cstr(cache, got, 4096, &have) && strcmp(want, have) == 0))
        return false;
    if (!selector_hashed(want, got))
        die("selector %s (0x%llx) is not found through the selector hash table", want, (unsigned long long)got);
    return true;
}

/* Protocol definitions of the inputs (from __objc_protolist) and the
 * canonical copies references were moved to. */
struct protocols {
    struct proto_def {
        uint64_t addr;      /* cache address of a definition */
        const char *name;
    } *defs;
    size_t ndefs;
    uint64_t *copies;
    size_t ncopies;
    uint64_t protocol_class;    /* where _OBJC_CLASS_$_Protocol went, or 0 */
};

static int cmp_def(const void *a, const void *b)
{
    const struct proto_def *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void find_protocols(struct protocols *pr)
{
    unsigned psz = bc.ai->ptr_size;
    memset(pr, 0, sizeof *pr);
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct sect *x = objc_sect(img, "__objc_protolist");
        uint64_t at, def, name;
        const char *s;
        if (!x || !image_reloc(img, x->in_addr, &at))
            continue;
        for (uint64_t off = 0; off + psz <= x->size; off += psz) {
            const struct ptr *p = image_ptr_at(img, at + off);
            if (!p || !dsc_vm_ptr_raw(cache, p->target + psz, &def))
                continue;
            const struct ptr *np = image_ptr_at(img, p->target + psz);
            name = np ? np->target : def;
            if (!dsc_vm_cstr(cache, name, 4096, &s))
                die("%s: protocol name at 0x%llx is unreadable", img->cache_path, (unsigned long long)name);
            pr->defs = xrealloc(pr->defs, (pr->ndefs + 1) * sizeof *pr->defs);
            pr->defs[pr->ndefs++] = (struct proto_def){p->target, s};
        }
    }
    if (pr->ndefs)
        qsort(pr->defs, pr->ndefs, sizeof *pr->defs, cmp_def);
    for (size_t i = 0; i < bc.nimages && !pr->protocol_class; i++) {
        const struct export_sym *e = image_export(&bc.images[i], "_OBJC_CLASS_$_Protocol");
        if (e)
            image_reloc(&bc.images[i], bc.images[i].segs[0].in_addr + e->value, &pr->protocol_class);
    }
}

/* A slot that pointed at a protocol definition may point at a canonical
 * copy of the same name (never from __objc_protolist itself). */
static bool canonical_protocol(const struct decoded *d, struct protocols *pr, const struct image *img,
                               const struct ptr *p, uint64_t got)
{
    unsigned psz = bc.ai->ptr_size;
    struct proto_def key = {p->target, NULL};
    const struct proto_def *def = pr->ndefs ? bsearch(&key, pr->defs, pr->ndefs, sizeof key, cmp_def) : NULL;
    const struct sect *pl = objc_sect(img, "__objc_protolist");
    uint64_t pl_addr;
    uint32_t flags;
    const char *name;
    const struct decoded_ptr *np = decoded_at(d, got + psz);
    if (!def || (pl && image_reloc(img, pl->in_addr, &pl_addr) && p->addr - pl_addr < pl->size))
        return false;
    if (!np || !dsc_vm_cstr(cache, np->value, 4096, &name) || strcmp(name, def->name) != 0 ||
        !dsc_vm_u32(cache, got + 8ULL * psz + 4, &flags) || !(flags & 0x20000000u))
        return false;
    const struct decoded_ptr *isa = decoded_at(d, got);
    if (pr->protocol_class && (!isa || isa->value != pr->protocol_class))
        die("canonical protocol %s at 0x%llx: isa is not libobjc's Protocol class", def->name,
            (unsigned long long)got);
    for (size_t i = 0; i < pr->ncopies; i++)
        if (pr->copies[i] == got)
            return true;
    pr->copies = xrealloc(pr->copies, (pr->ncopies + 1) * sizeof *pr->copies);
    pr->copies[pr->ncopies++] = got;
    return true;
}

/* Decoded pointers that live inside canonical protocol copies. */
static size_t copy_pointers(const struct decoded *d, const struct protocols *pr)
{
    size_t n = 0, size = bc.ai->ptr_size == 8 ? 0x60 : 0x34;
    for (size_t i = 0; i < d->n; i++)
        for (size_t k = 0; k < pr->ncopies; k++)
            if (d->v[i].addr - pr->copies[k] < size)
                n++;
    return n;
}

struct selbuf sb;
struct decoded dec;
size_t explained;
size_t ntwins;
static uint64_t *twins;      /* the GOT twins themselves */

static bool in_any_image(uint64_t addr)
{
    for (size_t i = 0; i < bc.nimages; i++)
        for (unsigned k = 0; k < bc.images[i].nsegs; k++)
            if (addr - bc.images[i].segs[k].addr < bc.images[i].segs[k].size)
                return true;
    return false;
}

static void note_twin(uint64_t t)
{
    size_t i = 0;
    while (i < ntwins && twins[i] != t)
        i++;
    if (i == ntwins) {
        twins = xrealloc(twins, (ntwins + 1) * sizeof *twins);
        twins[ntwins++] = t;
    }
}

/* A twin of bound slot `p`: outside every image, the same pointer. */
static bool twin_holds(const struct decoded_ptr *d, const struct ptr *p)
{
    return d && d->value == p->target && d->auth == p->auth &&
           (!p->auth || (d->key == p->key && d->addr_div == p->addr_div && d->diversity == p->diversity)) &&
           !in_any_image(d->addr);
}

/* A load of the image's own GOT slot `want` may read a cache-wide twin at
 * `t` instead: outside every image, holding the same pointer. */
bool got_twin(const struct image *img, uint64_t want, uint64_t t, struct counts *n)
{
    const struct ptr *p = image_ptr_at(img, want);
    if (!p || !p->bind || !p->target || !twin_holds(decoded_at(&dec, t), p))
        return false;
    note_twin(t);
    n->got_loads++;
    return true;
}

/* dyld-1042.1+: nothing may still read an own slot the cache zeroed. */
void not_zeroed(const struct image *img, uint64_t addr, uint64_t slot)
{
    const struct ptr *p = image_ptr_at(img, slot);
    if (p && got_zeroed(&bc, img, p))
        die("%s: code at 0x%llx reads the zeroed GOT slot 0x%llx", img->cache_path, (unsigned long long)addr,
            (unsigned long long)slot);
}

/* Slid pointers outside every image, by (value, auth data), for finding
 * the twin of a zeroed slot whether or not code loads it. */
static struct decoded_ptr *outside;
static size_t noutside;

static int cmp_twin_key(const void *a, const void *b)
{
    const struct decoded_ptr *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    uint32_t kx = (uint32_t)x->auth << 24 | (uint32_t)x->key << 20 | (uint32_t)x->addr_div << 16 | x->diversity;
    uint32_t ky = (uint32_t)y->auth << 24 | (uint32_t)y->key << 20 | (uint32_t)y->addr_div << 16 | y->diversity;
    return kx < ky ? -1 : kx > ky;
}

static void index_outside(const struct decoded *d)
{
    outside = xcalloc(d->n + 1, sizeof *outside);
    for (size_t i = 0; i < d->n; i++)
        if (!in_any_image(d->v[i].addr))
            outside[noutside++] = d->v[i];
    qsort(outside, noutside, sizeof *outside, cmp_twin_key);
}

/* A zeroed own slot: plain 0, not slid, and one cache-wide twin holds
 * what it held. */
static void check_zeroed(const struct image *img, const struct ptr *p, const struct decoded_ptr *got,
                         struct counts *n)
{
    uint64_t raw;
    if (got || !dsc_vm_ptr_raw(cache, p->addr, &raw) || raw != 0)
        die("%s: GOT slot 0x%llx should be zeroed and not slid", img->cache_path, (unsigned long long)p->addr);
    struct decoded_ptr key = {.value = p->target, .auth = p->auth};
    if (p->auth) {
        key.key = p->key;
        key.addr_div = p->addr_div;
        key.diversity = p->diversity;
    }
    const struct decoded_ptr *t = bsearch(&key, outside, noutside, sizeof *outside, cmp_twin_key);
    if (!t || !twin_holds(t, p))
        die("%s: zeroed GOT slot 0x%llx has no cache-wide twin holding 0x%llx", img->cache_path,
            (unsigned long long)p->addr, (unsigned long long)p->target);
    note_twin(t->addr);
    n->zeroed_gots++;
}

void check_pointers(struct counts *n)
{
    struct decoded d = {0};
    struct protocols pr;
    slide_decode_all(cache, &d);
    find_selbuf(&d, &sb);
    find_protocols(&pr);
    bool arm64e = strcmp(bc.ai->name, "arm64e") == 0;
    index_outside(&d);
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        for (size_t k = 0; k < img->nptrs; k++) {
            const struct ptr *p = &img->ptrs[k];
            const struct decoded_ptr *got = decoded_at(&d, p->addr);
            if (got_zeroed(&bc, img, p)) {
                check_zeroed(img, p, got, n);
                continue;
            }
            if (p->target == 0) {
                uint64_t raw;
                if (got || !dsc_vm_ptr_raw(cache, p->addr, &raw) || raw != 0)
                    die("%s: slot 0x%llx should be a plain null", img->cache_path, (unsigned long long)p->addr);
                n->nulls++;
                continue;
            }
            bool selector = got && got->value != p->target && uniqued_selector(p->target, got->value);
            bool protocol = got && got->value != p->target && !selector &&
                            canonical_protocol(&d, &pr, img, p, got->value);
            bool lol = got && got->value != p->target && !selector && !protocol && preattached_slot(p, got);
            if (!got || (got->value != p->target && !selector && !protocol && !lol))
                die("%s: slot 0x%llx decodes to 0x%llx, expected 0x%llx", img->cache_path,
                    (unsigned long long)p->addr, got ? (unsigned long long)got->value : 0ULL,
                    (unsigned long long)p->target);
            if (arm64e && !lol && (got->auth != p->auth || (p->auth && (got->key != p->key || got->addr_div != p->addr_div ||
                                                                 got->diversity != p->diversity))))
                die("%s: slot 0x%llx has the wrong authentication", img->cache_path, (unsigned long long)p->addr);
            n->selectors += selector;
            n->protocols += protocol;
            n->auth += got->auth;
            n->ptrs++;
        }
    }
    explained = n->ptrs + sb.slots + copy_pointers(&d, &pr);
    dec = d;    /* the rest must be GOT twins, proven by check_code */
    free(pr.defs);
    free(pr.copies);
}


void free_twins(void)
{
    free(twins);
    free(outside);
    free(dec.v);
}

/* dyld-1042+ ObjCOptimizationHeader: header info RO names every ObjC image
 * in address order with a copy of its objc_image_info, RW has as many
 * words, and the selector base is the magic selector of the buffer. */
/* The header's version and header-info entry size follow the manifest's
 * ObjC era: version 2 (0x48 bytes, with the selector and type buffer sizes)
 * from dyld-1376, 24-byte entries ({mhdr, info, metadata} offsets) from
 * dyld-1122. */
void check_objc_opts(struct counts *n)
{
    const struct dsc_file *m = dsc_main_file(cache);
    uint64_t base = dsc_cache_get_info(cache)->base_address;
    if (!dsc_hdr_has(m, HDR_OBJC_OPTS_SIZE, 8) || !dsc_hdr64(m, HDR_OBJC_OPTS_OFFSET)) {
        if (sb.slots && bc.ai->ptr_size == 8 && m->header_size >= 0x200)
            die("no ObjC optimisation header, though selectors were uniqued");
        return;
    }
    uint32_t version = objc_era_m >= 1376 ? 2 : 1, es = objc_era_m >= 1122 ? 24 : 16;
    dsc_span h = vm(base + dsc_hdr64(m, HDR_OBJC_OPTS_OFFSET), version == 2 ? 0x48 : 0x38, "ObjC optimisation header");
    /* before dyld-1231 the header writer leaves the Swift opts header's size
     * here (dyld-1042.1 .. 1165.3 SubCache::addMainCacheHeaderInfo) */
    uint64_t want_size = objc_era_m < 1231 ? 0x20 : version == 2 ? 0x48 : 0x38;
    if (dsc_hdr64(m, HDR_OBJC_OPTS_SIZE) != want_size)
        die("objcOptsSize is 0x%llx, dyld-%u's builder writes 0x%llx", (unsigned long long)dsc_hdr64(m, HDR_OBJC_OPTS_SIZE),
            objc_era_m, (unsigned long long)want_size);
    uint64_t ro = base + dsc_le64(h.data + 8), rw = base + dsc_le64(h.data + 0x10);
    if (dsc_le32(h.data) != version || base + dsc_le64(h.data + 0x30) != sb.start)
        die("ObjC optimisation header: version %u (want %u), selector base 0x%llx (buffer at 0x%llx)",
            dsc_le32(h.data), version, (unsigned long long)(base + dsc_le64(h.data + 0x30)),
            (unsigned long long)sb.start);
    if (version == 2 && (dsc_le64(h.data + 0x38) != sb.end - sb.start || (dsc_le64(h.data + 0x40) != 0) != type_offsets_m))
        die("ObjC optimisation header v2: selector buffer 0x%llx bytes (want 0x%llx), type buffer 0x%llx bytes",
            (unsigned long long)dsc_le64(h.data + 0x38), (unsigned long long)(sb.end - sb.start),
            (unsigned long long)dsc_le64(h.data + 0x40));
    if (version == 2)
        types_size = dsc_le64(h.data + 0x40);
    dsc_span rt = vm(ro, 8, "header info RO"), wt = vm(rw, 8, "header info RW");
    uint32_t count = dsc_le32(rt.data);
    if (dsc_le32(rt.data + 4) != es || dsc_le32(wt.data) != count || dsc_le32(wt.data + 4) != 8)
        die("header info RO/RW tables disagree (RO entries of %u bytes, want %u)", dsc_le32(rt.data + 4), es);
    size_t k = 0;
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct sect *x = objc_image_info_of(img);
        uint64_t info;
        if (!x || !image_reloc(img, x->in_addr, &info))
            continue;
        uint64_t entry = ro + 8 + es * k++;
        dsc_span e = vm(entry, es, "header info entry"), copy, own = vm(info, 8, "objc_image_info");
        if (k > count || entry + dsc_le64(e.data) != cached[i].mh)
            die("%s: header info entry %zu does not name the image", img->cache_path, k - 1);
        copy = vm(entry + 8 + dsc_le64(e.data + 8), 8, "objc_image_info copy");
        if (memcmp(copy.data, own.data, 8) != 0)
            die("%s: header info's objc_image_info copy differs", img->cache_path);
        if (es == 24 && dsc_le64(e.data + 16) != 0)
            die("%s: header info metadata_offset is set, but the builder makes no loaders", img->cache_path);
        n->header_infos++;
    }
    if (k != count)
        die("header info names %u images, %zu have ObjC", count, k);
}

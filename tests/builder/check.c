/*
 * check.c — dsccheck MANIFEST: prove a dscbuild cache says what its inputs
 * say. The cache is opened with libdsc; each image's segment addresses,
 * LINKEDIT offsets and export trie are read back from the cache's own load
 * commands; pointers come from slide_decode.c. Expected values are derived
 * from the input dylibs and the addresses found in the cache:
 *   - every rebase/bind slot of every input decodes to the right target,
 *     and slide info names no other slot;
 *   - every export trie entry lands where the input's did;
 *   - external symbols keep their names and moved values;
 *   - moved local symbols (cache or .symbols) match the inputs' locals;
 *   - on arm64*, every ADRP+ADD/LDR pair reaches the moved target.
 * Prints one summary line; the first mismatch exits 1 with a message.
 */
#include "check.h"
#include "trie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MH_DYLIB_IN_CACHE 0x80000000u
#define LC_SEGMENT 0x1
#define LC_SYMTAB 0x2
#define LC_DYSYMTAB 0xb
#define LC_SEGMENT_64 0x19
#define LC_CODE_SIGNATURE 0x1d
#define LC_DYLD_INFO 0x22
#define LC_DYLD_INFO_ONLY 0x80000022u
#define LC_DYLD_EXPORTS_TRIE 0x80000033u
#define LC_DYLD_CHAINED_FIXUPS 0x80000034u
#define PAIR_WINDOW 8

struct manifest {
    char arch[32];
    uint32_t header;
    bool stubs_optimized;
    unsigned slide;
    char *main_path;
    char **paths, **inputs;
    size_t n;
    char **alias_from, **alias_to;
    size_t naliases;
};

/* What the cache says about one image. */
struct cached {
    uint64_t mh;
    uint64_t le_vmaddr, le_fileoff;
    uint32_t symoff, nsyms, stroff, strsize, nlocal, iextdef, nextdef;
    uint32_t export_off, export_size;
};

struct counts {
    size_t ptrs, nulls, exports, symbols, locals, adrps, direct_stubs, direct_calls, selectors, protocols, rip_refs;
    size_t selector_loads, literals, auth, redacted, got_loads;
};

static dsc_cache *cache;
static bool stubs_optimized;
static bool gots_uniqued;   /* dyld-940+ eras: GOT sections are S_REGULAR */
static struct cache bc;     /* the inputs, re-read, with cache addresses */
static struct cached *cached;

static char *dup_field(const char *s) { return xstrdup(s); }

static void read_manifest(const char *path, struct manifest *m)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s: cannot open", path);
    char line[8192];
    memset(m, 0, sizeof *m);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"), *c3 = strtok(NULL, "\t");
        if (!a || !b)
            continue;
        if (strcmp(a, "arch") == 0) {
            snprintf(m->arch, sizeof m->arch, "%s", b);
        } else if (strcmp(a, "header") == 0) {
            m->header = (uint32_t)strtoul(b, NULL, 0);
        } else if (strcmp(a, "stubs") == 0) {
            m->stubs_optimized = strcmp(b, "optimized") == 0;
        } else if (strcmp(a, "slide") == 0) {
            m->slide = (unsigned)strtoul(b, NULL, 0);
        } else if (strcmp(a, "file") == 0 && c3 && strcmp(b, "main") == 0) {
            m->main_path = dup_field(c3);
        } else if (strcmp(a, "image") == 0 && c3) {
            m->paths = xrealloc(m->paths, (m->n + 1) * sizeof *m->paths);
            m->inputs = xrealloc(m->inputs, (m->n + 1) * sizeof *m->inputs);
            m->paths[m->n] = dup_field(b);
            m->inputs[m->n++] = dup_field(c3);
        } else if (strcmp(a, "alias") == 0 && c3) {
            m->alias_from = xrealloc(m->alias_from, (m->naliases + 1) * sizeof *m->alias_from);
            m->alias_to = xrealloc(m->alias_to, (m->naliases + 1) * sizeof *m->alias_to);
            m->alias_from[m->naliases] = dup_field(b);
            m->alias_to[m->naliases++] = dup_field(c3);
        }
    }
    fclose(f);
    if (!m->main_path || !m->n)
        die("%s: manifest names no main file or no images", path);
}

static void free_manifest(struct manifest *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->paths[i]);
        free(m->inputs[i]);
    }
    for (size_t i = 0; i < m->naliases; i++) {
        free(m->alias_from[i]);
        free(m->alias_to[i]);
    }
    free(m->paths);
    free(m->inputs);
    free(m->alias_from);
    free(m->alias_to);
    free(m->main_path);
}

static dsc_span vm(uint64_t addr, uint64_t len, const char *what)
{
    dsc_span s;
    if (!dsc_vm_span(cache, addr, len, &s))
        die("%s at 0x%llx is not in the cache", what, (unsigned long long)addr);
    return s;
}

/* Non-lazy pointer sections keep their type, except uniqued GOTs. */
static void check_got_types(const struct image *img, const uint8_t *lc, bool is64)
{
    uint32_t nsects = dsc_le32(lc + (is64 ? 64 : 48));
    const uint8_t *x = lc + (is64 ? 72 : 56);
    for (uint32_t i = 0; i < nsects; i++, x += is64 ? 80 : 68) {
        if (strncmp((const char *)x, "__got", 16) != 0 && strncmp((const char *)x, "__auth_got", 16) != 0)
            continue;
        uint32_t type = dsc_le32(x + (is64 ? 64 : 56)) & 0xff;
        if (type != (gots_uniqued ? 0u : 6u))
            die("%s: GOT section has type %u", img->cache_path, type);
    }
}

/* The cache's view of image i: segment addresses and LINKEDIT offsets. */
static void read_cached_image(size_t i, uint64_t mh)
{
    struct image *img = &bc.images[i];
    struct cached *ci = &cached[i];
    bool is64 = bc.ai->ptr_size == 8;
    dsc_span h = vm(mh, is64 ? 32 : 28, "mach_header");
    uint32_t ncmds = dsc_le32(h.data + 16), sizeofcmds = dsc_le32(h.data + 20);
    if (!(dsc_le32(h.data + 24) & MH_DYLIB_IN_CACHE))
        die("%s: MH_DYLIB_IN_CACHE is not set", img->cache_path);
    dsc_span lcs = vm(mh + h.size, sizeofcmds, "load commands");
    ci->mh = mh;
    unsigned segi = 0;
    for (uint64_t off = 0, k = 0; k < ncmds; k++) {
        uint32_t cmd, size;
        if (!span_u32(lcs, off, &cmd) || !span_u32(lcs, off + 4, &size) || size < 8 || size > lcs.size - off)
            die("%s: load command %llu is malformed", img->cache_path, (unsigned long long)k);
        const uint8_t *p = lcs.data + off;
        if (cmd == LC_CODE_SIGNATURE || cmd == LC_DYLD_CHAINED_FIXUPS)
            die("%s: load command 0x%x should have been removed", img->cache_path, cmd);
        if (cmd == LC_SEGMENT || cmd == LC_SEGMENT_64) {
            if (segi >= img->nsegs || strncmp((const char *)p + 8, img->segs[segi].name, 16) != 0)
                die("%s: segment %u differs from the input's", img->cache_path, segi);
            struct seg *s = &img->segs[segi++];
            check_got_types(img, p, is64);
            s->addr = is64 ? dsc_le64(p + 24) : dsc_le32(p + 24);
            s->size = is64 ? dsc_le64(p + 32) : dsc_le32(p + 28);
            if (s->kind == RK_LINKEDIT) {
                ci->le_vmaddr = s->addr;
                ci->le_fileoff = is64 ? dsc_le64(p + 40) : dsc_le32(p + 32);
            }
        } else if (cmd == LC_SYMTAB) {
            ci->symoff = dsc_le32(p + 8);
            ci->nsyms = dsc_le32(p + 12);
            ci->stroff = dsc_le32(p + 16);
            ci->strsize = dsc_le32(p + 20);
        } else if (cmd == LC_DYSYMTAB) {
            ci->nlocal = dsc_le32(p + 12);
            ci->iextdef = dsc_le32(p + 16);
            ci->nextdef = dsc_le32(p + 20);
        } else if (cmd == LC_DYLD_INFO || cmd == LC_DYLD_INFO_ONLY) {
            if (dsc_le32(p + 12))
                die("%s: rebase info was not zeroed", img->cache_path);
            ci->export_off = dsc_le32(p + 40);
            ci->export_size = dsc_le32(p + 44);
        } else if (cmd == LC_DYLD_EXPORTS_TRIE) {
            ci->export_off = dsc_le32(p + 8);
            ci->export_size = dsc_le32(p + 12);
        }
        off += size;
    }
    if (segi != img->nsegs)
        die("%s: has %u segments, the input %u", img->cache_path, segi, img->nsegs);
}

/* A LINKEDIT file offset of image i, as cache bytes. */
static dsc_span linkedit(size_t i, uint64_t off, uint64_t len, const char *what)
{
    return vm(cached[i].le_vmaddr + (off - cached[i].le_fileoff), len, what);
}

static void load(const struct manifest *m)
{
    enum bld_arch a;
    if (!arch_parse(m->arch, &a))
        die("manifest: unknown arch %s", m->arch);
    bc.ai = arch_get(a);
    bc.opt.arch = a;
    bc.nimages = m->n;
    bc.images = xcalloc(m->n, sizeof *bc.images);
    cached = xcalloc(m->n, sizeof *cached);
    const dsc_cache_info *in = dsc_cache_get_info(cache);
    if (strcmp(in->arch_name, m->arch) != 0)
        die("cache arch %s, manifest %s", in->arch_name, m->arch);
    if (in->image_count != m->n)
        die("cache has %u images, manifest %zu", in->image_count, m->n);
    for (size_t i = 0; i < m->n; i++) {
        struct image *img = &bc.images[i];
        image_load(img, m->inputs[i], bc.ai);
        free(img->cache_path);
        img->cache_path = xstrdup(m->paths[i]);
        if (strcmp(img->install_name, m->paths[i]) != 0)
            img->install_name = img->cache_path;    /* a scale-mode clone */
        int64_t idx = dsc_image_find(cache, m->paths[i]);
        if (idx < 0)
            die("image %s is not in the cache", m->paths[i]);
        read_cached_image(i, dsc_image_at(cache, (uint32_t)idx)->address);
    }
    for (size_t i = 0; i < m->naliases; i++)
        if (dsc_image_find(cache, m->alias_from[i]) != dsc_image_find(cache, m->alias_to[i]) ||
            dsc_image_find(cache, m->alias_from[i]) < 0)
            die("alias %s does not lead to %s", m->alias_from[i], m->alias_to[i]);
    for (unsigned i = 0; i < in->mapping_count && bc.nregions < 32; i++) {
        const dsc_mapping_info *mi = dsc_cache_mapping(cache, i);
        struct region *r = &bc.regions[bc.nregions++];
        r->addr = mi->address;
        r->size = mi->size;
        r->kind = mi->max_prot & 4 ? RK_TEXT : mi->max_prot & 2 ? RK_DATA : RK_LINKEDIT;
        if ((mi->max_prot & 2) && mi->slide_version != m->slide)
            die("mapping at 0x%llx has slide v%u, expected v%u", (unsigned long long)mi->address,
                mi->slide_version, m->slide);
    }
}

/* The uniqued selector buffer, from libobjc's objc_opt_offsets[0..1]:
 * it must start with the magic selector and hold each string once. */
struct selbuf {
    uint64_t start, end;
    size_t slots;   /* decoded pointers that are objc_opt_offsets */
};

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void find_selbuf(const struct decoded *d, struct selbuf *sb)
{
    unsigned psz = bc.ai->ptr_size;
    memset(sb, 0, sizeof *sb);
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
        sb->start = s0->value;
        sb->end = s1->value;
        sb->slots = 2;
    }
    if (!sb->slots)
        return;
    dsc_span buf = vm(sb->start, sb->end - sb->start, "selector buffer");
    if (memcmp(buf.data, "\xF0\x9F\xA4\xAF", 5) != 0)
        die("the selector buffer does not start with the magic selector");
    size_t n = 0;
    const char **strs = xcalloc(buf.size, sizeof *strs);
    for (uint64_t off = 0; off < buf.size;) {
        const char *str;
        size_t len;
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
 * canonical copy of the same string instead. */
static bool uniqued_selector(const struct selbuf *sb, uint64_t target, uint64_t got)
{
    const char *want, *have;
    return sb->slots && got >= sb->start && got < sb->end && dsc_vm_cstr(cache, target, 4096, &want) &&
           dsc_vm_cstr(cache, got, 4096, &have) && strcmp(want, have) == 0;
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

static const struct sect *protolist_of(const struct image *img)
{
    const struct sect *x = image_sect(img, "__DATA_CONST", "__objc_protolist");
    return x ? x : image_sect(img, "__DATA", "__objc_protolist");
}

static void find_protocols(struct protocols *pr)
{
    unsigned psz = bc.ai->ptr_size;
    memset(pr, 0, sizeof *pr);
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct sect *x = protolist_of(img);
        uint64_t at, def, name;
        const char *s;
        if (!x || !image_reloc(img, x->in_addr, &at))
            continue;
        for (uint64_t off = 0; off + psz <= x->size; off += psz) {
            const struct ptr *p = image_ptr_at(img, at + off);
            if (!p || !dsc_vm_ptr(cache, p->target + psz, &def))
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
    const struct sect *pl = protolist_of(img);
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

static struct selbuf sb;     /* found by check_pointers, used by check_code */
static struct decoded dec;   /* every slid pointer of the cache */
static size_t explained;     /* decoded pointers matched so far */
static uint64_t *twins;      /* GOT twins reached by redirected loads */
static size_t ntwins;

static bool in_any_image(uint64_t addr)
{
    for (size_t i = 0; i < bc.nimages; i++)
        for (unsigned k = 0; k < bc.images[i].nsegs; k++)
            if (addr - bc.images[i].segs[k].addr < bc.images[i].segs[k].size)
                return true;
    return false;
}

/* A load of the image's own GOT slot `want` may read a cache-wide twin at
 * `t` instead: outside every image, holding the same pointer. */
static bool got_twin(const struct image *img, uint64_t want, uint64_t t, struct counts *n)
{
    const struct ptr *p = image_ptr_at(img, want);
    const struct decoded_ptr *d = decoded_at(&dec, t);
    if (!p || !p->bind || !p->target || !d || d->value != p->target || d->auth != p->auth || in_any_image(t))
        return false;
    size_t i = 0;
    while (i < ntwins && twins[i] != t)
        i++;
    if (i == ntwins) {
        twins = xrealloc(twins, (ntwins + 1) * sizeof *twins);
        twins[ntwins++] = t;
    }
    n->got_loads++;
    return true;
}

static void check_pointers(struct counts *n)
{
    struct decoded d = {0};
    struct protocols pr;
    slide_decode_all(cache, &d);
    find_selbuf(&d, &sb);
    find_protocols(&pr);
    bool arm64e = strcmp(bc.ai->name, "arm64e") == 0;
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        for (size_t k = 0; k < img->nptrs; k++) {
            const struct ptr *p = &img->ptrs[k];
            const struct decoded_ptr *got = decoded_at(&d, p->addr);
            if (p->target == 0) {
                uint64_t raw;
                if (got || !dsc_vm_ptr(cache, p->addr, &raw) || raw != 0)
                    die("%s: slot 0x%llx should be a plain null", img->cache_path, (unsigned long long)p->addr);
                n->nulls++;
                continue;
            }
            bool selector = got && got->value != p->target && uniqued_selector(&sb, p->target, got->value);
            bool protocol = got && got->value != p->target && !selector &&
                            canonical_protocol(&d, &pr, img, p, got->value);
            if (!got || (got->value != p->target && !selector && !protocol))
                die("%s: slot 0x%llx decodes to 0x%llx, expected 0x%llx", img->cache_path,
                    (unsigned long long)p->addr, got ? (unsigned long long)got->value : 0ULL,
                    (unsigned long long)p->target);
            if (arm64e && (got->auth != p->auth || (p->auth && (got->key != p->key || got->addr_div != p->addr_div ||
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

struct export_check {
    size_t image;
    size_t count;
};

static int on_cached_export(void *ctx, const char *key, size_t key_len, dsc_span t)
{
    struct export_check *w = ctx;
    const struct image *img = &bc.images[w->image];
    const struct export_sym *e = image_export(img, key);
    uint64_t off = 0, flags, value, want;
    if (!e || !span_uleb(t, &off, &flags) || flags != e->flags)
        die("%s: export %.*s is not the input's", img->cache_path, (int)key_len, key);
    if (!(flags & 0x08) && (flags & 3) != 2) {
        if (!span_uleb(t, &off, &value) || !image_reloc(img, img->segs[0].in_addr + e->value, &want) ||
            cached[w->image].mh + value != want)
            die("%s: export %s is not where the input's moved", img->cache_path, key);
    }
    w->count++;
    return 0;
}

static void check_exports(struct counts *n)
{
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct cached *ci = &cached[i];
        if (!ci->export_size)
            continue;
        dsc_span trie = linkedit(i, ci->export_off, ci->export_size, "export trie");
        struct export_check w = {i, 0};
        dsc_error err;
        if (dsc_trie_walk(trie, on_cached_export, &w, bc.images[i].cache_path, &err))
            die("%s", err.msg);
        n->exports += w.count;
    }
}

static const char *string_at(size_t i, uint32_t strx)
{
    const struct cached *ci = &cached[i];
    dsc_span pool = linkedit(i, ci->stroff, ci->strsize, "string pool");
    const char *s;
    if (!span_cstr(pool, strx, pool.size, &s, NULL))
        die("%s: symbol name 0x%x is outside the pool", bc.images[i].cache_path, strx);
    return s;
}

/* External symbols: same names in the same order, values moved. */
static void check_symbols(struct counts *n)
{
    unsigned nsz = bc.ai->ptr_size == 8 ? 16 : 12;
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        const struct cached *ci = &cached[i];
        if (ci->nextdef != img->nextdef || ci->nsyms - ci->iextdef != img->nsyms - img->iextdef)
            die("%s: %u external symbols, the input has %u", img->cache_path, ci->nextdef, img->nextdef);
        dsc_span syms = linkedit(i, ci->symoff, (uint64_t)ci->nsyms * nsz, "symbol table");
        for (uint32_t k = 0; k < img->nextdef; k++) {
            const uint8_t *c = syms.data + (uint64_t)(ci->iextdef + k) * nsz;
            const uint8_t *in = img->file.data + img->symoff + (uint64_t)(img->iextdef + k) * nsz;
            uint64_t cv = nsz == 16 ? dsc_le64(c + 8) : dsc_le32(c + 8);
            uint64_t iv = nsz == 16 ? dsc_le64(in + 8) : dsc_le32(in + 8), want = iv;
            if ((in[4] & 0x0e) == 0x0e)
                image_reloc(img, iv, &want);
            const char *name = (const char *)img->file.data + img->stroff + dsc_le32(in);
            if (strcmp(string_at(i, dsc_le32(c)), name) != 0 || cv != want)
                die("%s: external symbol %u (%s) differs from the input's", img->cache_path, k, name);
            n->symbols++;
        }
    }
}

/* With locals moved out, the image keeps one "<redacted>" nlist per input
 * local in section 1 (__text), and nothing else, as its locals. */
static void check_redacted(size_t i, struct counts *n)
{
    const struct image *img = &bc.images[i];
    const struct cached *ci = &cached[i];
    unsigned nsz = bc.ai->ptr_size == 8 ? 16 : 12;
    uint32_t want = 0;
    for (uint32_t k = 0; k < img->nlocal; k++) {
        const uint8_t *in = img->file.data + img->symoff + (uint64_t)(img->ilocal + k) * nsz;
        want += in[5] == 1 && !(in[4] & 0xe0);
    }
    if (ci->nlocal != want)
        die("%s: %u locals stay in the image, expected %u redacted ones", img->cache_path, ci->nlocal, want);
    dsc_span syms = linkedit(i, ci->symoff, (uint64_t)ci->nsyms * nsz, "symbol table");
    for (uint32_t k = 0; k < ci->nlocal; k++)
        if (strcmp(string_at(i, dsc_le32(syms.data + (uint64_t)k * nsz)), "<redacted>") != 0)
            die("%s: local %u kept in the image is not <redacted>", img->cache_path, k);
    n->redacted += want;
}

/* Moved locals: in the main file (unsplit) or the .symbols file. */
static void check_locals(struct counts *n)
{
    const struct dsc_file *holder = NULL;
    for (unsigned f = 0; f < cache->nfiles; f++) {
        const struct dsc_file *x = &cache->files[f];
        if (dsc_hdr_has(x, HDR_LOCAL_SYMBOLS_SIZE, 8) && dsc_hdr64(x, HDR_LOCAL_SYMBOLS_OFFSET))
            holder = x;
    }
    if (!holder)
        return;
    dsc_span info;
    if (!span_sub(holder->bytes, dsc_hdr64(holder, HDR_LOCAL_SYMBOLS_OFFSET),
                  dsc_hdr64(holder, HDR_LOCAL_SYMBOLS_SIZE), &info) || info.size < 24)
        die("%s: local symbols are out of the file", holder->info.path);
    const uint8_t *h = info.data;
    uint32_t nlist_off = dsc_le32(h), strs_off = dsc_le32(h + 8), strs_size = dsc_le32(h + 12);
    uint32_t ent_off = dsc_le32(h + 16), ent_count = dsc_le32(h + 20);
    bool wide = holder->header_size >= 0x190;
    unsigned esz = wide ? 16 : 12, nsz = bc.ai->ptr_size == 8 ? 16 : 12;
    dsc_span strs;
    if (ent_count != bc.nimages || !span_sub(info, strs_off, strs_size, &strs))
        die("%s: local symbols name %u images, expected %zu", holder->info.path, ent_count, bc.nimages);
    for (size_t i = 0; i < bc.nimages; i++) {
        const struct image *img = &bc.images[i];
        dsc_span e;
        if (!span_sub(info, ent_off + (uint64_t)i * esz, esz, &e))
            die("local symbols entry %zu is out of the blob", i);
        uint64_t dylib_off = wide ? dsc_le64(e.data) : dsc_le32(e.data);
        uint32_t start = dsc_le32(e.data + esz - 8), count = dsc_le32(e.data + esz - 4);
        if (dylib_off != cached[i].mh - dsc_cache_get_info(cache)->base_address || count != img->nlocal)
            die("%s: local symbols entry %zu is wrong (offset 0x%llx, %u locals)", img->cache_path, i,
                (unsigned long long)dylib_off, count);
        check_redacted(i, n);
        for (uint32_t k = 0; k < count; k++) {
            dsc_span nl;
            const char *got;
            if (!span_sub(info, nlist_off + (uint64_t)(start + k) * nsz, nsz, &nl) ||
                !span_cstr(strs, dsc_le32(nl.data), strs.size, &got, NULL))
                die("%s: local symbol %u is out of the blob", img->cache_path, k);
            const uint8_t *in = img->file.data + img->symoff + (uint64_t)(img->ilocal + k) * nsz;
            if (strcmp(got, (const char *)img->file.data + img->stroff + dsc_le32(in)) != 0)
                die("%s: local symbol %u is %s, not the input's", img->cache_path, k, got);
            n->locals++;
        }
    }
}

/* ADRP + ADD/LDR (64- or 32-bit) pairs: the target the pair computes. */
static bool pair_target(uint32_t adrp, uint32_t next, uint64_t pc, uint64_t *out)
{
    if ((adrp & 0x9F000000u) != 0x90000000u)
        return false;
    unsigned rd = adrp & 31;
    if (((next >> 5) & 31) != rd)
        return false;
    int64_t imm = (int64_t)((((adrp >> 5) & 0x7FFFF) << 2) | ((adrp >> 29) & 3));
    if (imm & (1 << 20))
        imm -= 1 << 21;
    uint64_t page = (pc & ~0xFFFULL) + (uint64_t)imm * 4096;
    if ((next & 0xFFC00000u) == 0x91000000u)
        *out = page + ((next >> 10) & 0xFFF);
    else if ((next & 0xFFC00000u) == 0xF9400000u)
        *out = page + ((next >> 10) & 0xFFF) * 8;
    else if ((next & 0xFFC00000u) == 0xB9400000u)
        *out = page + ((next >> 10) & 0xFFF) * 4;
    else
        return false;
    return true;
}

static bool is_add(uint32_t i) { return (i & 0xFFC00000u) == 0x91000000u; }

/* The pair at `off` in the cache must reach where the input's pair went; an
 * optimised stub may instead reach its slot's final target directly. */
static void check_pairs(const struct image *img, const struct sect *x, const uint8_t *in, dsc_span code,
                        uint64_t addr, struct counts *n)
{
    bool stubs = strcmp(x->name, "__stubs") == 0;
    for (uint64_t off = 0; off + 4 <= x->size; off += 4)
        for (uint64_t k = off + 4; k < off + 4 * PAIR_WINDOW && k + 4 <= x->size; k += 4) {
            uint64_t in_t, t, want;
            if (!pair_target(dsc_le32(in + off), dsc_le32(in + k), x->in_addr + off, &in_t) ||
                !image_reloc(img, in_t, &want))
                continue;
            bool ok = pair_target(dsc_le32(code.data + off), dsc_le32(code.data + k), addr + off, &t);
            if (ok && t != want && stubs && stubs_optimized) {
                const struct ptr *p = image_ptr_at(img, want);
                ok = p && p->target == t && is_add(dsc_le32(code.data + k));
                n->direct_stubs += ok;
            } else if (ok && t != want) {
                /* dyld-940+: a selref load may become ADRP+ADD of the string,
                 * a GOT load may read the cache-wide twin. */
                const struct ptr *p = image_ptr_at(img, want);
                bool sel = p && is_add(dsc_le32(code.data + k)) && (dsc_le32(in + k) & 0xFFC00000u) == 0xF9400000u &&
                           uniqued_selector(&sb, p->target, t);
                n->selector_loads += sel;
                ok = sel || (!is_add(dsc_le32(code.data + k)) && got_twin(img, want, t, n));
            }
            if (!ok)
                die("%s: ADRP pair at 0x%llx reaches 0x%llx, expected 0x%llx", img->cache_path,
                    (unsigned long long)(addr + off), (unsigned long long)t, (unsigned long long)want);
            n->adrps++;
            break;
        }
}

/* PC-relative LDR (literal) / ADR of the input (lld's optimisation hints):
 * the cache keeps the form with a new offset, or has widened it with the
 * NOP beside it into ADRP + LDR/ADD (possibly a rewritten selector load). */
static bool is_literal(uint32_t i) { return (i & 0x3B000000u) == 0x18000000u || (i & 0x9F000000u) == 0x10000000u; }

static uint64_t literal_target(uint32_t i, uint64_t pc)
{
    int64_t imm;
    if ((i & 0x9F000000u) == 0x10000000u) {
        imm = (int64_t)((((i >> 5) & 0x7FFFF) << 2) | ((i >> 29) & 3));
        imm = imm & (1 << 20) ? imm - (1 << 21) : imm;
    } else {
        imm = (int64_t)((i >> 5) & 0x7FFFF);
        imm = (imm & (1 << 18) ? imm - (1 << 19) : imm) * 4;
    }
    return pc + (uint64_t)imm;
}

static void check_literals(const struct image *img, const struct sect *x, const uint8_t *in, dsc_span code,
                           uint64_t addr, struct counts *n)
{
    for (uint64_t off = 0; off + 4 <= x->size; off += 4) {
        uint32_t ii = dsc_le32(in + off), ci = dsc_le32(code.data + off);
        uint64_t want, t = 0;
        if (!is_literal(ii) || !image_reloc(img, literal_target(ii, x->in_addr + off), &want))
            continue;
        bool ok;
        if (is_literal(ci)) {
            bool same_form = (ci & 0xFF00001Fu) == (ii & 0xFF00001Fu);
            ok = same_form && (t = literal_target(ci, addr + off)) == want;
            if (!ok && same_form)
                ok = got_twin(img, want, t, n);
            /* a selref load may become ADR of the canonical string */
            bool adr = (ci & 0x9F00001Fu) == (0x10000000u | (ii & 31)) && (ii & 0xFF000000u) == 0x58000000u;
            if (!ok && adr) {
                const struct ptr *p = image_ptr_at(img, want);
                t = literal_target(ci, addr + off);
                ok = p && uniqued_selector(&sb, p->target, t);
                n->selector_loads += ok;
            }
        } else {
            /* widened: the ADRP is here or in the NOP before */
            uint64_t first = off >= 4 && pair_target(dsc_le32(code.data + off - 4), ci, addr + off - 4, &t) ? off - 4
                                                                                                             : off;
            ok = off + 4 <= x->size && first + 8 <= x->size &&
                 pair_target(dsc_le32(code.data + first), dsc_le32(code.data + first + 4), addr + first, &t);
            if (ok && t != want) {
                const struct ptr *p = image_ptr_at(img, want);
                bool add = is_add(dsc_le32(code.data + first + 4)), sel = p && add && uniqued_selector(&sb, p->target, t);
                n->selector_loads += sel;
                ok = sel || (!add && got_twin(img, want, t, n));
            }
        }
        if (!ok)
            die("%s: PC-relative reference at 0x%llx reaches 0x%llx, expected 0x%llx", img->cache_path,
                (unsigned long long)(addr + off), (unsigned long long)t, (unsigned long long)want);
        n->literals++;
    }
}

static bool is_branch(uint32_t i) { return (i & 0x7C000000u) == 0x14000000u; }
static int64_t branch_offset(uint32_t i) { return (int64_t)(int32_t)((i & 0x3FFFFFFu) << 6) >> 4; }

/* B/BL in __text: unchanged, or (optimised stubs) straight to the target
 * of the stub the input called. */
static void check_branches(const struct image *img, const struct sect *x, const uint8_t *in, dsc_span code,
                           uint64_t addr, struct counts *n)
{
    const struct sect *st = image_sect(img, "__TEXT", "__stubs");
    for (uint64_t off = 0; off + 4 <= x->size; off += 4) {
        uint32_t ii = dsc_le32(in + off), ci = dsc_le32(code.data + off);
        if (!is_branch(ii))
            continue;
        if (ci == ii)
            continue;
        uint64_t in_t = x->in_addr + off + (uint64_t)branch_offset(ii), slot, want;
        uint64_t t = addr + off + (uint64_t)branch_offset(ci);
        const uint8_t *stub = in + (in_t - x->in_addr);
        const struct ptr *p = NULL;
        if (stubs_optimized && is_branch(ci) && st && in_t - st->in_addr < st->size &&
            pair_target(dsc_le32(stub), dsc_le32(stub + 4), in_t, &slot) && image_reloc(img, slot, &want))
            p = image_ptr_at(img, want);
        if (!p || p->target != t)
            die("%s: branch at 0x%llx changed to 0x%llx", img->cache_path, (unsigned long long)(addr + off),
                (unsigned long long)t);
        n->direct_calls++;
    }
}

static void check_code(struct counts *n)
{
    if (strcmp(bc.ai->name, "x86_64") == 0)
        return;
    static const char *const code_sections[] = {"__text", "__stubs", "__stub_helper"};
    for (size_t i = 0; i < bc.nimages * 3; i++) {
        const struct image *img = &bc.images[i / 3];
        const struct sect *x = image_sect(img, "__TEXT", code_sections[i % 3]);
        uint64_t addr;
        if (!x || !image_reloc(img, x->in_addr, &addr))
            continue;
        dsc_span code = vm(addr, x->size, code_sections[i % 3]);
        const uint8_t *in = img->file.data + (x->in_addr - img->segs[0].in_addr);
        check_pairs(img, x, in, code, addr, n);
        check_literals(img, x, in, code, addr, n);
        if (i % 3 == 0)
            check_branches(img, x, in, code, addr, n);
    }
}

/* x86_64: RIP-relative operands listed by llvm-objdump (a file of
 * "input-dylib TAB address TAB length TAB displacement" lines, written by
 * the test from `llvm-objdump --macho -d --no-symbolic-operands`) must
 * reach, in the cache, where their input targets went. */
static void check_rip_refs(const char *path, const struct manifest *m, struct counts *n)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    if (!f)
        die("%s: cannot open", path);
    while (fgets(line, sizeof line, f)) {
        char *dylib = strtok(line, "\t"), *a = strtok(NULL, "\t"), *l = strtok(NULL, "\t"), *dd = strtok(NULL, "\t\n");
        if (!dylib || !a || !l || !dd)
            die("%s: malformed line", path);
        uint64_t addr = strtoull(a, NULL, 16), len = strtoull(l, NULL, 10);
        int64_t disp = strtoll(dd, NULL, 0);
        for (size_t i = 0; i < m->n; i++) {
            const struct image *img = &bc.images[i];
            uint64_t at, want, fo = addr - img->segs[0].in_addr;
            if (strcmp(m->inputs[i], dylib) != 0 || len < 5 || fo + len > img->segs[0].in_filesize ||
                !image_reloc(img, addr + len + (uint64_t)disp, &want) || !image_reloc(img, addr, &at))
                continue;
            unsigned pos = 0;
            for (unsigned k = 1; k + 4 <= len && !pos; k++)
                if ((int32_t)dsc_le32(img->file.data + fo + k) == (int32_t)disp)
                    pos = k;
            dsc_span insn = vm(at, len, "instruction");
            uint64_t got = at + len + (uint64_t)(int64_t)(int32_t)dsc_le32(insn.data + pos);
            if (!pos || (got != want && !got_twin(img, want, got, n)))
                die("%s: RIP-relative operand at 0x%llx reaches 0x%llx, expected 0x%llx", img->cache_path,
                    (unsigned long long)at, (unsigned long long)got, (unsigned long long)want);
            n->rip_refs++;
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *rip_refs = NULL;
    if (argc == 4 && strcmp(argv[1], "--x86-refs") == 0) {
        rip_refs = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: dsccheck [--x86-refs FILE] CACHE.manifest\n");
        return 2;
    }
    struct manifest m;
    read_manifest(argv[1], &m);
    dsc_error err;
    if (dsc_cache_open(m.main_path, &cache, &err))
        die("%s", err.msg);
    stubs_optimized = m.stubs_optimized;
    gots_uniqued = m.header >= 0x1c8;
    load(&m);
    fixups_resolve(&bc);
    struct counts n = {0};
    check_pointers(&n);
    check_exports(&n);
    check_symbols(&n);
    check_locals(&n);
    check_code(&n);
    if (rip_refs)
        check_rip_refs(rip_refs, &m, &n);
    if (dec.n != explained + ntwins)
        die("slide info names %zu pointers; the inputs, objc_opt_offsets and canonical protocols explain %zu, "
            "GOT twins %zu", dec.n, explained, ntwins);
    free(dec.v);
    free(twins);
    printf("dsccheck: OK %s: %zu images, %zu pointers, %zu nulls, %zu exports, %zu symbols, %zu locals, "
           "%zu adrp pairs, %zu rip operands, %zu direct stubs, %zu direct calls, %zu uniqued selectors, "
           "%zu uniqued protocols, %zu selector loads, %zu pc-relative literals, %zu auth pointers, "
           "%zu redacted locals, %zu GOT loads\n",
           m.main_path, bc.nimages, n.ptrs, n.nulls, n.exports, n.symbols, n.locals, n.adrps, n.rip_refs,
           n.direct_stubs, n.direct_calls, n.selectors, n.protocols, n.selector_loads, n.literals, n.auth,
           n.redacted, n.got_loads);
    dsc_cache_close(cache);
    cache_free(&bc);
    free(cached);
    free_manifest(&m);
    return 0;
}

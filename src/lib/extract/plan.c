/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * plan.c — helpers every pass uses on a struct dsc_plan: checked access to
 * the output segments' bytes, fixups and imports, added segments and
 * sections, growable blobs, errors and warnings. See extract.h.
 */
#include "extract/extract.h"
#include "base/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors and warnings ---- */

int plan_fail(struct dsc_plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dsc_image_vfail(p->err, DSC_ERR_INPUT, p->cache, p->mo.image, fmt, ap);
    va_end(ap);
    return -1;
}

int plan_fail_code(struct dsc_plan *p, enum dsc_errcode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dsc_image_vfail(p->err, code, p->cache, p->mo.image, fmt, ap);
    va_end(ap);
    return -1;
}

int plan_oom(struct dsc_plan *p) { return plan_fail_code(p, DSC_ERR_NOMEM, "out of memory"); }

void plan_warn(struct dsc_plan *p, const char *fmt, ...)
{
    char line[DSC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strlen(line);
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    /* Warnings are best effort: a failed allocation drops the line. */
    if (blob_reserve(&p->warnings, len + 2)) {
        blob_add(&p->warnings, line, len);
        blob_u8(&p->warnings, '\n');
        p->warnings.data[p->warnings.size] = 0;
    }
}

/* ---- blobs ---- */

/* A blob's first capacity: most LINKEDIT pieces and load commands of an
 * image are a few KiB, so they grow once or twice, not six times. */
#define BLOB_FIRST 4096

bool blob_reserve(struct dsc_blob *b, size_t extra)
{
    if (b->cap - b->size >= extra)
        return true;
    size_t want = b->cap ? b->cap : BLOB_FIRST;
    while (want - b->size < extra) {
        if (want > SIZE_MAX / 2)
            return false;
        want *= 2;
    }
    uint8_t *grown = realloc(b->data, want);
    if (!grown)
        return false;
    b->data = grown;
    b->cap = want;
    return true;
}

bool blob_add(struct dsc_blob *b, const void *data, size_t len)
{
    if (!blob_reserve(b, len))
        return false;
    if (len)
        memcpy(b->data + b->size, data, len);
    b->size += len;
    return true;
}

bool blob_u8(struct dsc_blob *b, uint8_t v) { return blob_add(b, &v, 1); }

bool blob_u16(struct dsc_blob *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return blob_add(b, x, 2);
}

bool blob_u32(struct dsc_blob *b, uint32_t v)
{
    uint8_t x[4];
    dsc_put32(x, v);
    return blob_add(b, x, 4);
}

bool blob_u64(struct dsc_blob *b, uint64_t v)
{
    uint8_t x[8];
    dsc_put64(x, v);
    return blob_add(b, x, 8);
}

bool blob_uleb(struct dsc_blob *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        if (v)
            byte |= 0x80;
        if (!blob_u8(b, byte))
            return false;
    } while (v);
    return true;
}

bool blob_sleb(struct dsc_blob *b, int64_t v)
{
    for (;;) {
        uint8_t byte = v & 0x7f;
        v >>= 7; /* arithmetic shift: gcc and clang define it */
        bool done = (v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40));
        if (!blob_u8(b, done ? byte : byte | 0x80))
            return false;
        if (done)
            return true;
    }
}

bool blob_align(struct dsc_blob *b, size_t align)
{
    while (b->size % align)
        if (!blob_u8(b, 0))
            return false;
    return true;
}

void blob_free(struct dsc_blob *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- segments and bytes ---- */

struct dsc_out_segment *plan_segment_at(struct dsc_plan *p, uint64_t vmaddr, uint64_t len)
{
    for (unsigned i = 0; i < p->nsegs; i++) {
        struct dsc_out_segment *s = &p->segs[i];
        if (vmaddr >= s->vmaddr && dsc_range_ok(s->vmsize, vmaddr - s->vmaddr, len))
            return s;
    }
    return NULL;
}

bool plan_in_image(const struct dsc_plan *p, uint64_t addr)
{
    return plan_segment_at((struct dsc_plan *)p, addr, 1) != NULL;
}

uint8_t *plan_seg_bytes(struct dsc_plan *p, uint64_t vmaddr, uint64_t len)
{
    struct dsc_out_segment *s = plan_segment_at(p, vmaddr, len);
    if (!s || !s->bytes || !dsc_range_ok(s->filesize, vmaddr - s->vmaddr, len))
        return NULL;
    return s->bytes + (vmaddr - s->vmaddr);
}

bool plan_read_ptr(struct dsc_plan *p, uint64_t vmaddr, uint64_t *v)
{
    if (!p->copy_bytes) {
        const struct dsc_out_segment *s = plan_segment_at(p, vmaddr, p->ptr_size);
        if (!s || s->source < 0 || !dsc_range_ok(s->filesize, vmaddr - s->vmaddr, p->ptr_size))
            return false;
        return dsc_vm_ptr_raw(p->cache, vmaddr, v);
    }
    const uint8_t *b = plan_seg_bytes(p, vmaddr, p->ptr_size);
    if (!b)
        return false;
    *v = p->ptr_size == 8 ? dsc_le64(b) : dsc_le32(b);
    return true;
}

bool plan_write_ptr(struct dsc_plan *p, uint64_t vmaddr, uint64_t v)
{
    if (!p->copy_bytes)
        return plan_segment_at(p, vmaddr, p->ptr_size) != NULL;
    uint8_t *b = plan_seg_bytes(p, vmaddr, p->ptr_size);
    if (!b)
        return false;
    if (p->ptr_size == 8)
        dsc_put64(b, v);
    else
        dsc_put32(b, (uint32_t)v);
    return true;
}

/* ---- fixups and imports ---- */

int plan_cmp_fixup(const void *a, const void *b)
{
    const struct dsc_fixup *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

/* The first capacity, and at least doubling after it: appending one at a
 * time stays linear. */
#define FIXUPS_FIRST 256

int plan_reserve_fixups(struct dsc_plan *p, size_t n)
{
    if (p->fixups_cap - p->nfixups >= n)
        return 0;
    size_t want;
    if (__builtin_add_overflow(p->nfixups, n, &want) || want > SIZE_MAX / sizeof *p->fixups)
        return plan_oom(p);
    if (want < FIXUPS_FIRST)
        want = FIXUPS_FIRST;
    if (want < p->fixups_cap * 2 && p->fixups_cap <= SIZE_MAX / sizeof *p->fixups / 2)
        want = p->fixups_cap * 2;
    struct dsc_fixup *grown = realloc(p->fixups, want * sizeof *grown);
    if (!grown)
        return plan_oom(p);
    p->fixups = grown;
    p->fixups_cap = want;
    return 0;
}

int plan_add_fixup(struct dsc_plan *p, const struct dsc_fixup *f)
{
    if (plan_reserve_fixups(p, 1))
        return -1;
    p->fixups[p->nfixups++] = *f;
    return 0;
}

int plan_add_import(struct dsc_plan *p, const char *name, int lib_ordinal, bool weak_import, uint32_t *index)
{
    return plan_add_import_addend(p, name, lib_ordinal, weak_import, 0, index);
}

int plan_add_import_addend(struct dsc_plan *p, const char *name, int lib_ordinal, bool weak_import, int64_t addend,
                           uint32_t *index)
{
    /* Imports are few (one per distinct symbol an image binds). */
    for (uint32_t i = 0; i < p->nimports; i++) {
        const struct dsc_import *im = &p->imports[i];
        if (im->lib_ordinal == lib_ordinal && im->weak_import == weak_import && im->addend == addend &&
            strcmp(im->name, name) == 0) {
            *index = i;
            return 0;
        }
    }
    if (!DSC_GROW(p->imports, p->nimports, p->imports_cap, 64))
        return plan_oom(p);
    char *copy = strdup(name);
    if (!copy)
        return plan_oom(p);
    p->imports[p->nimports] = (struct dsc_import){copy, lib_ordinal, weak_import, addend, false};
    *index = p->nimports++;
    return 0;
}

/* ---- added segments and sections ---- */

/* After every segment of the image, as a linker lays out what it adds.
 * But a cache over 4 GiB of VM can keep an image's LINKEDIT more than
 * 4 GiB above its TEXT (dscbuild --large-vm), and from there nothing the
 * image adds is reached by a signed 32-bit relative field of the image
 * (relative method lists, Swift and ObjC relative offsets) or the 32-bit
 * target of an arm64e chained auth rebase (DYLD_CHAINED_PTR_ARM64E counts
 * it from the image's start). Such data then goes right after the last
 * segment below LINKEDIT, where every field of the image reaches it; the
 * rebuilt LINKEDIT moves if it is in the way (out.c place_linkedit). Small
 * images keep the old place, so their outputs do not change. */
uint64_t plan_alloc_vm(struct dsc_plan *p, uint64_t size)
{
    uint64_t span = dsc_align_up(size, p->page_size);
    uint64_t at = dsc_align_up(p->next_free_vmaddr, p->page_size);
    uint64_t low = dsc_align_up(p->next_free_low, p->page_size);
    if (at + span - p->base > INT32_MAX && low + span - p->base <= INT32_MAX)
        at = low;
    plan_note_vm(p, at, at + span);
    return at;
}

void plan_note_vm(struct dsc_plan *p, uint64_t start, uint64_t end)
{
    if (end > p->next_free_vmaddr)
        p->next_free_vmaddr = end;
    if (start < p->linkedit_vmaddr && end > p->next_free_low)
        p->next_free_low = end;
}

struct dsc_out_segment *plan_add_segment(struct dsc_plan *p, const char *name, uint64_t vmaddr, uint64_t vmsize,
                                         uint32_t prot)
{
    uint64_t end;
    if (strlen(name) > 16 || !dsc_add_ok(vmaddr, vmsize, &end)) {
        plan_fail(p, "cannot add segment %.16s", name);
        return NULL;
    }
    for (unsigned i = 0; i < p->nsegs; i++)
        if (vmaddr < p->segs[i].vmaddr + p->segs[i].vmsize && p->segs[i].vmaddr < end) {
            plan_fail(p, "added segment %s overlaps %s", name, p->segs[i].name);
            return NULL;
        }
    struct dsc_out_segment *grown = realloc(p->segs, (p->nsegs + 1) * sizeof *grown);
    if (!grown) {
        plan_oom(p);
        return NULL;
    }
    p->segs = grown;
    struct dsc_out_segment *s = &p->segs[p->nsegs];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->vmaddr = vmaddr;
    s->vmsize = s->filesize = vmsize;
    s->maxprot = s->initprot = prot;
    s->source = -1;
    if (p->copy_bytes && !(s->bytes = calloc(1, vmsize ? vmsize : 1))) {
        plan_oom(p);
        return NULL;
    }
    plan_note_vm(p, vmaddr, end);
    p->nsegs++;
    return s;
}

struct dsc_out_section *plan_add_section(struct dsc_plan *p, struct dsc_out_segment *seg, const char *sectname,
                                         uint64_t addr, uint64_t size, uint32_t align, uint32_t flags)
{
    if (strlen(sectname) > 16 || addr < seg->vmaddr || !dsc_range_ok(seg->vmsize, addr - seg->vmaddr, size)) {
        plan_fail(p, "section %.16s does not fit segment %s", sectname, seg->name);
        return NULL;
    }
    struct dsc_out_section *grown = realloc(seg->sects, (seg->nsects + 1) * sizeof *grown);
    if (!grown) {
        plan_oom(p);
        return NULL;
    }
    seg->sects = grown;
    struct dsc_out_section *x = &seg->sects[seg->nsects++];
    memset(x, 0, sizeof *x);
    snprintf(x->sectname, sizeof x->sectname, "%s", sectname);
    memcpy(x->segname, seg->name, sizeof x->segname);
    x->addr = addr;
    x->size = size;
    x->align = align;
    x->flags = flags;
    return x;
}

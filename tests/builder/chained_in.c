/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chained_in.c — inputs linked with chained fixups (ld64.lld's default:
 * LC_DYLD_CHAINED_FIXUPS and LC_DYLD_EXPORTS_TRIE, no LC_DYLD_INFO).
 *
 * The chains are read with libdsc's decoder (verify/fixup_decode.c, the
 * one codec of chained pointer words) and turned into what the rest of the
 * builder reads from an opcode-linked input: every slot holds its plain
 * value (a rebase its target address, a bind 0) and rebase/bind opcode
 * streams are appended to the input's bytes in memory, so fixups.c,
 * objc.c and dsccheck see one model. The cached image keeps neither the
 * chains nor opcodes: Apple's builder drops LC_DYLD_CHAINED_FIXUPS
 * (dyld-1284.13 NewAdjustDylibSegments) and loadcmds.c does too.
 */
#include "bld.h"
#include "verify/fixup_decode.h"

#include <stdlib.h>
#include <string.h>

struct conv {
    struct image *img;
    const struct dsc_macho *mo;
    uint8_t *bytes;             /* the input's bytes, written in place */
    struct buf rebase, bind;
};

static unsigned segment_of(const struct conv *v, uint64_t addr, uint64_t *off)
{
    for (unsigned i = 0; i < v->mo->nsegs && i < 16; i++) {
        const struct dsc_segment *s = &v->mo->segs[i];
        if (addr - s->vmaddr < s->filesize) {
            *off = addr - s->vmaddr;
            return i;
        }
    }
    die("%s: chained fixup at 0x%llx is in no segment with file bytes (or beyond segment 15)", v->img->in_path,
        (unsigned long long)addr);
}

static void put_sleb(struct buf *b, int64_t v)
{
    bool more = true;
    while (more) {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        more = !((v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40)));
        buf_u8(b, byte | (more ? 0x80 : 0));
    }
}

static int on_fixup(void *ctx, const struct dsc_decoded_fixup *d)
{
    struct conv *v = ctx;
    uint64_t off;
    unsigned segi = segment_of(v, d->f.address, &off);
    uint8_t *slot = v->bytes + v->mo->segs[segi].fileoff + off;
    if (d->f.kind == DSC_FIXUP_REBASE) {
        dsc_put64(slot, d->f.target);
        buf_u8(&v->rebase, 0x20 | segi);   /* REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB */
        buf_uleb(&v->rebase, off);
        buf_u8(&v->rebase, 0x51);          /* REBASE_OPCODE_DO_REBASE_IMM_TIMES 1 */
        return 0;
    }
    dsc_put64(slot, 0);
    struct buf *b = &v->bind;
    if (d->lib_ordinal <= 0)
        buf_u8(b, 0x30 | (d->lib_ordinal & 0xf));  /* BIND_OPCODE_SET_DYLIB_SPECIAL_IMM */
    else if (d->lib_ordinal < 16)
        buf_u8(b, 0x10 | d->lib_ordinal);          /* BIND_OPCODE_SET_DYLIB_ORDINAL_IMM */
    else {
        buf_u8(b, 0x20);
        buf_uleb(b, (uint64_t)d->lib_ordinal);
    }
    buf_u8(b, 0x40 | (d->weak_import ? BIND_SYMBOL_FLAGS_WEAK_IMPORT : 0));
    buf_str(b, d->name);
    buf_u8(b, 0x51);                              /* BIND_OPCODE_SET_TYPE_IMM pointer */
    buf_u8(b, 0x60);                              /* BIND_OPCODE_SET_ADDEND_SLEB */
    put_sleb(b, d->f.addend);
    buf_u8(b, 0x70 | segi);                       /* BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB */
    buf_uleb(b, off);
    buf_u8(b, 0x90);                              /* BIND_OPCODE_DO_BIND */
    return 0;
}

void chained_input_convert(struct image *img)
{
    struct dsc_macho mo;
    dsc_error err;
    if (dsc_macho_read_file(img->file, img->in_path, &mo, &err))
        die("%s", err.msg);
    if (!mo.is64)
        die("%s: chained fixups of 32-bit inputs are not supported", img->in_path);
    struct conv v = {.img = img, .mo = &mo};
    size_t size = img->file.size;
    v.bytes = xmalloc(size);
    memcpy(v.bytes, img->file.data, size);
    buf_u8(&v.rebase, 0x11);                      /* REBASE_OPCODE_SET_TYPE_IMM pointer */
    if (dsc_fixups_decode_macho(&mo, img->in_path, on_fixup, &v, &err))
        die("%s", err.msg);
    buf_u8(&v.rebase, 0);
    buf_u8(&v.bind, 0);
    size_t rebase_off = dsc_align_up(size, 8), bind_off = rebase_off + v.rebase.len;
    uint8_t *all = xcalloc(1, bind_off + v.bind.len);
    memcpy(all, v.bytes, size);
    memcpy(all + rebase_off, v.rebase.data, v.rebase.len);
    memcpy(all + bind_off, v.bind.data, v.bind.len);
    free(v.bytes);
    dsc_macho_free(&mo);
    free((void *)img->file.data);
    img->file = (dsc_span){all, bind_off + v.bind.len};
    img->rebase_off = (uint32_t)rebase_off;
    img->rebase_size = (uint32_t)v.rebase.len;
    img->bind_off = (uint32_t)bind_off;
    img->bind_size = (uint32_t)v.bind.len;
    img->chained_in = true;
    buf_free(&v.rebase);
    buf_free(&v.bind);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bindinfo.c — bounded decoder for bind opcode streams. See bindinfo.h.
 */
#include "base/bindinfo.h"

enum {
    OP_DONE = 0x00,
    OP_SET_DYLIB_ORDINAL_IMM = 0x10,
    OP_SET_DYLIB_ORDINAL_ULEB = 0x20,
    OP_SET_DYLIB_SPECIAL_IMM = 0x30,
    OP_SET_SYMBOL_TRAILING_FLAGS_IMM = 0x40,
    OP_SET_TYPE_IMM = 0x50,
    OP_SET_ADDEND_SLEB = 0x60,
    OP_SET_SEGMENT_AND_OFFSET_ULEB = 0x70,
    OP_ADD_ADDR_ULEB = 0x80,
    OP_DO_BIND = 0x90,
    OP_DO_BIND_ADD_ADDR_ULEB = 0xA0,
    OP_DO_BIND_ADD_ADDR_IMM_SCALED = 0xB0,
    OP_DO_BIND_ULEB_TIMES_SKIPPING_ULEB = 0xC0,
};

struct bind_state {
    const struct dsc_bind_seg *segs;
    unsigned nsegs, ptr_size;
    int seg;                 /* -1 until set */
    uint64_t offset;         /* in the segment; may be anything until used */
    struct dsc_bind_rec rec;
    dsc_bind_fn fn;
    void *ctx;
    uint64_t budget;         /* binds left: pointer slots of the file bytes */
};

/* Bind at the current place, if it is a pointer slot inside its segment. */
static int do_bind(struct bind_state *st)
{
    if (st->seg < 0 || !st->rec.name)
        return -1;
    if (st->budget-- == 0)
        return -2;
    const struct dsc_bind_seg *s = &st->segs[st->seg];
    if (!dsc_range_ok(s->vmsize, st->offset, st->ptr_size))
        return -1;
    st->rec.address = s->vmaddr + st->offset;
    st->rec.segment = (unsigned)st->seg;
    int rc = st->fn(st->ctx, &st->rec);
    return rc ? rc : 0;
}

static int bad(dsc_error *err, const char *file, uint64_t at, const char *what)
{
    return dsc_fail(err, file, "bind opcodes at 0x%llx: %s", (unsigned long long)at, what);
}

int dsc_bind_walk(dsc_span stream, const struct dsc_bind_seg *segs, unsigned nsegs, unsigned ptr_size, bool lazy,
                  dsc_bind_fn fn, void *ctx, const char *file, dsc_error *err)
{
    struct bind_state st = {segs, nsegs, ptr_size, -1, 0, {0}, fn, ctx, 0};
    for (unsigned i = 0; i < nsegs; i++)
        st.budget += segs[i].filesize / ptr_size;
    uint64_t off = 0, v, skip;
    int64_t sv;
    st.rec.type = BIND_TYPE_POINTER;
    while (off < stream.size) {
        uint64_t at = off;
        uint8_t byte = stream.data[off++], imm = byte & 0x0F;
        int rc = 0;
        switch (byte & 0xF0) {
        case OP_DONE:
            if (!lazy)
                return 0;
            st.rec.entry_offset = off;
            break;
        case OP_SET_DYLIB_ORDINAL_IMM:
            st.rec.ordinal = imm;
            break;
        case OP_SET_DYLIB_ORDINAL_ULEB:
            if (!span_uleb(stream, &off, &v) || v > INT32_MAX)
                return bad(err, file, at, "bad dylib ordinal");
            st.rec.ordinal = (int)v;
            break;
        case OP_SET_DYLIB_SPECIAL_IMM:
            st.rec.ordinal = imm ? (int)(int8_t)(0xF0 | imm) : 0;
            break;
        case OP_SET_SYMBOL_TRAILING_FLAGS_IMM: {
            size_t len;
            if (!span_cstr(stream, off, stream.size - off, &st.rec.name, &len))
                return bad(err, file, at, "unterminated symbol name");
            off += len + 1;
            st.rec.flags = imm;
            break;
        }
        case OP_SET_TYPE_IMM:
            st.rec.type = imm;
            break;
        case OP_SET_ADDEND_SLEB:
            if (!span_sleb(stream, &off, &sv))
                return bad(err, file, at, "bad addend");
            st.rec.addend = sv;
            break;
        case OP_SET_SEGMENT_AND_OFFSET_ULEB:
            if (imm >= nsegs || !span_uleb(stream, &off, &st.offset))
                return bad(err, file, at, "bad segment or offset");
            st.seg = imm;
            break;
        case OP_ADD_ADDR_ULEB:
            if (!span_uleb(stream, &off, &v))
                return bad(err, file, at, "bad address delta");
            st.offset += v;
            break;
        case OP_DO_BIND:
            rc = do_bind(&st);
            st.offset += ptr_size;
            break;
        case OP_DO_BIND_ADD_ADDR_ULEB:
            if (!span_uleb(stream, &off, &v))
                return bad(err, file, at, "bad address delta");
            rc = do_bind(&st);
            st.offset += ptr_size + v;
            break;
        case OP_DO_BIND_ADD_ADDR_IMM_SCALED:
            rc = do_bind(&st);
            st.offset += ptr_size + (uint64_t)imm * ptr_size;
            break;
        case OP_DO_BIND_ULEB_TIMES_SKIPPING_ULEB:
            if (!span_uleb(stream, &off, &v) || !span_uleb(stream, &off, &skip))
                return bad(err, file, at, "bad repeat");
            /* Each bind must land in the segment, so v is bounded by it. */
            for (uint64_t i = 0; i < v && rc == 0; i++) {
                rc = do_bind(&st);
                st.offset += ptr_size + skip;
            }
            break;
        default:
            return bad(err, file, at, "unsupported opcode");
        }
        if (rc == -1)
            return bad(err, file, at, "bind outside its segment or without a symbol");
        if (rc == -2)
            return bad(err, file, at, "more binds than the segments have pointer slots");
        if (rc)
            return rc;
    }
    return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * postlink.c — the post-link steps' shared file handling (postlink.h).
 */
#include "postlink.h"

#include <stdlib.h>
#include <string.h>

static const char *tool_name = "postlink", *file_path = "";

void postlink_fail(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", tool_name, file_path, what);
    exit(1);
}

void postlink_open(struct postlink *pl, const char *tool, const char *path)
{
    tool_name = tool;
    file_path = path;
    memset(pl, 0, sizeof *pl);
    pl->f = fopen(path, "r+b");
    if (!pl->f || fseek(pl->f, 0, SEEK_END))
        postlink_fail("cannot open");
    long n = ftell(pl->f);
    pl->file = n > 0 ? malloc((size_t)n) : NULL;
    if (!pl->file || fseek(pl->f, 0, SEEK_SET) || fread(pl->file, 1, (size_t)n, pl->f) != (size_t)n)
        postlink_fail("cannot read");
    pl->size = (uint64_t)n;
    dsc_error err;
    if (dsc_macho_read_file((dsc_span){pl->file, pl->size}, path, &pl->mo, &err))
        postlink_fail(err.msg);
}

void postlink_close(struct postlink *pl, const uint8_t *out, uint64_t size)
{
    if (fseek(pl->f, 0, SEEK_SET) || fwrite(out, 1, size, pl->f) != size || fclose(pl->f))
        postlink_fail("cannot write");
    dsc_macho_free(&pl->mo);
    free(pl->file);
}

struct dsc_codesign postlink_signer(const struct dsc_macho *mo, uint64_t code_limit)
{
    const struct dsc_segment *text = dsc_macho_segment(mo, "__TEXT");
    const char *leaf = strrchr(mo->install_name ? mo->install_name : "", '/');
    if (!text)
        postlink_fail("no __TEXT segment");
    return (struct dsc_codesign){leaf ? leaf + 1 : file_path, code_limit, text->fileoff,
                                 text->fileoff + text->filesize, 0};
}

void postlink_seal(uint8_t *out, const struct dsc_macho *mo, uint64_t total, const struct dsc_lc *sig,
                   const struct dsc_codesign *cs)
{
    const struct dsc_segment *le = dsc_macho_segment(mo, "__LINKEDIT");
    if (!le)
        postlink_fail("no __LINKEDIT segment");
    uint8_t *seg = out + mo->header_size + le->cmd_offset;
    dsc_put64(seg + 48, total - le->fileoff);                               /* filesize */
    dsc_put64(seg + 32, (total - le->fileoff + 0x3fff) & ~(uint64_t)0x3fff); /* vmsize */
    if (!sig)
        return;
    uint8_t *c = out + mo->header_size + sig->offset;
    dsc_put32(c + LINKEDIT_DATAOFF, (uint32_t)cs->code_limit);
    dsc_put32(c + LINKEDIT_DATASIZE, (uint32_t)dsc_codesign_size(cs));
    dsc_codesign_write(cs, out, out + cs->code_limit);
}

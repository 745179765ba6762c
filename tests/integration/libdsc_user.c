/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libdsc_user.c — a program outside the project using the installed libdsc
 * the way a user would: only <dsc/dsc.h>, built with `pkg-config --cflags
 * --libs dsc` (tests/integration/installed.sh). Opens CACHE, prints the
 * image count and the path of image 0, extracts IMAGE (an install path)
 * into OUT. Exit 0 on success, 1 with libdsc's one-line message otherwise.
 */
#include <dsc/dsc.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    dsc_cache *cache;
    dsc_error err;
    dsc_output out = {.struct_size = sizeof out};

    if (argc != 4) {
        fprintf(stderr, "usage: libdsc_user CACHE IMAGE OUT\n");
        return 2;
    }
    if (dsc_cache_open(argv[1], &cache, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const dsc_cache_info *info = dsc_cache_get_info(cache);
    printf("%s %u images, first %s\n", info->arch_name, info->image_count,
           dsc_cache_get_image(cache, 0)->path);
    int64_t i = dsc_cache_find_image(cache, argv[2]);
    int rc = 1;
    if (i < 0)
        fprintf(stderr, "%s: no image %s\n", argv[1], argv[2]);
    else if (dsc_extract(cache, (uint32_t)i, &out, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    else {
        FILE *f = fopen(argv[3], "wb");
        rc = f && fwrite(out.data, 1, out.size, f) == out.size && fclose(f) == 0 ? 0 : 1;
        dsc_output_free(&out);
    }
    dsc_cache_close(cache);
    return rc;
}

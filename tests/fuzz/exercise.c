/* SPDX-License-Identifier: BSD-2-Clause */
/* exercise.c — see exercise.h. */
#include "exercise.h"

#include <stdlib.h>

#include "cache/macho.h"

void exercise_cache(const dsc_cache *c)
{
    const dsc_cache_info *in = dsc_cache_get_info(c);
    for (uint32_t i = 0; i < in->alias_count; i++)
        (void)dsc_cache_find_image(c, dsc_cache_get_alias(c, i)->path);
    for (uint32_t i = 0; i < in->image_count; i++) {
        struct dsc_macho mo;
        dsc_error err;
        (void)dsc_cache_find_image(c, dsc_cache_get_image(c, i)->path);
        if (dsc_macho_parse(c, i, &mo, &err) == 0)
            dsc_macho_free(&mo);
        /* Extraction and the size plan must agree whenever both succeed. */
        uint64_t planned;
        dsc_output out = {.struct_size = sizeof out};
        int size_rc = dsc_extract_size(c, i, &planned, &err);
        if (dsc_extract(c, i, &out, &err) == 0) {
            if (size_rc == 0 && planned != out.size)
                abort();
            /* The output reader on what the extractor wrote. */
            dsc_verify_report rep = {.size = sizeof rep};
            (void)dsc_verify_output(c, i, out.data, out.size, &rep, &err);
            dsc_output_free(&out);
        }
    }
}

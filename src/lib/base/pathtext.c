/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pathtext.c — install paths as text: the one escaping used wherever a
 * path from the cache reaches a message or a log line. See dsc.h.
 *
 * A cache is hostile: an install path may hold a newline that would forge
 * a log line, or a tab that would split a /.dscfs/status record.
 */
#include "dsc/dsc.h"

#include <stdio.h>

char *dsc_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (!cap)
        return out;
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = c >= 0x20 && c != 0x7f && c != '\\';
        if (n + (plain ? 1 : 4) >= cap)
            break; /* cut short, never split an escape */
        if (plain)
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
    }
    out[n] = 0;
    return out;
}

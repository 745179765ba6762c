/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pathtext.c — install paths as text: the one escaping used wherever a
 * path from the cache reaches a message or a log line, and the one rule
 * for which paths the fronts serve (the mount's tree and --extract-all's
 * output directory). See dsc.h.
 *
 * A cache is hostile: an install path may hold a newline that would forge
 * a log line, a tab that would split a /.dscfs/status record, or "..".
 */
#include "dsc/dsc.h"

#include <stdio.h>
#include <string.h>

char *dsc_path_escape(char *out, size_t cap, const char *s)
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

bool dsc_path_servable(const char *path)
{
    if (!path || path[0] != '/')
        return false;
    bool any = false;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++; /* empty components are ignored */
        size_t len = strcspn(p, "/");
        if (!len)
            break;
        if (len > DSC_NAME_MAX || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        any = true;
        p += len;
    }
    return any;
}

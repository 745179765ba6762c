/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * info.c — `dscfs --info CACHE [--json] [-q|-v]`: the header summary,
 * shaped like `ipsw dyld info` (-q: without the files and mappings tables;
 * -v: with a table of the images), or the same facts as one JSON object.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "json.h"

static const char *prot_string(uint32_t p, char out[4])
{
    out[0] = p & 1 ? 'r' : '-';
    out[1] = p & 2 ? 'w' : '-';
    out[2] = p & 4 ? 'x' : '-';
    out[3] = 0;
    return out;
}

static const char *cache_type_name(const dsc_cache_info *in)
{
    if (!in->has_cache_type)
        return "(not in header)";
    switch (in->cache_type) {
    case 0: return "development";
    case 1: return "production";
    case 2: return "universal";
    default: return "unknown";
    }
}

static const char *role_name(enum dsc_file_role r)
{
    return r == DSC_FILE_MAIN ? "main" : r == DSC_FILE_SUBCACHE ? "subcache" : "symbols";
}

static void os_version(uint32_t v, char out[16])
{
    snprintf(out, 16, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
}

void cli_print_image(const dsc_cache *c, uint32_t i)
{
    const dsc_image *im = dsc_cache_get_image(c, i);
    char uuid[37] = "-";
    if (im->has_uuid)
        dsc_uuid_format(im->uuid, uuid);
    printf("0x%" PRIx64 "\t%s\t%s\n", im->address, uuid, im->path);
}

/* The files and mappings tables of the text. */
static void info_tables(dsc_cache *c)
{
    const dsc_cache_info *in = dsc_cache_get_info(c);
    char uuid[37], prot1[4], prot2[4];
    printf("\nFiles:\n");
    for (unsigned i = 0; i < in->file_count; i++) {
        const dsc_file_info *f = dsc_cache_get_file(c, i);
        dsc_uuid_format(f->uuid, uuid);
        printf("  %-8s %s  vmoff=0x%-10" PRIx64 " size=0x%-10" PRIx64 " %s\n", role_name(f->role), uuid,
               f->vm_offset, f->size, f->path);
    }

    printf("\nMappings:\n");
    printf("  %-18s %-4s %-4s %-12s %-20s %-12s %-6s %s\n", "SEG", "INIT", "MAX", "SIZE", "ADDRESS",
           "FILE OFFSET", "SLIDE", "FILE");
    for (unsigned i = 0; i < in->mapping_count; i++) {
        const dsc_mapping_info *m = dsc_cache_get_mapping(c, i);
        char slide[16];
        if (m->slide_version)
            snprintf(slide, sizeof slide, "v%u", m->slide_version);
        else
            snprintf(slide, sizeof slide, "-");
        printf("  %-18s %-4s %-4s 0x%-10" PRIx64 " 0x%-18" PRIx64 " 0x%-10" PRIx64 " %-6s %u\n", m->name,
               prot_string(m->init_prot, prot1), prot_string(m->max_prot, prot2), m->size, m->address,
               m->file_offset, slide, m->file);
    }
}

static void info_text(dsc_cache *c, int flags)
{
    const dsc_cache_info *in = dsc_cache_get_info(c);
    char uuid[37], version[16];

    printf("Magic         = \"dyld_v1 %s\"\n", in->arch_name);
    printf("Arch          = %s (%d-bit pointers)\n", in->arch_name, in->is64 ? 64 : 32);
    if (in->has_uuid) {
        dsc_uuid_format(in->uuid, uuid);
        printf("UUID          = %s\n", uuid);
    }
    if (in->platform)
        printf("Platform      = %s\n", dsc_platform_name(in->platform));
    if (in->os_version) {
        os_version(in->os_version, version);
        printf("OS Version    = %s\n", version);
    }
    printf("Cache Type    = %s\n", cache_type_name(in));
    printf("Header Size   = 0x%x\n", in->header_size);
    printf("Base Address  = 0x%" PRIx64 "\n", in->base_address);
    if (in->shared_region_size)
        printf("Region Size   = 0x%" PRIx64 "\n", in->shared_region_size);
    printf("Images        = %u\n", in->image_count);
    printf("Aliases       = %u\n", in->alias_count);
    if (in->has_symbols_file) {
        dsc_uuid_format(in->symbol_file_uuid, uuid);
        printf("Symbols UUID  = %s\n", uuid);
    }
    if (!(flags & CLI_QUIET))
        info_tables(c);
    if (flags & CLI_VERBOSE) {
        printf("\nImages (address, UUID, path):\n");
        for (uint32_t i = 0; i < in->image_count; i++)
            cli_print_image(c, i);
    }
    if (in->warning)
        printf("\nWarning: %s\n", in->warning);
}

/* The same facts as info_text, as one JSON object (dscfs(1) --json);
 * numbers are numbers, absent facts null. */
static void info_json(dsc_cache *c)
{
    const dsc_cache_info *in = dsc_cache_get_info(c);
    char uuid[37], prot[4], version[16];
    json j;
    json_init(&j, stdout);
    json_open_object(&j, NULL);
    json_text(&j, "arch", in->arch_name);
    json_uint(&j, "pointer_bits", in->is64 ? 64 : 32);
    dsc_uuid_format(in->uuid, uuid);
    json_text(&j, "uuid", in->has_uuid ? uuid : NULL);
    json_text(&j, "platform", in->platform ? dsc_platform_name(in->platform) : NULL);
    os_version(in->os_version, version);
    json_text(&j, "os_version", in->os_version ? version : NULL);
    json_text(&j, "cache_type", in->has_cache_type ? cache_type_name(in) : NULL);
    json_uint(&j, "header_size", in->header_size);
    json_uint(&j, "base_address", in->base_address);
    json_uint(&j, "shared_region_size", in->shared_region_size);
    json_uint(&j, "images", in->image_count);
    json_uint(&j, "aliases", in->alias_count);
    dsc_uuid_format(in->symbol_file_uuid, uuid);
    json_text(&j, "symbols_uuid", in->has_symbols_file ? uuid : NULL);
    json_open_array(&j, "files");
    for (unsigned i = 0; i < in->file_count; i++) {
        const dsc_file_info *f = dsc_cache_get_file(c, i);
        json_open_object(&j, NULL);
        dsc_uuid_format(f->uuid, uuid);
        json_text(&j, "role", role_name(f->role));
        json_text(&j, "uuid", uuid);
        json_uint(&j, "vm_offset", f->vm_offset);
        json_uint(&j, "size", f->size);
        json_path(&j, "path", f->path);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_open_array(&j, "mappings");
    for (unsigned i = 0; i < in->mapping_count; i++) {
        const dsc_mapping_info *m = dsc_cache_get_mapping(c, i);
        json_open_object(&j, NULL);
        json_text(&j, "name", m->name);
        json_text(&j, "init_prot", prot_string(m->init_prot, prot));
        json_text(&j, "max_prot", prot_string(m->max_prot, prot));
        json_uint(&j, "size", m->size);
        json_uint(&j, "address", m->address);
        json_uint(&j, "file_offset", m->file_offset);
        if (m->slide_version)
            json_uint(&j, "slide_version", m->slide_version);
        else
            json_null(&j, "slide_version");
        json_uint(&j, "file", m->file);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_text(&j, "warning", in->warning);
    json_close_object(&j);
    json_end(&j);
}

int cli_verb_info(int argc, char **argv) { return cli_print_verb(argc, argv, "--info", info_json, info_text); }

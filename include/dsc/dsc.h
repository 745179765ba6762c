/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dsc.h — public API of libdsc, the dyld shared cache extraction engine.
 *
 * Contract:
 *  - A cache set (main file, subcaches, .symbols) is opened once, read-only,
 *    and is immutable afterwards: every function taking a `const dsc_cache *`
 *    is safe to call from any number of threads at once.
 *  - Nothing here aborts on bad input. Functions that can fail return 0 on
 *    success and -1 on failure, and fill `err` (which may be NULL) with a
 *    dsc_errcode and one line naming the file and what is wrong.
 *  - Names: dsc_<object>_<verb>. What an open cache holds is read with
 *    dsc_cache_get_<noun>(cache[, index]) and looked up with
 *    dsc_cache_find_<noun>(cache, key); dsc_<type>_name/_format render a
 *    value as text.
 *  - No FUSE, no global state, no output on stdout/stderr.
 *  - Addresses are unslid VM addresses as stored in the cache.
 */
#ifndef DSC_DSC_H
#define DSC_DSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; dsc_version() gives the library's. */
#define DSC_VERSION_MAJOR 0
#define DSC_VERSION_MINOR 1
#define DSC_VERSION_PATCH 0

/* "MAJOR.MINOR.PATCH" of the library linked in (static storage). */
const char *dsc_version(void);

#define DSC_ERROR_MAX 512

/* What kind of failure an error is. */
enum dsc_errcode {
    DSC_OK = 0,
    DSC_ERR_INPUT,    /* a file of the cache set (or an output read back) is
                         malformed, or of a kind not supported */
    DSC_ERR_SYSTEM,   /* the system refused (open, stat, mmap); msg says why */
    DSC_ERR_NOMEM,    /* an allocation failed */
    DSC_ERR_ARGUMENT, /* the caller passed something out of range */
};

typedef struct dsc_error {
    enum dsc_errcode code;      /* DSC_OK until a failure fills it */
    char msg[DSC_ERROR_MAX];    /* one line, NUL-terminated */
} dsc_error;

typedef struct dsc_cache dsc_cache;

enum dsc_arch {
    DSC_ARCH_UNKNOWN = 0,
    DSC_ARCH_I386,
    DSC_ARCH_X86_64,
    DSC_ARCH_X86_64H,
    DSC_ARCH_ARMV5,
    DSC_ARCH_ARMV6,
    DSC_ARCH_ARMV7,
    DSC_ARCH_ARMV7F,
    DSC_ARCH_ARMV7S,
    DSC_ARCH_ARMV7K,
    DSC_ARCH_ARM64,
    DSC_ARCH_ARM64E,
    DSC_ARCH_ARM64_32,
};

enum dsc_file_role {
    DSC_FILE_MAIN = 0,
    DSC_FILE_SUBCACHE,
    DSC_FILE_SYMBOLS,
};

/* One file of the set. */
typedef struct dsc_file_info {
    const char *path;
    enum dsc_file_role role;
    uint64_t size;
    uint8_t uuid[16];
    uint64_t vm_offset; /* subcache base - cache base (0 for main/.symbols) */
} dsc_file_info;

/* Mapping flags (dyld_cache_mapping_and_slide_info.flags). */
#define DSC_MAPPING_AUTH_DATA      (1u << 0)
#define DSC_MAPPING_DIRTY_DATA     (1u << 1)
#define DSC_MAPPING_CONST_DATA     (1u << 2)
#define DSC_MAPPING_TEXT_STUBS     (1u << 3)
#define DSC_MAPPING_DYNAMIC_CONFIG (1u << 4)
#define DSC_MAPPING_READ_ONLY_DATA (1u << 5)
#define DSC_MAPPING_CONST_TPRO     (1u << 6)

/* One mapping of one file of the set. */
typedef struct dsc_mapping_info {
    uint64_t address;
    uint64_t size;
    uint64_t file_offset;
    uint32_t max_prot; /* R=1 W=2 X=4 */
    uint32_t init_prot;
    uint64_t flags;             /* DSC_MAPPING_* */
    uint32_t slide_version;     /* 0 when the mapping has no slide info */
    uint64_t slide_offset;      /* in the mapping's own file */
    uint64_t slide_size;
    unsigned file;              /* index into dsc_cache_get_file() */
    const char *name;           /* dyld's name for it: __TEXT, __AUTH_CONST, ... */
} dsc_mapping_info;

/* Header summary of the main file. */
typedef struct dsc_cache_info {
    enum dsc_arch arch;
    const char *arch_name;  /* from the magic: "arm64e", "x86_64", ... */
    bool is64;              /* pointer size 8 */
    uint32_t header_size;   /* mappingOffset */
    uint8_t uuid[16];
    bool has_uuid;
    uint32_t platform;      /* PLATFORM_* or 0 when the header predates it */
    uint32_t os_version;    /* major<<16 | minor<<8 | patch, 0 if absent */
    uint64_t cache_type;    /* 0 development, 1 production, 2 universal */
    bool has_cache_type;
    uint64_t base_address;  /* mappings[0].address */
    uint64_t shared_region_size;
    uint32_t image_count;
    uint32_t alias_count;
    uint32_t file_count;
    uint32_t mapping_count; /* over all files */
    uint8_t symbol_file_uuid[16];
    bool has_symbols_file;  /* header names one (it may be missing: see warning) */
    const char *warning;    /* non-fatal problem found at open, or NULL */
} dsc_cache_info;

typedef struct dsc_image {
    uint32_t index;
    const char *path;       /* install path as the image table names it */
    uint64_t address;       /* unslid address of its mach_header */
    uint8_t uuid[16];
    bool has_uuid;          /* from the images-text table */
} dsc_image;

/* A second path under which an image is known. */
typedef struct dsc_alias {
    const char *path;
    uint32_t image;
} dsc_alias;

/* ---- the cache set ---- */

/* Open the main cache file at `path` and everything that belongs to it. */
int dsc_cache_open(const char *path, dsc_cache **out, dsc_error *err);
void dsc_cache_close(dsc_cache *cache);

/* Accessors return NULL for an index out of range. */
const dsc_cache_info *dsc_cache_get_info(const dsc_cache *cache);
const dsc_file_info *dsc_cache_get_file(const dsc_cache *cache, unsigned i);
const dsc_mapping_info *dsc_cache_get_mapping(const dsc_cache *cache, unsigned i);

/* True while every file of the set still has the size and mtime it had at
 * open; a daemon checks this before touching mapped bytes again. */
bool dsc_cache_unchanged(const dsc_cache *cache);

/* Let go of this process's mappings of the cache files' pages: they stay in
 * the page cache and fault back in on the next read. Bounds the resident
 * size of a walk over a large cache (--extract-all calls it every few
 * hundred MB of output); safe while other threads read the cache. */
void dsc_cache_release_pages(const dsc_cache *cache);

/* Parsed export tries (what binds and symbol names are resolved through)
 * stay in memory between extractions, the least recently used freed while
 * they exceed `bytes` (32 MiB unless set); tries in use are never freed.
 * A long-lived user that states a memory bound counts these bytes in it. */
void dsc_cache_set_export_budget(const dsc_cache *cache, size_t bytes);
/* Bytes of parsed export tries in memory now. */
size_t dsc_cache_get_export_memory(const dsc_cache *cache);
/* How much work between two releases in a long walk: bytes of output (or
 * of sized images). Without releases the whole mapped cache ends up
 * resident (1.4 GB for 1.3 GB of cache in make bench). */
#define DSC_RELEASE_EVERY ((uint64_t)128 << 20)

/* After a call into the engine on this thread was cut short by a longjmp
 * out of a signal handler (a SIGBUS on a cache truncated under it), release
 * what that call left pinned in the cache's shared state (the export sets
 * its symbol lookups held). No lock is ever held across mapped-byte reads,
 * so none is left locked; the call's other allocations are lost. */
void dsc_thread_recover(void);

const char *dsc_arch_name(enum dsc_arch arch);
const char *dsc_platform_name(uint32_t platform);
/* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" and a NUL into out. */
void dsc_uuid_format(const uint8_t uuid[16], char out[37]);

/* ---- images ---- */

const dsc_image *dsc_cache_get_image(const dsc_cache *cache, uint32_t i);
const dsc_alias *dsc_cache_get_alias(const dsc_cache *cache, uint32_t i);
/* Index of the image known by `path` (install path or alias), or -1. */
int64_t dsc_cache_find_image(const dsc_cache *cache, const char *path);

/* ---- extraction ---- */

/* What an extraction counted: dsc_output's last member, where the output
 * grows (see dsc_output). */
typedef struct dsc_extract_stats {
    uint64_t rebases;          /* in-image pointers given rebase info */
    uint64_t binds;            /* pointers turned back into binds */
    uint64_t unbound_pointers; /* pointers leaving the image without a bind */
    uint64_t local_symbols;    /* locals restored from the cache's local symbols */
    uint64_t stubs_fixed;
    uint64_t selectors_fixed;
    /* New fields go here, after every existing one (see dsc_output). */
} dsc_extract_stats;

/* An extracted image. Extensible like dsc_verify_report: the caller sets
 * `struct_size` to sizeof (dsc_output) as its header declares it before
 * every dsc_extract / dsc_extract_with, e.g.
 *     dsc_output out = {.struct_size = sizeof out};
 * and the library writes no byte past it (dsc_output_free keeps it, so the
 * struct can be used again). New fields are only ever appended to `stats`,
 * which stays the last member, so a program built against an older header
 * gets the fields it knows, and one built against a newer header than the
 * library gets its extra fields zeroed. A `struct_size` smaller than this
 * first version is refused (DSC_ERR_ARGUMENT), and then, as after every
 * failure, `data` and `warnings` are NULL: dsc_output_free is always safe. */
typedef struct dsc_output {
    uint32_t struct_size;     /* set by the caller: sizeof (dsc_output) */
    uint8_t *data;            /* malloc'ed; release with dsc_output_free */
    size_t size;              /* bytes at data */
    char *warnings;           /* newline-separated, malloc'ed, or NULL */
    dsc_extract_stats stats;  /* last: new fields go at its end */
} dsc_output;

/* Extract image `image` into a standalone Mach-O file (into `out`,
 * out->struct_size set), ad-hoc code signed as Apple's linker signs what
 * it links (Apple-silicon Macs run no unsigned code): LC_CODE_SIGNATURE
 * and the signature end __LINKEDIT. */
int dsc_extract(const dsc_cache *cache, uint32_t image, dsc_output *out, dsc_error *err);
/* The exact size dsc_extract would produce, computed without building the
 * file (a directory listing must not extract every image). */
int dsc_extract_size(const dsc_cache *cache, uint32_t image, uint64_t *size, dsc_error *err);

/* Flags of the _with forms; dsc_extract and dsc_extract_size pass 0. */
#define DSC_EXTRACT_UNSIGNED (1u << 0) /* no code signature, no LC_CODE_SIGNATURE */
int dsc_extract_with(const dsc_cache *cache, uint32_t image, unsigned flags, dsc_output *out, dsc_error *err);
int dsc_extract_size_with(const dsc_cache *cache, uint32_t image, unsigned flags, uint64_t *size, dsc_error *err);
void dsc_output_free(dsc_output *out);

/* ---- verification: re-parse an extracted image ---- */

/* What an extracted image still gets wrong, counted on the output bytes.
 * Each *_bad / *_outside count is 0 for a perfect extraction. A group of
 * fields whose check did not run stays 0 and its `checked` bit is clear.
 *
 * Extensible: the caller sets `size` to sizeof (dsc_verify_report) as its
 * header declares it before every call, e.g.
 *     dsc_verify_report rep = {.size = sizeof rep};
 * and the library writes no byte past `size`. New fields are only ever
 * appended, so a program built against an older header gets the fields it
 * knows, and one built against a newer header than the library gets its
 * extra fields zeroed (with their `checked` bit clear). A `size` smaller
 * than this first version of the struct is refused (DSC_ERR_ARGUMENT). */
#define DSC_VERIFY_BINDS (1u << 0)
#define DSC_VERIFY_STUBS (1u << 1)
#define DSC_VERIFY_OBJC  (1u << 2)
#define DSC_VERIFY_RELREFS (1u << 3)

typedef struct dsc_verify_report {
    uint32_t size;                    /* set by the caller: sizeof (dsc_verify_report) */
    uint32_t image;
    uint32_t checked;                 /* DSC_VERIFY_* that ran */
    /* binds */
    uint64_t pointers;                /* pointer slots in data segments */
    uint64_t binds;                   /* bind fixups found */
    uint64_t pointers_outside;        /* slots targeting outside the image with no bind */
    uint64_t binds_unknown_symbol;    /* binds no dependency of the image exports */
    /* stubs */
    uint64_t stubs;                   /* stubs in symbol-stub sections */
    uint64_t stubs_bad_slot;          /* slot outside the image, not bound, or not the stub's symbol */
    uint64_t branches_outside;        /* B/BL in code leaving the image (not via its stubs) */
    uint64_t code_refs_outside;       /* ADRP+ADD/LDR pairs addressing outside the image (foreign GOTs, strings) */
    uint64_t sel_loads_outside;       /* ...of them, ADRP+ADD and ADR of a selector string outside the image
                                         (a selector load the extraction did not restore) */
    /* Objective-C */
    uint64_t selrefs;                 /* selector references */
    uint64_t selrefs_outside;         /* selector refs not pointing at the image's own strings */
    uint64_t method_names_outside;    /* method-list names not in the image's own strings */
    uint64_t objc_other_outside;      /* class/protocol/ivar/property names, types, protocol refs outside,
                                         libobjc's __objc_opt_ro offsets to the cache's tables;
                                         +1 when the file's ObjC metadata cannot be walked */
    /* Swift 32-bit relative references (__TEXT,__const, __swift5_*) */
    uint64_t relrefs;                 /* references to pointer slots, and entries of the lists */
    uint64_t relrefs_outside;         /* ... naming a pointer slot outside every image (a coalesced
                                         GOT), or a list entry (__swift5_proto/types/protos)
                                         leaving the image */
    /* New fields go here, after every existing one (see `size`). */
} dsc_verify_report;

/* Extract `image`, re-parse the result, and fill `rep` (rep->size set). */
int dsc_verify(const dsc_cache *cache, uint32_t image, dsc_verify_report *rep, dsc_error *err);
/* The same judgement of `size` bytes given as the extraction of `image`
 * (any bytes at all: the output reader's fuzz target feeds it). */
int dsc_verify_output(const dsc_cache *cache, uint32_t image, const uint8_t *data, size_t size,
                      dsc_verify_report *rep, dsc_error *err);

/* ---- install paths as text ---- */

/* The longest path component a front serves (Linux NAME_MAX). */
#define DSC_NAME_MAX 255
/* Room for dsc_path_escape of `n` bytes of text. */
#define DSC_ESCAPED_SIZE(n) (4 * (size_t)(n) + 1)

/* `s` copied into `out` (at most `cap` bytes with the NUL; cut short, never
 * in the middle of an escape) with control bytes, DEL and '\\' written as
 * \xHH: the one escaping for a path from the cache in any message or log
 * line, so that it can neither forge nor split one. Returns `out`. */
char *dsc_path_escape(char *out, size_t cap, const char *s);

/* The one rule for install paths the fronts serve, the mount and
 * --extract-all alike: absolute, at least one component, no component "."
 * or ".." or longer than DSC_NAME_MAX bytes (empty ones, from "//", are
 * ignored). */
bool dsc_path_servable(const char *path);

#ifdef __cplusplus
}
#endif
#endif

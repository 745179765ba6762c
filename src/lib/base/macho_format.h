/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * macho_format.h — the Mach-O constants and record layouts the engine reads
 * and writes, each written down once. Values and field offsets are those of
 * Apple's <mach-o/loader.h> and <mach-o/nlist.h> (the SDK headers, also in
 * xnu's EXTERNAL_HEADERS/mach-o); every record is little-endian and packed,
 * and offsets are in bytes from the start of the record.
 *
 * Only facts live here: no code, no includes beyond what the macros need.
 * The builder (tests/builder) includes this file too, so the writer of the
 * test caches and the reader of them agree by construction.
 */
#ifndef DSC_MACHO_FORMAT_H
#define DSC_MACHO_FORMAT_H

/* ---- mach_header / mach_header_64 ---- */
#define MH_MAGIC 0xfeedfaceu
#define MH_MAGIC_64 0xfeedfacfu
#define MH_EXECUTE 2u
#define MH_DYLIB 6u
#define MH_DYLIB_IN_CACHE 0x80000000u     /* flags: an image inside a dyld cache */
#define MH_HAS_TLV_DESCRIPTORS 0x800000u  /* flags: S_THREAD_LOCAL_VARIABLES sections */
#define MH_HEADER_SIZE 28u                /* mach_header */
#define MH_HEADER_SIZE_64 32u             /* mach_header_64 (one reserved word more) */
#define MH_CPUTYPE 4u
#define MH_CPUSUBTYPE 8u
#define MH_FILETYPE 12u
#define MH_NCMDS 16u
#define MH_SIZEOFCMDS 20u
#define MH_FLAGS 24u

#define CPU_TYPE_ARM64 0x0100000Cu
#define CPU_TYPE_X86_64 0x01000007u

/* ---- load command numbers ---- */
#define LC_REQ_DYLD 0x80000000u
#define LC_SEGMENT 0x1u
#define LC_SYMTAB 0x2u
#define LC_DYSYMTAB 0xbu
#define LC_LOAD_DYLIB 0xcu
#define LC_ID_DYLIB 0xdu
#define LC_TWOLEVEL_HINTS 0x16u
#define LC_LOAD_WEAK_DYLIB (0x18u | LC_REQ_DYLD)
#define LC_SEGMENT_64 0x19u
#define LC_UUID 0x1bu
#define LC_RPATH (0x1cu | LC_REQ_DYLD)
#define LC_CODE_SIGNATURE 0x1du
#define LC_SEGMENT_SPLIT_INFO 0x1eu
#define LC_REEXPORT_DYLIB (0x1fu | LC_REQ_DYLD)
#define LC_LAZY_LOAD_DYLIB 0x20u
#define LC_ENCRYPTION_INFO 0x21u
#define LC_DYLD_INFO 0x22u
#define LC_DYLD_INFO_ONLY (0x22u | LC_REQ_DYLD)
#define LC_LOAD_UPWARD_DYLIB (0x23u | LC_REQ_DYLD)
#define LC_FUNCTION_STARTS 0x26u
#define LC_DATA_IN_CODE 0x29u
#define LC_DYLIB_CODE_SIGN_DRS 0x2bu
#define LC_ENCRYPTION_INFO_64 0x2cu
#define LC_LINKER_OPTIMIZATION_HINT 0x2eu
#define LC_NOTE 0x31u
#define LC_DYLD_EXPORTS_TRIE (0x33u | LC_REQ_DYLD)
#define LC_DYLD_CHAINED_FIXUPS (0x34u | LC_REQ_DYLD)
#define LC_ATOM_INFO 0x36u
#define LC_FUNCTION_VARIANTS 0x37u
#define LC_FUNCTION_VARIANT_FIXUPS 0x38u

/* Every load command starts with cmd (u32) and cmdsize (u32). */
#define LC_HEADER_SIZE 8u

/* ---- segment_command / segment_command_64, and their sections ---- */
#define SEG_SIZE 56u
#define SEG_SIZE_64 72u
#define SEG_SEGNAME 8u                    /* char[16] in both */
#define SEG_VMADDR 24u                    /* then vmsize, fileoff, filesize: */
                                          /* u32 each (32-bit), u64 each (64-bit) */
#define SEG_MAXPROT 40u                   /* then initprot, nsects, flags (u32) */
#define SEG_MAXPROT_64 56u
#define SECT_SIZE 68u
#define SECT_SIZE_64 80u
#define SECT_SECTNAME 0u                  /* char[16] */
#define SECT_SEGNAME 16u                  /* char[16] */
#define SECT_ADDR 32u                     /* then size: u32 (32-bit), u64 (64-bit) */
#define SECT_OFFSET 40u                   /* then align, reloff, nreloc, flags, */
#define SECT_OFFSET_64 48u                /* reserved1, reserved2 (, reserved3 in 64) */

/* Section type (flags & SECTION_TYPE) and attributes. */
#define SECTION_TYPE 0xffu
#define S_REGULAR 0x0u
#define S_ZEROFILL 0x1u
#define S_CSTRING_LITERALS 0x2u
#define S_LITERAL_POINTERS 0x5u
#define S_NON_LAZY_SYMBOL_POINTERS 0x6u
#define S_LAZY_SYMBOL_POINTERS 0x7u
#define S_SYMBOL_STUBS 0x8u
#define S_GB_ZEROFILL 0xcu
#define S_LAZY_DYLIB_SYMBOL_POINTERS 0x10u
#define S_THREAD_LOCAL_REGULAR 0x11u      /* initial values of thread-locals */
#define S_THREAD_LOCAL_ZEROFILL 0x12u
#define S_THREAD_LOCAL_VARIABLES 0x13u    /* descriptors {thunk, key, offset} */
#define S_THREAD_LOCAL_VARIABLE_POINTERS 0x14u
#define S_ATTR_PURE_INSTRUCTIONS 0x80000000u
#define S_ATTR_NO_DEAD_STRIP 0x10000000u
#define S_ATTR_SOME_INSTRUCTIONS 0x400u

/* ---- dylib_command: name is an lc_str offset from the command start ---- */
#define DYLIB_NAME 8u
#define DYLIB_CMD_SIZE 24u                /* the fixed part before the name */

/* ---- uuid_command ---- */
#define UUID_UUID 8u                      /* uint8_t[16] */

/* ---- symtab_command ---- */
#define SYMTAB_SYMOFF 8u
#define SYMTAB_NSYMS 12u
#define SYMTAB_STROFF 16u
#define SYMTAB_STRSIZE 20u
#define SYMTAB_CMD_SIZE 24u

/* ---- dysymtab_command (all u32) ---- */
#define DYSYMTAB_ILOCALSYM 8u
#define DYSYMTAB_NLOCALSYM 12u
#define DYSYMTAB_IEXTDEFSYM 16u
#define DYSYMTAB_NEXTDEFSYM 20u
#define DYSYMTAB_IUNDEFSYM 24u
#define DYSYMTAB_NUNDEFSYM 28u
#define DYSYMTAB_INDIRECTSYMOFF 56u
#define DYSYMTAB_NINDIRECTSYMS 60u
#define DYSYMTAB_CMD_SIZE 80u

/* ---- linkedit_data_command (function starts, exports trie, chained fixups...) ---- */
#define LINKEDIT_DATAOFF 8u
#define LINKEDIT_DATASIZE 12u
#define LINKEDIT_DATA_CMD_SIZE 16u

/* ---- dyld_info_command: (offset, size) u32 pairs ---- */
#define DYLD_INFO_REBASE 8u
#define DYLD_INFO_BIND 16u
#define DYLD_INFO_WEAK_BIND 24u
#define DYLD_INFO_LAZY_BIND 32u
#define DYLD_INFO_EXPORT 40u
#define DYLD_INFO_CMD_SIZE 48u

/* ---- nlist / nlist_64 ---- */
#define NLIST_SIZE 12u
#define NLIST_SIZE_64 16u
#define N_STAB 0xe0u
#define N_TYPE_MASK 0x0eu
#define N_EXT 0x01u
#define N_UNDF 0x0u
#define N_ABS 0x2u
#define N_INDR 0xau
#define N_SECT 0xeu
#define N_WEAK_REF 0x0040u
#define N_WEAK_DEF 0x0080u

/* n_desc's library ordinal (high byte) for "look the symbol up flat". */
#define DYNAMIC_LOOKUP_ORDINAL 0xFEu

/* Indirect symbol table entries that name no symbol. */
#define INDIRECT_SYMBOL_LOCAL 0x80000000u
#define INDIRECT_SYMBOL_ABS 0x40000000u

/* ---- export trie terminal flags ---- */
#define EXPORT_SYMBOL_FLAGS_KIND_MASK 0x03u
#define EXPORT_SYMBOL_FLAGS_KIND_REGULAR 0x00u
#define EXPORT_SYMBOL_FLAGS_KIND_THREAD_LOCAL 0x01u
#define EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE 0x02u
#define EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION 0x04u
#define EXPORT_SYMBOL_FLAGS_REEXPORT 0x08u
#define EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER 0x10u
#define EXPORT_SYMBOL_FLAGS_FUNCTION_VARIANT 0x20u

/* ---- rebase and bind opcodes (LC_DYLD_INFO streams) ---- */
#define REBASE_TYPE_POINTER 1u
#define REBASE_OPCODE_DONE 0x00u
#define REBASE_OPCODE_SET_TYPE_IMM 0x10u
#define REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB 0x20u
#define REBASE_OPCODE_ADD_ADDR_ULEB 0x30u
#define REBASE_OPCODE_ADD_ADDR_IMM_SCALED 0x40u
#define REBASE_OPCODE_DO_REBASE_IMM_TIMES 0x50u
#define REBASE_OPCODE_DO_REBASE_ULEB_TIMES 0x60u
#define REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB 0x80u

#define BIND_TYPE_POINTER 1u
#define BIND_SYMBOL_FLAGS_WEAK_IMPORT 0x1u
#define BIND_SYMBOL_FLAGS_NON_WEAK_DEFINITION 0x8u
#define BIND_OPCODE_DONE 0x00u
#define BIND_OPCODE_SET_DYLIB_ORDINAL_IMM 0x10u
#define BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB 0x20u
#define BIND_OPCODE_SET_DYLIB_SPECIAL_IMM 0x30u
#define BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM 0x40u
#define BIND_OPCODE_SET_TYPE_IMM 0x50u
#define BIND_OPCODE_SET_ADDEND_SLEB 0x60u
#define BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB 0x70u
#define BIND_OPCODE_ADD_ADDR_ULEB 0x80u
#define BIND_OPCODE_DO_BIND 0x90u

#endif

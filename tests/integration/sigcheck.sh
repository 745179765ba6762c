# SPDX-License-Identifier: BSD-2-Clause
# sigcheck.sh — check_signature FILE: the ad-hoc code signature of one
# extracted Mach-O, judged without any of the writer's code (sourced after
# lib.sh). Where the signature is comes from llvm-objdump-19 --macho -p;
# every page hash is recomputed with sha256sum (coreutils) over the file's
# own bytes cut into pages by split(1); every field is read big-endian from
# an od dump and compared with the structures and constants of Apple's xnu
# osfmk/kern/cs_blobs.h (CS_SuperBlob, CS_BlobIndex, CS_CodeDirectory up to
# version 0x20400, CS_GenericBlob) and with what ld64-956.6 writes
# (src/ld/LinkEdit.hpp CodeSignatureAtom, src/ld/libcodedirectory.c): flags
# CS_ADHOC | CS_LINKER_SIGNED, SHA-256, 4096-byte pages, codeLimit = the
# signature's offset, execSeg = __TEXT's file range, identifier = the
# install name's last component; plus the empty requirements blob of
# codesign's ad-hoc signatures, hashed in special slot -2.

# The fields of the signature of `file` at `off` (`size` bytes), one
# "name value" line each, decoded from the big-endian bytes on stdin (od
# -tu1, one byte a line); hash slots as hex, 64 digits a line.
SIG_DECODE='
{ b[n++] = $1 }
function be(at, len,   v, i) { v = 0; for (i = 0; i < len; i++) v = v * 256 + b[at + i]; return v }
function dec(at, len) { return sprintf("%.0f", be(at, len)) }
function hex(at, len,   s, i) { s = ""; for (i = 0; i < len; i++) s = s sprintf("%02x", b[at + i]); return s }
END {
    cd = be(16, 4); rq = be(24, 4); sblen = be(4, 4)
    print "superblob", hex(0, 4), dec(4, 4), dec(8, 4)
    print "index", dec(12, 4), dec(16, 4), dec(20, 4), dec(24, 4)
    print "requirements", hex(rq, 4), dec(rq + 4, 4), dec(rq + 8, 4)
    print "padding", hex(sblen, n - sblen)
    print "codedirectory", hex(cd, 4), dec(cd + 4, 4), hex(cd + 8, 4), hex(cd + 12, 4)
    print "offsets", dec(cd + 16, 4), dec(cd + 20, 4)
    print "slots", dec(cd + 24, 4), dec(cd + 28, 4)
    print "codelimit", dec(cd + 32, 4)
    print "hash", hex(cd + 36, 4)
    print "spare", hex(cd + 40, 24)
    print "execseg", dec(cd + 64, 8), dec(cd + 72, 8), dec(cd + 80, 8)
    ident = ""; for (i = cd + be(cd + 20, 4); i < n && b[i] != 0; i++) ident = ident sprintf("%c", b[i])
    print "identifier", ident
    ho = cd + be(cd + 16, 4); ns = be(cd + 24, 4); nc = be(cd + 28, 4)
    for (s = ns; s >= 1 && s <= 16; s--) print "special", -s, hex(ho - 32 * s, 32)
    for (s = 0; s < nc && ho + 32 * s < n; s++) print "page", hex(ho + 32 * s, 32) > PAGES
}'

# signature_fields FILE: the decoded fields of FILE's signature (lines as
# SIG_DECODE prints them), or nothing when it has none.
signature_fields() {
    _sf=$(llvm-objdump-19 --macho -p "$1" | awk '/^ *cmd / { c = $2 } c == "LC_CODE_SIGNATURE" && $1 ~ /^data/ { printf "%s ", $2 }')
    [ -n "$_sf" ] || return 0
    set -- "$1" $_sf
    od -An -tu1 -v -w1 -j "$2" -N "$3" "$1" | awk -v PAGES=/dev/null "$SIG_DECODE"
}

# same_signer LINKED OUTPUT: where ld64.lld-19 signed the input dylib, it
# wrote what the output says in the CodeDirectory's version and flags, hash
# parameters, execSeg flags and identifier.
signer_fields() {
    signature_fields "$1" | awk '$1 == "codedirectory" { print $1, $4, $5 } $1 ~ /^(hash|identifier)$/
                                 $1 == "execseg" { print $1, $4 }'
}
same_signer() {
    _linked=$(signer_fields "$1")
    [ -z "$_linked" ] || [ "$_linked" = "$(signer_fields "$2")" ] ||
        fail "$2: signed otherwise than ld64.lld-19 signed $1: $_linked / $(signer_fields "$2")"
}

check_signature() {
    _f=$1 _t=$(mktemp -d "${TMPDIR:-/tmp}/sigcheck.XXXXXX")
    llvm-objdump-19 --macho -p "$_f" > "$_t/p" 2> "$_t/e" || fail "$_f: llvm-objdump-19 -p failed"
    [ -s "$_t/e" ] && fail "$_f: llvm-objdump-19 -p: $(cat "$_t/e")"
    # From the load commands: LC_CODE_SIGNATURE's dataoff and datasize,
    # __LINKEDIT's and __TEXT's file ranges, the file type, the install name.
    awk '/^ *cmd / { cmd = $2 } /^ *segname / && cmd ~ /^LC_SEGMENT/ { seg = $2 }
         cmd == "LC_CODE_SIGNATURE" && ($1 == "dataoff" || $1 == "datasize") { print $1, $2 }
         cmd ~ /^LC_SEGMENT/ && ($1 == "fileoff" || $1 == "filesize") { print seg "_" $1, $2 }
         cmd == "LC_ID_DYLIB" && $1 == "name" { print "id", $2 }
         NR == 3 { print "filetype", $5 }' "$_t/p" > "$_t/lc"
    eval "$(awk '{ gsub(/[^A-Za-z0-9_]/, "_", $1); printf "_lc_%s=\047%s\047\n", $1, $2 }' "$_t/lc")"
    [ -n "${_lc_dataoff:-}" ] || fail "$_f: no LC_CODE_SIGNATURE"
    _off=$_lc_dataoff _size=$_lc_datasize _len=$(wc -c < "$_f")
    _pages=$(( (_off + 4095) / 4096 ))
    _id=$(basename "$_lc_id")
    _idlen=$(( $(printf '%s' "$_id" | wc -c) + 1 ))
    _hashoff=$((88 + _idlen + 2 * 32))
    _cdlen=$((_hashoff + _pages * 32))
    _sblen=$((28 + _cdlen + 12))
    case $_lc_filetype in EXECUTE) _xf=1 ;; *) _xf=0 ;; esac

    # Where it is: in __LINKEDIT, its last bytes and the file's, 16-aligned;
    # datasize is the SuperBlob padded to 8 (as ld64 pads it).
    [ "$_off" -ge "$_lc___LINKEDIT_fileoff" ] ||
        fail "$_f: the signature at $_off is before __LINKEDIT"
    [ $((_off + _size)) = $((_lc___LINKEDIT_fileoff + _lc___LINKEDIT_filesize)) ] ||
        fail "$_f: the signature [$_off, +$_size) does not end __LINKEDIT"
    [ $((_off + _size)) = "$_len" ] || fail "$_f: the signature does not end the file ($_len bytes)"
    [ $((_off % 16)) = 0 ] || fail "$_f: the signature at $_off is not 16-aligned"
    [ "$_size" = $(( (_sblen + 7) / 8 * 8 )) ] || fail "$_f: datasize $_size for a $_sblen-byte SuperBlob"

    # What it must say: CSMAGIC_EMBEDDED_SIGNATURE 0xfade0cc0 holding two
    # blobs, CSSLOT_CODEDIRECTORY (0) at 28 and CSSLOT_REQUIREMENTS (2)
    # last; CSMAGIC_REQUIREMENTS 0xfade0c01, length 12, count 0;
    # CSMAGIC_CODEDIRECTORY 0xfade0c02, version 0x20400, flags 0x20002,
    # hashOffset past the identifier (at 88) and 2 special slots, one code
    # slot per page, codeLimit; hashSize 32, hashType 2 (SHA-256), platform
    # 0, pageSize 12; spare2, scatterOffset, teamOffset, spare3 and
    # codeLimit64 zero; execSeg base, limit, flags (CS_EXECSEG_MAIN_BINARY
    # for an executable); slot -2 the requirements' hash, -1 zero.
    _req=$(printf '\372\336\014\001\000\000\000\014\000\000\000\000' | sha256sum | cut -c1-64)
    _zero=0000000000000000000000000000000000000000000000000000000000000000
    cat > "$_t/want" <<EOF
superblob fade0cc0 $_sblen 2
index 0 28 2 $((28 + _cdlen))
requirements fade0c01 12 0
padding $(printf '%0*d' $(( (_size - _sblen) * 2 )) 0 | sed 's/^0$//')
codedirectory fade0c02 $_cdlen 00020400 00020002
offsets $_hashoff 88
slots 2 $_pages
codelimit $_off
hash 2002000c
spare 000000000000000000000000000000000000000000000000
execseg $_lc___TEXT_fileoff $_lc___TEXT_filesize $_xf
identifier $_id
special -2 $_req
special -1 $_zero
EOF
    od -An -tu1 -v -w1 -j "$_off" -N "$_size" "$_f" | awk -v PAGES="$_t/pages" "$SIG_DECODE" > "$_t/got"
    diff "$_t/want" "$_t/got" > "$_t/diff" || fail "$_f: the signature differs from cs_blobs.h/ld64 (want <, got >): $(cat "$_t/diff")"

    # Every page of [0, codeLimit), the last one as far as it goes.
    mkdir "$_t/split"
    head -c "$_off" "$_f" | split -b 4096 -a 6 - "$_t/split/p"
    (cd "$_t/split" && sha256sum p*) | cut -c1-64 | sed 's/^/page /' > "$_t/want"
    [ "$(wc -l < "$_t/want")" = "$_pages" ] || fail "$_f: $_pages pages expected"
    diff "$_t/want" "$_t/pages" > "$_t/diff" || fail "$_f: page hashes differ from sha256sum's: $(head -n 4 "$_t/diff")"
    rm -rf "$_t"
}

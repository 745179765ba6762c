#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mount.sh — mount each real cache and check the tree, the bytes, the sizes,
# cp -r, read-only behaviour, timestamps, inode stability and xattrs.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_testdata
. "${top_srcdir:-.}/tests/integration/mountlib.sh"

for cache in $(real_caches); do
    name=$(basename "$cache")
    mp="$WORK/mnt-$name"
    mount_cache "$cache" "$mp"

    # The tree: every image is a regular file, every alias a symlink to it.
    "$DSCFS" --list "$cache" > "$WORK/list" || fail "$name: --list"
    n=0
    while read -r path arrow target; do
        if [ -z "$arrow" ]; then
            [ -f "$mp$path" ] && [ ! -L "$mp$path" ] || fail "$name: $path is not a file in the mount"
        else
            [ -L "$mp$path" ] || fail "$name: alias $path is not a symlink"
            case $(readlink "$mp$path") in /*) fail "$name: $path has an absolute target";; esac
            [ "$(cd "$(dirname "$mp$path")" && realpath "$(readlink "$mp$path")")" = "$(realpath "$mp$target")" ] \
                || fail "$name: alias $path does not lead to $target"
        fi
        n=$((n + 1))
    done < "$WORK/list"
    [ "$n" -ge 4 ] || fail "$name: only $n paths listed"
    # Nothing but those in the tree (/.dscfs is not listed).
    (cd "$mp" && find . ! -type d -print | sed 's/^\.//' | sort) > "$WORK/tree"
    sed 's/ -> .*//' "$WORK/list" | sort > "$WORK/want"
    cmp -s "$WORK/tree" "$WORK/want" || fail "$name: the tree differs from --list: $(diff "$WORK/want" "$WORK/tree")"
    # A listing extracts nothing.
    [ "$(info_value "$mp" store.misses)" = 0 ] || fail "$name: ls extracted something"

    # Bytes and sizes: identical to --extract, stat size = bytes read.
    for path in $(image_paths "$cache"); do
        "$DSCFS" --extract "$path" "$cache" -o "$WORK/want.bin" 2> /dev/null || fail "$name: --extract $path"
        cmp "$WORK/want.bin" "$mp$path" || fail "$name: $path differs from --extract output"
        [ "$(stat -c %s "$mp$path")" = "$(wc -c < "$WORK/want.bin")" ] || fail "$name: $path: stat size"
        [ "$(stat -c %b "$mp$path")" -ge $(( ($(stat -c %s "$mp$path") + 511) / 512 )) ] || fail "$name: st_blocks"
    done

    # cp -r of the whole mount succeeds and gives the same files.
    cp -r "$mp" "$WORK/copy" || fail "$name: cp -r of the mount failed"
    for path in $(image_paths "$cache"); do
        cmp "$mp$path" "$WORK/copy$path" || fail "$name: cp -r copy of $path differs"
    done
    rm -rf "$WORK/copy"

    # Read-only: every kind of write fails with EROFS.
    some=$(image_paths "$cache" | head -n 1)
    for attempt in "touch $mp/new" "mkdir $mp/dir" "rm -f $mp$some" "mv $mp$some $mp$some.x" \
                   "chmod 600 $mp$some" "ln -s x $mp/link" "truncate -s 0 $mp$some"; do
        if $attempt 2> "$WORK/err"; then fail "$name: '$attempt' succeeded"; fi
        grep -q 'Read-only file system' "$WORK/err" || fail "$name: '$attempt': $(cat "$WORK/err")"
    done
    if sh -c "echo x >> '$mp$some'" 2> "$WORK/err"; then fail "$name: append succeeded"; fi
    grep -q 'Read-only file system' "$WORK/err" || fail "$name: append: $(cat "$WORK/err")"

    # Timestamps are the cache file's mtime; inodes are stable; modes are sane.
    [ "$(stat -c %Y "$mp$some")" = "$(stat -c %Y "$cache")" ] || fail "$name: mtime"
    [ "$(stat -c %Y "$mp/usr")" = "$(stat -c %Y "$cache")" ] || fail "$name: dir mtime"
    [ "$(stat -c %a "$mp$some")" = 444 ] || fail "$name: file mode"
    [ "$(stat -c %a "$mp/usr")" = 555 ] || fail "$name: dir mode"
    ino=$(stat -c %i "$mp$some")
    ls -lR "$mp" > /dev/null
    [ "$(stat -c %i "$mp$some")" = "$ino" ] || fail "$name: inode changed"

    # /.dscfs: the header summary and per-image status.
    grep -q "^cache = $(realpath "$cache")\$" "$mp/.dscfs/info" || fail "$name: info names the cache"
    [ "$(info_value "$mp" images)" = "$(image_paths "$cache" | wc -l)" ] || fail "$name: info image count"
    [ "$(grep -c '^resident' "$mp/.dscfs/status")" = "$(image_paths "$cache" | wc -l)" ] \
        || fail "$name: status should show every image resident: $(cat "$mp/.dscfs/status")"
    if command -v python3 > /dev/null; then
        state=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.dscfs.status").decode())' "$mp$some") \
            || fail "$name: getxattr"
        [ "$state" = resident ] || fail "$name: user.dscfs.status is '$state'"
        # Other namespaces are "not supported" (ls stops asking after one
        # file); an unknown user.* name is "no such attribute".
        errs=$(python3 -c 'import os,sys
for n in ("security.selinux", "system.posix_acl_access", "user.other"):
    try: os.getxattr(sys.argv[1], n); print("found")
    except OSError as e: print(e.strerror)' "$mp$some" | tr '\n' ,)
        [ "$errs" = "Operation not supported,Operation not supported,No data available," ] \
            || fail "$name: xattr errors: $errs"
    fi

    unmount "$mp"
done
exit 0

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ops.c — the FUSE operations. Everything is read-only and immutable: nodes
 * come from the tree (inode = node id + 1), image bytes from the store,
 * pinned from open to release. The first open of an image extracts it (so
 * a failure shows at open); a later open pins it only when a read reaches
 * us: while the kernel's page cache still holds the file (keep_cache), an
 * image the store has evicted is not extracted again for nothing. The
 * /.dscfs files are rendered at open and served with direct_io, since their
 * text changes as the mount works: a read runs to the end of the text
 * rendered at open whatever size stat gave. Their stat size is the length
 * of the text a read would return now (rendered for the purpose); as the
 * kernel keeps attributes for attr_timeout (one value for the whole mount
 * in the high-level API), a size handed out is taken back: a GETATTR of
 * one invalidates its inode within the request (the kernel returns the
 * reply to that stat but does not keep it: the inode's attr_version has
 * moved), and after an image changes state both are invalidated if their
 * attributes were handed out since (a LOOKUP's or READDIRPLUS's, which the
 * kernel keeps).
 *
 * Round trips: directory listings carry full attributes (readdirplus), so
 * `ls -l` makes no LOOKUP per name; symlink targets are cached by the
 * kernel (one READLINK per link per mount); security/ACL xattrs answer
 * EOPNOTSUPP, which ls caches per file system; image opens set keep_cache
 * and FOPEN_NOFLUSH. No-open (an ENOSYS open) is not used: it is
 * connection-wide in the kernel, so the /.dscfs files would lose direct_io
 * and be read from a page cache that every state change would have to
 * invalidate, as it now does their attributes; and no RELEASE would come to
 * unpin an image or trim the heap when the last file closes.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsys.h"

static struct fsys *ctx_fs(void) { return fuse_get_context()->private_data; }

/* What an open file handle (fi->fh) points to. */
struct handle {
    uint32_t image;            /* UINT32_MAX for a rendered text */
    const store_blob *blob;    /* pinned; NULL until the first read of a re-open */
    char *text;
    size_t text_len;
    struct handle *prev, *next; /* fs->handles, under fs->handles_lock */
};

/* Every open handle is on fs->handles until released, so that the ones
 * open when the daemon stops can be freed (ops_close_all). */
static void handle_track(struct fsys *fs, struct handle *h)
{
    pthread_mutex_lock(&fs->handles_lock);
    h->prev = NULL;
    h->next = fs->handles;
    if (h->next)
        h->next->prev = h;
    fs->handles = h;
    pthread_mutex_unlock(&fs->handles_lock);
}

static void handle_free(struct fsys *fs, struct handle *h)
{
    pthread_mutex_lock(&fs->handles_lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        fs->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    bool last = !fs->handles;
    pthread_mutex_unlock(&fs->handles_lock);
    if (__atomic_load_n(&h->blob, __ATOMIC_ACQUIRE)) {
        store_release(fs->store, h->image);
        fsys_control_changed(fs);
    }
    free(h->text);
    free(h);
    if (last)
        fsys_files_closed(fs);
}

void ops_close_all(struct fsys *fs)
{
    __atomic_store_n(&fs->fuse, NULL, __ATOMIC_RELEASE); /* fuse_destroy has run */
    while (fs->handles)
        handle_free(fs, fs->handles);
}

static const char control_info[] = "/.dscfs/info", control_status[] = "/.dscfs/status";

/* The text of /.dscfs/info or /.dscfs/status as of now; NULL when out of
 * memory. */
static char *render_text(struct fsys *fs, uint32_t which, size_t *len)
{
    return which == FSYS_INFO ? report_info(fs, len) : report_status(fs, len);
}

/* The mount's struct fuse, NULL before init and once the loop has ended. */
static struct fuse *live_fuse(struct fsys *fs) { return __atomic_load_n(&fs->fuse, __ATOMIC_ACQUIRE); }

void fsys_control_changed(struct fsys *fs)
{
    if (!__atomic_load_n(&fs->control_handed, __ATOMIC_RELAXED) ||
        !__atomic_exchange_n(&fs->control_handed, false, __ATOMIC_ACQ_REL))
        return;
    struct fuse *f = live_fuse(fs);
    /* -ENOENT: the kernel has forgotten the inode, nothing to take back */
    if (f) {
        fuse_invalidate_path(f, control_info);
        fuse_invalidate_path(f, control_status);
    }
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    cfg->use_ino = 1;
    /* Nothing ever changes: let the kernel keep names, attributes, pages. */
    cfg->entry_timeout = 3600;
    cfg->negative_timeout = 3600;
    cfg->attr_timeout = 3600;
    cfg->kernel_cache = 1;
    conn->want |= conn->capable & (FUSE_CAP_ASYNC_READ | FUSE_CAP_CACHE_SYMLINKS);
    /* libfuse 3.14 refuses an INIT whose max_read differs from the
     * -o max_read= it was given, and init is where it reads ours. */
    struct fsys *fs = ctx_fs();
    if (fs->max_read)
        conn->max_read = fs->max_read;
    __atomic_store_n(&fs->fuse, fuse_get_context()->fuse, __ATOMIC_RELEASE);
    return fs;
}

static const tree_node *lookup(struct fsys *fs, const char *path, uint32_t *id)
{
    *id = tree_lookup(fs->tree, path);
    return tree_node_at(fs->tree, *id);
}

static bool is_image(const struct fsys *fs, const tree_node *n)
{
    return n->kind == TREE_FILE && n->payload < fs->nimages;
}

static void fill_stat(struct fsys *fs, uint32_t id, const tree_node *n, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = (ino_t)id + 1;
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_atim = st->st_mtim = st->st_ctim = fs->mtime;
    st->st_blksize = 65536;
    switch (n->kind) {
    case TREE_DIR:
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2 + n->subdirs;
        break;
    case TREE_LINK:
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = (off_t)strlen(n->target);
        break;
    case TREE_FILE: {
        /* A failing image lists as empty. A /.dscfs file has the size of
         * its text now (see the top of this file). */
        uint64_t size = 0;
        if (is_image(fs, n)) {
            fsys_image_size(fs, n->payload, &size);
            fsys_control_changed(fs);
        } else {
            size_t len = 0;
            free(render_text(fs, n->payload, &len));
            size = len;
            __atomic_store_n(&fs->control_handed, true, __ATOMIC_RELEASE);
        }
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)size;
        st->st_blocks = (blkcnt_t)((size + 511) / 512);
        break;
    }
    }
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct fsys *fs = ctx_fs();
    uint32_t id;
    const tree_node *n = lookup(fs, path, &id);
    if (!n)
        return -ENOENT;
    fill_stat(fs, id, n, st);
    if (n->kind == TREE_FILE && !is_image(fs, n))
        fuse_invalidate_path(live_fuse(fs), path); /* this reply is not to be kept */
    return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
    uint32_t id;
    const tree_node *n = lookup(ctx_fs(), path, &id);
    if (!n)
        return -ENOENT;
    if (n->kind != TREE_LINK)
        return -EINVAL;
    if (size == 0)
        return -EINVAL;
    strncpy(buf, n->target, size - 1);
    buf[size - 1] = '\0';
    return 0;
}

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
    uint32_t id;
    const tree_node *n = lookup(ctx_fs(), path, &id);
    if (!n)
        return -ENOENT;
    if (n->kind != TREE_DIR)
        return -ENOTDIR;
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    return 0;
}

/* Directory offsets: 1 after ".", 2 after "..", 2 + k after the k-th child.
 * Offsets make libfuse's high-level readdirplus pass our attributes on (it
 * drops them in its offset-less mode, and the kernel then LOOKUPs every
 * name). READDIRPLUS: full attributes with each name, so `ls -l` needs no
 * LOOKUP per entry (sizes are computed, nothing is extracted); plain
 * READDIR: only the type and inode. The control directory /.dscfs is
 * left out (reachable by name only), so `cp -r MOUNT` and `find MOUNT`
 * see the images alone; its offset stays taken so offsets do not move. */
static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct fsys *fs = ctx_fs();
    uint32_t id;
    const tree_node *dir = lookup(fs, path, &id);
    if (!dir)
        return -ENOENT;
    if (dir->kind != TREE_DIR)
        return -ENOTDIR;
    struct stat st = {.st_mode = S_IFDIR, .st_ino = (ino_t)id + 1};
    if (offset < 1 && filler(buf, ".", &st, 1, 0))
        return 0;
    st.st_ino = (ino_t)(id == TREE_ROOT ? id : dir->parent) + 1;
    if (offset < 2 && filler(buf, "..", &st, 2, 0))
        return 0;
    bool plus = flags & FUSE_READDIR_PLUS;
    off_t at = 2;
    for (uint32_t c = dir->first_child; c != TREE_NONE; c = tree_node_at(fs->tree, c)->next_sibling) {
        const tree_node *n = tree_node_at(fs->tree, c);
        if (++at <= offset || c == fs->control)
            continue;
        if (plus) {
            fill_stat(fs, c, n, &st);
        } else {
            st.st_ino = (ino_t)c + 1;
            st.st_mode = n->kind == TREE_DIR ? S_IFDIR : n->kind == TREE_LINK ? S_IFLNK : S_IFREG;
        }
        if (filler(buf, n->name, &st, at, plus ? FUSE_FILL_DIR_PLUS : 0))
            break;
    }
    return 0;
}

static int open_text(struct fsys *fs, uint32_t which, struct fuse_file_info *fi)
{
    struct handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->image = UINT32_MAX;
    h->text = render_text(fs, which, &h->text_len);
    if (!h->text) {
        free(h);
        return -ENOMEM;
    }
    fi->fh = (uintptr_t)h;
    fi->direct_io = 1;
    handle_track(fs, h);
    return 0;
}

static int acquire_errno(int err) { return err == ENOMEM ? -ENOMEM : -EIO; }

static int open_image(struct fsys *fs, uint32_t image, struct fuse_file_info *fi)
{
    if (fsys_image_failed(fs, image))
        return -EIO;
    struct handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->image = image;
    int err = fsys_image_extracted(fs, image) ? 0 : store_acquire(fs->store, image, &h->blob);
    fsys_control_changed(fs);
    if (err) {
        free(h);
        return acquire_errno(err);
    }
    fi->fh = (uintptr_t)h;
    fi->keep_cache = 1;
    handle_track(fs, h);
#if FUSE_MAJOR_VERSION > 3 || (FUSE_MAJOR_VERSION == 3 && FUSE_MINOR_VERSION >= 10)
    fi->noflush = 1; /* FOPEN_NOFLUSH: a close has nothing to flush */
#endif
    return 0;
}

/* The blob of an image handle, pinned on its first read if open did not;
 * NULL and *err set when extracting it fails now. */
static const store_blob *handle_blob(struct handle *h, int *err)
{
    const store_blob *b = __atomic_load_n(&h->blob, __ATOMIC_ACQUIRE);
    if (b)
        return b;
    struct fsys *fs = ctx_fs();
    int rc = store_acquire(fs->store, h->image, &b);
    fsys_control_changed(fs);
    if (rc) {
        *err = acquire_errno(rc);
        return NULL;
    }
    const store_blob *none = NULL;
    /* Two reads racing here: one pin stays with the handle, the other goes. */
    if (!__atomic_compare_exchange_n(&h->blob, &none, b, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        store_release(fs->store, h->image);
        b = none;
    }
    return b;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    struct fsys *fs = ctx_fs();
    uint32_t id;
    const tree_node *n = lookup(fs, path, &id);
    if (!n)
        return -ENOENT;
    if (n->kind == TREE_DIR)
        return -EISDIR;
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return -EROFS;
    return is_image(fs, n) ? open_image(fs, n->payload, fi) : open_text(fs, n->payload, fi);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct handle *h = (struct handle *)(uintptr_t)fi->fh;
    const char *data = h->text;
    size_t len = h->text_len;
    if (h->image != UINT32_MAX) {
        int err = 0;
        const store_blob *b = handle_blob(h, &err);
        if (!b)
            return err;
        data = b->data;
        len = b->size;
    }
    if (off < 0)
        return -EINVAL;
    if ((uint64_t)off >= len)
        return 0;
    if (size > len - (size_t)off)
        size = len - (size_t)off;
    memcpy(buf, data + off, size);
    return (int)size;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
    handle_free(ctx_fs(), (struct handle *)(uintptr_t)fi->fh);
    return 0;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
    struct fsys *fs = ctx_fs();
    memset(sv, 0, sizeof *sv);
    sv->f_bsize = sv->f_frsize = 4096;
    sv->f_blocks = fs->total_bytes / 4096;
    sv->f_files = tree_count(fs->tree);
    sv->f_namemax = 255;
    sv->f_flag = ST_RDONLY;
    return 0;
}

/* ---- extended attributes: user.dscfs.status and user.dscfs.warnings ---- */

static const char xattr_status[] = "user.dscfs.status";
static const char xattr_warnings[] = "user.dscfs.warnings";

/* Copy `value` out as getxattr(2) does (size 0 = just report the length). */
static int xattr_reply(const char *value, size_t len, char *buf, size_t size)
{
    if (size == 0)
        return (int)len;
    if (size < len)
        return -ERANGE;
    memcpy(buf, value, len);
    return (int)len;
}

static int fs_getxattr(const char *path, const char *name, char *buf, size_t size)
{
    struct fsys *fs = ctx_fs();
    uint32_t id;
    const tree_node *n = lookup(fs, path, &id);
    if (!n)
        return -ENOENT;
    /* Only user.dscfs.* exist. Other namespaces (security.selinux,
     * system.posix_acl_access, ...) answer "not supported", not "no such
     * attribute": ls(1) and other libacl/libselinux users then stop asking
     * for the rest of the file system instead of asking once per file. */
    if (strncmp(name, "user.", 5))
        return -EOPNOTSUPP;
    if (!is_image(fs, n))
        return -ENODATA;
    if (!strcmp(name, xattr_status)) {
        const char *state = report_image_state(fs, n->payload);
        return xattr_reply(state, strlen(state), buf, size);
    }
    if (strcmp(name, xattr_warnings))
        return -ENODATA;
    pthread_mutex_lock(&fs->lock);
    const char *w = fs->img[n->payload].failed ? fs->img[n->payload].error : fs->img[n->payload].warnings;
    int rc = xattr_reply(w ? w : "", w ? strlen(w) : 0, buf, size);
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

static int fs_listxattr(const char *path, char *buf, size_t size)
{
    struct fsys *fs = ctx_fs();
    uint32_t id;
    const tree_node *n = lookup(fs, path, &id);
    if (!n)
        return -ENOENT;
    if (!is_image(fs, n))
        return 0;
    static const char names[] = "user.dscfs.status\0user.dscfs.warnings";
    return xattr_reply(names, sizeof names, buf, size);
}

const struct fuse_operations fsys_ops = {
    .init = fs_init,
    .getattr = fs_getattr,
    .readlink = fs_readlink,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .open = fs_open,
    .read = fs_read,
    .release = fs_release,
    .statfs = fs_statfs,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
};

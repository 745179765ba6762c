/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ops.c — the FUSE operations. Everything is read-only and immutable: nodes
 * come from the tree (inode = node id + 1), image bytes from the store,
 * pinned for each READ (reading.c).
 *
 * No-open: the first OPEN answers ENOSYS, after which the kernel sends no
 * OPEN, FLUSH or RELEASE for the rest of the mount (FUSE_CAP_NO_OPEN_SUPPORT;
 * the first FLUSH answers ENOSYS too, as there is no flush operation) and
 * keeps every file's pages across opens (FOPEN_KEEP_CACHE), so a cached
 * re-read makes no round trip at all. An image that fails therefore fails
 * at its first READ, not at open. -o open (or a kernel without no-open)
 * answers OPEN: a failed image's open gets EIO and an image's first open
 * extracts it, held for the reads that follow.
 *
 * The /.dscfs files go through the page cache like the images (no-open is
 * connection-wide: no direct_io for them). A stat of one renders its text
 * now and keeps it: its size is that text's length and READs serve that
 * same text, so size and bytes agree. The kernel keeps both (attr_timeout,
 * page cache) until the text changes: when an image's state, the store's
 * counters or the request counts change, both files' inodes are invalidated (attributes and
 * pages) if their text was handed out since, and the next stat or read
 * asks again. Between changes they show the memory figures as of the last
 * stat. A change while a stat renders: on a known inode the invalidation
 * makes the kernel drop the reply in flight (its attribute version moved
 * on) and ask again; on the very first lookup the kernel has no inode yet
 * and the invalidation finds none, so the text is rendered again (see
 * control_render).
 *
 * Round trips: directory listings carry full attributes (readdirplus), so
 * `ls -l` makes no LOOKUP per name; symlink targets are cached by the
 * kernel (one READLINK per link per mount); security/ACL xattrs answer
 * EOPNOTSUPP, which ls caches per file system.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsys.h"
#include "warm.h"

static struct fsys *ctx_fs(void) { return fuse_get_context()->private_data; }

void ops_stopped(struct fsys *fs)
{
    __atomic_store_n(&fs->fuse, NULL, __ATOMIC_RELEASE); /* fuse_destroy has run */
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
    /* -ENOENT: no inode to take back: the kernel has forgotten it, or a
     * first lookup is rendering its text (control_render) */
    if (f && fuse_invalidate_path(f, control_info) == -ENOENT)
        __atomic_add_fetch(&fs->control_lost[0], 1, __ATOMIC_ACQ_REL);
    if (f && fuse_invalidate_path(f, control_status) == -ENOENT)
        __atomic_add_fetch(&fs->control_lost[1], 1, __ATOMIC_ACQ_REL);
}

/* Renders of one stat at most: a change that lands in each of them would
 * otherwise keep a stat rendering under a steady stream of reads. */
#define CONTROL_RENDERS 4

/* Render the text of /.dscfs/info or /.dscfs/status now and keep it as the
 * one READs serve; its length (0 when out of memory). A change whose
 * invalidation found no inode while it rendered (the first lookup: the
 * kernel makes the inode from our reply) would leave the text stale until
 * the next change: render again then. A change between the last render
 * and the kernel taking the reply still can (microseconds, against the
 * milliseconds of rendering a large cache's status). */
static size_t control_render(struct fsys *fs, uint32_t which)
{
    unsigned k = which == FSYS_INFO ? 0 : 1;
    size_t len = 0;
    char *text = NULL;
    for (unsigned n = 1;; n++) {
        uint64_t lost = __atomic_load_n(&fs->control_lost[k], __ATOMIC_ACQUIRE);
        /* Before rendering: a change from now on takes back what we hand out. */
        __atomic_store_n(&fs->control_handed, true, __ATOMIC_SEQ_CST);
        text = render_text(fs, which, &len);
        if (n == CONTROL_RENDERS || __atomic_load_n(&fs->control_lost[k], __ATOMIC_ACQUIRE) == lost)
            break;
        free(text);
    }
    pthread_mutex_lock(&fs->control_lock);
    free(fs->control_text[k]);
    fs->control_text[k] = text;
    fs->control_len[k] = text ? len : 0;
    pthread_mutex_unlock(&fs->control_lock);
    return text ? len : 0;
}

/* A READ of a /.dscfs file: from the text its last stat rendered (the
 * kernel has that text's size). Never invalidates: the kernel holds the
 * page this READ fills locked until we reply. */
static int read_text(struct fsys *fs, uint32_t which, char *buf, size_t size, off_t off)
{
    unsigned k = which == FSYS_INFO ? 0 : 1;
    __atomic_store_n(&fs->control_handed, true, __ATOMIC_RELEASE);
    pthread_mutex_lock(&fs->control_lock);
    bool none = !fs->control_text[k];
    pthread_mutex_unlock(&fs->control_lock);
    if (none)
        control_render(fs, which);
    pthread_mutex_lock(&fs->control_lock);
    size_t len = fs->control_len[k];
    size_t n = (uint64_t)off < len ? (len - (size_t)off < size ? len - (size_t)off : size) : 0;
    if (n)
        memcpy(buf, fs->control_text[k] + off, n);
    pthread_mutex_unlock(&fs->control_lock);
    return (int)n;
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
    if (!(conn->capable & FUSE_CAP_NO_OPEN_SUPPORT))
        fs->open_requests = true;
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
        /* An image that fails before its size is known lists as one
         * byte: the kernel sends no READ for an empty file, and (no-open)
         * a READ is where the failure shows. A /.dscfs file has the size
         * of the text its READs serve (see the top of this file). */
        uint64_t size = 0;
        if (is_image(fs, n)) {
            if (fsys_image_size(fs, n->payload, &size) != 0)
                size = 1;
            fsys_control_changed(fs);
        } else {
            size = control_render(fs, n->payload);
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

/* The images a READDIRPLUS from `offset` lists get their sizes at once,
 * with the mount's sizing threads (warm.h), before fill_stat asks for them
 * one by one; the threads go on with what the listing will reach next. */
static void size_listing(struct fsys *fs, const tree_node *dir, off_t offset)
{
    uint32_t *images = NULL;
    size_t n = 0, cap = 0;
    off_t at = 2;
    for (uint32_t c = dir->first_child; c != TREE_NONE; c = tree_node_at(fs->tree, c)->next_sibling) {
        const tree_node *node = tree_node_at(fs->tree, c);
        if (++at <= offset || !is_image(fs, node))
            continue;
        if (n == cap) {
            uint32_t *g = realloc(images, (cap = cap ? 2 * cap : 64) * sizeof *images);
            if (!g)
                break; /* fill_stat sizes the rest itself */
            images = g;
        }
        images[n++] = node->payload;
    }
    warm_listing(fs->warm, images, n);
    free(images);
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
    if (plus)
        size_listing(fs, dir, offset);
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

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    struct fsys *fs = ctx_fs();
    __atomic_add_fetch(&fs->opens, 1, __ATOMIC_RELAXED);
    fsys_control_changed(fs); /* requests.open */
    uint32_t id;
    const tree_node *n = lookup(fs, path, &id);
    if (!n)
        return -ENOENT;
    if (n->kind == TREE_DIR)
        return -EISDIR;
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return -EROFS;
    if (!fs->open_requests)
        return -ENOSYS; /* no-open: success, and no more OPENs */
    fi->keep_cache = 1;
#if FUSE_MAJOR_VERSION > 3 || (FUSE_MAJOR_VERSION == 3 && FUSE_MINOR_VERSION >= 10)
    fi->noflush = 1; /* FOPEN_NOFLUSH: a close has nothing to flush */
#endif
    if (!is_image(fs, n))
        return 0;
    if (fsys_image_failed(fs, n->payload))
        return -EIO;
    return fsys_image_extracted(fs, n->payload) ? 0 : fsys_hold_image(fs, n->payload);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct fsys *fs = ctx_fs();
    uint32_t id;
    const tree_node *n = lookup(fs, path, &id);
    if (!n)
        return -ENOENT;
    if (n->kind != TREE_FILE)
        return -EISDIR;
    if (off < 0)
        return -EINVAL;
    if (!is_image(fs, n))
        return read_text(fs, n->payload, buf, size, off);
    __atomic_add_fetch(&fs->reads, 1, __ATOMIC_RELAXED);
    return fsys_read_image(fs, n->payload, buf, size, off);
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
    .statfs = fs_statfs,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
};

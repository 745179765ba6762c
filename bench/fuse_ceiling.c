/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuse_ceiling.c — `fuse_ceiling [--noopen] [FUSE options] TREE MOUNTPOINT`:
 * the least a FUSE file system can do to serve a tree: every file of TREE
 * is read into memory before mounting, then served read-only with the same
 * kernel settings as dscfs (entry/attr timeouts, kernel_cache, keep_cache,
 * FOPEN_NOFLUSH, cached symlinks, readdirplus with attributes, EOPNOTSUPP
 * for xattrs). The ceiling bench/mount_bench.sh measures dscfs's FUSE
 * reads and opens against: what is left between the two is dscfs's own
 * work. --noopen answers the first OPEN with ENOSYS, which the kernel
 * (FUSE_CAP_NO_OPEN_SUPPORT) takes as "never send OPEN or RELEASE again":
 * what a file system that needs no per-open state could reach.
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

struct node {
    char *path;     /* "/a/b", "/" for the root */
    struct stat st;
    char *data;     /* file bytes or link target */
    unsigned *kids; /* directories: child indexes */
    unsigned nkids;
};

static struct node *nodes;
static unsigned nnodes, capnodes;
static int noopen; /* --noopen */

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct node *)a)->path, ((const struct node *)b)->path);
}

static struct node *find(const char *path)
{
    struct node key = {.path = (char *)path};
    return bsearch(&key, nodes, nnodes, sizeof *nodes, by_path);
}

static char *slurp(const char *file, off_t size)
{
    char *buf = malloc(size ? (size_t)size : 1);
    int fd = open(file, O_RDONLY);
    if (!buf || fd < 0 || read(fd, buf, (size_t)size) != size) {
        perror(file);
        exit(1);
    }
    close(fd);
    return buf;
}

/* Load DIR (on disk) as `path` (in the mount), recursively. */
static void load(const char *dir, const char *path)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        perror(dir);
        exit(1);
    }
    if (nnodes == capnodes && !(nodes = realloc(nodes, (capnodes = capnodes ? 2 * capnodes : 1024) * sizeof *nodes)))
        exit(1);
    struct node *n = &nodes[nnodes++];
    *n = (struct node){.path = strdup(path), .st = st};
    if (S_ISREG(st.st_mode)) {
        n->data = slurp(dir, st.st_size);
    } else if (S_ISLNK(st.st_mode)) {
        n->data = calloc(1, (size_t)st.st_size + 1);
        if (readlink(dir, n->data, (size_t)st.st_size) != st.st_size)
            exit(1);
    } else if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[PATH_MAX], subpath[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            snprintf(subpath, sizeof subpath, "%s/%s", strcmp(path, "/") ? path : "", e->d_name);
            load(sub, subpath);
        }
        if (d)
            closedir(d);
    }
}

/* After sorting: each directory's children, found by their parent path. */
static void link_children(void)
{
    for (unsigned i = 1; i < nnodes; i++) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", nodes[i].path);
        char *slash = strrchr(parent, '/');
        *(slash == parent ? slash + 1 : slash) = '\0';
        struct node *p = find(parent);
        if (!p || !(p->kids = realloc(p->kids, (p->nkids + 1) * sizeof *p->kids)))
            exit(1);
        p->kids[p->nkids++] = i;
    }
}

static void *c_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    conn->want |= conn->capable & FUSE_CAP_CACHE_SYMLINKS;
    cfg->use_ino = 0;
    cfg->entry_timeout = cfg->negative_timeout = cfg->attr_timeout = 3600;
    cfg->kernel_cache = 1;
    return NULL;
}

static int c_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    (void)fi;
    struct node *n = find(path);
    if (!n)
        return -ENOENT;
    *st = n->st;
    return 0;
}

static int c_readlink(const char *path, char *buf, size_t size)
{
    struct node *n = find(path);
    if (!n || !S_ISLNK(n->st.st_mode) || size == 0)
        return n ? -EINVAL : -ENOENT;
    snprintf(buf, size, "%s", n->data);
    return 0;
}

static int c_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)fi;
    struct node *n = find(path);
    if (!n)
        return -ENOENT;
    for (off_t i = off; i < (off_t)n->nkids; i++) {
        const struct node *k = &nodes[n->kids[i]];
        if (filler(buf, strrchr(k->path, '/') + 1, &k->st, i + 1,
                   flags & FUSE_READDIR_PLUS ? FUSE_FILL_DIR_PLUS : 0))
            break;
    }
    return 0;
}

static int c_open(const char *path, struct fuse_file_info *fi)
{
    struct node *n = find(path);
    if (!n)
        return -ENOENT;
    if (noopen)
        return -ENOSYS; /* reads then come with fh 0 (c_read) */
    fi->fh = (uintptr_t)n;
    fi->keep_cache = 1;
    fi->noflush = 1;
    return 0;
}

static int c_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    const struct node *n = fi->fh ? (const struct node *)(uintptr_t)fi->fh : find(path);
    if (!n)
        return -ENOENT;
    if (off >= n->st.st_size)
        return 0;
    if ((off_t)size > n->st.st_size - off)
        size = (size_t)(n->st.st_size - off);
    memcpy(buf, n->data + off, size);
    return (int)size;
}

static int c_getxattr(const char *path, const char *name, char *value, size_t size)
{
    (void)path, (void)name, (void)value, (void)size;
    return -EOPNOTSUPP;
}

static const struct fuse_operations ops = {
    .init = c_init,
    .getattr = c_getattr,
    .readlink = c_readlink,
    .readdir = c_readdir,
    .open = c_open,
    .read = c_read,
    .getxattr = c_getxattr,
};

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--noopen")) {
        noopen = 1;
        argv[1] = argv[0];
        argv++, argc--;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: fuse_ceiling [--noopen] [FUSE options] TREE MOUNTPOINT\n");
        return 2;
    }
    char *tree = argv[argc - 2];
    load(tree, "/");
    qsort(nodes, nnodes, sizeof *nodes, by_path);
    link_children();
    argv[argc - 2] = argv[argc - 1]; /* FUSE gets the mountpoint only */
    return fuse_main(argc - 1, argv, &ops, NULL);
}

/*
 * tmpfs.c — a writable file system in guest RAM (/tmp).
 *
 * File data lives in whole frames listed per file (a hole is frame 0 and reads as
 * zeroes), so a file never needs contiguous memory and truncation frees frames.
 * Directories are lists of entries, each with a cookie that never changes, so
 * getdents64 can resume after entries were added or removed. A node lives while
 * a directory entry links it or an open file, the cwd or a lookup holds it:
 * unlinking an open file keeps its data until the last close, as on Linux.
 */
#include "vfs.h"
#include "sys/time.h"

struct tdirent {
    struct tdirent *next;
    uint64_t cookie;
    struct tnode *node;
    uint32_t len;
    char name[];
};

struct tnode {
    struct vnode vn;
    uint32_t nlink;
    uint64_t size;
    uint64_t *pages; /* frame per 4 KiB of data; 0: a hole */
    uint64_t npages; /* capacity of pages[] */
    char *link;      /* symlink target */
    struct tdirent *entries;
    uint64_t next_cookie;
    struct tnode *parent;
    int64_t atime, mtime, ctime;
};

static const struct vnode_ops tmpfs_vops;
static const struct file_ops tmpfs_fops;
static uint64_t next_ino = 1;

static struct tnode *T(struct vnode *v)
{
    return (struct tnode *)v;
}

static void touch(struct tnode *n, bool modified)
{
    int64_t t = realtime_ns();
    n->ctime = t;
    if (modified)
        n->mtime = t;
}

static struct tnode *node_new(struct tnode *parent, uint32_t mode)
{
    struct tnode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->vn.ops = &tmpfs_vops;
    n->vn.mode = mode;
    n->vn.ino = next_ino++;
    n->vn.mnt = parent ? parent->vn.mnt : NULL;
    n->parent = parent ? parent : n;
    n->next_cookie = 2;
    n->atime = n->mtime = n->ctime = realtime_ns();
    return n;
}

static void free_data(struct tnode *n, uint64_t from_page)
{
    for (uint64_t i = from_page; i < n->npages; i++) {
        if (n->pages[i]) {
            page_free(n->pages[i]);
            n->pages[i] = 0;
        }
    }
}

static void node_free(struct tnode *n)
{
    free_data(n, 0);
    free(n->pages);
    free(n->link);
    free(n);
}

static void tmpfs_release(struct vnode *v)
{
    if (T(v)->nlink == 0)
        node_free(T(v));
}

static void unlink_node(struct tnode *n)
{
    if (--n->nlink == 0 && n->vn.refs == 0)
        node_free(n);
}

struct vnode *tmpfs_new(void)
{
    struct tnode *root = node_new(NULL, S_IFDIR | 01777);
    if (!root)
        return NULL;
    root->nlink = 2;
    root->vn.refs = 1;
    return &root->vn;
}

static struct tdirent *find(struct tnode *dir, const char *name, size_t len, struct tdirent ***prev)
{
    struct tdirent **pp = &dir->entries;
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->len == len && memcmp((*pp)->name, name, len) == 0) {
            if (prev)
                *prev = pp;
            return *pp;
        }
    }
    return NULL;
}

static int tmpfs_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
    struct tnode *d = T(dir);
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        *out = vn_get(&d->parent->vn);
        return 0;
    }
    struct tdirent *e = find(d, name, len, NULL);
    if (!e)
        return -ENOENT;
    *out = vn_get(&e->node->vn);
    return 0;
}

static int add_entry(struct tnode *dir, const char *name, size_t len, struct tnode *n)
{
    struct tdirent *e = malloc(sizeof *e + len + 1);
    if (!e)
        return -ENOSPC;
    e->len = len;
    memcpy(e->name, name, len);
    e->name[len] = 0;
    e->node = n;
    e->cookie = dir->next_cookie++;
    /* Append, so readdir order is creation order and cookies grow along the list. */
    struct tdirent **pp = &dir->entries;
    while (*pp)
        pp = &(*pp)->next;
    e->next = NULL;
    *pp = e;
    n->nlink++;
    touch(dir, true);
    return 0;
}

static int tmpfs_create(struct vnode *dir, const char *name, size_t len, uint32_t mode,
                        struct vnode **out)
{
    struct tnode *d = T(dir);
    if (find(d, name, len, NULL))
        return -EEXIST;
    struct tnode *n = node_new(d, mode);
    if (!n)
        return -ENOSPC;
    int r = add_entry(d, name, len, n);
    if (r < 0) {
        node_free(n);
        return r;
    }
    if (S_ISDIR(mode)) {
        n->nlink++; /* its own "." */
        d->nlink++; /* its ".." */
    }
    if (out)
        *out = vn_get(&n->vn);
    return 0;
}

static int tmpfs_mkdir(struct vnode *dir, const char *name, size_t len, uint32_t mode)
{
    return tmpfs_create(dir, name, len, S_IFDIR | (mode & 07777), NULL);
}

static void remove_entry(struct tnode *dir, struct tdirent **pp)
{
    struct tdirent *e = *pp;
    *pp = e->next;
    free(e);
    touch(dir, true);
}

static int tmpfs_unlink(struct vnode *dir, const char *name, size_t len, bool dir_wanted)
{
    struct tnode *d = T(dir);
    struct tdirent **pp;
    struct tdirent *e = find(d, name, len, &pp);
    if (!e)
        return -ENOENT;
    struct tnode *n = e->node;
    if (dir_wanted) {
        if (!S_ISDIR(n->vn.mode))
            return -ENOTDIR;
        if (n->entries)
            return -ENOTEMPTY;
        d->nlink--;
        n->nlink--; /* "." */
    } else if (S_ISDIR(n->vn.mode)) {
        return -EISDIR;
    }
    remove_entry(d, pp);
    touch(n, false);
    unlink_node(n);
    return 0;
}

static bool is_ancestor(struct tnode *a, struct tnode *n)
{
    for (;;) {
        if (n == a)
            return true;
        if (n->parent == n)
            return false;
        n = n->parent;
    }
}

#define RENAME_NOREPLACE 1

static int tmpfs_rename(struct vnode *odir, const char *on, size_t ol, struct vnode *ndir,
                        const char *nn, size_t nl, unsigned flags)
{
    struct tnode *od = T(odir), *nd = T(ndir);
    struct tdirent **opp, **npp;
    struct tdirent *oe = find(od, on, ol, &opp);
    if (!oe)
        return -ENOENT;
    struct tnode *n = oe->node;
    struct tdirent *ne = find(nd, nn, nl, &npp);
    if (ne && (flags & RENAME_NOREPLACE))
        return -EEXIST;
    if (ne && ne->node == n)
        return 0;
    if (S_ISDIR(n->vn.mode) && is_ancestor(n, nd))
        return -EINVAL;
    if (ne) {
        struct tnode *victim = ne->node;
        if (S_ISDIR(n->vn.mode)) {
            if (!S_ISDIR(victim->vn.mode))
                return -ENOTDIR;
            if (victim->entries)
                return -ENOTEMPTY;
        } else if (S_ISDIR(victim->vn.mode)) {
            return -EISDIR;
        }
        /* Point the existing entry at n: the replacement is atomic. */
        ne->node = n;
        if (S_ISDIR(victim->vn.mode)) {
            nd->nlink--;
            victim->nlink--;
        }
        touch(victim, false);
        unlink_node(victim);
        /* Re-find the old entry: the list did not change, but be exact. */
        oe = find(od, on, ol, &opp);
        remove_entry(od, opp);
        touch(nd, true);
    } else {
        int r = add_entry(nd, nn, nl, n);
        if (r < 0)
            return r;
        n->nlink--; /* add_entry counted a second link */
        oe = find(od, on, ol, &opp);
        remove_entry(od, opp);
    }
    if (S_ISDIR(n->vn.mode) && od != nd) {
        od->nlink--;
        nd->nlink++;
    }
    n->parent = nd;
    touch(n, false);
    return 0;
}

static int tmpfs_readdir(struct vnode *dir, uint64_t *cookie, char *name, uint64_t *ino,
                         uint8_t *type)
{
    struct tnode *d = T(dir);
    uint64_t c = *cookie;
    if (c < 2) {
        strcpy(name, c == 0 ? "." : "..");
        *ino = c == 0 ? d->vn.ino : d->parent->vn.ino;
        *type = 4;
        *cookie = c + 1;
        return 1;
    }
    for (struct tdirent *e = d->entries; e; e = e->next) {
        if (e->cookie >= c) {
            memcpy(name, e->name, e->len + 1);
            *ino = e->node->vn.ino;
            *type = (e->node->vn.mode & S_IFMT) >> 12;
            *cookie = e->cookie + 1;
            return 1;
        }
    }
    return 0;
}

static int tmpfs_getattr(struct vnode *v, struct kstat *st)
{
    struct tnode *n = T(v);
    memset(st, 0, sizeof *st);
    st->st_dev = v->mnt ? v->mnt->dev : 0;
    st->st_ino = v->ino;
    st->st_mode = v->mode;
    st->st_nlink = n->nlink;
    st->st_blksize = 4096;
    if (S_ISDIR(v->mode)) {
        uint64_t entries = 0;
        for (struct tdirent *e = n->entries; e; e = e->next)
            entries++;
        st->st_size = 40 + 20 * entries;
    } else if (S_ISLNK(v->mode)) {
        st->st_size = strlen(n->link);
    } else {
        st->st_size = n->size;
        uint64_t used = 0;
        for (uint64_t i = 0; i < n->npages; i++)
            used += n->pages[i] != 0;
        st->st_blocks = used * 8;
    }
    st->st_atime = n->atime / NSEC_PER_SEC;
    st->st_atime_nsec = n->atime % NSEC_PER_SEC;
    st->st_mtime = n->mtime / NSEC_PER_SEC;
    st->st_mtime_nsec = n->mtime % NSEC_PER_SEC;
    st->st_ctime = n->ctime / NSEC_PER_SEC;
    st->st_ctime_nsec = n->ctime % NSEC_PER_SEC;
    return 0;
}

static int tmpfs_readlink(struct vnode *v, char *buf, size_t len)
{
    struct tnode *n = T(v);
    if (!n->link)
        return -EINVAL;
    size_t l = MIN(strlen(n->link), len);
    memcpy(buf, n->link, l);
    return l;
}

static int tmpfs_symlink(struct vnode *dir, const char *name, size_t len, const char *target)
{
    struct vnode *v;
    int r = tmpfs_create(dir, name, len, S_IFLNK | 0777, &v);
    if (r < 0)
        return r;
    T(v)->link = malloc(strlen(target) + 1);
    if (!T(v)->link) {
        tmpfs_unlink(dir, name, len, false);
        vn_put(v);
        return -ENOSPC;
    }
    strcpy(T(v)->link, target);
    vn_put(v);
    return 0;
}

bool vnode_is_tmpfs(struct vnode *v)
{
    return v->ops == &tmpfs_vops;
}

static int grow_pages(struct tnode *n, uint64_t want)
{
    if (want <= n->npages)
        return 0;
    uint64_t cap = n->npages ? n->npages : 4;
    while (cap < want)
        cap *= 2;
    uint64_t *p = realloc(n->pages, cap * sizeof *p);
    if (!p)
        return -ENOSPC;
    memset(p + n->npages, 0, (cap - n->npages) * sizeof *p);
    n->pages = p;
    n->npages = cap;
    return 0;
}

static int tmpfs_truncate(struct vnode *v, uint64_t len)
{
    struct tnode *n = T(v);
    if (S_ISDIR(v->mode))
        return -EISDIR;
    if (len > (1ULL << 40))
        return -EFBIG;
    if (len < n->size) {
        uint64_t keep = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
        free_data(n, keep);
        if (len % PAGE_SIZE && keep - 1 < n->npages && n->pages[keep - 1])
            memset((uint8_t *)PHYS_TO_VIRT(n->pages[keep - 1]) + len % PAGE_SIZE, 0,
                   PAGE_SIZE - len % PAGE_SIZE);
    }
    n->size = len;
    touch(n, true);
    return 0;
}

static int tmpfs_chmod(struct vnode *v, uint32_t mode)
{
    v->mode = (v->mode & S_IFMT) | (mode & 07777);
    touch(T(v), false);
    return 0;
}

static int tmpfs_utimes(struct vnode *v, int64_t atime, int64_t mtime)
{
    struct tnode *n = T(v);
    if (atime >= 0)
        n->atime = atime;
    if (mtime >= 0)
        n->mtime = mtime;
    n->ctime = realtime_ns();
    return 0;
}

static int tmpfs_open(struct vnode *v, struct file *f)
{
    (void)v;
    f->ops = &tmpfs_fops;
    return 0;
}

static ssize_t tmpfs_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    struct tnode *n = T(f->vn);
    if (S_ISDIR(f->vn->mode))
        return -EISDIR;
    if (*pos >= n->size)
        return 0;
    size_t total = MIN(len, n->size - *pos), done = 0;
    while (done < total) {
        uint64_t off = *pos + done;
        uint64_t pi = off / PAGE_SIZE, po = off % PAGE_SIZE;
        size_t chunk = MIN(PAGE_SIZE - po, total - done);
        if (pi < n->npages && n->pages[pi])
            memcpy((uint8_t *)buf + done, (uint8_t *)PHYS_TO_VIRT(n->pages[pi]) + po, chunk);
        else
            memset((uint8_t *)buf + done, 0, chunk);
        done += chunk;
    }
    *pos += done;
    return done;
}

static ssize_t tmpfs_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    struct tnode *n = T(f->vn);
    if (len == 0)
        return 0;
    if (*pos > (1ULL << 40) || len > (1ULL << 40) - *pos)
        return -EFBIG;
    uint64_t end = *pos + len;
    if (grow_pages(n, ALIGN_UP(end, PAGE_SIZE) / PAGE_SIZE) < 0)
        return -ENOSPC;
    size_t done = 0;
    while (done < len) {
        uint64_t off = *pos + done;
        uint64_t pi = off / PAGE_SIZE, po = off % PAGE_SIZE;
        size_t chunk = MIN(PAGE_SIZE - po, len - done);
        if (!n->pages[pi]) {
            n->pages[pi] = page_alloc();
            if (!n->pages[pi])
                break;
        }
        memcpy((uint8_t *)PHYS_TO_VIRT(n->pages[pi]) + po, (const uint8_t *)buf + done, chunk);
        done += chunk;
    }
    if (done == 0)
        return -ENOSPC;
    *pos += done;
    if (*pos > n->size)
        n->size = *pos;
    touch(n, true);
    return done;
}

static int tmpfs_mmap(struct file *f, uint64_t off, uint64_t len, bool shared_write, struct vma *v)
{
    (void)f, (void)off, (void)len;
    if (shared_write)
        return -ENODEV; /* MAP_SHARED writable mappings need a page cache we do not have */
    v->kind = VMA_ANON; /* filled from the file right after mapping (see mmap) */
    return 1;
}

static uint32_t tmpfs_poll(struct file *f, uint32_t *wait)
{
    (void)f, (void)wait;
    return POLLIN | POLLOUT;
}

static const struct vnode_ops tmpfs_vops = {
    .lookup = tmpfs_lookup,
    .create = tmpfs_create,
    .mkdir = tmpfs_mkdir,
    .unlink = tmpfs_unlink,
    .rename = tmpfs_rename,
    .readlink = tmpfs_readlink,
    .symlink = tmpfs_symlink,
    .open = tmpfs_open,
    .getattr = tmpfs_getattr,
    .truncate = tmpfs_truncate,
    .chmod = tmpfs_chmod,
    .utimes = tmpfs_utimes,
    .readdir = tmpfs_readdir,
    .release = tmpfs_release,
};

static const struct file_ops tmpfs_fops = {
    .read = tmpfs_read,
    .write = tmpfs_write,
    .mmap = tmpfs_mmap,
    .poll = tmpfs_poll,
    .seekable = true,
};

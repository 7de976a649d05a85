/*
 * volfs.c — volumes: host directories mounted in the guest, served by the monitor
 * (uvmm --volume HOSTDIR:GUESTDIR[:ro]; the host side is vmm/mod_volume.c).
 *
 * A vnode is a path relative to the volume's root ("." is the root). The VFS walks
 * paths one component at a time and follows a volume's symlinks itself, beneath the
 * volume's root (mount->beneath), so a path sent to the monitor never holds a
 * symlink; the monitor resolves it beneath the root once more, as the real boundary.
 * ".." is the lexical parent, which is exact for such paths, and a path that comes
 * back to the root is the mount's own root vnode, so ".." from there leaves the
 * volume the way it leaves any mount.
 *
 * Open files are monitor handles. A vnode remembers the handle of one file open on
 * it, so fstat, ftruncate and getdents keep working on a file that was unlinked or
 * renamed. Data moves straight between the application's pages and the host file,
 * up to UH_IO_MAX_SEGS segments per hypercall. Directory entries arrive in batches;
 * getdents offsets are ordinals, and each directory keeps the host's cookie of every
 * ordinal it has passed, so an offset can be restored with lseek.
 */
#include "vfs.h"
#include "arch/hcall.h"
#include "sys/time.h"

#define DIRBUF (16 * 1024)

struct vol {
    uint32_t index;
    struct mount *mnt;
};

struct vnode_v {
    struct vnode vn;
    struct vol *vol;
    char *path;     /* relative to the volume's root; "." for the root */
    uint32_t fh;    /* a handle open on this vnode, or UH_VOL_NOHANDLE */
    bool fh_write;  /* ... and it was opened for writing */
    uint32_t spare; /* the handle create() opened, for the open() that follows */
    /* Directories: offs[k] is the host's cookie where entry k starts (offs[0] = 0). */
    uint64_t *offs;
    uint64_t noffs, capoffs;
    uint8_t *batch; /* dirent64 records of entries batch_first.. */
    uint32_t batch_len, batch_count;
    uint64_t batch_first;
    uint64_t cur_ord; /* the entry at byte cur_pos of the batch */
    uint32_t cur_pos;
};

static const struct vnode_ops volfs_vops;
static const struct file_ops volfs_fops;
static struct vol vols[UH_VOL_MAX];

/* Hypercall buffers: kernel data is physically contiguous. */
static char path_buf[2][PATH_MAX];
static char link_buf[PATH_MAX];
static uint8_t dir_buf[DIRBUF];

static struct vnode_v *V(struct vnode *v)
{
    return (struct vnode_v *)v;
}

static void req_init(struct uh_vol_req *r, const struct vnode_v *v)
{
    memset(r, 0, sizeof *r);
    r->vol = v->vol->index;
    r->handle = UH_VOL_NOHANDLE;
}

/* Points the request's path (which 0) or path2 (which 1) at a copy of s. */
static void req_path(struct uh_vol_req *r, int which, const char *s)
{
    size_t n = strlen(s);
    memcpy(path_buf[which], s, n + 1);
    if (which == 0) {
        r->path = virt_to_phys(path_buf[0]);
        r->path_len = n;
    } else {
        r->path2 = virt_to_phys(path_buf[1]);
        r->path2_len = n;
    }
}

static int64_t call(unsigned nr, struct uh_vol_req *r)
{
    hcall(nr, r);
    return r->ret;
}

static struct vnode_v *node_new(struct vol *vol, char *path, const struct uh_vol_attr *a)
{
    struct vnode_v *n = calloc(1, sizeof *n);
    if (!n) {
        free(path);
        return NULL;
    }
    n->vn.ops = &volfs_vops;
    n->vn.mnt = vol->mnt;
    n->vn.mode = a->mode;
    n->vn.ino = a->ino;
    n->vn.refs = 1;
    n->vol = vol;
    n->path = path;
    n->fh = n->spare = UH_VOL_NOHANDLE;
    return n;
}

static void close_handle(struct vnode_v *v, uint32_t h)
{
    struct uh_vol_req r;
    req_init(&r, v);
    r.handle = h;
    call(UH_VOL_CLOSE, &r);
}

static void volfs_release(struct vnode *vn)
{
    struct vnode_v *v = V(vn);
    if (v->spare != UH_VOL_NOHANDLE)
        close_handle(v, v->spare);
    free(v->path);
    free(v->offs);
    free(v->batch);
    free(v);
}

/* The path of `name` in dir (malloc'd), or NULL with *err set. */
static char *child_path(struct vnode_v *d, const char *name, size_t len, int *err)
{
    size_t dl = strcmp(d->path, ".") == 0 ? 0 : strlen(d->path);
    if (dl + 1 + len + 1 > PATH_MAX) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    char *p = malloc(dl + len + 2);
    if (!p) {
        *err = -ENOMEM;
        return NULL;
    }
    if (dl) {
        memcpy(p, d->path, dl);
        p[dl++] = '/';
    }
    memcpy(p + dl, name, len);
    p[dl + len] = 0;
    return p;
}

static int volfs_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
    struct vnode_v *d = V(dir);
    char *path;
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        char *slash = strrchr(d->path, '/');
        if (!slash) {
            if (strcmp(d->path, ".") == 0)
                return -EXDEV; /* the VFS handles ".." at the mount's root */
            *out = vn_get(d->vol->mnt->root);
            return 0;
        }
        size_t pl = slash - d->path;
        path = malloc(pl + 1);
        if (!path)
            return -ENOMEM;
        memcpy(path, d->path, pl);
        path[pl] = 0;
    } else {
        int err;
        path = child_path(d, name, len, &err);
        if (!path)
            return err;
    }
    struct uh_vol_req r;
    req_init(&r, d);
    req_path(&r, 0, path);
    if (call(UH_VOL_LOOKUP, &r) < 0) {
        free(path);
        return r.ret;
    }
    struct vnode_v *n = node_new(d->vol, path, &r.attr);
    if (!n)
        return -ENOMEM;
    *out = &n->vn;
    return 0;
}

static void split_ns(int64_t ns, uint64_t *sec, uint64_t *nsec)
{
    int64_t s = ns / (int64_t)NSEC_PER_SEC, n = ns % (int64_t)NSEC_PER_SEC;
    if (n < 0) {
        n += NSEC_PER_SEC;
        s--;
    }
    *sec = s;
    *nsec = n;
}

static int volfs_getattr(struct vnode *vn, struct kstat *st)
{
    struct vnode_v *v = V(vn);
    struct uh_vol_req r;
    req_init(&r, v);
    if (v->fh != UH_VOL_NOHANDLE) {
        r.handle = v->fh;
        call(UH_VOL_FSTAT, &r);
    } else {
        req_path(&r, 0, v->path);
        call(UH_VOL_LOOKUP, &r);
    }
    if (r.ret < 0)
        return r.ret;
    const struct uh_vol_attr *a = &r.attr;
    vn->mode = a->mode;
    memset(st, 0, sizeof *st);
    st->st_dev = vn->mnt ? vn->mnt->dev : 0;
    st->st_ino = a->ino;
    st->st_nlink = a->nlink;
    st->st_mode = a->mode;
    st->st_size = a->size;
    st->st_blksize = a->blksize;
    st->st_blocks = a->blocks;
    split_ns(a->atime_ns, &st->st_atime, &st->st_atime_nsec);
    split_ns(a->mtime_ns, &st->st_mtime, &st->st_mtime_nsec);
    split_ns(a->ctime_ns, &st->st_ctime, &st->st_ctime_nsec);
    return 0;
}

/* A request naming `name` in dir; the path goes to path slot `which`. */
static int req_child(struct uh_vol_req *r, int which, struct vnode_v *d, const char *name,
                     size_t len)
{
    int err;
    char *path = child_path(d, name, len, &err);
    if (!path)
        return err;
    req_path(r, which, path);
    free(path);
    return 0;
}

static int volfs_create(struct vnode *dir, const char *name, size_t len, uint32_t mode,
                        struct vnode **out)
{
    struct vnode_v *d = V(dir);
    int err;
    char *path = child_path(d, name, len, &err);
    if (!path)
        return err;
    struct uh_vol_req r;
    req_init(&r, d);
    req_path(&r, 0, path);
    r.mode = mode & 07777;
    if (call(UH_VOL_CREATE, &r) < 0) {
        free(path);
        return r.ret;
    }
    struct vnode_v *n = node_new(d->vol, path, &r.attr);
    if (!n) {
        close_handle(d, r.handle);
        return -ENOMEM;
    }
    n->spare = n->fh = r.handle;
    n->fh_write = true;
    if (out)
        *out = &n->vn;
    else
        vn_put(&n->vn);
    return 0;
}

static int volfs_mkdir(struct vnode *dir, const char *name, size_t len, uint32_t mode)
{
    struct uh_vol_req r;
    req_init(&r, V(dir));
    int err = req_child(&r, 0, V(dir), name, len);
    if (err < 0)
        return err;
    r.mode = mode & 07777;
    return call(UH_VOL_MKDIR, &r);
}

static int volfs_unlink(struct vnode *dir, const char *name, size_t len, bool dir_wanted)
{
    struct uh_vol_req r;
    req_init(&r, V(dir));
    int err = req_child(&r, 0, V(dir), name, len);
    if (err < 0)
        return err;
    r.flags = dir_wanted ? UH_VOL_RMDIR : 0;
    return call(UH_VOL_UNLINK, &r);
}

static int volfs_rename(struct vnode *odir, const char *on, size_t ol, struct vnode *ndir,
                        const char *nn, size_t nl, unsigned flags)
{
    struct uh_vol_req r;
    req_init(&r, V(odir));
    int err = req_child(&r, 0, V(odir), on, ol);
    if (err == 0)
        err = req_child(&r, 1, V(ndir), nn, nl);
    if (err < 0)
        return err;
    r.flags = (flags & 1) ? UH_VOL_NOREPLACE : 0;
    return call(UH_VOL_RENAME, &r);
}

static int volfs_readlink(struct vnode *vn, char *buf, size_t len)
{
    struct uh_vol_req r;
    req_init(&r, V(vn));
    req_path(&r, 0, V(vn)->path);
    r.path2 = virt_to_phys(link_buf);
    r.path2_len = sizeof link_buf;
    if (call(UH_VOL_READLINK, &r) < 0)
        return r.ret;
    size_t n = MIN((size_t)r.ret, len);
    memcpy(buf, link_buf, n);
    return n;
}

static int volfs_symlink(struct vnode *dir, const char *name, size_t len, const char *target)
{
    struct uh_vol_req r;
    req_init(&r, V(dir));
    int err = req_child(&r, 0, V(dir), name, len);
    if (err < 0)
        return err;
    req_path(&r, 1, target);
    return call(UH_VOL_SYMLINK, &r);
}

/* Names the vnode in a request: by its open handle when it has one (so it works on
 * an unlinked file), else by path. */
static void req_self(struct uh_vol_req *r, struct vnode_v *v, bool write)
{
    req_init(r, v);
    if (v->fh != UH_VOL_NOHANDLE && (!write || v->fh_write))
        r->handle = v->fh;
    else
        req_path(r, 0, v->path);
}

static int volfs_truncate(struct vnode *vn, uint64_t len)
{
    struct uh_vol_req r;
    req_self(&r, V(vn), true);
    r.arg = len;
    return call(UH_VOL_TRUNCATE, &r);
}

static int volfs_chmod(struct vnode *vn, uint32_t mode)
{
    struct uh_vol_req r;
    req_self(&r, V(vn), false);
    r.flags = UH_VOL_SET_MODE;
    r.mode = mode & 07777;
    if (call(UH_VOL_SETATTR, &r) == 0)
        vn->mode = r.attr.mode;
    return r.ret;
}

static int volfs_utimes(struct vnode *vn, int64_t atime, int64_t mtime)
{
    struct uh_vol_req r;
    req_self(&r, V(vn), false);
    r.flags = (atime >= 0 ? UH_VOL_SET_ATIME : 0) | (mtime >= 0 ? UH_VOL_SET_MTIME : 0);
    if (!r.flags)
        return 0;
    r.arg = atime;
    r.arg2 = mtime;
    return call(UH_VOL_SETATTR, &r);
}

static uint32_t file_handle(struct file *f)
{
    return (uint32_t)(uintptr_t)f->priv;
}

static int volfs_open(struct vnode *vn, struct file *f)
{
    struct vnode_v *v = V(vn);
    uint32_t acc = f->flags & O_ACCMODE;
    bool write = acc != O_RDONLY;
    uint32_t h;
    if (v->spare != UH_VOL_NOHANDLE) {
        h = v->spare; /* just created, open for reading and writing */
        v->spare = UH_VOL_NOHANDLE;
        write = true;
    } else {
        struct uh_vol_req r;
        req_init(&r, v);
        req_path(&r, 0, v->path);
        r.flags = (acc != O_WRONLY ? UH_VOL_O_READ : 0) | (write ? UH_VOL_O_WRITE : 0) |
                  (S_ISDIR(vn->mode) ? UH_VOL_O_DIRECTORY : 0) |
                  ((f->flags & O_DSYNC) ? UH_VOL_O_SYNC : 0);
        if (call(UH_VOL_OPEN, &r) < 0)
            return r.ret;
        h = r.handle;
        vn->mode = r.attr.mode;
    }
    f->priv = (void *)(uintptr_t)h;
    f->ops = &volfs_fops;
    if (v->fh == UH_VOL_NOHANDLE || (write && !v->fh_write)) {
        v->fh = h;
        v->fh_write = write;
    }
    return 0;
}

static void volfs_close(struct file *f)
{
    struct vnode_v *v = V(f->vn);
    uint32_t h = file_handle(f);
    if (v->fh == h)
        v->fh = UH_VOL_NOHANDLE;
    close_handle(v, h);
}

struct xfer {
    uint32_t handle;
    bool write;
    uint64_t *pos;
};

static int64_t volfs_batch(void *ctx, uint32_t nsegs, uint64_t segs)
{
    struct xfer *x = ctx;
    struct uh_vol_io io = {.handle = x->handle, .nsegs = nsegs, .segs = segs, .offset = *x->pos};
    hcall(x->write ? UH_VOL_WRITE : UH_VOL_READ, &io);
    if (io.ret > 0)
        *x->pos += io.ret;
    return io.ret;
}

/* Moves bytes between the iovecs and the host file at *pos, until done or a short
 * transfer (the end of the file). */
static ssize_t volfs_xfer(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos,
                          bool write)
{
    struct xfer x = {.handle = file_handle(f), .write = write, .pos = pos};
    return iov_xfer(iov, cnt, !write, false, volfs_batch, &x);
}

static ssize_t volfs_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    struct kiovec iov = {buf, len};
    return volfs_xfer(f, &iov, 1, pos, false);
}

static ssize_t volfs_readv(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos)
{
    return volfs_xfer(f, iov, cnt, pos, false);
}

static ssize_t volfs_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    struct kiovec iov = {(void *)buf, len};
    return volfs_xfer(f, &iov, 1, pos, true);
}

static ssize_t volfs_writev(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos)
{
    return volfs_xfer(f, iov, cnt, pos, true);
}

static int volfs_fsync(struct file *f)
{
    struct uh_vol_req r;
    req_init(&r, V(f->vn));
    r.handle = file_handle(f);
    return call(UH_VOL_FSYNC, &r);
}

static int volfs_mmap(struct file *f, uint64_t off, uint64_t len, bool shared_write, struct vma *v)
{
    (void)f, (void)off, (void)len;
    if (shared_write)
        return -ENODEV; /* MAP_SHARED writable mappings need a page cache we do not have */
    v->kind = VMA_ANON; /* filled from the file right after mapping (see mmap) */
    return 1;
}

static uint32_t volfs_poll(struct file *f, uint32_t *wait)
{
    (void)f, (void)wait;
    return POLLIN | POLLOUT;
}

/* ---- directories ---------------------------------------------------------------- */

static int remember_offset(struct vnode_v *d, uint64_t ord, uint64_t cookie)
{
    if (ord >= d->capoffs) {
        uint64_t cap = d->capoffs ? d->capoffs * 2 : 64;
        while (cap <= ord)
            cap *= 2;
        uint64_t *o = realloc(d->offs, cap * sizeof *o);
        if (!o)
            return -ENOMEM;
        d->offs = o;
        d->capoffs = cap;
    }
    d->offs[ord] = cookie;
    if (ord >= d->noffs)
        d->noffs = ord + 1;
    return 0;
}

/* Reads the entries from ordinal ord on into the batch; 0 at the end. */
static int fill_batch(struct vnode_v *d, uint64_t ord)
{
    struct uh_vol_req r;
    uint32_t h = d->fh;
    if (h == UH_VOL_NOHANDLE) { /* getdents on a file that is gone; open a moment */
        req_init(&r, d);
        req_path(&r, 0, d->path);
        r.flags = UH_VOL_O_READ | UH_VOL_O_DIRECTORY;
        if (call(UH_VOL_OPEN, &r) < 0)
            return r.ret;
        h = r.handle;
    }
    struct uh_vol_dir q = {
        .handle = h, .len = sizeof dir_buf, .buf = virt_to_phys(dir_buf), .cookie = d->offs[ord]};
    hcall(UH_VOL_READDIR, &q);
    if (h != d->fh)
        close_handle(d, h);
    if (q.ret <= 0)
        return q.ret;
    /* Count the records; the monitor is trusted, but a bad length must not run off. */
    uint32_t len = MIN((uint64_t)q.ret, sizeof dir_buf), pos = 0, count = 0;
    while (pos + sizeof(struct linux_dirent64) < len) {
        const struct linux_dirent64 *e = (const void *)(dir_buf + pos);
        if (e->d_reclen <= sizeof *e || e->d_reclen > len - pos ||
            !memchr(e->d_name, 0, MIN(e->d_reclen - sizeof *e, NAME_MAX + 1)))
            break;
        pos += e->d_reclen;
        count++;
    }
    if (count == 0)
        return -EIO;
    uint8_t *b = realloc(d->batch, pos);
    if (!b)
        return -ENOMEM;
    memcpy(b, dir_buf, pos);
    d->batch = b;
    d->batch_len = pos;
    d->batch_count = count;
    d->batch_first = d->cur_ord = ord;
    d->cur_pos = 0;
    return 1;
}

static int volfs_readdir(struct vnode *dir, uint64_t *cookie, char *name, uint64_t *ino,
                         uint8_t *type)
{
    struct vnode_v *d = V(dir);
    uint64_t c = *cookie;
    if (c == 0) { /* from the start: fresh entries */
        free(d->batch);
        d->batch = NULL;
        d->batch_count = 0;
        if (remember_offset(d, 0, 0) < 0)
            return -ENOMEM;
    }
    if (!d->batch || c < d->batch_first || c >= d->batch_first + d->batch_count) {
        if (c >= d->noffs)
            return 0; /* an offset we never handed out */
        int r = fill_batch(d, c);
        if (r <= 0)
            return r;
    }
    if (c < d->cur_ord) {
        d->cur_ord = d->batch_first;
        d->cur_pos = 0;
    }
    while (d->cur_ord < c) {
        d->cur_pos += ((const struct linux_dirent64 *)(d->batch + d->cur_pos))->d_reclen;
        d->cur_ord++;
    }
    const struct linux_dirent64 *e = (const void *)(d->batch + d->cur_pos);
    if (remember_offset(d, c + 1, e->d_off) < 0)
        return -ENOMEM;
    strcpy(name, e->d_name);
    *ino = e->d_ino;
    *type = e->d_type;
    d->cur_pos += e->d_reclen;
    d->cur_ord++;
    *cookie = c + 1;
    return 1;
}

/* ---- mounting --------------------------------------------------------------------- */

void volfs_init(void)
{
    for (uint32_t i = 0; i < UH_VOL_MAX; i++) {
        struct uh_vol_info info = {.index = i};
        hcall(UH_VOL_INFO, &info);
        if (info.ret < 0)
            return;
        info.guest_dir[UH_VOL_NAME_MAX - 1] = 0;
        struct vol *vol = &vols[i];
        vol->index = i;
        struct uh_vol_req r = {.vol = i, .handle = UH_VOL_NOHANDLE};
        req_path(&r, 0, ".");
        if (call(UH_VOL_LOOKUP, &r) < 0)
            panic("volume %s: the host directory is gone (errno %d)", info.guest_dir, (int)-r.ret);
        char *path = malloc(2);
        if (!path)
            panic("volume %s: out of memory", info.guest_dir);
        strcpy(path, ".");
        struct vnode_v *root = node_new(vol, path, &r.attr);
        if (!root)
            panic("volume %s: out of memory", info.guest_dir);
        vol->mnt = vfs_mount(&root->vn, info.guest_dir, info.readonly);
        if (!vol->mnt)
            panic("volume %s: cannot mount it there (does its parent directory exist in "
                  "the image?)",
                  info.guest_dir);
        vol->mnt->beneath = true;
        root->vn.mnt = vol->mnt;
        vn_put(&root->vn); /* the mount holds it */
    }
}

static const struct vnode_ops volfs_vops = {
    .lookup = volfs_lookup,
    .create = volfs_create,
    .mkdir = volfs_mkdir,
    .unlink = volfs_unlink,
    .rename = volfs_rename,
    .readlink = volfs_readlink,
    .symlink = volfs_symlink,
    .open = volfs_open,
    .getattr = volfs_getattr,
    .truncate = volfs_truncate,
    .chmod = volfs_chmod,
    .utimes = volfs_utimes,
    .readdir = volfs_readdir,
    .release = volfs_release,
};

static const struct file_ops volfs_fops = {
    .read = volfs_read,
    .readv = volfs_readv,
    .write = volfs_write,
    .writev = volfs_writev,
    .fsync = volfs_fsync,
    .close = volfs_close,
    .mmap = volfs_mmap,
    .poll = volfs_poll,
    .seekable = true,
};

/*
 * fs_syscalls.c — the file system calls: argument checking and Linux's errno
 * rules on top of the VFS. Every user pointer is checked (EFAULT) before use;
 * the order of checks follows Linux where programs can tell the difference.
 */
#include "vfs.h"
#include "sys/proc.h"
#include "sys/time.h"

#define MAX_RW 0x7ffff000ULL
#define IOV_MAX 1024

extern struct vnode *cwd_vnode;
static char cwd_path[PATH_MAX] = "/";
static uint32_t umask_bits = 022;

bool vfs_readonly(struct vnode *v);
const char *vfs_mount_name(struct vnode *dir, int index, uint64_t *ino);
bool file_is_console(struct file *f);
int console_fstat(struct file *f, struct kstat *st);
bool file_is_pipe(struct file *f);
uint64_t pipe_ino_of(struct file *f);
bool vnode_is_tmpfs(struct vnode *v);

/* ---- helpers ------------------------------------------------------------ */

static int copy_path(const char *upath, char *kpath)
{
    int64_t n = user_strlen(upath, PATH_MAX);
    if (n < 0)
        return (int)n;
    memcpy(kpath, upath, n + 1);
    return 0;
}

/* Resolves a user path; buf must hold PATH_MAX bytes. */
static int lookup_user(int dirfd, const char *upath, int flags, struct vnode **out)
{
    char *path = malloc(PATH_MAX);
    if (!path)
        return -ENOMEM;
    int r = copy_path(upath, path);
    if (r == 0)
        r = vfs_lookup(dirfd, path, flags, out);
    free(path);
    return r;
}

struct parent {
    char *path;
    struct vnode *dir;
    const char *name;
    size_t len;
};

static int parent_user(int dirfd, const char *upath, struct parent *p)
{
    p->path = malloc(PATH_MAX);
    p->dir = NULL;
    if (!p->path)
        return -ENOMEM;
    int r = copy_path(upath, p->path);
    if (r == 0)
        r = vfs_lookup_parent(dirfd, p->path, &p->dir, &p->name, &p->len);
    if (r < 0) {
        free(p->path);
        p->path = NULL;
    }
    return r;
}

static void parent_done(struct parent *p)
{
    vn_put(p->dir);
    free(p->path);
}

static bool is_dot(const char *n, size_t len)
{
    return (len == 1 && n[0] == '.') || (len == 2 && n[0] == '.' && n[1] == '.');
}

/* Looks the last component up in its resolved parent (mount points included). */
static int child_lookup(struct parent *p, int flags, struct vnode **out)
{
    char name[NAME_MAX + 1];
    memcpy(name, p->name, p->len);
    name[p->len] = 0;
    return vfs_lookup_in(p->dir, name, flags, out);
}

static struct file *get_file(int fd)
{
    return fd_get(fd);
}

static int stat_file(struct file *f, struct kstat *st)
{
    if (f->vn)
        return f->vn->ops->getattr(f->vn, st);
    if (file_is_console(f))
        return console_fstat(f, st);
    memset(st, 0, sizeof *st);
    st->st_mode = (file_is_pipe(f) ? S_IFIFO : S_IFSOCK) | 0600;
    st->st_nlink = 1;
    st->st_blksize = 4096;
    if (file_is_pipe(f))
        st->st_ino = pipe_ino_of(f);
    return 0;
}

static int64_t file_size(struct file *f)
{
    struct kstat st;
    int r = stat_file(f, &st);
    return r < 0 ? r : st.st_size;
}

/* ---- read and write -------------------------------------------------------- */

static ssize_t do_read(struct file *f, void *buf, uint64_t len, uint64_t *pos)
{
    if ((f->flags & O_ACCMODE) == O_WRONLY || !f->ops->read)
        return f->vn && S_ISDIR(f->vn->mode) ? -EISDIR : -EBADF;
    if (f->vn && S_ISDIR(f->vn->mode))
        return -EISDIR;
    if (user_check(buf, len, true) < 0)
        return -EFAULT;
    return f->ops->read(f, buf, MIN(len, MAX_RW), pos);
}

static ssize_t do_write(struct file *f, const void *buf, uint64_t len, uint64_t *pos, bool append)
{
    if ((f->flags & O_ACCMODE) == O_RDONLY || !f->ops->write)
        return -EBADF;
    if (user_check(buf, len, false) < 0)
        return -EFAULT;
    if (append && (f->flags & O_APPEND) && f->ops->seekable) {
        int64_t size = file_size(f);
        if (size < 0)
            return size;
        *pos = size;
    }
    return f->ops->write(f, buf, MIN(len, MAX_RW), pos);
}

int64_t sys_read(int fd, void *buf, uint64_t len)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    return do_read(f, buf, len, &f->pos);
}

int64_t sys_write(int fd, const void *buf, uint64_t len)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    return do_write(f, buf, len, &f->pos, true);
}

int64_t sys_pread64(int fd, void *buf, uint64_t len, int64_t off)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (!f->ops->seekable)
        return -ESPIPE;
    uint64_t pos = off;
    return do_read(f, buf, len, &pos);
}

int64_t sys_pwrite64(int fd, const void *buf, uint64_t len, int64_t off)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (!f->ops->seekable)
        return -ESPIPE;
    uint64_t pos = off;
    /* Linux appends even for pwrite on an O_APPEND file. */
    return do_write(f, buf, len, &pos, true);
}

static int check_iov(const struct kiovec *iov, int64_t cnt, bool write, uint64_t *total)
{
    if (cnt < 0 || cnt > IOV_MAX)
        return -EINVAL;
    if (user_check(iov, cnt * sizeof *iov, false) < 0)
        return -EFAULT;
    uint64_t sum = 0;
    for (int64_t i = 0; i < cnt; i++) {
        if (iov[i].len > MAX_RW || sum + iov[i].len > 0x7fffffffffffffffULL)
            return -EINVAL;
        sum += iov[i].len;
        if (user_check(iov[i].base, iov[i].len, write) < 0)
            return -EFAULT;
    }
    *total = sum;
    return 0;
}

static int64_t do_readv(struct file *f, const struct kiovec *iov, int64_t cnt, uint64_t *pos)
{
    uint64_t total;
    int r = check_iov(iov, cnt, true, &total);
    if (r < 0)
        return r;
    if (f->ops->readv) {
        if ((f->flags & O_ACCMODE) == O_WRONLY)
            return -EBADF;
        return f->ops->readv(f, iov, cnt, pos);
    }
    int64_t done = 0;
    for (int64_t i = 0; i < cnt; i++) {
        if (iov[i].len == 0)
            continue;
        ssize_t n = do_read(f, iov[i].base, iov[i].len, pos);
        if (n < 0)
            return done ? done : n;
        done += n;
        if ((uint64_t)n < iov[i].len)
            break;
    }
    return done;
}

static int64_t do_writev(struct file *f, const struct kiovec *iov, int64_t cnt, uint64_t *pos)
{
    uint64_t total;
    int r = check_iov(iov, cnt, false, &total);
    if (r < 0)
        return r;
    if ((f->flags & O_ACCMODE) == O_RDONLY || !f->ops->write)
        return -EBADF;
    if (f->ops->writev)
        return f->ops->writev(f, iov, cnt, pos);
    int64_t done = 0;
    for (int64_t i = 0; i < cnt; i++) {
        if (iov[i].len == 0)
            continue;
        ssize_t n = do_write(f, iov[i].base, iov[i].len, pos, true);
        if (n < 0)
            return done ? done : n;
        done += n;
        if ((uint64_t)n < iov[i].len)
            break;
    }
    return done;
}

int64_t sys_readv(int fd, const struct kiovec *iov, int64_t cnt)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if ((f->flags & O_ACCMODE) == O_WRONLY)
        return -EBADF;
    return do_readv(f, iov, cnt, &f->pos);
}

int64_t sys_writev(int fd, const struct kiovec *iov, int64_t cnt)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    return do_writev(f, iov, cnt, &f->pos);
}

int64_t sys_preadv(int fd, const struct kiovec *iov, int64_t cnt, int64_t off)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (!f->ops->seekable)
        return -ESPIPE;
    uint64_t pos = off;
    return do_readv(f, iov, cnt, &pos);
}

int64_t sys_pwritev(int fd, const struct kiovec *iov, int64_t cnt, int64_t off)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (!f->ops->seekable)
        return -ESPIPE;
    uint64_t pos = off;
    return do_writev(f, iov, cnt, &pos);
}

int64_t sys_lseek(int fd, int64_t off, int whence)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (f->ops->lseek)
        return f->ops->lseek(f, off, whence);
    if (!f->ops->seekable && !(f->vn && S_ISDIR(f->vn->mode)))
        return -ESPIPE;
    int64_t base;
    if (f->vn && S_ISDIR(f->vn->mode)) {
        /* Directory offsets are readdir cookies: only rewinding and restoring make sense. */
        if (whence != SEEK_SET && !(whence == SEEK_CUR && off == 0))
            return -EINVAL;
        if (whence == SEEK_CUR)
            return f->pos;
        if (off < 0)
            return -EINVAL;
        f->pos = off;
        return off;
    }
    int64_t size = file_size(f);
    if (size < 0)
        return size;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = f->pos;
        break;
    case SEEK_END:
        base = size;
        break;
    case SEEK_DATA:
        if (off < 0 || off >= size)
            return -ENXIO;
        return f->pos = off;
    case SEEK_HOLE:
        if (off < 0 || off >= size)
            return -ENXIO;
        return f->pos = size;
    default:
        return -EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
        return -EINVAL;
    f->pos = base + off;
    return f->pos;
}

int64_t sys_sendfile(int out_fd, int in_fd, int64_t *uoff, uint64_t count)
{
    struct file *in = get_file(in_fd), *out = get_file(out_fd);
    if (!in || !out)
        return -EBADF;
    if ((in->flags & O_ACCMODE) == O_WRONLY || (out->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    if (!in->ops->seekable && uoff)
        return -ESPIPE;
    uint64_t pos = in->pos;
    if (uoff) {
        if (user_check(uoff, sizeof *uoff, true) < 0)
            return -EFAULT;
        if (*uoff < 0)
            return -EINVAL;
        pos = *uoff;
    }
    uint8_t *buf = malloc(65536);
    if (!buf)
        return -ENOMEM;
    int64_t done = 0;
    count = MIN(count, MAX_RW);
    while ((uint64_t)done < count) {
        ssize_t n = in->ops->read(in, buf, MIN(65536, count - done), &pos);
        if (n <= 0) {
            if (n < 0 && !done)
                done = n;
            break;
        }
        ssize_t w = out->ops->write ? out->ops->write(out, buf, n, &out->pos) : -EINVAL;
        if (w < 0) {
            if (!done)
                done = w;
            pos -= n;
            break;
        }
        done += w;
        if (w < n) {
            pos -= n - w;
            break;
        }
    }
    free(buf);
    if (uoff)
        *uoff = pos;
    else
        in->pos = pos;
    return done;
}

/* ---- open and close ---------------------------------------------------------- */

#define DEVFS_REOPEN_BASE 1000

int vfs_open_vnode(struct vnode *v, uint32_t flags, struct file **out)
{
    struct file *f = file_new(NULL, flags, NULL);
    if (!f)
        return -ENOMEM;
    f->vn = vn_get(v);
    int r = v->ops->open ? v->ops->open(v, f) : -ENXIO;
    if (r <= -DEVFS_REOPEN_BASE) {
        int fd = -r - DEVFS_REOPEN_BASE;
        file_put(f);
        struct file *orig = fd_get(fd);
        if (!orig)
            return -ENXIO;
        *out = file_get(orig);
        return 0;
    }
    if (r < 0) {
        f->ops = NULL;
        vn_put(f->vn);
        free(f);
        return r;
    }
    *out = f;
    return 0;
}

static const struct file_ops path_ops = {0};

static void join_path(char *cur, const char *path);

/* The absolute path of a directory being opened, for fchdir and getcwd. */
static char *dir_path_of(int64_t dirfd, const char *upath)
{
    const char *base = cwd_path;
    if (upath[0] != '/' && dirfd != AT_FDCWD) {
        struct file *d = get_file(dirfd);
        if (!d || !d->dirpath)
            return NULL;
        base = d->dirpath;
    }
    char *out = malloc(PATH_MAX);
    if (!out)
        return NULL;
    strcpy(out, base);
    join_path(out, upath);
    return out;
}

int64_t sys_openat(int dirfd, const char *upath, int flags, uint32_t mode)
{
    struct parent p;
    struct vnode *v = NULL;
    int r;
    uint32_t acc = flags & O_ACCMODE;
    if (acc == 3)
        return -EINVAL;
    if ((flags & O_TMPFILE) == O_TMPFILE)
        return -EOPNOTSUPP;
    if (flags & O_CREAT) {
        r = parent_user(dirfd, upath, &p);
        if (r < 0)
            return r;
        if (p.len == 1 && p.name[0] == '.' && p.path[strlen(p.path) - 1] == '/') {
            parent_done(&p);
            return -EISDIR;
        }
        r = child_lookup(&p, (flags & O_NOFOLLOW) ? LOOKUP_NOFOLLOW : 0, &v);
        if (r == 0) {
            if (flags & O_EXCL) {
                vn_put(v);
                parent_done(&p);
                return -EEXIST;
            }
        } else if (r == -ENOENT) {
            if (is_dot(p.name, p.len)) {
                parent_done(&p);
                return -EISDIR;
            }
            if (vfs_readonly(p.dir) || !p.dir->ops->create)
                r = -EROFS;
            else
                r = p.dir->ops->create(p.dir, p.name, p.len, S_IFREG | (mode & 07777 & ~umask_bits),
                                       &v);
            if (r < 0) {
                parent_done(&p);
                return r;
            }
            flags &= ~O_TRUNC;
        } else {
            parent_done(&p);
            return r;
        }
        parent_done(&p);
    } else {
        r = lookup_user(dirfd, upath, (flags & O_NOFOLLOW) ? LOOKUP_NOFOLLOW : 0, &v);
        if (r < 0)
            return r;
    }
    if (flags & O_PATH) {
        struct file *f = file_new(&path_ops, O_PATH | (flags & O_DIRECTORY), NULL);
        if (!f) {
            vn_put(v);
            return -ENOMEM;
        }
        f->vn = v;
        return fd_install(f, 0, flags & O_CLOEXEC);
    }
    if (S_ISLNK(v->mode)) {
        vn_put(v);
        return -ELOOP;
    }
    if ((flags & O_DIRECTORY) && !S_ISDIR(v->mode)) {
        vn_put(v);
        return -ENOTDIR;
    }
    if (S_ISDIR(v->mode) && (acc != O_RDONLY || (flags & O_CREAT))) {
        vn_put(v);
        return -EISDIR;
    }
    bool writes = acc != O_RDONLY || (flags & O_TRUNC);
    if (writes && vfs_readonly(v) && !((v->mode & S_IFMT) == S_IFCHR)) {
        vn_put(v);
        return -EROFS;
    }
    if ((flags & O_TRUNC) && S_ISREG(v->mode) && v->ops->truncate) {
        r = v->ops->truncate(v, 0);
        if (r < 0) {
            vn_put(v);
            return r;
        }
    }
    struct file *f;
    r = vfs_open_vnode(v, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), &f);
    vn_put(v);
    if (r < 0)
        return r;
    if (f->vn && S_ISREG(f->vn->mode))
        f->flags |= O_LARGEFILE;
    if (f->vn && S_ISDIR(f->vn->mode))
        f->dirpath = dir_path_of(dirfd, upath);
    return fd_install(f, 0, flags & O_CLOEXEC);
}

int64_t sys_open(const char *path, int flags, uint32_t mode)
{
    return sys_openat(AT_FDCWD, path, flags, mode);
}

int64_t sys_creat(const char *path, uint32_t mode)
{
    return sys_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int64_t sys_close(int fd)
{
    return fd_close(fd);
}

/* ---- stat ------------------------------------------------------------------ */

int64_t sys_fstat(int fd, struct kstat *ust)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    struct kstat st;
    int r = stat_file(f, &st);
    if (r < 0)
        return r;
    if (user_check(ust, sizeof *ust, true) < 0)
        return -EFAULT;
    *ust = st;
    return 0;
}

int64_t sys_newfstatat(int dirfd, const char *upath, struct kstat *ust, int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 /* AT_NO_AUTOMOUNT */))
        return -EINVAL;
    if (flags & AT_EMPTY_PATH) {
        int64_t n = user_strlen(upath, PATH_MAX);
        if (n < 0)
            return n;
        if (n == 0) {
            if (dirfd == AT_FDCWD) {
                struct kstat st;
                cwd_vnode->ops->getattr(cwd_vnode, &st);
                if (user_check(ust, sizeof *ust, true) < 0)
                    return -EFAULT;
                *ust = st;
                return 0;
            }
            return sys_fstat(dirfd, ust);
        }
    }
    struct vnode *v;
    int r = lookup_user(dirfd, upath, (flags & AT_SYMLINK_NOFOLLOW) ? LOOKUP_NOFOLLOW : 0, &v);
    if (r < 0)
        return r;
    struct kstat st;
    r = v->ops->getattr(v, &st);
    vn_put(v);
    if (r < 0)
        return r;
    if (user_check(ust, sizeof *ust, true) < 0)
        return -EFAULT;
    *ust = st;
    return 0;
}

int64_t sys_stat(const char *path, struct kstat *st)
{
    return sys_newfstatat(AT_FDCWD, path, st, 0);
}

int64_t sys_lstat(const char *path, struct kstat *st)
{
    return sys_newfstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

struct kstatfs {
    int64_t f_type, f_bsize;
    uint64_t f_blocks, f_bfree, f_bavail, f_files, f_ffree;
    int32_t f_fsid[2];
    int64_t f_namelen, f_frsize, f_flags, f_spare[4];
};

static int fill_statfs(struct vnode *v, struct kstatfs *ust)
{
    if (user_check(ust, sizeof *ust, true) < 0)
        return -EFAULT;
    struct kstatfs s;
    memset(&s, 0, sizeof s);
    bool tmp = vnode_is_tmpfs(v);
    s.f_type = tmp ? 0x01021994 : 0x73717368; /* TMPFS_MAGIC, or read-only like squashfs */
    s.f_bsize = s.f_frsize = 4096;
    s.f_blocks = tmp ? page_total_count() : 0;
    s.f_bfree = s.f_bavail = tmp ? page_free_count() : 0;
    s.f_files = tmp ? page_total_count() : 0;
    s.f_ffree = s.f_files;
    s.f_namelen = NAME_MAX;
    s.f_flags = vfs_readonly(v) ? 1 /* ST_RDONLY */ : 0;
    s.f_fsid[0] = v->mnt ? (int32_t)v->mnt->dev : 0;
    *ust = s;
    return 0;
}

int64_t sys_statfs(const char *upath, struct kstatfs *st)
{
    struct vnode *v;
    int r = lookup_user(AT_FDCWD, upath, 0, &v);
    if (r < 0)
        return r;
    r = fill_statfs(v, st);
    vn_put(v);
    return r;
}

int64_t sys_fstatfs(int fd, struct kstatfs *st)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (!f->vn)
        return -ENOSYS;
    return fill_statfs(f->vn, st);
}

/* ---- directories ------------------------------------------------------------------ */

#define MOUNT_COOKIE (1ULL << 62)

/* Next entry of dir at *cookie, including mount points that the fs itself lacks. */
static int next_entry(struct vnode *dir, uint64_t *cookie, char *name, uint64_t *ino,
                      uint8_t *type)
{
    if (*cookie < MOUNT_COOKIE) {
        int r = dir->ops->readdir ? dir->ops->readdir(dir, cookie, name, ino, type) : 0;
        if (r != 0)
            return r;
        *cookie = MOUNT_COOKIE;
    }
    for (;;) {
        int idx = *cookie - MOUNT_COOKIE;
        const char *m = vfs_mount_name(dir, idx, ino);
        if (!m)
            return 0;
        *cookie += 1;
        struct vnode *existing;
        if (dir->ops->lookup(dir, m, strlen(m), &existing) == 0) {
            vn_put(existing);
            continue; /* the fs lists it already */
        }
        strcpy(name, m);
        *type = 4;
        return 1;
    }
}

int64_t sys_getdents64(int fd, void *ubuf, uint64_t count)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (!f->vn || !S_ISDIR(f->vn->mode))
        return -ENOTDIR;
    if (user_check(ubuf, count, true) < 0)
        return -EFAULT;
    char name[NAME_MAX + 1];
    uint64_t used = 0;
    for (;;) {
        uint64_t cookie = f->pos, ino;
        uint8_t type;
        int r = next_entry(f->vn, &cookie, name, &ino, &type);
        if (r <= 0)
            break;
        size_t nlen = strlen(name);
        uint64_t reclen = ALIGN_UP(sizeof(struct linux_dirent64) + nlen + 1, 8);
        if (used + reclen > count) {
            if (used == 0)
                return -EINVAL;
            break;
        }
        struct linux_dirent64 *d = (struct linux_dirent64 *)((uint8_t *)ubuf + used);
        d->d_ino = ino;
        d->d_off = cookie;
        d->d_reclen = reclen;
        d->d_type = type;
        memcpy(d->d_name, name, nlen + 1);
        memset(d->d_name + nlen + 1, 0, reclen - sizeof *d - nlen - 1);
        used += reclen;
        f->pos = cookie;
    }
    return used;
}

int64_t sys_mkdirat(int dirfd, const char *upath, uint32_t mode)
{
    struct parent p;
    int r = parent_user(dirfd, upath, &p);
    if (r < 0)
        return r;
    struct vnode *v;
    if (is_dot(p.name, p.len) || child_lookup(&p, LOOKUP_NOFOLLOW, &v) == 0) {
        if (!is_dot(p.name, p.len))
            vn_put(v);
        r = -EEXIST;
    } else if (vfs_readonly(p.dir) || !p.dir->ops->mkdir) {
        r = -EROFS;
    } else {
        r = p.dir->ops->mkdir(p.dir, p.name, p.len, mode & 07777 & ~umask_bits);
    }
    parent_done(&p);
    return r;
}

int64_t sys_mkdir(const char *path, uint32_t mode)
{
    return sys_mkdirat(AT_FDCWD, path, mode);
}

static int remove_entry(int64_t dirfd, const char *upath, bool dir)
{
    struct parent p;
    int r = parent_user(dirfd, upath, &p);
    if (r < 0)
        return r;
    struct vnode *v = NULL;
    /* Linux's order: the kind of the last name, then a read-only mount, then lookup. */
    if (dir && p.len == 1 && p.name[0] == '.')
        r = -EINVAL;
    else if (dir && p.len == 2 && p.name[0] == '.' && p.name[1] == '.')
        r = -ENOTEMPTY;
    else if (!dir && is_dot(p.name, p.len))
        r = -EISDIR;
    else if (vfs_readonly(p.dir))
        r = -EROFS;
    else if ((r = child_lookup(&p, LOOKUP_NOFOLLOW, &v)) < 0)
        ;
    else if (dir && !S_ISDIR(v->mode))
        r = -ENOTDIR;
    else if (!dir && S_ISDIR(v->mode))
        r = -EISDIR;
    else if (v->mnt && v == v->mnt->root)
        r = -EBUSY;
    else if (!p.dir->ops->unlink)
        r = -EROFS;
    else
        r = p.dir->ops->unlink(p.dir, p.name, p.len, dir);
    vn_put(v);
    parent_done(&p);
    return r;
}

int64_t sys_rmdir(const char *path)
{
    return remove_entry(AT_FDCWD, path, true);
}

int64_t sys_unlink(const char *path)
{
    return remove_entry(AT_FDCWD, path, false);
}

int64_t sys_unlinkat(int dirfd, const char *path, int flags)
{
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    return remove_entry(dirfd, path, flags & AT_REMOVEDIR);
}

int64_t sys_renameat2(int odirfd, const char *opath, int ndirfd, const char *npath,
                      int flags)
{
    if (flags & ~1ULL) /* RENAME_NOREPLACE only */
        return -EINVAL;
    struct parent o, n;
    int r = parent_user(odirfd, opath, &o);
    if (r < 0)
        return r;
    r = parent_user(ndirfd, npath, &n);
    if (r < 0) {
        parent_done(&o);
        return r;
    }
    struct vnode *src = NULL;
    /* Linux's order: another mount, "." or "..", a read-only mount, then lookup. */
    if (o.dir->mnt != n.dir->mnt)
        r = -EXDEV;
    else if (is_dot(o.name, o.len) || is_dot(n.name, n.len))
        r = -EBUSY;
    else if (vfs_readonly(o.dir) || !o.dir->ops->rename)
        r = -EROFS;
    else if ((r = child_lookup(&o, LOOKUP_NOFOLLOW, &src)) < 0)
        ;
    else if (src->mnt && src == src->mnt->root)
        r = -EBUSY;
    else
        r = o.dir->ops->rename(o.dir, o.name, o.len, n.dir, n.name, n.len, flags);
    vn_put(src);
    parent_done(&o);
    parent_done(&n);
    return r;
}

int64_t sys_renameat(int odirfd, const char *opath, int ndirfd, const char *npath)
{
    return sys_renameat2(odirfd, opath, ndirfd, npath, 0);
}

int64_t sys_rename(const char *opath, const char *npath)
{
    return sys_renameat2(AT_FDCWD, opath, AT_FDCWD, npath, 0);
}

int64_t sys_symlinkat(const char *utarget, int dirfd, const char *upath)
{
    char *target = malloc(PATH_MAX);
    if (!target)
        return -ENOMEM;
    int r = copy_path(utarget, target);
    if (r < 0) {
        free(target);
        return r;
    }
    struct parent p;
    r = parent_user(dirfd, upath, &p);
    if (r < 0) {
        free(target);
        return r;
    }
    struct vnode *v;
    if (is_dot(p.name, p.len) || child_lookup(&p, LOOKUP_NOFOLLOW, &v) == 0) {
        if (!is_dot(p.name, p.len))
            vn_put(v);
        r = -EEXIST;
    } else if (!target[0]) {
        r = -ENOENT;
    } else if (vfs_readonly(p.dir) || !p.dir->ops->symlink) {
        r = -EROFS;
    } else {
        r = p.dir->ops->symlink(p.dir, p.name, p.len, target);
    }
    parent_done(&p);
    free(target);
    return r;
}

int64_t sys_symlink(const char *target, const char *path)
{
    return sys_symlinkat(target, AT_FDCWD, path);
}

int64_t sys_readlinkat(int dirfd, const char *upath, char *ubuf, int size)
{
    if (size <= 0)
        return -EINVAL;
    struct vnode *v;
    int r = lookup_user(dirfd, upath, LOOKUP_NOFOLLOW, &v);
    if (r < 0)
        return r;
    if (!S_ISLNK(v->mode) || !v->ops->readlink) {
        vn_put(v);
        return -EINVAL;
    }
    if (user_check(ubuf, size, true) < 0) {
        vn_put(v);
        return -EFAULT;
    }
    r = v->ops->readlink(v, ubuf, size);
    vn_put(v);
    return r;
}

int64_t sys_readlink(const char *path, char *buf, int size)
{
    return sys_readlinkat(AT_FDCWD, path, buf, size);
}

#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4

int64_t sys_faccessat2(int dirfd, const char *upath, uint32_t mode, int flags)
{
    if (mode & ~7LL)
        return -EINVAL;
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x200 /* AT_EACCESS */))
        return -EINVAL;
    struct vnode *v;
    int r = lookup_user(dirfd, upath, (flags & AT_SYMLINK_NOFOLLOW) ? LOOKUP_NOFOLLOW : 0, &v);
    if (r < 0)
        return r;
    if ((mode & W_OK) && vfs_readonly(v) && (v->mode & S_IFMT) != S_IFCHR)
        r = -EROFS;
    else if ((mode & X_OK) && !S_ISDIR(v->mode) && !(v->mode & 0111))
        r = -EACCES;
    vn_put(v);
    return r;
}

int64_t sys_faccessat(int dirfd, const char *path, uint32_t mode)
{
    return sys_faccessat2(dirfd, path, mode, 0);
}

int64_t sys_access(const char *path, uint32_t mode)
{
    return sys_faccessat2(AT_FDCWD, path, mode, 0);
}

/* ---- truncate, sync, modes ------------------------------------------------------- */

static int truncate_vnode(struct vnode *v, int64_t len)
{
    if (len < 0)
        return -EINVAL;
    if (S_ISDIR(v->mode))
        return -EISDIR;
    if (!S_ISREG(v->mode))
        return -EINVAL;
    if (vfs_readonly(v) || !v->ops->truncate)
        return -EROFS;
    return v->ops->truncate(v, len);
}

int64_t sys_truncate(const char *upath, int64_t len)
{
    struct vnode *v;
    int r = lookup_user(AT_FDCWD, upath, 0, &v);
    if (r < 0)
        return r;
    r = truncate_vnode(v, len);
    vn_put(v);
    return r;
}

int64_t sys_ftruncate(int fd, int64_t len)
{
    if (len < 0)
        return -EINVAL;
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (!f->vn || !S_ISREG(f->vn->mode) || (f->flags & O_ACCMODE) == O_RDONLY ||
        (f->flags & O_PATH))
        return -EINVAL;
    return truncate_vnode(f->vn, len);
}

int64_t sys_fsync(int fd)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (f->ops->fsync)
        return f->ops->fsync(f);
    if (f->vn && (S_ISREG(f->vn->mode) || S_ISDIR(f->vn->mode)))
        return 0;
    if (file_is_console(f)) {
        struct kstat st;
        console_fstat(f, &st);
        return S_ISREG(st.st_mode) ? 0 : -EINVAL;
    }
    return -EINVAL;
}

int64_t sys_umask(int mask)
{
    uint32_t old = umask_bits;
    umask_bits = mask & 0777;
    return old;
}

int64_t sys_fchmodat(int dirfd, const char *upath, uint32_t mode)
{
    struct vnode *v;
    int r = lookup_user(dirfd, upath, 0, &v);
    if (r < 0)
        return r;
    r = vfs_readonly(v) || !v->ops->chmod ? -EROFS : v->ops->chmod(v, mode);
    vn_put(v);
    return r;
}

int64_t sys_chmod(const char *path, uint32_t mode)
{
    return sys_fchmodat(AT_FDCWD, path, mode);
}

int64_t sys_fchmod(int fd, uint32_t mode)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (!f->vn)
        return 0;
    return vfs_readonly(f->vn) || !f->vn->ops->chmod ? -EROFS : f->vn->ops->chmod(f->vn, mode);
}

int64_t sys_fchownat(int dirfd, const char *upath, int uid, int gid, int flags)
{
    (void)uid, (void)gid;
    struct vnode *v;
    int r = lookup_user(dirfd, upath, (flags & AT_SYMLINK_NOFOLLOW) ? LOOKUP_NOFOLLOW : 0, &v);
    if (r < 0)
        return r;
    r = vfs_readonly(v) ? -EROFS : 0;
    vn_put(v);
    return r;
}

int64_t sys_chown(const char *path, int uid, int gid)
{
    return sys_fchownat(AT_FDCWD, path, uid, gid, 0);
}

int64_t sys_fchown(int fd, int uid, int gid)
{
    (void)uid, (void)gid;
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    return f->vn && vfs_readonly(f->vn) ? -EROFS : 0;
}

struct ktimespec {
    int64_t tv_sec, tv_nsec;
};
#define UTIME_NOW ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)

int64_t sys_utimensat(int dirfd, const char *upath, const struct ktimespec *times,
                      int flags)
{
    int64_t t[2] = {-1, -1};
    int64_t now = realtime_ns();
    if (times) {
        if (user_check(times, 2 * sizeof *times, false) < 0)
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            if (times[i].tv_nsec == UTIME_NOW)
                t[i] = now;
            else if (times[i].tv_nsec == UTIME_OMIT)
                t[i] = -1;
            else if (times[i].tv_nsec < 0 || times[i].tv_nsec >= (int64_t)NSEC_PER_SEC)
                return -EINVAL;
            else
                t[i] = times[i].tv_sec * (int64_t)NSEC_PER_SEC + times[i].tv_nsec;
        }
    } else {
        t[0] = t[1] = now;
    }
    struct vnode *v;
    int r;
    if (!upath) {
        struct file *f = get_file(dirfd);
        if (!f)
            return -EBADF;
        if (!f->vn)
            return 0;
        v = vn_get(f->vn);
    } else {
        r = lookup_user(dirfd, upath, (flags & AT_SYMLINK_NOFOLLOW) ? LOOKUP_NOFOLLOW : 0, &v);
        if (r < 0)
            return r;
    }
    r = vfs_readonly(v) || !v->ops->utimes ? -EROFS : v->ops->utimes(v, t[0], t[1]);
    vn_put(v);
    return r;
}

/* ---- the working directory ------------------------------------------------------ */

static void join_path(char *cur, const char *path)
{
    char *tmp = malloc(PATH_MAX * 2);
    if (!tmp)
        return;
    if (path[0] == '/')
        strcpy(tmp, path);
    else
        snprintf(tmp, PATH_MAX * 2, "%s/%s", cur, path);
    /* Normalise ".", ".." and repeated slashes lexically. */
    char *out = cur;
    size_t len = 0;
    const char *p = tmp;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t n = e - p;
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (len + 1 + n < PATH_MAX) {
            out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p = e;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = 0;
    free(tmp);
}

int64_t sys_chdir(const char *upath)
{
    char *path = malloc(PATH_MAX);
    if (!path)
        return -ENOMEM;
    int r = copy_path(upath, path);
    struct vnode *v = NULL;
    if (r == 0)
        r = vfs_lookup(AT_FDCWD, path, LOOKUP_DIRECTORY, &v);
    if (r == 0) {
        vn_put(cwd_vnode);
        cwd_vnode = v;
        join_path(cwd_path, path);
    }
    free(path);
    return r;
}

int64_t sys_fchdir(int fd)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if (!f->vn || !S_ISDIR(f->vn->mode))
        return -ENOTDIR;
    if (!f->dirpath)
        return -ENOENT; /* opened in a way that left its path unknown */
    vn_put(cwd_vnode);
    cwd_vnode = vn_get(f->vn);
    strcpy(cwd_path, f->dirpath);
    return 0;
}

int64_t sys_getcwd(char *ubuf, uint64_t size)
{
    size_t len = strlen(cwd_path) + 1;
    if (size < len)
        return -ERANGE;
    if (user_check(ubuf, len, true) < 0)
        return -EFAULT;
    memcpy(ubuf, cwd_path, len);
    return len;
}

/* ---- fds ------------------------------------------------------------------------ */

int64_t sys_dup(int fd)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    return fd_install(file_get(f), 0, false);
}

int64_t sys_dup3(int oldfd, int newfd, int flags)
{
    if (flags & ~O_CLOEXEC)
        return -EINVAL;
    if (oldfd == newfd)
        return -EINVAL;
    struct file *f = get_file(oldfd);
    if (!f)
        return -EBADF;
    if (newfd < 0 || (uint64_t)newfd >= fd_limit())
        return -EBADF;
    return fd_install_at(file_get(f), newfd, flags & O_CLOEXEC);
}

int64_t sys_dup2(int oldfd, int newfd)
{
    if (oldfd == newfd)
        return get_file(oldfd) ? newfd : -EBADF;
    return sys_dup3(oldfd, newfd, 0);
}

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_SETOWN 8
#define F_GETOWN 9
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#define F_DUPFD_CLOEXEC 1030
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#define FD_CLOEXEC 1

struct kflock {
    int16_t l_type, l_whence;
    int64_t l_start, l_len;
    int32_t l_pid;
};

int64_t sys_fcntl(int fd, unsigned cmd, uint64_t arg)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        if ((int64_t)arg < 0 || arg >= fd_limit())
            return -EINVAL;
        return fd_install(file_get(f), arg, cmd == F_DUPFD_CLOEXEC);
    case F_GETFD:
        return fd_cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
        fd_set_cloexec(fd, arg & FD_CLOEXEC);
        return 0;
    case F_GETFL:
        return f->flags;
    case F_SETFL: {
        uint32_t changeable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | 020000 /* O_ASYNC */;
        f->flags = (f->flags & ~changeable) | (arg & changeable);
        return 0;
    }
    case F_GETLK:
    case F_OFD_GETLK: {
        struct kflock *l = (struct kflock *)arg;
        if (user_check(l, sizeof *l, true) < 0)
            return -EFAULT;
        if (l->l_type < 0 || l->l_type > 2)
            return -EINVAL;
        l->l_type = 2; /* F_UNLCK: nobody else can hold a lock */
        return 0;
    }
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: {
        struct kflock *l = (struct kflock *)arg;
        if (user_check(l, sizeof *l, false) < 0)
            return -EFAULT;
        if (l->l_type < 0 || l->l_type > 2)
            return -EINVAL;
        if ((l->l_type == 0 && (f->flags & O_ACCMODE) == O_WRONLY) ||
            (l->l_type == 1 && (f->flags & O_ACCMODE) == O_RDONLY))
            return -EBADF;
        return 0;
    }
    case F_SETOWN:
    case F_GETOWN:
        return 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
        return file_is_pipe(f) ? 65536 : -EBADF;
    default:
        return -EINVAL;
    }
}

int64_t sys_flock(int fd, int op)
{
    if (!get_file(fd))
        return -EBADF;
    int kind = op & ~4; /* LOCK_NB */
    return kind == 1 || kind == 2 || kind == 8 ? 0 : -EINVAL;
}

#define FIONREAD 0x541b
#define FIONBIO 0x5421
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451

int64_t sys_ioctl(int fd, unsigned cmd, uint64_t arg)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    switch (cmd) {
    case FIOCLEX:
    case FIONCLEX:
        fd_set_cloexec(fd, cmd == FIOCLEX);
        return 0;
    case FIONBIO: {
        int *v = (int *)arg;
        if (user_check(v, sizeof *v, false) < 0)
            return -EFAULT;
        if (*v)
            f->flags |= O_NONBLOCK;
        else
            f->flags &= ~O_NONBLOCK;
        return 0;
    }
    case FIONREAD:
        if (f->vn && S_ISREG(f->vn->mode)) {
            int *v = (int *)arg;
            if (user_check(v, sizeof *v, true) < 0)
                return -EFAULT;
            int64_t size = file_size(f);
            *v = size > (int64_t)f->pos ? (int)(size - f->pos) : 0;
            return 0;
        }
        break;
    }
    if (f->ops->ioctl)
        return f->ops->ioctl(f, cmd, arg);
    return -ENOTTY;
}

int64_t sys_pipe2(int *ufds, int flags)
{
    if (flags & ~(O_NONBLOCK | O_CLOEXEC | O_DIRECT))
        return -EINVAL;
    if (user_check(ufds, 2 * sizeof(int), true) < 0)
        return -EFAULT;
    struct file *w;
    struct file *r = pipe_new_pair(&w, flags & O_NONBLOCK);
    if (!r)
        return -ENFILE;
    int rfd = fd_install(r, 0, flags & O_CLOEXEC);
    if (rfd < 0) {
        file_put(w);
        return rfd;
    }
    int wfd = fd_install(w, 0, flags & O_CLOEXEC);
    if (wfd < 0) {
        fd_close(rfd);
        return wfd;
    }
    ufds[0] = rfd;
    ufds[1] = wfd;
    return 0;
}

int64_t sys_pipe(int *fds)
{
    return sys_pipe2(fds, 0);
}

/* ---- mmap of files (called from mm/vm.c) ------------------------------------------ */

int file_mmap_source(int fd, uint64_t off, uint64_t len, bool shared_write, struct vma *v)
{
    struct file *f = get_file(fd);
    if (!f)
        return -EBADF;
    if ((f->flags & O_ACCMODE) == O_WRONLY || (f->flags & O_PATH))
        return -EACCES;
    if (shared_write && (f->flags & O_ACCMODE) != O_RDWR)
        return -EACCES;
    if (!f->ops->mmap)
        return -ENODEV;
    return f->ops->mmap(f, off, len, shared_write, v);
}

/* Copies a tmpfs file into a fresh private mapping (a page cache would avoid this). */
int file_mmap_fill(int fd, uint64_t off, uint64_t start, uint64_t len)
{
    struct file *f = get_file(fd);
    for (uint64_t done = 0; done < len; done += PAGE_SIZE) {
        uint8_t *page;
        int r = vm_page_kaddr(start + done, (void **)&page);
        if (r < 0)
            return r;
        uint64_t pos = off + done;
        ssize_t n = f->ops->read(f, page, PAGE_SIZE, &pos);
        if (n <= 0)
            break;
    }
    return 0;
}

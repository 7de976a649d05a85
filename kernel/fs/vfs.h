/*
 * vfs.h — files, vnodes, mounts and the fd table.
 *
 * A vnode is a file system object (image file, tmpfs directory, /dev/null);
 * a file is an open file description (offset, flags) shared by dup'ed fds;
 * the fd table maps numbers to files. File systems implement vnode_ops, and
 * anything that can be read or written (vnode-backed or not: console, pipes,
 * later sockets) implements file_ops.
 */
#ifndef UK_VFS_H
#define UK_VFS_H

#include "klib.h"
#include "mm/mm.h"
#include "sys/errno.h"

/* open(2) flags, Linux x86-64 values. */
#define O_ACCMODE 03
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DSYNC 010000
#define O_DIRECT 040000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_NOATIME 01000000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define O_TMPFILE 020200000

#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFLNK 0120000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFIFO 0010000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_SYMLINK_FOLLOW 0x400
#define AT_EMPTY_PATH 0x1000

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define SEEK_DATA 3
#define SEEK_HOLE 4

#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLWRNORM 0x100
#define POLLRDHUP 0x2000

#define PATH_MAX 4096
#define NAME_MAX 255

struct kstat { /* struct stat, Linux x86-64 */
    uint64_t st_dev, st_ino, st_nlink;
    uint32_t st_mode, st_uid, st_gid, pad0;
    uint64_t st_rdev;
    int64_t st_size, st_blksize, st_blocks;
    uint64_t st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
    int64_t unused[3];
};

struct kiovec {
    void *base;
    uint64_t len;
};

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
} __attribute__((packed));

struct file;
struct vnode;
struct mount;

struct file_ops {
    ssize_t (*read)(struct file *f, void *buf, size_t len, uint64_t *pos);
    ssize_t (*write)(struct file *f, const void *buf, size_t len, uint64_t *pos);
    /* Optional: gather write in one go (the console turns it into one hypercall). */
    ssize_t (*writev)(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos);
    int (*ioctl)(struct file *f, unsigned long cmd, uint64_t arg);
    /* Ready events now; *wait gets UH_READY_* bits to sleep on until they may change. */
    uint32_t (*poll)(struct file *f, uint32_t *wait);
    int (*mmap)(struct file *f, uint64_t off, uint64_t len, bool shared_write, struct vma *v);
    int (*fsync)(struct file *f);
    void (*close)(struct file *f);
    int64_t (*lseek)(struct file *f, int64_t off, int whence); /* instead of the generic one */
    /* Optional: scatter read in one go (sockets: what is there now, across the iovecs). */
    ssize_t (*readv)(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos);
    /* Optional: a counter that moves whenever new readiness arrives (new data, a
     * new connection, room to write), for epoll's edge-triggered mode. Files
     * without one are edge-triggered on changes of their ready events. */
    uint64_t (*events_gen)(struct file *f);
    bool seekable; /* pread/pwrite allowed; generic lseek (size from the vnode) */
};

struct file {
    const struct file_ops *ops;
    struct vnode *vn; /* NULL for console, pipes, sockets */
    int refs;
    uint32_t flags;
    uint64_t pos;
    void *priv;
    char *dirpath; /* directories opened by path: their absolute path (for fchdir) */
    int epolls;    /* epoll sets watching this file (they forget it when it goes) */
};

struct vnode_ops {
    int (*lookup)(struct vnode *dir, const char *name, size_t len, struct vnode **out);
    int (*create)(struct vnode *dir, const char *name, size_t len, uint32_t mode,
                  struct vnode **out);
    int (*mkdir)(struct vnode *dir, const char *name, size_t len, uint32_t mode);
    int (*unlink)(struct vnode *dir, const char *name, size_t len, bool dir_wanted);
    int (*rename)(struct vnode *odir, const char *on, size_t ol, struct vnode *ndir,
                  const char *nn, size_t nl, unsigned flags);
    int (*readlink)(struct vnode *v, char *buf, size_t len);
    int (*symlink)(struct vnode *dir, const char *name, size_t len, const char *target);
    int (*open)(struct vnode *v, struct file *f);
    int (*getattr)(struct vnode *v, struct kstat *st);
    int (*truncate)(struct vnode *v, uint64_t len);
    int (*chmod)(struct vnode *v, uint32_t mode);
    int (*utimes)(struct vnode *v, int64_t atime, int64_t mtime); /* ns; -1 keeps */
    /* Next directory entry after *cookie: 1 and advances *cookie, 0 at the end. */
    int (*readdir)(struct vnode *dir, uint64_t *cookie, char *name, uint64_t *ino, uint8_t *type);
    void (*release)(struct vnode *v); /* the last reference is gone */
};

struct vnode {
    const struct vnode_ops *ops;
    struct mount *mnt;
    uint32_t mode;
    int refs;
    uint64_t ino;
    void *priv;
};

struct mount {
    struct vnode *root;
    struct vnode *parent_dir; /* the directory holding the mount point */
    char name[NAME_MAX + 1];  /* the mount point's name in parent_dir */
    uint64_t dev;
    bool readonly;
    bool beneath; /* symlinks inside resolve beneath the mount's root (volumes) */
};

static inline struct vnode *vn_get(struct vnode *v)
{
    if (v)
        v->refs++;
    return v;
}
void vn_put(struct vnode *v);

/* Mounts (vfs.c). The first mount is the root. */
struct mount *vfs_mount(struct vnode *root, const char *path, bool readonly);
struct vnode *vfs_root(void);

/* Path resolution. Flags: */
#define LOOKUP_NOFOLLOW 1 /* do not follow a symlink in the last component */
#define LOOKUP_DIRECTORY 2
int vfs_lookup(int dirfd, const char *path, int flags, struct vnode **out);
int vfs_lookup_in(struct vnode *dir, const char *path, int flags, struct vnode **out);
/* Resolves all but the last component; *last points into path (NUL-terminated). */
int vfs_lookup_parent(int dirfd, const char *path, struct vnode **dir, const char **last,
                      size_t *lastlen);

/* Files and the fd table (fd.c). */
struct file *file_new(const struct file_ops *ops, uint32_t flags, void *priv);
static inline struct file *file_get(struct file *f)
{
    f->refs++;
    return f;
}
void file_put(struct file *f);
struct file *fd_get(int fd); /* borrowed reference or NULL */
int fd_install(struct file *f, int min_fd, bool cloexec); /* takes the reference */
int fd_install_at(struct file *f, int fd, bool cloexec);
int fd_close(int fd);
bool fd_cloexec(int fd);
void fd_set_cloexec(int fd, bool on);
uint64_t fd_limit(void);
void fd_set_limit(uint64_t n);
int vfs_open_vnode(struct vnode *v, uint32_t flags, struct file **out);

/* Console (console.c) and devices (devfs.c), image and tmpfs roots. */
void console_init(const struct uh_bootinfo *bi);
struct vnode *devfs_init(void);
struct vnode *tmpfs_new(void);
int imgfs_init(const struct uh_bootinfo *bi, struct vnode **root, const char **why);
void volfs_init(void);
const struct uimg_view *imgfs_view(void);
struct file *pipe_new_pair(struct file **wr, uint32_t flags);

/* epoll (epoll.c): a file that goes away leaves every epoll set. */
void epoll_forget(struct file *f);

/* Moves the bytes of the iovecs through a device, in batches of up to
 * UH_IO_MAX_SEGS guest-physical segments (iov.c). fn moves one batch (nsegs struct
 * uh_seg at guest-physical segs) and returns the bytes it moved or -errno; the
 * transfer stops at an error, a short batch, or after the first batch with
 * one_batch. into_memory: the device writes the buffers (a read). Returns the
 * bytes moved, or the error if none were. */
typedef int64_t (*iov_batch_fn)(void *ctx, uint32_t nsegs, uint64_t segs);
ssize_t iov_xfer(const struct kiovec *iov, int cnt, bool into_memory, bool one_batch,
                 iov_batch_fn fn, void *ctx);

/* Blocking helper: wait until poll(f) & events or the deadline; -EAGAIN if non-blocking. */
int file_wait(struct file *f, uint32_t events);

uint64_t vfs_new_dev(void);

#endif

/*
 * mod_volume.c — host directories mounted in the guest (--volume HOSTDIR:GUESTDIR[:ro]).
 *
 * Each volume is a directory fd opened at start. The guest names files by paths
 * relative to it; every path goes through openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) from that fd and never follows a symlink in its last
 * component, so neither "..", an absolute path nor a symlink reaches outside the
 * volume, whatever the guest sends. Calls that name an entry (mkdir, unlink, rename,
 * symlink) open the parent that way and act on one plain name inside it.
 *
 * Open files are handles: indexes into a fixed table of host fds, allocated before
 * the seccomp filter (which forbids growing memory). Only regular files and
 * directories can be opened, so a FIFO or a device node in the host directory never
 * blocks or touches the monitor. Every request is untrusted: pointers and lengths
 * that do not fit end the guest (status 125), bad volumes and handles are errnos.
 */
#include "uvmm.h"
#include "vol_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_HANDLES 4096

struct volume {
    int root;
    bool readonly;
    char guest_dir[UH_VOL_NAME_MAX];
};

struct handle {
    int fd; /* -1: free */
    uint8_t vol;
    bool write;
    bool dir;
};

static struct volume vols[UH_VOL_MAX];
static unsigned nvols;
static struct handle handles[MAX_HANDLES];
static char path_a[UH_VOL_PATH_MAX], path_b[UH_VOL_PATH_MAX], parent_a[UH_VOL_PATH_MAX],
    parent_b[UH_VOL_PATH_MAX];

static int open_beneath(const struct volume *v, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        /* openat2 refuses O_PATH with flags that mean nothing to it */
        .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW | ((flags & O_PATH) ? 0 : O_NOCTTY)),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    do
        fd = syscall(SYS_openat2, v->root, path, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : (int)fd;
}

/* Copies a guest path into buf; one that does not fit or holds a NUL ends the guest. */
static const char *guest_path(struct vm *vm, uh_gpa_t gpa, uint32_t len, char *buf)
{
    if (len == 0 || len >= UH_VOL_PATH_MAX)
        vm_fatal("bad hypercall: volume path of %u bytes", len);
    const char *src = gpa_ptr_checked(vm, gpa.v, len, true, "volume path");
    memcpy(buf, src, len);
    if (memchr(buf, 0, len))
        vm_fatal("bad hypercall: volume path holds a NUL byte");
    buf[len] = 0;
    return buf;
}

static void fill_attr(struct uh_vol_attr *a, const struct stat *st)
{
    a->ino = st->st_ino;
    a->size = st->st_size;
    a->blocks = st->st_blocks;
    a->nlink = st->st_nlink;
    a->mode = st->st_mode;
    a->blksize = st->st_blksize;
    a->atime_ns = st->st_atim.tv_sec * 1000000000LL + st->st_atim.tv_nsec;
    a->mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    a->ctime_ns = st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

static int stat_fd(int fd, struct uh_vol_attr *a)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    fill_attr(a, &st);
    return 0;
}

static struct handle *handle_get(uint32_t h)
{
    if (h >= MAX_HANDLES || handles[h].fd < 0)
        return NULL;
    return &handles[h];
}

static int handle_new(int fd, unsigned vol, bool write, bool dir, uint32_t *out)
{
    for (uint32_t h = 0; h < MAX_HANDLES; h++) {
        if (handles[h].fd < 0) {
            handles[h] = (struct handle){.fd = fd, .vol = vol, .write = write, .dir = dir};
            *out = h;
            return 0;
        }
    }
    close(fd);
    return -ENFILE;
}

/* Opens a regular file or directory for I/O. It is looked at through an O_PATH fd
 * first, so nothing else (FIFO, device, socket) is ever opened for real. */
static int open_file(const struct volume *v, const char *path, int flags, struct stat *st)
{
    int probe = open_beneath(v, path, O_PATH, 0);
    if (probe < 0)
        return probe;
    int r = fstat(probe, st) < 0 ? -errno : 0;
    close(probe);
    if (r < 0)
        return r;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        return S_ISLNK(st->st_mode) ? -ELOOP : -ENXIO;
    if (S_ISDIR(st->st_mode) && (flags & O_ACCMODE) != O_RDONLY)
        return -EISDIR;
    int fd = open_beneath(v, path, flags | O_NONBLOCK, 0);
    if (fd < 0)
        return fd;
    if (fstat(fd, st) < 0 || (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))) {
        close(fd); /* replaced under us by something we do not open */
        return -ENXIO;
    }
    return fd;
}

/* The request's volume, or NULL with r->ret set. */
static struct volume *req_volume(struct uh_vol_req *r, bool write)
{
    if (r->vol >= nvols) {
        r->ret = -ENODEV;
        return NULL;
    }
    if (write && vols[r->vol].readonly) {
        r->ret = -EROFS;
        return NULL;
    }
    return &vols[r->vol];
}

/* Copies the request in, runs fn on the copy, copies the results out. */
#define VOL_CALL(name, body)                                                                       \
    static void name(struct vm *vm, uh_gpa_t arg)                                                  \
    {                                                                                              \
        struct uh_vol_req *out = gpa_ptr(vm, arg, sizeof *out);                                    \
        struct uh_vol_req r = *out;                                                                \
        r.ret = 0;                                                                                 \
        body;                                                                                      \
        out->handle = r.handle;                                                                    \
        out->attr = r.attr;                                                                        \
        out->ret = r.ret;                                                                          \
    }

static void do_lookup(struct vm *vm, struct uh_vol_req *r)
{
    struct volume *v = req_volume(r, false);
    if (!v)
        return;
    const char *path = guest_path(vm, r->path, r->path_len, path_a);
    int fd = open_beneath(v, path, O_PATH, 0);
    if (fd < 0) {
        r->ret = fd;
        return;
    }
    r->ret = stat_fd(fd, &r->attr);
    close(fd);
}

static void do_open(struct vm *vm, struct uh_vol_req *r)
{
    bool write = r->flags & UH_VOL_O_WRITE, read = r->flags & UH_VOL_O_READ;
    struct volume *v = req_volume(r, write);
    if (!v)
        return;
    const char *path = guest_path(vm, r->path, r->path_len, path_a);
    int flags = write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (r->flags & UH_VOL_O_DIRECTORY)
        flags |= O_DIRECTORY;
    if (r->flags & UH_VOL_O_SYNC)
        flags |= O_SYNC;
    struct stat st;
    int fd = open_file(v, path, flags, &st);
    if (fd < 0) {
        r->ret = fd;
        return;
    }
    fill_attr(&r->attr, &st);
    r->ret = handle_new(fd, v - vols, write, S_ISDIR(st.st_mode), &r->handle);
}

static void do_create(struct vm *vm, struct uh_vol_req *r)
{
    struct volume *v = req_volume(r, true);
    if (!v)
        return;
    const char *path = guest_path(vm, r->path, r->path_len, path_a);
    int fd = open_beneath(v, path, O_RDWR | O_CREAT | O_EXCL, r->mode & 07777);
    if (fd < 0) {
        r->ret = fd;
        return;
    }
    r->ret = stat_fd(fd, &r->attr);
    if (r->ret < 0) {
        close(fd);
        return;
    }
    r->ret = handle_new(fd, v - vols, true, false, &r->handle);
}

static void do_close(struct vm *vm, struct uh_vol_req *r)
{
    (void)vm;
    struct handle *h = handle_get(r->handle);
    if (!h) {
        r->ret = -EBADF;
        return;
    }
    close(h->fd);
    h->fd = -1;
}

static void do_fstat(struct vm *vm, struct uh_vol_req *r)
{
    (void)vm;
    struct handle *h = handle_get(r->handle);
    r->ret = h ? stat_fd(h->fd, &r->attr) : -EBADF;
}

static void do_truncate(struct vm *vm, struct uh_vol_req *r)
{
    if ((int64_t)r->arg < 0) {
        r->ret = -EINVAL;
        return;
    }
    if (r->handle != UH_VOL_NOHANDLE) {
        struct handle *h = handle_get(r->handle);
        if (!h)
            r->ret = -EBADF;
        else if (vols[h->vol].readonly)
            r->ret = -EROFS;
        else if (!h->write || h->dir)
            r->ret = -EINVAL;
        else
            r->ret = ftruncate(h->fd, r->arg) < 0 ? -errno : 0;
        return;
    }
    struct volume *v = req_volume(r, true);
    if (!v)
        return;
    struct stat st;
    int fd = open_file(v, guest_path(vm, r->path, r->path_len, path_a), O_WRONLY, &st);
    if (fd < 0) {
        r->ret = fd;
        return;
    }
    r->ret = ftruncate(fd, r->arg) < 0 ? -errno : 0;
    close(fd);
}

static void do_fsync(struct vm *vm, struct uh_vol_req *r)
{
    (void)vm;
    struct handle *h = handle_get(r->handle);
    if (!h) {
        r->ret = -EBADF;
        return;
    }
    int rc = (r->flags & 1) ? fdatasync(h->fd) : fsync(h->fd);
    r->ret = rc < 0 ? -errno : 0;
}

/* Opens the parent of a path (written to parent) and points *name at its last
 * component. Returns the parent's fd or -errno. */
static int open_parent(const struct volume *v, const char *path, char *parent, const char **name)
{
    if (vol_split(path, parent, UH_VOL_PATH_MAX, name) < 0)
        return -EINVAL;
    return open_beneath(v, parent, O_PATH | O_DIRECTORY, 0);
}

/* For calls that change one entry of a writable volume: opens the parent of the
 * request's path and points *name at the entry. Returns the parent's fd, or -1
 * with r->ret set. */
static int req_parent(struct vm *vm, struct uh_vol_req *r, const char **name)
{
    struct volume *v = req_volume(r, true);
    if (!v)
        return -1;
    int dir = open_parent(v, guest_path(vm, r->path, r->path_len, path_a), parent_a, name);
    if (dir < 0) {
        r->ret = dir;
        return -1;
    }
    return dir;
}

static void do_mkdir(struct vm *vm, struct uh_vol_req *r)
{
    const char *name;
    int dir = req_parent(vm, r, &name);
    if (dir < 0)
        return;
    r->ret = mkdirat(dir, name, r->mode & 07777) < 0 ? -errno : 0;
    close(dir);
}

static void do_unlink(struct vm *vm, struct uh_vol_req *r)
{
    const char *name;
    int dir = req_parent(vm, r, &name);
    if (dir < 0)
        return;
    int flags = (r->flags & UH_VOL_RMDIR) ? AT_REMOVEDIR : 0;
    r->ret = unlinkat(dir, name, flags) < 0 ? -errno : 0;
    close(dir);
}

static void do_rename(struct vm *vm, struct uh_vol_req *r)
{
    struct volume *v = req_volume(r, true);
    if (!v)
        return;
    const char *on, *nn;
    const char *op = guest_path(vm, r->path, r->path_len, path_a);
    const char *np = guest_path(vm, r->path2, r->path2_len, path_b);
    int odir = open_parent(v, op, parent_a, &on);
    if (odir < 0) {
        r->ret = odir;
        return;
    }
    int ndir = open_parent(v, np, parent_b, &nn);
    if (ndir < 0) {
        close(odir);
        r->ret = ndir;
        return;
    }
    unsigned flags = (r->flags & UH_VOL_NOREPLACE) ? 1 /* RENAME_NOREPLACE */ : 0;
    r->ret = syscall(SYS_renameat2, odir, on, ndir, nn, flags) < 0 ? -errno : 0;
    close(odir);
    close(ndir);
}

static void do_readlink(struct vm *vm, struct uh_vol_req *r)
{
    struct volume *v = req_volume(r, false);
    if (!v)
        return;
    const char *path = guest_path(vm, r->path, r->path_len, path_a);
    if (r->path2_len == 0 || r->path2_len > UH_VOL_PATH_MAX)
        vm_fatal("bad hypercall: readlink buffer of %u bytes", r->path2_len);
    char *buf = gpa_ptr_checked(vm, r->path2.v, r->path2_len, false, "readlink buffer");
    int fd = open_beneath(v, path, O_PATH, 0);
    if (fd < 0) {
        r->ret = fd;
        return;
    }
    ssize_t n = readlinkat(fd, "", buf, r->path2_len);
    r->ret = n < 0 ? -errno : n;
    close(fd);
}

static void do_symlink(struct vm *vm, struct uh_vol_req *r)
{
    const char *name;
    int dir = req_parent(vm, r, &name);
    if (dir < 0)
        return;
    const char *target = guest_path(vm, r->path2, r->path2_len, path_b);
    if (!vol_link_inside(path_a, strlen(path_a), target, strlen(target)))
        r->ret = -EPERM;
    else
        r->ret = symlinkat(target, dir, name) < 0 ? -errno : 0;
    close(dir);
}

static void do_setattr(struct vm *vm, struct uh_vol_req *r)
{
    int fd;
    bool own = false;
    if (r->handle != UH_VOL_NOHANDLE) {
        struct handle *h = handle_get(r->handle);
        if (!h) {
            r->ret = -EBADF;
            return;
        }
        if (vols[h->vol].readonly) {
            r->ret = -EROFS;
            return;
        }
        fd = h->fd;
    } else {
        struct volume *v = req_volume(r, true);
        if (!v)
            return;
        struct stat st;
        const char *path = guest_path(vm, r->path, r->path_len, path_a);
        fd = open_file(v, path, O_RDONLY, &st);
        if (fd == -EACCES)
            fd = open_file(v, path, O_WRONLY, &st);
        if (fd == -ELOOP)
            fd = -EOPNOTSUPP; /* symlinks keep their own mode and times here */
        if (fd < 0) {
            r->ret = fd;
            return;
        }
        own = true;
    }
    r->ret = 0;
    if ((r->flags & UH_VOL_SET_MODE) && fchmod(fd, r->mode & 07777) < 0)
        r->ret = -errno;
    if (r->ret == 0 && (r->flags & (UH_VOL_SET_ATIME | UH_VOL_SET_MTIME))) {
        struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
        uint64_t t[2] = {r->arg, r->arg2};
        for (int i = 0; i < 2; i++) {
            if (r->flags & (i ? UH_VOL_SET_MTIME : UH_VOL_SET_ATIME)) {
                ts[i].tv_sec = (int64_t)t[i] / 1000000000LL;
                ts[i].tv_nsec = (int64_t)t[i] % 1000000000LL;
                if (ts[i].tv_nsec < 0) {
                    ts[i].tv_nsec += 1000000000LL;
                    ts[i].tv_sec--;
                }
            }
        }
        if (futimens(fd, ts) < 0)
            r->ret = -errno;
    }
    if (r->ret == 0)
        r->ret = stat_fd(fd, &r->attr);
    if (own)
        close(fd);
}

VOL_CALL(hc_lookup, do_lookup(vm, &r))
VOL_CALL(hc_open, do_open(vm, &r))
VOL_CALL(hc_create, do_create(vm, &r))
VOL_CALL(hc_close, do_close(vm, &r))
VOL_CALL(hc_fstat, do_fstat(vm, &r))
VOL_CALL(hc_truncate, do_truncate(vm, &r))
VOL_CALL(hc_fsync, do_fsync(vm, &r))
VOL_CALL(hc_mkdir, do_mkdir(vm, &r))
VOL_CALL(hc_unlink, do_unlink(vm, &r))
VOL_CALL(hc_rename, do_rename(vm, &r))
VOL_CALL(hc_readlink, do_readlink(vm, &r))
VOL_CALL(hc_symlink, do_symlink(vm, &r))
VOL_CALL(hc_setattr, do_setattr(vm, &r))

static void hc_info(struct vm *vm, uh_gpa_t arg)
{
    struct uh_vol_info *out = gpa_ptr(vm, arg, sizeof *out);
    uint32_t i = out->index;
    if (i >= nvols) {
        out->ret = -ENOENT;
        return;
    }
    out->readonly = vols[i].readonly;
    memcpy(out->guest_dir, vols[i].guest_dir, sizeof out->guest_dir);
    out->ret = 0;
}

/* READ and WRITE: preadv/pwritev straight between the host file and guest memory. */
static void hc_rw(struct vm *vm, uh_gpa_t arg, bool write)
{
    struct uh_vol_io *out = gpa_ptr(vm, arg, sizeof *out);
    struct uh_vol_io r = *out;
    struct uh_io io = {.nsegs = r.nsegs, .segs = r.segs};
    struct iovec iov_arr[UH_IO_MAX_SEGS], *iov = iov_arr;
    uint64_t total;
    int cnt = guest_iovec(vm, &io, iov, &total, write);
    struct handle *h = handle_get(r.handle);
    if (!h || h->dir || (write && !h->write)) {
        out->ret = !h ? -EBADF : h->dir ? -EISDIR : -EBADF;
        return;
    }
    if ((int64_t)r.offset < 0 || total > INT64_MAX - r.offset) {
        out->ret = -EINVAL;
        return;
    }
    uint64_t done = 0;
    while (done < total && cnt > 0) {
        ssize_t n = write ? pwritev(h->fd, iov, cnt, r.offset + done)
                          : preadv(h->fd, iov, cnt, r.offset + done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (done == 0 && n < 0) {
                out->ret = -errno;
                return;
            }
            break;
        }
        done += n;
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= n;
        }
    }
    out->ret = done;
}

static void hc_read(struct vm *vm, uh_gpa_t arg)
{
    hc_rw(vm, arg, false);
}

static void hc_write(struct vm *vm, uh_gpa_t arg)
{
    hc_rw(vm, arg, true);
}

static void hc_readdir(struct vm *vm, uh_gpa_t arg)
{
    struct uh_vol_dir *out = gpa_ptr(vm, arg, sizeof *out);
    struct uh_vol_dir r = *out;
    if (r.len == 0 || r.len > UH_VOL_DIRBUF_MAX)
        vm_fatal("bad hypercall: directory buffer of %u bytes", r.len);
    void *buf = gpa_ptr_checked(vm, r.buf.v, r.len, false, "directory buffer");
    struct handle *h = handle_get(r.handle);
    if (!h || !h->dir) {
        out->ret = !h ? -EBADF : -ENOTDIR;
        return;
    }
    if ((int64_t)r.cookie < 0) {
        out->ret = -EINVAL;
        return;
    }
    if (lseek(h->fd, r.cookie, SEEK_SET) < 0) {
        out->ret = -errno;
        return;
    }
    long n = syscall(SYS_getdents64, h->fd, buf, r.len);
    out->ret = n < 0 ? -errno : n;
}

static int volume_setup(struct vm *vm, struct uh_bootinfo *bi)
{
    (void)bi;
    const struct uvmm_config *cfg = vm->cfg;
    for (int h = 0; h < MAX_HANDLES; h++)
        handles[h].fd = -1;
    for (int i = 0; i < cfg->nvolumes; i++) {
        struct volume *v = &vols[nvols];
        char host[4096];
        const char *why;
        if (vol_parse_spec(cfg->volumes[i], host, sizeof host, v->guest_dir, sizeof v->guest_dir,
                           &v->readonly, &why) < 0) {
            eprintf("uvmm: --volume %s: %s\n", cfg->volumes[i], why);
            return -1;
        }
        for (unsigned j = 0; j < nvols; j++) {
            if (strcmp(vols[j].guest_dir, v->guest_dir) == 0) {
                eprintf("uvmm: --volume %s: %s is mounted twice\n", cfg->volumes[i], v->guest_dir);
                return -1;
            }
        }
        v->root = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (v->root < 0) {
            eprintf("uvmm: --volume %s: cannot open %s: %s\n", cfg->volumes[i], host,
                    strerror(errno));
            return -1;
        }
        nvols++;
    }
    if (nvols > 0) {
        /* The guest applies its own umask; file modes arrive final. */
        umask(0);
        /* Room for the guest's open files (a handle is a host fd). */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max < MAX_HANDLES + 64 ? rl.rlim_max : MAX_HANDLES + 64;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    hypercall_register(UH_VOL_INFO, hc_info);
    hypercall_register(UH_VOL_LOOKUP, hc_lookup);
    hypercall_register(UH_VOL_OPEN, hc_open);
    hypercall_register(UH_VOL_CREATE, hc_create);
    hypercall_register(UH_VOL_CLOSE, hc_close);
    hypercall_register(UH_VOL_READ, hc_read);
    hypercall_register(UH_VOL_WRITE, hc_write);
    hypercall_register(UH_VOL_FSTAT, hc_fstat);
    hypercall_register(UH_VOL_TRUNCATE, hc_truncate);
    hypercall_register(UH_VOL_FSYNC, hc_fsync);
    hypercall_register(UH_VOL_READDIR, hc_readdir);
    hypercall_register(UH_VOL_MKDIR, hc_mkdir);
    hypercall_register(UH_VOL_UNLINK, hc_unlink);
    hypercall_register(UH_VOL_RENAME, hc_rename);
    hypercall_register(UH_VOL_READLINK, hc_readlink);
    hypercall_register(UH_VOL_SYMLINK, hc_symlink);
    hypercall_register(UH_VOL_SETATTR, hc_setattr);
    return 0;
}

const struct uvmm_module mod_volume = {.name = "volume", .setup = volume_setup};

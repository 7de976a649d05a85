/*
 * devfs.c — /dev: null, zero, full, random, urandom, and stdin/stdout/stderr
 * (which open fds 0, 1 and 2 again, as /proc/self/fd/N does on Linux).
 * Randomness comes from the host (getrandom) in one hypercall per read.
 */
#include "vfs.h"
#include "arch/hcall.h"

enum dev { DEV_DIR, DEV_NULL, DEV_ZERO, DEV_FULL, DEV_RANDOM, DEV_URANDOM, DEV_STDIN,
           DEV_STDOUT, DEV_STDERR, DEV_COUNT };

static const struct {
    const char *name;
    uint32_t rdev; /* major << 8 | minor */
} devs[DEV_COUNT] = {
    [DEV_DIR] = {"", 0},           [DEV_NULL] = {"null", 0x103},
    [DEV_ZERO] = {"zero", 0x105},  [DEV_FULL] = {"full", 0x107},
    [DEV_RANDOM] = {"random", 0x108}, [DEV_URANDOM] = {"urandom", 0x109},
    [DEV_STDIN] = {"stdin", 0},    [DEV_STDOUT] = {"stdout", 0},
    [DEV_STDERR] = {"stderr", 0},
};

static struct vnode nodes[DEV_COUNT];
static const struct vnode_ops devfs_vops;
static const struct file_ops dev_fops;

static enum dev dev_of(struct vnode *v)
{
    return (enum dev)(v - nodes);
}

int host_random(void *buf, uint64_t len)
{
    uint64_t done = 0;
    while (done < len) {
        struct uh_seg segs[UH_IO_MAX_SEGS];
        uint64_t covered;
        int n = buf_segments((uint8_t *)buf + done, len - done, true, segs, UH_IO_MAX_SEGS,
                             &covered);
        if (n < 0)
            return done ? (int)done : n;
        struct uh_io io = {.nsegs = n, .segs = virt_to_phys(segs)};
        hcall(UH_RANDOM, &io);
        done += covered;
    }
    return done;
}

static int devfs_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        *out = vn_get(dir);
        return 0;
    }
    for (int i = 1; i < DEV_COUNT; i++) {
        if (strlen(devs[i].name) == len && memcmp(devs[i].name, name, len) == 0) {
            *out = vn_get(&nodes[i]);
            return 0;
        }
    }
    return -ENOENT;
}

static int devfs_readdir(struct vnode *dir, uint64_t *cookie, char *name, uint64_t *ino,
                         uint8_t *type)
{
    uint64_t c = *cookie;
    if (c < 2) {
        strcpy(name, c == 0 ? "." : "..");
        *ino = dir->ino;
        *type = 4;
    } else if (c - 1 < DEV_COUNT) {
        struct vnode *v = &nodes[c - 1];
        strcpy(name, devs[c - 1].name);
        *ino = v->ino;
        *type = (v->mode & S_IFMT) >> 12;
    } else {
        return 0;
    }
    *cookie = c + 1;
    return 1;
}

static int devfs_getattr(struct vnode *v, struct kstat *st)
{
    memset(st, 0, sizeof *st);
    st->st_dev = v->mnt ? v->mnt->dev : 0;
    st->st_ino = v->ino;
    st->st_mode = v->mode;
    st->st_nlink = S_ISDIR(v->mode) ? 2 : 1;
    st->st_rdev = devs[dev_of(v)].rdev;
    st->st_blksize = 4096;
    return 0;
}

static int devfs_open(struct vnode *v, struct file *f)
{
    enum dev d = dev_of(v);
    if (d >= DEV_STDIN && d <= DEV_STDERR) {
        /* Reopen the fd: the caller swaps in the existing file (see open). */
        return -(1000 + (d - DEV_STDIN));
    }
    f->ops = &dev_fops;
    return 0;
}

static ssize_t dev_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    switch (dev_of(f->vn)) {
    case DEV_NULL:
        return 0;
    case DEV_ZERO:
    case DEV_FULL:
        memset(buf, 0, len);
        return len;
    case DEV_RANDOM:
    case DEV_URANDOM:
        return host_random(buf, len);
    default:
        return -EISDIR;
    }
}

static ssize_t dev_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    (void)buf, (void)pos;
    return dev_of(f->vn) == DEV_FULL ? -ENOSPC : (ssize_t)len;
}

static uint32_t dev_poll(struct file *f, uint32_t *wait)
{
    (void)f, (void)wait;
    return POLLIN | POLLOUT;
}

static int dev_mmap(struct file *f, uint64_t off, uint64_t len, bool shared_write, struct vma *v)
{
    (void)off, (void)len, (void)shared_write;
    if (dev_of(f->vn) != DEV_ZERO)
        return -ENODEV;
    v->kind = VMA_ANON;
    return 0;
}

static int64_t dev_lseek(struct file *f, int64_t off, int whence)
{
    (void)f, (void)off, (void)whence;
    return 0; /* Linux's null and zero devices ignore seeks and stay at 0 */
}

static const struct vnode_ops devfs_vops = {
    .lookup = devfs_lookup,
    .readdir = devfs_readdir,
    .getattr = devfs_getattr,
    .open = devfs_open,
};

static const struct file_ops dev_fops = {
    .lseek = dev_lseek,
    .read = dev_read,
    .write = dev_write,
    .poll = dev_poll,
    .mmap = dev_mmap,
};

struct vnode *devfs_init(void)
{
    for (int i = 0; i < DEV_COUNT; i++) {
        nodes[i].ops = &devfs_vops;
        nodes[i].refs = 1;
        nodes[i].ino = i + 1;
        nodes[i].mode = i == DEV_DIR ? (S_IFDIR | 0755) : (S_IFCHR | 0666);
        if (i >= DEV_STDIN)
            nodes[i].mode = S_IFCHR | 0620;
    }
    return &nodes[DEV_DIR];
}

void devfs_set_mount(struct mount *m)
{
    for (int i = 0; i < DEV_COUNT; i++)
        nodes[i].mnt = m;
}

/*
 * imgfs.c — the image as the read-only root file system.
 *
 * The image is guest memory (a read-only memslot), so reading a file is a memcpy
 * from the physmap and mapping it is pointing PTEs at the image's own pages.
 * image_parse.c has validated every byte at boot; a malformed image stops the
 * boot with its diagnostic. Vnodes are created on first lookup and kept.
 */
#include "vfs.h"
#include "image_parse.h"

static struct uimg_view view;
static uint64_t image_pa;
static struct vnode **vnodes;

static const struct vnode_ops imgfs_vops;
static const struct file_ops imgfs_fops;

const struct uimg_view *imgfs_view(void)
{
    return &view;
}

static struct vnode *vnode_of(uint32_t ino)
{
    if (!vnodes[ino]) {
        struct vnode *v = calloc(1, sizeof *v);
        if (!v)
            return NULL;
        v->ops = &imgfs_vops;
        v->mode = uimg_inode(&view, ino)->mode;
        v->ino = ino + 1;
        v->refs = 1; /* the cache's reference: image vnodes live forever */
        v->priv = (void *)(uintptr_t)ino;
        v->mnt = vnodes[UIMG_ROOT] ? vnodes[UIMG_ROOT]->mnt : NULL;
        vnodes[ino] = v;
    }
    return vn_get(vnodes[ino]);
}

static uint32_t ino_of(struct vnode *v)
{
    return (uint32_t)(uintptr_t)v->priv;
}

static int imgfs_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
    int64_t r = uimg_lookup(&view, ino_of(dir), name, len);
    if (r < 0)
        return (int)r;
    *out = vnode_of((uint32_t)r);
    return *out ? 0 : -ENOMEM;
}

static int imgfs_readdir(struct vnode *dir, uint64_t *cookie, char *name, uint64_t *ino,
                         uint8_t *type)
{
    const struct uimg_inode *d = uimg_inode(&view, ino_of(dir));
    uint64_t c = *cookie;
    if (c == 0 || c == 1) {
        strcpy(name, c == 0 ? "." : "..");
        *ino = c == 0 ? dir->ino : d->parent + 1;
        *type = 4; /* DT_DIR */
        *cookie = c + 1;
        return 1;
    }
    uint64_t k = c - 2;
    if (k >= d->size)
        return 0;
    uint32_t child = d->data + k, len;
    const char *n = uimg_name(&view, child, &len);
    memcpy(name, n, len);
    name[len] = 0;
    *ino = child + 1;
    *type = (uimg_inode(&view, child)->mode & S_IFMT) >> 12;
    *cookie = c + 1;
    return 1;
}

static int imgfs_getattr(struct vnode *v, struct kstat *st)
{
    const struct uimg_inode *n = uimg_inode(&view, ino_of(v));
    memset(st, 0, sizeof *st);
    st->st_dev = v->mnt ? v->mnt->dev : 0;
    st->st_ino = v->ino;
    st->st_mode = n->mode;
    st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
    st->st_size = S_ISDIR(n->mode) ? 4096 : (int64_t)n->size;
    st->st_blksize = 4096;
    st->st_blocks = S_ISDIR(n->mode) ? 8 : (int64_t)(ALIGN_UP(n->size, 4096) / 512);
    st->st_atime = st->st_mtime = st->st_ctime = n->mtime;
    return 0;
}

static int imgfs_readlink(struct vnode *v, char *buf, size_t len)
{
    uint64_t size;
    const void *data = uimg_data(&view, ino_of(v), &size);
    if (!data || !S_ISLNK(v->mode))
        return -EINVAL;
    size_t n = MIN(size, len);
    memcpy(buf, data, n);
    return n;
}

static int imgfs_open(struct vnode *v, struct file *f)
{
    f->ops = &imgfs_fops;
    (void)v;
    return 0;
}

static ssize_t imgfs_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    if (S_ISDIR(f->vn->mode))
        return -EISDIR;
    uint64_t size;
    const uint8_t *data = uimg_data(&view, ino_of(f->vn), &size);
    if (*pos >= size)
        return 0;
    size_t n = MIN(len, size - *pos);
    memcpy(buf, data + *pos, n);
    *pos += n;
    return n;
}

static ssize_t imgfs_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    (void)f, (void)buf, (void)len, (void)pos;
    return -EBADF; /* image files are only ever open for reading */
}

static int imgfs_mmap(struct file *f, uint64_t off, uint64_t len, bool shared_write, struct vma *v)
{
    (void)len;
    if (shared_write)
        return -EACCES;
    uint64_t size;
    const uint8_t *data = uimg_data(&view, ino_of(f->vn), &size);
    if (!data || !S_ISREG(f->vn->mode))
        return -ENODEV;
    v->kind = VMA_FILE;
    v->src_pa = image_pa + (uint64_t)(data - view.base) + off;
    v->src_len = off < size ? size - off : 0;
    v->shared_src = true;
    return 0;
}

static uint32_t imgfs_poll(struct file *f, uint32_t *wait)
{
    (void)f, (void)wait;
    return POLLIN | POLLOUT;
}

static const struct vnode_ops imgfs_vops = {
    .lookup = imgfs_lookup,
    .readdir = imgfs_readdir,
    .getattr = imgfs_getattr,
    .readlink = imgfs_readlink,
    .open = imgfs_open,
};

static const struct file_ops imgfs_fops = {
    .read = imgfs_read,
    .write = imgfs_write,
    .mmap = imgfs_mmap,
    .poll = imgfs_poll,
    .seekable = true,
};

int imgfs_init(const struct uh_bootinfo *bi, struct vnode **root, const char **why)
{
    static char msg[160];
    const char *w;
    uint64_t where;
    image_pa = bi->image;
    if (uimg_open(&view, PHYS_TO_VIRT(bi->image), bi->image_size, &w, &where) < 0) {
        snprintf(msg, sizeof msg, "%s %lu", w, (unsigned long)where);
        *why = msg;
        return -EINVAL;
    }
    vnodes = calloc(view.count, sizeof *vnodes);
    if (!vnodes) {
        *why = "out of memory for the image's inodes";
        return -ENOMEM;
    }
    *root = vnode_of(UIMG_ROOT);
    return *root ? 0 : -ENOMEM;
}

/* Where the program's ELF bytes are: its inode's data in the image. */
int imgfs_file_data(struct vnode *v, const uint8_t **data, uint64_t *size, uint64_t *pa)
{
    if (v->ops != &imgfs_vops || !S_ISREG(v->mode))
        return -ENOEXEC;
    *data = uimg_data(&view, ino_of(v), size);
    *pa = image_pa + (uint64_t)(*data - view.base);
    return 0;
}

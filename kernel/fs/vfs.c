/*
 * vfs.c — mounts and path resolution.
 *
 * A mount attaches a file system's root under a name in a directory of another
 * file system; the directory need not contain that name (an image without /tmp
 * still gets /tmp). Resolution walks one component at a time, consults the mount
 * table first, follows symlinks (40 at most, then ELOOP) and treats ".." at a mount
 * root as the directory that holds the mount point. A symlink inside a "beneath"
 * mount (a volume) resolves the way openat2(RESOLVE_BENEATH) resolves it on the
 * host: an absolute target or a ".." above the mount's root is EXDEV.
 */
#include "vfs.h"

#define MAX_MOUNTS 32
#define MAX_SYMLINKS 40

static struct mount mounts[MAX_MOUNTS];
static int nmounts;
static uint64_t next_dev = 1;

struct vnode *cwd_vnode;

uint64_t vfs_new_dev(void)
{
    return next_dev++;
}

void vn_put(struct vnode *v)
{
    if (v && --v->refs == 0 && v->ops->release)
        v->ops->release(v);
}

struct vnode *vfs_root(void)
{
    return mounts[0].root;
}

static struct mount *mount_at(struct vnode *dir, const char *name, size_t len)
{
    for (int i = 1; i < nmounts; i++)
        if (mounts[i].parent_dir == dir && strlen(mounts[i].name) == len &&
            memcmp(mounts[i].name, name, len) == 0)
            return &mounts[i];
    return NULL;
}

static struct mount *mount_of_root(struct vnode *v)
{
    for (int i = 1; i < nmounts; i++)
        if (mounts[i].root == v)
            return &mounts[i];
    return NULL;
}

/* Names of mounts inside dir, for readdir of a directory that holds mount points. */
const char *vfs_mount_name(struct vnode *dir, int index, uint64_t *ino)
{
    for (int i = 1; i < nmounts; i++) {
        if (mounts[i].parent_dir == dir && index-- == 0) {
            *ino = mounts[i].root->ino;
            return mounts[i].name;
        }
    }
    return NULL;
}

struct mount *vfs_mount(struct vnode *root, const char *path, bool readonly)
{
    if (nmounts == MAX_MOUNTS)
        return NULL;
    struct mount *m = &mounts[nmounts];
    m->root = vn_get(root);
    m->readonly = readonly;
    m->dev = vfs_new_dev();
    root->mnt = m;
    if (nmounts > 0) {
        struct vnode *dir;
        const char *last;
        size_t len;
        if (vfs_lookup_parent(AT_FDCWD, path, &dir, &last, &len) < 0 || len > NAME_MAX)
            return NULL;
        m->parent_dir = dir;
        memcpy(m->name, last, len);
        m->name[len] = 0;
    }
    nmounts++;
    return m;
}

static int lookup_one(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    if (len > NAME_MAX)
        return -ENAMETOOLONG;
    if (len == 1 && name[0] == '.') {
        *out = vn_get(dir);
        return 0;
    }
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        if (dir == vfs_root()) {
            *out = vn_get(dir);
            return 0;
        }
        struct mount *m = mount_of_root(dir);
        if (m) {
            *out = vn_get(m->parent_dir);
            return 0;
        }
        return dir->ops->lookup(dir, name, len, out);
    }
    struct mount *m = mount_at(dir, name, len);
    if (m) {
        *out = vn_get(m->root);
        return 0;
    }
    return dir->ops->lookup(dir, name, len, out);
}

static int resolve(struct vnode *start, const char *path, int flags, int depth, bool want_parent,
                   const struct mount *beneath, struct vnode **out, const char **last,
                   size_t *lastlen);

static int follow_link(struct vnode *dir, struct vnode *link, int depth,
                       const struct mount *beneath, struct vnode **out)
{
    if (depth >= MAX_SYMLINKS)
        return -ELOOP;
    char *target = malloc(PATH_MAX);
    if (!target)
        return -ENOMEM;
    int n = link->ops->readlink ? link->ops->readlink(link, target, PATH_MAX - 1) : -EINVAL;
    if (n < 0) {
        free(target);
        return n;
    }
    target[n] = 0;
    if (link->mnt && link->mnt->beneath)
        beneath = link->mnt;
    int r = resolve(dir, target, 0, depth + 1, false, beneath, out, NULL, NULL);
    free(target);
    return r;
}

static int resolve(struct vnode *start, const char *path, int flags, int depth, bool want_parent,
                   const struct mount *beneath, struct vnode **out, const char **last,
                   size_t *lastlen)
{
    if (!path[0])
        return -ENOENT;
    if (beneath && path[0] == '/')
        return -EXDEV;
    struct vnode *cur = vn_get(path[0] == '/' ? vfs_root() : start);
    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t len = end - p;
        const char *rest = end;
        while (*rest == '/')
            rest++;
        bool is_last = *rest == 0;
        if (len == 0) { /* "/" or a path ending in slashes */
            if (want_parent) {
                *out = cur;
                *last = ".";
                *lastlen = 1;
                return 0;
            }
            break;
        }
        if (is_last && want_parent) {
            if (!S_ISDIR(cur->mode)) {
                vn_put(cur);
                return -ENOTDIR;
            }
            if (len > NAME_MAX) {
                vn_put(cur);
                return -ENAMETOOLONG;
            }
            *out = cur;
            *last = p;
            *lastlen = len;
            return 0;
        }
        if (beneath && cur == beneath->root && len == 2 && p[0] == '.' && p[1] == '.') {
            vn_put(cur);
            return -EXDEV;
        }
        struct vnode *next;
        int r = lookup_one(cur, p, len, &next);
        if (r < 0) {
            vn_put(cur);
            return r;
        }
        bool trailing_slash = *end == '/';
        if (S_ISLNK(next->mode) &&
            (!is_last || trailing_slash || !(flags & LOOKUP_NOFOLLOW))) {
            struct vnode *target;
            r = follow_link(cur, next, depth, beneath, &target);
            vn_put(next);
            if (r < 0) {
                vn_put(cur);
                return r;
            }
            next = target;
        }
        vn_put(cur);
        cur = next;
        if (is_last) {
            if (trailing_slash && !S_ISDIR(cur->mode)) {
                vn_put(cur);
                return -ENOTDIR;
            }
            break;
        }
        p = end;
    }
    if ((flags & LOOKUP_DIRECTORY) && !S_ISDIR(cur->mode)) {
        vn_put(cur);
        return -ENOTDIR;
    }
    *out = cur;
    return 0;
}

static int start_dir(int dirfd, const char *path, struct vnode **start)
{
    if (path[0] == '/' || dirfd == AT_FDCWD) {
        *start = cwd_vnode;
        return 0;
    }
    struct file *f = fd_get(dirfd);
    if (!f)
        return -EBADF;
    if (!f->vn || !S_ISDIR(f->vn->mode))
        return -ENOTDIR;
    *start = f->vn;
    return 0;
}

int vfs_lookup(int dirfd, const char *path, int flags, struct vnode **out)
{
    struct vnode *start;
    if (!path[0])
        return -ENOENT;
    int r = start_dir(dirfd, path, &start);
    if (r < 0)
        return r;
    return resolve(start, path, flags, 0, false, NULL, out, NULL, NULL);
}

int vfs_lookup_in(struct vnode *dir, const char *path, int flags, struct vnode **out)
{
    return resolve(dir, path, flags, 0, false, NULL, out, NULL, NULL);
}

int vfs_lookup_parent(int dirfd, const char *path, struct vnode **dir, const char **last,
                      size_t *lastlen)
{
    struct vnode *start;
    if (!path[0])
        return -ENOENT;
    int r = start_dir(dirfd, path, &start);
    if (r < 0)
        return r;
    return resolve(start, path, 0, 0, true, NULL, dir, last, lastlen);
}

bool vfs_readonly(struct vnode *v)
{
    return v->mnt && v->mnt->readonly;
}

/*
 * image_parse.c — validates an untrusted Uigniter image and answers lookups on it.
 *
 * uimg_open makes two linear passes over the inode table and proves the properties
 * the rest of the kernel relies on (docs/image-format.md lists them with reasons):
 * every region and every file in bounds (64-bit overflow checked), names legal,
 * each directory's children one run sorted strictly by name and pointing back at it,
 * children after their directory (so there are no cycles), and every inode but the
 * root listed exactly once (so the tree is a tree). It needs no memory of its own:
 * "listed at most once" follows from the parent fields, "at least once" from
 * counting. Lookups are then a binary search, names and data are O(1).
 *
 * Pure freestanding C: only <stdint.h>, <stddef.h> and the format header, no libc
 * call (hence the little byte helpers), no allocation, no globals — the same file
 * builds into the kernel, the host tools, the tests and the fuzzer.
 */
#include <stddef.h>
#include <stdint.h>

#include "uigniter/image.h"

#include "image_parse.h"

/* Linux errno values: the kernel has no errno.h. */
enum { E_NOENT = 2, E_NOTDIR = 20, E_INVAL = 22, E_NAMETOOLONG = 36 };

#define UIMG_PERM_BITS 07777u

static int fail(const char **why, uint64_t *where, const char *msg, uint64_t at)
{
    *why = msg;
    *where = at;
    return -1;
}

static int bytes_equal(const void *a, const void *b, uint64_t n)
{
    const uint8_t *p = a, *q = b;
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != q[i])
            return 0;
    return 1;
}

/* Order of names in a directory: bytes as unsigned, then a prefix sorts first. */
static int name_cmp(const char *a, uint64_t alen, const char *b, uint64_t blen)
{
    uint64_t n = alen < blen ? alen : blen;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t x = (uint8_t)a[i], y = (uint8_t)b[i];
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (alen == blen)
        return 0;
    return alen < blen ? -1 : 1;
}

/* [off, off + len) lies within [0, size), with no overflow possible. */
static int in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return len <= size && off <= size - len;
}

/* Both ranges already in bounds, so the sums cannot overflow. Empty ranges overlap nothing. */
static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    if (alen == 0 || blen == 0)
        return 0;
    return a < b + blen && b < a + alen;
}

static uint32_t inode_type(const struct uimg_inode *n)
{
    return n->mode & UIMG_S_IFMT;
}

static int check_header(const struct uimg_header *h, uint64_t size, const char **why,
                        uint64_t *where)
{
    if (!bytes_equal(h->magic, UIMG_MAGIC, sizeof h->magic))
        return fail(why, where, "bad magic, not a Uigniter image: offset", 0);
    if (h->version != UIMG_VERSION)
        return fail(why, where, "unsupported format version: offset",
                    offsetof(struct uimg_header, version));
    if (h->header_size != sizeof(struct uimg_header))
        return fail(why, where, "bad header_size: offset",
                    offsetof(struct uimg_header, header_size));
    if (h->image_size > size)
        return fail(why, where,
                    "image truncated, image_size is past the end of the file: file size", size);
    if (h->image_size < sizeof(struct uimg_header))
        return fail(why, where, "image_size smaller than the header: offset",
                    offsetof(struct uimg_header, image_size));
    if (h->flags != 0)
        return fail(why, where, "unknown flags: offset", offsetof(struct uimg_header, flags));
    for (uint32_t i = 0; i < sizeof h->reserved / sizeof h->reserved[0]; i++)
        if (h->reserved[i] != 0)
            return fail(why, where, "reserved header field not zero: offset",
                        offsetof(struct uimg_header, reserved) + 8u * i);
    if (h->inode_size != sizeof(struct uimg_inode))
        return fail(why, where, "bad inode_size: offset", offsetof(struct uimg_header, inode_size));
    if (h->inode_count == 0)
        return fail(why, where, "no inodes, the root directory is missing: offset",
                    offsetof(struct uimg_header, inode_count));
    if (h->argc == 0)
        return fail(why, where, "argc is 0, argv[0] is missing: offset",
                    offsetof(struct uimg_header, argc));
    if (h->entry >= h->inode_count)
        return fail(why, where, "entry inode out of range: offset",
                    offsetof(struct uimg_header, entry));
    return 0;
}

/* The inode table, name pool and config block: in bounds, aligned, disjoint. */
static int check_regions(const struct uimg_header *h, const char **why, uint64_t *where)
{
    uint64_t end = h->image_size;
    uint64_t hdr_len = sizeof(struct uimg_header);
    uint64_t ino_len = (uint64_t)h->inode_count * sizeof(struct uimg_inode);

    if ((h->inode_off & 7u) != 0)
        return fail(why, where, "inode table not 8-byte aligned: offset", h->inode_off);
    if (!in_bounds(h->inode_off, ino_len, end))
        return fail(why, where, "inode table out of bounds: offset", h->inode_off);
    if (!in_bounds(h->names_off, h->names_size, end))
        return fail(why, where, "name pool out of bounds: offset", h->names_off);
    if (!in_bounds(h->config_off, h->config_size, end))
        return fail(why, where, "config block out of bounds: offset", h->config_off);
    if (overlaps(0, hdr_len, h->inode_off, ino_len) ||
        overlaps(0, hdr_len, h->names_off, h->names_size) ||
        overlaps(0, hdr_len, h->config_off, h->config_size))
        return fail(why, where, "a region overlaps the header: offset", 0);
    if (overlaps(h->inode_off, ino_len, h->names_off, h->names_size))
        return fail(why, where, "inode table overlaps the name pool: offset", h->names_off);
    if (overlaps(h->inode_off, ino_len, h->config_off, h->config_size))
        return fail(why, where, "inode table overlaps the config block: offset", h->config_off);
    if (overlaps(h->names_off, h->names_size, h->config_off, h->config_size))
        return fail(why, where, "name pool overlaps the config block: offset", h->config_off);
    return 0;
}

/* argc strings then envc strings, each NUL-terminated, nothing after; env is NAME=... */
static int check_config(const struct uimg_header *h, const char *cfg, const char **why,
                        uint64_t *where)
{
    uint64_t want = (uint64_t)h->argc + h->envc, seen = 0, start = 0;
    int has_eq = 0;

    if (h->config_size == 0 || cfg[h->config_size - 1] != '\0')
        return fail(why, where, "config block not NUL-terminated: offset",
                    h->config_off + h->config_size);
    for (uint64_t i = 0; i < h->config_size; i++) {
        if (cfg[i] == '=')
            has_eq = 1;
        if (cfg[i] != '\0')
            continue;
        if (seen >= want)
            return fail(why, where, "more config strings than argc + envc: offset",
                        h->config_off + start);
        if (seen >= h->argc && (!has_eq || cfg[start] == '='))
            return fail(why, where, "environment string is not NAME=VALUE: offset",
                        h->config_off + start);
        seen++;
        start = i + 1;
        has_eq = 0;
    }
    if (seen != want)
        return fail(why, where, "fewer config strings than argc + envc: offset",
                    h->config_off + h->config_size);
    return 0;
}

static int check_name(const struct uimg_view *v, const struct uimg_inode *n, uint32_t ino,
                      const char **why, uint64_t *where)
{
    if (n->name_len == 0 || n->name_len > UIMG_NAME_MAX)
        return fail(why, where, "name empty or longer than 255 bytes: inode", ino);
    if (!in_bounds(n->name_off, n->name_len, v->hdr->names_size))
        return fail(why, where, "name out of the name pool: inode", ino);
    const char *s = v->names + n->name_off;
    for (uint32_t i = 0; i < n->name_len; i++)
        if (s[i] == '/' || s[i] == '\0')
            return fail(why, where, "name contains '/' or NUL: inode", ino);
    if (s[0] == '.' && (n->name_len == 1 || (n->name_len == 2 && s[1] == '.')))
        return fail(why, where, "name is \".\" or \"..\": inode", ino);
    return 0;
}

static int check_file(const struct uimg_view *v, const struct uimg_inode *n, uint32_t ino,
                      const char **why, uint64_t *where)
{
    if (n->data % UIMG_ALIGN != 0)
        return fail(why, where, "file data not 4 KiB-aligned: inode", ino);
    if (!in_bounds(n->data, n->size, v->size))
        return fail(why, where, "file data out of bounds: inode", ino);
    return 0;
}

static int check_symlink(const struct uimg_view *v, const struct uimg_inode *n, uint32_t ino,
                         const char **why, uint64_t *where)
{
    if (n->size == 0 || n->size > UIMG_LINK_MAX)
        return fail(why, where, "symlink target empty or longer than 4095 bytes: inode", ino);
    if (!in_bounds(n->data, n->size, v->size))
        return fail(why, where, "symlink target out of bounds: inode", ino);
    const uint8_t *s = v->base + n->data;
    for (uint64_t i = 0; i < n->size; i++)
        if (s[i] == 0)
            return fail(why, where, "symlink target contains NUL: inode", ino);
    return 0;
}

static int check_dir(const struct uimg_view *v, const struct uimg_inode *n, uint32_t ino,
                     const char **why, uint64_t *where)
{
    if (n->size == 0) {
        if (n->data != 0)
            return fail(why, where, "empty directory with a first-child index: inode", ino);
        return 0;
    }
    if (n->data <= ino)
        return fail(why, where, "directory's children do not come after it: inode", ino);
    if (n->data >= v->count || n->size > v->count - n->data)
        return fail(why, where, "directory's children out of range: inode", ino);
    return 0;
}

/* Pass 1: each inode on its own. Sums the directory sizes into *listed. */
static int check_inode(const struct uimg_view *v, uint32_t ino, uint64_t *listed, const char **why,
                       uint64_t *where)
{
    const struct uimg_inode *n = &v->inodes[ino];

    if (n->reserved != 0)
        return fail(why, where, "inode reserved field not zero: inode", ino);
    if ((n->mode & ~(UIMG_S_IFMT | UIMG_PERM_BITS)) != 0)
        return fail(why, where, "unknown mode bits: inode", ino);
    if (ino == UIMG_ROOT) {
        if (inode_type(n) != UIMG_S_IFDIR)
            return fail(why, where, "root is not a directory: inode", ino);
        if (n->parent != UIMG_ROOT || n->name_off != 0 || n->name_len != 0)
            return fail(why, where, "root has a name or a parent: inode", ino);
    } else {
        if (n->parent >= ino)
            return fail(why, where, "parent does not come before its child: inode", ino);
        if (check_name(v, n, ino, why, where) < 0)
            return -1;
    }
    switch (inode_type(n)) {
    case UIMG_S_IFREG:
        return check_file(v, n, ino, why, where);
    case UIMG_S_IFLNK:
        return check_symlink(v, n, ino, why, where);
    case UIMG_S_IFDIR:
        *listed += n->size;
        return check_dir(v, n, ino, why, where);
    default:
        return fail(why, where, "not a file, directory or symlink: inode", ino);
    }
}

/* Pass 2: each directory's run points back at it and is sorted strictly by name. */
static int check_children(const struct uimg_view *v, uint32_t dir, const char **why,
                          uint64_t *where)
{
    const struct uimg_inode *d = &v->inodes[dir];
    uint32_t first = (uint32_t)d->data, end = (uint32_t)(d->data + d->size);

    for (uint32_t c = first; c < end; c++) {
        const struct uimg_inode *n = &v->inodes[c];
        if (n->parent != dir)
            return fail(why, where,
                        "listed by a directory that is not its parent "
                        "(wrong parent field or overlapping directories): inode",
                        c);
        if (c == first)
            continue;
        const struct uimg_inode *p = &v->inodes[c - 1];
        int cmp =
            name_cmp(v->names + p->name_off, p->name_len, v->names + n->name_off, n->name_len);
        if (cmp == 0)
            return fail(why, where, "duplicate name in a directory: inode", c);
        if (cmp > 0)
            return fail(why, where, "directory not sorted by name: inode", c);
    }
    return 0;
}

int uimg_open(struct uimg_view *v, const void *base, uint64_t size, const char **why,
              uint64_t *where)
{
    const struct uimg_header *h = base;
    uint64_t listed = 0;

    *why = "";
    *where = 0;
    if (size < sizeof(struct uimg_header))
        return fail(why, where, "image shorter than its header: file size", size);
    if (((uintptr_t)base & 7u) != 0)
        return fail(why, where, "image not 8-byte aligned in memory: offset", 0);
    if (check_header(h, size, why, where) < 0 || check_regions(h, why, where) < 0)
        return -1;

    v->base = base;
    v->size = h->image_size;
    v->hdr = h;
    v->inodes = (const struct uimg_inode *)(v->base + h->inode_off);
    v->count = h->inode_count;
    v->names = (const char *)(v->base + h->names_off);
    v->config = (const char *)(v->base + h->config_off);

    if (check_config(h, v->config, why, where) < 0)
        return -1;
    for (uint32_t i = 0; i < v->count; i++)
        if (check_inode(v, i, &listed, why, where) < 0)
            return -1;
    if (listed < (uint64_t)v->count - 1)
        return fail(why, where, "some inodes are not listed by any directory: entries listed",
                    listed);
    if (listed > (uint64_t)v->count - 1)
        return fail(why, where, "more directory entries than inodes: entries listed", listed);
    for (uint32_t i = 0; i < v->count; i++)
        if (inode_type(&v->inodes[i]) == UIMG_S_IFDIR && check_children(v, i, why, where) < 0)
            return -1;
    if (inode_type(&v->inodes[h->entry]) != UIMG_S_IFREG)
        return fail(why, where, "entry is not a regular file: inode", h->entry);
    return 0;
}

int64_t uimg_lookup(const struct uimg_view *v, uint32_t dir, const char *name, size_t len)
{
    if (dir >= v->count)
        return -E_INVAL;
    const struct uimg_inode *d = &v->inodes[dir];
    if (inode_type(d) != UIMG_S_IFDIR)
        return -E_NOTDIR;
    if (len > UIMG_NAME_MAX)
        return -E_NAMETOOLONG;
    if (len == 1 && name[0] == '.')
        return dir;
    if (len == 2 && name[0] == '.' && name[1] == '.')
        return d->parent;

    uint64_t lo = d->data, hi = d->data + d->size; /* [lo, hi) */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const struct uimg_inode *n = &v->inodes[mid];
        int cmp = name_cmp(name, len, v->names + n->name_off, n->name_len);
        if (cmp == 0)
            return (int64_t)mid;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -E_NOENT;
}

const struct uimg_inode *uimg_inode(const struct uimg_view *v, uint32_t ino)
{
    return ino < v->count ? &v->inodes[ino] : NULL;
}

const char *uimg_name(const struct uimg_view *v, uint32_t ino, uint32_t *len)
{
    if (ino >= v->count)
        return NULL;
    *len = v->inodes[ino].name_len;
    return v->names + v->inodes[ino].name_off;
}

const void *uimg_data(const struct uimg_view *v, uint32_t ino, uint64_t *size)
{
    if (ino >= v->count)
        return NULL;
    const struct uimg_inode *n = &v->inodes[ino];
    if (inode_type(n) != UIMG_S_IFREG && inode_type(n) != UIMG_S_IFLNK)
        return NULL;
    *size = n->size;
    return v->base + n->data;
}

/* The k-th string of the config block (k < argc + envc, checked by the callers). */
static const char *config_string(const struct uimg_view *v, uint64_t k)
{
    const char *s = v->config;
    while (k > 0) {
        while (*s != '\0')
            s++;
        s++;
        k--;
    }
    return s;
}

const char *uimg_arg(const struct uimg_view *v, uint32_t i)
{
    if (i >= v->hdr->argc)
        return NULL;
    return config_string(v, i);
}

const char *uimg_env(const struct uimg_view *v, uint32_t i)
{
    if (i >= v->hdr->envc)
        return NULL;
    return config_string(v, (uint64_t)v->hdr->argc + i);
}

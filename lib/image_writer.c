/*
 * image_writer.c — builds Uigniter images (see image_writer.h, docs/image-format.md).
 *
 * The builder keeps the guest tree in memory, each directory's children sorted by
 * name as they are inserted, so duplicates are found with a binary search and the
 * final order never depends on the order of the calls. Writing numbers the inodes
 * breadth-first, which makes every directory's children one contiguous sorted run,
 * lays out header, inode table, name pool, config and symlink targets, then places
 * file contents at 4 KiB-aligned offsets in inode order and pads the image to a
 * whole page. Host files are copied only then, with copy_file_range, sendfile or
 * read/write (whichever the two file descriptors allow), and are checked to still
 * have the size they had when added, so the layout written matches the bytes.
 */
#include "image_writer.h"

#include "uigniter/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "images are little-endian");
_Static_assert(sizeof(struct uimg_header) == 120, "header layout");
_Static_assert(sizeof(struct uimg_inode) == 48, "inode layout");

#define IMGW_PERM_BITS 07777u
#define IMGW_DIR_MODE  0755u

struct node {
    char *name; /* NUL-terminated copy; the root's is "" */
    uint32_t name_len;
    uint32_t mode; /* UIMG_S_IF* | permission bits */
    int64_t mtime;
    struct node *parent;
    struct node **kids; /* directories: sorted by name */
    size_t nkids, kids_cap;
    char *host_path; /* regular file copied from the host at write time */
    void *bytes;     /* regular file from imgw_add_data, or symlink target */
    uint64_t size;   /* file or target length */
    uint32_t ino;    /* assigned when writing */
    uint32_t first;  /* directories: inode of the first child, when writing */
    uint64_t off;    /* contents or target offset in the image, when writing */
};

struct imgw {
    struct node *root;
    size_t count; /* nodes, root included */
    char *entry;  /* canonical guest path, "/..." */
    char **argv;
    size_t argc;
    char **env;
    size_t envc, env_cap;
    char err[512];
};

/* ---- errors ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static int fail(struct imgw *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_oom(struct imgw *w)
{
    return fail(w, "out of memory");
}

const char *imgw_error(const struct imgw *w)
{
    return w ? w->err : "out of memory";
}

/* ---- nodes ------------------------------------------------------------------- */

static uint32_t node_type(const struct node *n)
{
    return n->mode & UIMG_S_IFMT;
}

static struct node *node_new(const char *name, size_t len, uint32_t mode, int64_t mtime)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = strndup(name, len);
    if (!n->name) {
        free(n);
        return NULL;
    }
    n->name_len = (uint32_t)len;
    n->mode = mode;
    n->mtime = mtime;
    return n;
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->host_path);
    free(n->bytes);
    free(n);
}

/* The guest path of n, for messages (truncated if it does not fit). */
static const char *node_path(const struct node *n, char *buf, size_t size)
{
    size_t len = 0;
    for (const struct node *p = n; p->parent; p = p->parent)
        len += 1 + p->name_len;
    if (len == 0) {
        snprintf(buf, size, "/");
        return buf;
    }
    if (len >= size) {
        snprintf(buf, size, ".../%s", n->name);
        return buf;
    }
    buf[len] = '\0';
    for (const struct node *p = n; p->parent; p = p->parent) {
        len -= p->name_len;
        memcpy(buf + len, p->name, p->name_len);
        buf[--len] = '/';
    }
    return buf;
}

/* Bytes as unsigned, then a prefix first: the order the parser checks. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0 || alen == blen)
        return c;
    return alen < blen ? -1 : 1;
}

/* Index of name in dir's children, or -1 with *pos = where it would go. */
static long kid_find(const struct node *dir, const char *name, size_t len, size_t *pos)
{
    size_t lo = 0, hi = dir->nkids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct node *k = dir->kids[mid];
        int c = name_cmp(name, len, k->name, k->name_len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *pos = lo;
    return -1;
}

static int kid_insert(struct imgw *w, struct node *dir, struct node *n, size_t pos)
{
    if (dir->nkids == dir->kids_cap) {
        size_t cap = dir->kids_cap ? dir->kids_cap * 2 : 4;
        struct node **k = realloc(dir->kids, cap * sizeof *k);
        if (!k)
            return fail_oom(w);
        dir->kids = k;
        dir->kids_cap = cap;
    }
    memmove(dir->kids + pos + 1, dir->kids + pos, (dir->nkids - pos) * sizeof *dir->kids);
    dir->kids[pos] = n;
    dir->nkids++;
    n->parent = dir;
    w->count++;
    return 0;
}

/*
 * Puts n (a fresh node) into dir under its own name and returns the node now at that
 * place. A directory merges into an existing one (which takes n's mode and mtime);
 * anything else may not clash. n is consumed either way.
 */
static struct node *add_child(struct imgw *w, struct node *dir, struct node *n)
{
    size_t pos = 0;
    long i = kid_find(dir, n->name, n->name_len, &pos);
    if (i >= 0) {
        struct node *old = dir->kids[i];
        if (node_type(old) == UIMG_S_IFDIR && node_type(n) == UIMG_S_IFDIR) {
            old->mode = n->mode;
            old->mtime = n->mtime;
            node_free(n);
            return old;
        }
        char path[256];
        fail(w, "%s: already in the image", node_path(old, path, sizeof path));
        node_free(n);
        return NULL;
    }
    if (kid_insert(w, dir, n, pos) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* ---- guest paths ------------------------------------------------------------- */

/* The next component of *p (skipping '/'), or 0 at the end; advances *p. */
static size_t next_component(const char **p, const char **comp)
{
    const char *s = *p;
    while (*s == '/')
        s++;
    const char *e = s;
    while (*e && *e != '/')
        e++;
    *comp = s;
    *p = e;
    return (size_t)(e - s);
}

static int check_guest_path(struct imgw *w, const char *path)
{
    const char *p = path, *c;
    size_t len;
    if (!path)
        return fail(w, "guest path missing");
    while ((len = next_component(&p, &c)) > 0) {
        if (len > UIMG_NAME_MAX)
            return fail(w, "%s: a name is longer than %u bytes", path, UIMG_NAME_MAX);
        if (c[0] == '.' && (len == 1 || (len == 2 && c[1] == '.')))
            return fail(w, "%s: \".\" and \"..\" are not allowed in guest paths", path);
    }
    return 0;
}

/* "/a/b" for any spelling of the path ("a//b/", "/a/b"), or NULL when out of memory. */
static char *canonical_path(const char *path)
{
    char *out = malloc(strlen(path) + 2), *o = out;
    const char *p = path, *c;
    size_t len;
    if (!out)
        return NULL;
    while ((len = next_component(&p, &c)) > 0) {
        *o++ = '/';
        memcpy(o, c, len);
        o += len;
    }
    if (o == out)
        *o++ = '/';
    *o = '\0';
    return out;
}

/*
 * Walks to the directory that holds path's last component, creating missing
 * directories (0755) when create is set. Returns it with *last and *last_len set
 * (*last_len is 0 for the root itself), or NULL with the error set.
 */
static struct node *walk_parent(struct imgw *w, const char *path, int create, const char **last,
                                size_t *last_len)
{
    struct node *dir = w->root;
    const char *p = path, *c;
    size_t len = next_component(&p, &c);

    while (len > 0) {
        const char *nc;
        const char *rest = p;
        size_t nlen = next_component(&rest, &nc);
        if (nlen == 0)
            break;
        size_t pos = 0;
        long i = kid_find(dir, c, len, &pos);
        if (i >= 0) {
            dir = dir->kids[i];
            if (node_type(dir) != UIMG_S_IFDIR) {
                fail(w, "%s: %.*s is not a directory", path, (int)(c + len - path), path);
                return NULL;
            }
        } else if (!create) {
            fail(w, "%s: not in the image", path);
            return NULL;
        } else {
            struct node *n = node_new(c, len, UIMG_S_IFDIR | IMGW_DIR_MODE, 0);
            if (!n) {
                fail_oom(w);
                return NULL;
            }
            if (kid_insert(w, dir, n, pos) < 0) {
                node_free(n);
                return NULL;
            }
            dir = n;
        }
        p = rest;
        c = nc;
        len = nlen;
    }
    *last = c;
    *last_len = len;
    return dir;
}

/* The node at path, or NULL with the error set. */
static struct node *find_node(struct imgw *w, const char *path)
{
    const char *last;
    size_t len;
    struct node *dir = walk_parent(w, path, 0, &last, &len);
    if (!dir)
        return NULL;
    if (len == 0)
        return dir;
    size_t pos;
    long i = kid_find(dir, last, len, &pos);
    if (i < 0) {
        fail(w, "%s: not in the image", path);
        return NULL;
    }
    return dir->kids[i];
}

/*
 * Places a new node of the given type at path, creating parents. Returns the node
 * now at path (an existing directory when a directory is added again), or NULL.
 */
static struct node *place(struct imgw *w, const char *path, uint32_t mode, int64_t mtime)
{
    const char *last;
    size_t len;
    if (check_guest_path(w, path) < 0)
        return NULL;
    struct node *dir = walk_parent(w, path, 1, &last, &len);
    if (!dir)
        return NULL;
    if (len == 0) {
        if ((mode & UIMG_S_IFMT) != UIMG_S_IFDIR) {
            fail(w, "%s: the root can only be a directory", path);
            return NULL;
        }
        w->root->mode = mode;
        w->root->mtime = mtime;
        return w->root;
    }
    struct node *n = node_new(last, len, mode, mtime);
    if (!n) {
        fail_oom(w);
        return NULL;
    }
    return add_child(w, dir, n);
}

/* ---- building ---------------------------------------------------------------- */

struct imgw *imgw_new(void)
{
    struct imgw *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->root = node_new("", 0, UIMG_S_IFDIR | IMGW_DIR_MODE, 0);
    if (!w->root) {
        free(w);
        return NULL;
    }
    w->count = 1;
    return w;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void imgw_free(struct imgw *w)
{
    if (!w)
        return;
    node_free(w->root);
    free(w->entry);
    free_strings(w->argv, w->argc);
    free_strings(w->env, w->envc);
    free(w);
}

static int host_file_node(struct imgw *w, struct node *n, const char *host_path,
                          const struct stat *st)
{
    n->host_path = strdup(host_path);
    if (!n->host_path)
        return fail_oom(w);
    n->size = (uint64_t)st->st_size;
    return 0;
}

int imgw_add_file(struct imgw *w, const char *guest_path, const char *host_path)
{
    struct stat st;
    if (stat(host_path, &st) < 0)
        return fail(w, "%s: %s", host_path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(w, "%s: not a regular file", host_path);
    uint32_t mode = UIMG_S_IFREG | (st.st_mode & IMGW_PERM_BITS);
    struct node *n = place(w, guest_path, mode, st.st_mtim.tv_sec);
    if (!n)
        return -1;
    return host_file_node(w, n, host_path, &st);
}

int imgw_add_dir(struct imgw *w, const char *guest_path, unsigned mode)
{
    return place(w, guest_path, UIMG_S_IFDIR | (mode & IMGW_PERM_BITS), 0) ? 0 : -1;
}

static int set_symlink(struct imgw *w, struct node *n, const char *target, size_t len)
{
    n->bytes = malloc(len);
    if (!n->bytes)
        return fail_oom(w);
    memcpy(n->bytes, target, len);
    n->size = len;
    return 0;
}

int imgw_add_symlink(struct imgw *w, const char *guest_path, const char *target)
{
    size_t len = target ? strlen(target) : 0;
    if (len == 0 || len > UIMG_LINK_MAX)
        return fail(w, "%s: symlink target must be 1 to %u bytes", guest_path, UIMG_LINK_MAX);
    struct node *n = place(w, guest_path, UIMG_S_IFLNK | 0777u, 0);
    if (!n)
        return -1;
    return set_symlink(w, n, target, len);
}

int imgw_add_data(struct imgw *w, const char *guest_path, const void *data, size_t len,
                  unsigned mode)
{
    struct node *n = place(w, guest_path, UIMG_S_IFREG | (mode & IMGW_PERM_BITS), 0);
    if (!n)
        return -1;
    if (len > 0) {
        n->bytes = malloc(len);
        if (!n->bytes)
            return fail_oom(w);
        memcpy(n->bytes, data, len);
    }
    n->size = len;
    return 0;
}

/* ---- host trees ---------------------------------------------------------------- */

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a host directory, sorted, without "." and "..". Closes the directory
 * before returning, so deep trees do not hold one descriptor per level. */
static int list_dir(struct imgw *w, const char *host_dir, char ***names_out, size_t *n_out)
{
    DIR *d = opendir(host_dir);
    if (!d)
        return fail(w, "%s: %s", host_dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                goto oom;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            goto oom;
        n++;
        errno = 0;
    }
    if (errno != 0) {
        int err = errno;
        closedir(d);
        free_strings(names, n);
        return fail(w, "%s: %s", host_dir, strerror(err));
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_strings);
    *names_out = names;
    *n_out = n;
    return 0;
oom:
    closedir(d);
    free_strings(names, n);
    return fail_oom(w);
}

static int add_tree_at(struct imgw *w, struct node *dir, const char *host_dir);

/* One entry of a host directory, added below dir. */
static int add_host_entry(struct imgw *w, struct node *dir, const char *host_path, const char *name)
{
    struct stat st;
    if (lstat(host_path, &st) < 0)
        return fail(w, "%s: %s", host_path, strerror(errno));
    uint32_t type = S_ISREG(st.st_mode)   ? UIMG_S_IFREG
                    : S_ISDIR(st.st_mode) ? UIMG_S_IFDIR
                    : S_ISLNK(st.st_mode) ? UIMG_S_IFLNK
                                          : 0;
    if (type == 0)
        return fail(w, "%s: not a regular file, directory or symlink", host_path);
    uint32_t perm = type == UIMG_S_IFLNK ? 0777u : (st.st_mode & IMGW_PERM_BITS);
    struct node *n = node_new(name, strlen(name), type | perm, st.st_mtim.tv_sec);
    if (!n)
        return fail_oom(w);
    n = add_child(w, dir, n);
    if (!n)
        return -1;
    if (type == UIMG_S_IFREG)
        return host_file_node(w, n, host_path, &st);
    if (type == UIMG_S_IFDIR)
        return add_tree_at(w, n, host_path);

    char target[UIMG_LINK_MAX + 1];
    ssize_t len = readlink(host_path, target, sizeof target);
    if (len < 0)
        return fail(w, "%s: %s", host_path, strerror(errno));
    if (len == 0 || (size_t)len > UIMG_LINK_MAX || memchr(target, '\0', (size_t)len))
        return fail(w, "%s: symlink target must be 1 to %u bytes", host_path, UIMG_LINK_MAX);
    return set_symlink(w, n, target, (size_t)len);
}

static int add_tree_at(struct imgw *w, struct node *dir, const char *host_dir)
{
    char **names = NULL;
    size_t n = 0;
    if (list_dir(w, host_dir, &names, &n) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path;
        if (asprintf(&path, "%s/%s", host_dir, names[i]) < 0)
            rc = fail_oom(w);
        else {
            rc = add_host_entry(w, dir, path, names[i]);
            free(path);
        }
    }
    free_strings(names, n);
    return rc;
}

int imgw_add_tree(struct imgw *w, const char *guest_dir, const char *host_dir)
{
    struct stat st;
    if (stat(host_dir, &st) < 0)
        return fail(w, "%s: %s", host_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(w, "%s: not a directory", host_dir);
    struct node *dir =
        place(w, guest_dir, UIMG_S_IFDIR | (st.st_mode & IMGW_PERM_BITS), st.st_mtim.tv_sec);
    if (!dir)
        return -1;
    return add_tree_at(w, dir, host_dir);
}

/* ---- program and config ------------------------------------------------------ */

int imgw_set_entry(struct imgw *w, const char *guest_path)
{
    if (check_guest_path(w, guest_path) < 0)
        return -1;
    char *p = canonical_path(guest_path);
    if (!p)
        return fail_oom(w);
    if (strcmp(p, "/") == 0) {
        free(p);
        return fail(w, "%s: the entry must be a regular file", guest_path);
    }
    free(w->entry);
    w->entry = p;
    return 0;
}

int imgw_set_argv(struct imgw *w, int argc, char *const argv[])
{
    if (argc < 1)
        return fail(w, "argv must have at least argv[0]");
    char **v = calloc((size_t)argc, sizeof *v);
    if (!v)
        return fail_oom(w);
    for (int i = 0; i < argc; i++) {
        if (!argv[i] || !(v[i] = strdup(argv[i]))) {
            free_strings(v, (size_t)argc);
            return argv[i] ? fail_oom(w) : fail(w, "argv[%d] is NULL", i);
        }
    }
    free_strings(w->argv, w->argc);
    w->argv = v;
    w->argc = (size_t)argc;
    return 0;
}

int imgw_add_env(struct imgw *w, const char *kv)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq || eq == kv)
        return fail(w, "%s: environment entries are NAME=VALUE", kv ? kv : "(null)");
    size_t klen = (size_t)(eq - kv) + 1; /* "NAME=" */
    char *copy = strdup(kv);
    if (!copy)
        return fail_oom(w);
    for (size_t i = 0; i < w->envc; i++) {
        if (strncmp(w->env[i], kv, klen) == 0) {
            free(w->env[i]);
            w->env[i] = copy;
            return 0;
        }
    }
    if (w->envc == w->env_cap) {
        size_t cap = w->env_cap ? w->env_cap * 2 : 8;
        char **e = realloc(w->env, cap * sizeof *e);
        if (!e) {
            free(copy);
            return fail_oom(w);
        }
        w->env = e;
        w->env_cap = cap;
    }
    w->env[w->envc++] = copy;
    return 0;
}

/* ---- layout ------------------------------------------------------------------ */

struct layout {
    struct node **order; /* inode order: breadth-first */
    uint32_t count;
    uint64_t names_off, names_size;
    uint64_t config_off, config_size;
    uint64_t links_off, links_size;
    uint64_t meta_size; /* header .. end of link targets */
    uint64_t image_size;
};

static uint64_t align_up(uint64_t x)
{
    return (x + UIMG_ALIGN - 1) & ~(uint64_t)(UIMG_ALIGN - 1);
}

/* Breadth-first numbering: each directory's children get consecutive inodes. */
static int number_inodes(struct imgw *w, struct layout *l)
{
    if (w->count > UINT32_MAX)
        return fail(w, "too many files for one image (%zu)", w->count);
    l->count = (uint32_t)w->count;
    l->order = malloc(w->count * sizeof *l->order);
    if (!l->order)
        return fail_oom(w);
    size_t head = 0, tail = 0;
    l->order[tail++] = w->root;
    while (head < tail) {
        struct node *n = l->order[head];
        n->ino = (uint32_t)head++;
        n->first = n->nkids ? (uint32_t)tail : 0;
        for (size_t i = 0; i < n->nkids; i++)
            l->order[tail++] = n->kids[i];
    }
    return 0;
}

static char *const *config_argv(const struct imgw *w, size_t *argc)
{
    if (w->argv) {
        *argc = w->argc;
        return w->argv;
    }
    *argc = 1;
    return &w->entry;
}

static int plan_layout(struct imgw *w, struct layout *l)
{
    uint64_t off = sizeof(struct uimg_header) + (uint64_t)l->count * sizeof(struct uimg_inode);
    size_t argc;
    char *const *argv = config_argv(w, &argc);

    if (argc > UINT32_MAX || w->envc > UINT32_MAX)
        return fail(w, "too many arguments or environment entries");
    l->names_off = off;
    for (uint32_t i = 0; i < l->count; i++)
        l->names_size += l->order[i]->name_len;
    if (l->names_size > UINT32_MAX)
        return fail(w, "file names take more than 4 GiB");
    l->config_off = l->names_off + l->names_size;
    for (size_t i = 0; i < argc; i++)
        l->config_size += strlen(argv[i]) + 1;
    for (size_t i = 0; i < w->envc; i++)
        l->config_size += strlen(w->env[i]) + 1;
    l->links_off = l->config_off + l->config_size;
    off = l->links_off;
    for (uint32_t i = 0; i < l->count; i++) {
        struct node *n = l->order[i];
        if (node_type(n) == UIMG_S_IFLNK) {
            n->off = off;
            off += n->size;
        }
    }
    l->links_size = off - l->links_off;
    l->meta_size = off;
    off = align_up(off);
    for (uint32_t i = 0; i < l->count; i++) {
        struct node *n = l->order[i];
        if (node_type(n) != UIMG_S_IFREG)
            continue;
        n->off = n->size ? off : 0;
        off = align_up(off + n->size);
    }
    l->image_size = off;
    return 0;
}

static void fill_inode(const struct node *n, struct uimg_inode *out, uint64_t *name_off)
{
    out->mode = n->mode;
    out->parent = n->parent ? n->parent->ino : UIMG_ROOT;
    out->name_off = n->parent ? (uint32_t)*name_off : 0;
    out->name_len = n->name_len;
    *name_off += n->name_len;
    out->mtime = n->mtime;
    if (node_type(n) == UIMG_S_IFDIR) {
        out->data = n->first;
        out->size = n->nkids;
    } else {
        out->data = n->off;
        out->size = n->size;
    }
}

static void put_strings(uint8_t *buf, uint64_t *off, char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        memcpy(buf + *off, v[i], len);
        *off += len;
    }
}

/* Header, inode table, names, config and link targets, zero-padded to a page. */
static uint8_t *build_metadata(const struct imgw *w, const struct layout *l, uint32_t entry)
{
    uint8_t *buf = calloc(1, align_up(l->meta_size));
    if (!buf)
        return NULL;
    struct uimg_header *h = (struct uimg_header *)buf;
    size_t argc;
    char *const *argv = config_argv(w, &argc);

    memcpy(h->magic, UIMG_MAGIC, sizeof h->magic);
    h->version = UIMG_VERSION;
    h->header_size = sizeof *h;
    h->image_size = l->image_size;
    h->inode_off = sizeof *h;
    h->inode_count = l->count;
    h->inode_size = sizeof(struct uimg_inode);
    h->names_off = l->names_off;
    h->names_size = l->names_size;
    h->config_off = l->config_off;
    h->config_size = l->config_size;
    h->argc = (uint32_t)argc;
    h->envc = (uint32_t)w->envc;
    h->entry = entry;

    struct uimg_inode *ino = (struct uimg_inode *)(buf + h->inode_off);
    uint64_t name_off = 0;
    for (uint32_t i = 0; i < l->count; i++) {
        const struct node *n = l->order[i];
        fill_inode(n, &ino[i], &name_off);
        memcpy(buf + l->names_off + ino[i].name_off, n->name, n->name_len);
        if (node_type(n) == UIMG_S_IFLNK)
            memcpy(buf + n->off, n->bytes, n->size);
    }
    uint64_t off = l->config_off;
    put_strings(buf, &off, argv, argc);
    put_strings(buf, &off, w->env, w->envc);
    return buf;
}

/* ---- output ------------------------------------------------------------------ */

static int write_all(struct imgw *w, int fd, const void *buf, uint64_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(w, "writing the image: %s", n < 0 ? strerror(errno) : "short write");
        p += n;
        len -= (uint64_t)n;
    }
    return 0;
}

static int write_zeros(struct imgw *w, int fd, uint64_t len)
{
    static const uint8_t zeros[UIMG_ALIGN];
    while (len > 0) {
        uint64_t n = len < sizeof zeros ? len : sizeof zeros;
        if (write_all(w, fd, zeros, n) < 0)
            return -1;
        len -= n;
    }
    return 0;
}

enum copy_method { COPY_RANGE, COPY_SENDFILE, COPY_READ };

/* One step of copying: bytes moved, 0 at end of input, -1 with errno. Falls back to
 * a simpler method (for good) when the descriptors do not support the current one. */
static ssize_t copy_step(int in, int out, size_t len, enum copy_method *m)
{
    for (;;) {
        ssize_t n;
        if (*m == COPY_RANGE) {
            n = copy_file_range(in, NULL, out, NULL, len, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP || errno == EBADF)) {
                *m = COPY_SENDFILE;
                continue;
            }
        } else if (*m == COPY_SENDFILE) {
            n = sendfile(out, in, NULL, len);
            if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
                *m = COPY_READ;
                continue;
            }
        } else {
            char buf[65536];
            n = read(in, buf, len < sizeof buf ? len : sizeof buf);
            if (n > 0) {
                const char *p = buf;
                ssize_t left = n;
                while (left > 0) {
                    ssize_t k = write(out, p, (size_t)left);
                    if (k < 0 && errno == EINTR)
                        continue;
                    if (k <= 0)
                        return -1;
                    p += k;
                    left -= k;
                }
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

static int copy_host_file(struct imgw *w, const struct node *n, int out, enum copy_method *m)
{
    int in = open(n->host_path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return fail(w, "%s: %s", n->host_path, strerror(errno));
    struct stat st;
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != n->size) {
        close(in);
        return fail(w, "%s: changed while the image was being built", n->host_path);
    }
    uint64_t left = n->size;
    while (left > 0) {
        size_t chunk = left > (1u << 30) ? (1u << 30) : (size_t)left;
        ssize_t k = copy_step(in, out, chunk, m);
        if (k <= 0) {
            int err = errno;
            close(in);
            if (k == 0)
                return fail(w, "%s: changed while the image was being built", n->host_path);
            return fail(w, "copying %s into the image: %s", n->host_path, strerror(err));
        }
        left -= (uint64_t)k;
    }
    close(in);
    return 0;
}

static int write_contents(struct imgw *w, const struct layout *l, int fd)
{
    enum copy_method m = COPY_RANGE;
    uint64_t pos = align_up(l->meta_size);
    for (uint32_t i = 0; i < l->count; i++) {
        const struct node *n = l->order[i];
        if (node_type(n) != UIMG_S_IFREG || n->size == 0)
            continue;
        if (write_zeros(w, fd, n->off - pos) < 0)
            return -1;
        if (n->host_path ? copy_host_file(w, n, fd, &m) : write_all(w, fd, n->bytes, n->size))
            return -1;
        pos = n->off + n->size;
    }
    return write_zeros(w, fd, l->image_size - pos);
}

static int resolve_entry(struct imgw *w, uint32_t *ino)
{
    if (!w->entry)
        return fail(w, "no entry program set");
    struct node *n = find_node(w, w->entry);
    if (!n)
        return fail(w, "entry %s: not in the image", w->entry);
    if (node_type(n) != UIMG_S_IFREG)
        return fail(w, "entry %s: not a regular file", w->entry);
    *ino = n->ino;
    return 0;
}

int imgw_write_fd(struct imgw *w, int fd)
{
    struct layout l = {0};
    uint32_t entry = 0;
    int rc = -1;

    if (number_inodes(w, &l) < 0)
        return -1;
    if (resolve_entry(w, &entry) < 0 || plan_layout(w, &l) < 0)
        goto out;
    uint8_t *meta = build_metadata(w, &l, entry);
    if (!meta) {
        fail_oom(w);
        goto out;
    }
    rc = write_all(w, fd, meta, align_up(l.meta_size));
    free(meta);
    if (rc == 0)
        rc = write_contents(w, &l, fd);
out:
    free(l.order);
    return rc;
}

/*
 * test_image.c — unit tests of the image writer (lib/image_writer.c) against the
 * kernel's parser (kernel/fs/image_parse.c), built with ASan + UBSan.
 *
 * Round trips check that what the writer puts in comes back out through the parser
 * exactly (contents, modes, mtimes, symlinks, argv, env) and that the output is
 * deterministic. Bad-input tests take a good image and break one thing at a time —
 * every truncation, every header field, each tree rule — and expect uimg_open to
 * refuse with the right message and without touching a byte it should not (each
 * image is an exact-size heap copy, so ASan sees any overread).
 *
 * Prints one "PASS <case>" or "FAIL <case>: <why>" line per case (tests/run.sh).
 * usage: test_image [CASE...]
 */
#include "image_parse.h"
#include "image_writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- a tiny harness ------------------------------------------------------------ */

struct tc {
    const char *name;
    char why[512];
    int failed;
    char tmp[256]; /* a scratch directory, removed after the case */
};

__attribute__((format(printf, 2, 3))) static void tc_fail(struct tc *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof t->why, fmt, ap);
    va_end(ap);
    t->failed = 1;
}

#define CHECK(t, cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            tc_fail(t, "line %d: %s", __LINE__, #cond);                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_OK(t, w, call)                                                                       \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            tc_fail(t, "line %d: %s: %s", __LINE__, #call, imgw_error(w));                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* ---- helpers ----------------------------------------------------------------- */

struct img {
    uint8_t *buf;
    uint64_t size;
};

static void img_free(struct img *im)
{
    free(im->buf);
    im->buf = NULL;
}

static int read_fd_all(int fd, struct img *out)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    out->size = (uint64_t)st.st_size;
    out->buf = malloc(out->size ? out->size : 1);
    if (!out->buf || pread(fd, out->buf, out->size, 0) != (ssize_t)out->size)
        return -1;
    return 0;
}

/* Writes the image into a memfd and reads it back into an exact-size heap buffer. */
static int build(struct tc *t, struct imgw *w, struct img *out)
{
    int fd = memfd_create("test-image", MFD_CLOEXEC);
    if (fd < 0) {
        tc_fail(t, "memfd_create: %s", strerror(errno));
        return -1;
    }
    if (imgw_write_fd(w, fd) < 0) {
        tc_fail(t, "imgw_write_fd: %s", imgw_error(w));
        close(fd);
        return -1;
    }
    int rc = read_fd_all(fd, out);
    close(fd);
    if (rc < 0)
        tc_fail(t, "reading the image back failed");
    return rc;
}

static int open_view(struct tc *t, const struct img *im, struct uimg_view *v)
{
    const char *why;
    uint64_t where;
    if (uimg_open(v, im->buf, im->size, &why, &where) < 0) {
        tc_fail(t, "uimg_open: %s %llu", why, (unsigned long long)where);
        return -1;
    }
    return 0;
}

/* Follows a path from the root (no symlinks): inode or negative errno. */
static int64_t resolve(const struct uimg_view *v, const char *path)
{
    int64_t ino = UIMG_ROOT;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        if (e == p)
            break;
        ino = uimg_lookup(v, (uint32_t)ino, p, (size_t)(e - p));
        if (ino < 0)
            return ino;
        p = e;
    }
    return ino;
}

static const struct uimg_inode *at(const struct uimg_view *v, const char *path)
{
    int64_t ino = resolve(v, path);
    return ino < 0 ? NULL : uimg_inode(v, (uint32_t)ino);
}

static int write_host_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    return ok && chmod(path, mode) == 0 ? 0 : -1;
}

static int set_mtime(const char *path, time_t sec)
{
    struct timeval tv[2] = {{sec, 0}, {sec, 0}};
    return lutimes(path, tv);
}

static char *tmp_path(struct tc *t, const char *rel)
{
    static char buf[8][512];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", t->tmp, rel);
    return b;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

/* An image with one of each thing, used as the base of the bad-input tests. */
static int build_sample(struct tc *t, struct img *im)
{
    struct imgw *w = imgw_new();
    char big[5000];
    memset(big, 'x', sizeof big);
    int rc = -1;
    if (imgw_add_data(w, "/bin/app", big, sizeof big, 0755) == 0 &&
        imgw_add_symlink(w, "/bin/sh", "app") == 0 &&
        imgw_add_data(w, "/etc/a", "A", 1, 0644) == 0 &&
        imgw_add_data(w, "/etc/b", "BB", 2, 0644) == 0 &&
        imgw_add_data(w, "/etc/c", "", 0, 0644) == 0 && imgw_add_dir(w, "/empty", 0700) == 0 &&
        imgw_add_dir(w, "/lib/x", 0755) == 0 && imgw_add_data(w, "/lib/x/y", "Y", 1, 0600) == 0 &&
        imgw_set_entry(w, "/bin/app") == 0 && imgw_add_env(w, "HOME=/") == 0)
        rc = build(t, w, im);
    else
        tc_fail(t, "building the sample: %s", imgw_error(w));
    imgw_free(w);
    return rc;
}

/* ---- round trips ------------------------------------------------------------- */

static void t_roundtrip_data(struct tc *t)
{
    static const size_t sizes[] = {0, 1, 4095, 4096, 4097, 10000, 65536};
    struct imgw *w = imgw_new();
    char name[64];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *d = malloc(sizes[i] + 1);
        for (size_t j = 0; j < sizes[i]; j++)
            d[j] = (uint8_t)(j * 7 + i);
        snprintf(name, sizeof name, "/data/f%zu", sizes[i]);
        int rc = imgw_add_data(w, name, d, sizes[i], 0640);
        free(d);
        CHECK_OK(t, w, rc);
    }
    CHECK_OK(t, w, imgw_set_entry(w, "data/f1"));
    struct img im;
    struct uimg_view v;
    if (build(t, w, &im) < 0 || open_view(t, &im, &v) < 0) {
        imgw_free(w);
        return;
    }
    imgw_free(w);
    CHECK(t, im.size % UIMG_ALIGN == 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(name, sizeof name, "/data/f%zu", sizes[i]);
        int64_t ino = resolve(&v, name);
        CHECK(t, ino > 0);
        const struct uimg_inode *n = uimg_inode(&v, (uint32_t)ino);
        CHECK(t, n->mode == (UIMG_S_IFREG | 0640));
        CHECK(t, n->data % UIMG_ALIGN == 0);
        uint64_t size;
        const uint8_t *d = uimg_data(&v, (uint32_t)ino, &size);
        CHECK(t, d && size == sizes[i]);
        for (size_t j = 0; j < size; j++)
            CHECK(t, d[j] == (uint8_t)(j * 7 + i));
    }
    CHECK(t, v.hdr->entry == resolve(&v, "/data/f1"));
    CHECK(t, v.hdr->argc == 1 && strcmp(uimg_arg(&v, 0), "/data/f1") == 0);
    CHECK(t, uimg_arg(&v, 1) == NULL && uimg_env(&v, 0) == NULL);
    CHECK(t, resolve(&v, "/data/nope") == -2);
    CHECK(t, resolve(&v, "/data/f1/x") == -20);
    CHECK(t, at(&v, "/data")->mode == (UIMG_S_IFDIR | 0755));
    img_free(&im);
}

static void t_roundtrip_host(struct tc *t)
{
    /* tree/: bin/prog (0755), etc/conf (0600), link -> bin/prog, abs -> /etc, empty/ */
    CHECK(t, mkdir(tmp_path(t, "tree"), 0755) == 0);
    CHECK(t, mkdir(tmp_path(t, "tree/bin"), 0711) == 0);
    CHECK(t, mkdir(tmp_path(t, "tree/etc"), 0755) == 0);
    CHECK(t, mkdir(tmp_path(t, "tree/empty"), 0700) == 0);
    CHECK(t, write_host_file(tmp_path(t, "tree/bin/prog"), "#!prog\n", 7, 0755) == 0);
    CHECK(t, write_host_file(tmp_path(t, "tree/etc/conf"), "k=v\n", 4, 0600) == 0);
    CHECK(t, symlink("bin/prog", tmp_path(t, "tree/link")) == 0);
    CHECK(t, symlink("/etc", tmp_path(t, "tree/abs")) == 0);
    CHECK(t, write_host_file(tmp_path(t, "single"), "solo", 4, 0604) == 0);
    CHECK(t, set_mtime(tmp_path(t, "tree/bin/prog"), 1000000) == 0);
    CHECK(t, set_mtime(tmp_path(t, "tree/link"), 1000001) == 0);
    CHECK(t, set_mtime(tmp_path(t, "single"), 1000002) == 0);
    CHECK(t, set_mtime(tmp_path(t, "tree/etc"), 1000003) == 0);

    struct imgw *w = imgw_new();
    CHECK_OK(t, w, imgw_add_tree(w, "/opt/app", tmp_path(t, "tree")));
    CHECK_OK(t, w, imgw_add_file(w, "/single", tmp_path(t, "single")));
    CHECK_OK(t, w, imgw_add_file(w, "/bin/follow", tmp_path(t, "tree/link")));
    CHECK_OK(t, w, imgw_set_entry(w, "/opt/app/bin/prog"));
    struct img im;
    struct uimg_view v;
    if (build(t, w, &im) < 0 || open_view(t, &im, &v) < 0) {
        imgw_free(w);
        return;
    }
    imgw_free(w);
    const struct uimg_inode *n = at(&v, "/opt/app/bin/prog");
    CHECK(t, n && n->mode == (UIMG_S_IFREG | 0755) && n->size == 7 && n->mtime == 1000000);
    CHECK(t, memcmp(im.buf + n->data, "#!prog\n", 7) == 0);
    CHECK(t, at(&v, "/opt/app/bin")->mode == (UIMG_S_IFDIR | 0711));
    CHECK(t, at(&v, "/opt/app/etc")->mtime == 1000003);
    n = at(&v, "/opt/app/etc/conf");
    CHECK(t, n && n->mode == (UIMG_S_IFREG | 0600) && memcmp(im.buf + n->data, "k=v\n", 4) == 0);
    n = at(&v, "/opt/app/link");
    CHECK(t, n && (n->mode & UIMG_S_IFMT) == UIMG_S_IFLNK && n->mtime == 1000001);
    CHECK(t, n->size == 8 && memcmp(im.buf + n->data, "bin/prog", 8) == 0);
    n = at(&v, "/opt/app/abs");
    CHECK(t, n && n->size == 4 && memcmp(im.buf + n->data, "/etc", 4) == 0);
    n = at(&v, "/opt/app/empty");
    CHECK(t, n && n->mode == (UIMG_S_IFDIR | 0700) && n->size == 0);
    n = at(&v, "/single");
    CHECK(t, n && n->mode == (UIMG_S_IFREG | 0604) && n->mtime == 1000002);
    n = at(&v, "/bin/follow");
    CHECK(t, n && (n->mode & UIMG_S_IFMT) == UIMG_S_IFREG && n->size == 7);
    CHECK(t, at(&v, "/opt")->mode == (UIMG_S_IFDIR | 0755) && at(&v, "/opt")->mtime == 0);
    img_free(&im);
}

static void t_roundtrip_symlinks_dirs(struct tc *t)
{
    char target[UIMG_LINK_MAX + 2];
    memset(target, 'a', sizeof target);
    target[UIMG_LINK_MAX] = '\0';
    struct imgw *w = imgw_new();
    CHECK_OK(t, w, imgw_add_dir(w, "/a/b/c", 0700));
    CHECK_OK(t, w, imgw_add_dir(w, "/a/b", 0750)); /* merge: new mode */
    CHECK_OK(t, w, imgw_add_symlink(w, "/a/b/c/long", target));
    CHECK_OK(t, w, imgw_add_symlink(w, "/a/short", "b"));
    CHECK_OK(t, w, imgw_add_data(w, "/a/b/c/run", "x", 1, 0755));
    CHECK_OK(t, w, imgw_set_entry(w, "/a/b/c/run"));
    struct img im;
    struct uimg_view v;
    if (build(t, w, &im) < 0 || open_view(t, &im, &v) < 0) {
        imgw_free(w);
        return;
    }
    imgw_free(w);
    CHECK(t, at(&v, "/a/b")->mode == (UIMG_S_IFDIR | 0750));
    CHECK(t, at(&v, "/a/b/c")->mode == (UIMG_S_IFDIR | 0700));
    uint64_t size;
    const char *d = uimg_data(&v, (uint32_t)resolve(&v, "/a/b/c/long"), &size);
    CHECK(t, d && size == UIMG_LINK_MAX && memcmp(d, target, size) == 0);
    d = uimg_data(&v, (uint32_t)resolve(&v, "/a/short"), &size);
    CHECK(t, d && size == 1 && d[0] == 'b');
    CHECK(t, uimg_data(&v, (uint32_t)resolve(&v, "/a"), &size) == NULL);
    /* "." and ".." */
    int64_t b = resolve(&v, "/a/b");
    CHECK(t, uimg_lookup(&v, (uint32_t)b, ".", 1) == b);
    CHECK(t, uimg_lookup(&v, (uint32_t)b, "..", 2) == resolve(&v, "/a"));
    CHECK(t, uimg_lookup(&v, UIMG_ROOT, "..", 2) == UIMG_ROOT);
    CHECK(t, uimg_lookup(&v, v.count, "a", 1) == -22);
    CHECK(t, uimg_lookup(&v, UIMG_ROOT, target, 256) == -36);
    CHECK(t, uimg_lookup(&v, UIMG_ROOT, "", 0) == -2);
    uint32_t len;
    CHECK(t, uimg_name(&v, UIMG_ROOT, &len) && len == 0);
    CHECK(t, uimg_name(&v, v.count, &len) == NULL && uimg_inode(&v, v.count) == NULL);
    img_free(&im);
}

static void t_deep_tree(struct tc *t)
{
    /* 300 nested guest directories, and a 60-deep host tree copied under them. */
    char *path = malloc(300 * 4 + 16), *p = path;
    for (int i = 0; i < 300; i++)
        p += sprintf(p, "/d%02d", i % 100);
    struct imgw *w = imgw_new();
    CHECK_OK(t, w, imgw_add_dir(w, path, 0755));
    char host[4096];
    snprintf(host, sizeof host, "%s/h", t->tmp);
    CHECK(t, mkdir(host, 0755) == 0);
    for (int i = 0; i < 60; i++) {
        strcat(host, "/s");
        CHECK(t, mkdir(host, 0755) == 0);
    }
    strcat(host, "/leaf");
    CHECK(t, write_host_file(host, "leaf", 4, 0755) == 0);
    CHECK_OK(t, w, imgw_add_tree(w, path, tmp_path(t, "h")));
    char guest[8192];
    snprintf(guest, sizeof guest, "%s%s", path, host + strlen(t->tmp) + 2);
    CHECK_OK(t, w, imgw_set_entry(w, guest));
    struct img im;
    struct uimg_view v;
    int ok = build(t, w, &im) == 0 && open_view(t, &im, &v) == 0;
    imgw_free(w);
    if (!ok) {
        free(path);
        return;
    }
    CHECK(t, v.count == 1 + 300 + 60 + 1);
    CHECK(t, resolve(&v, guest) == v.hdr->entry);
    CHECK(t, strcmp(uimg_arg(&v, 0), guest) == 0);
    free(path);
    img_free(&im);
}

static void t_empty_and_tiny(struct tc *t)
{
    struct imgw *w = imgw_new();
    CHECK_OK(t, w, imgw_add_data(w, "/e", NULL, 0, 0755));
    CHECK_OK(t, w, imgw_set_entry(w, "/e"));
    struct img im;
    struct uimg_view v;
    if (build(t, w, &im) < 0 || open_view(t, &im, &v) < 0) {
        imgw_free(w);
        return;
    }
    imgw_free(w);
    CHECK(t, im.size == UIMG_ALIGN); /* metadata only, one page */
    CHECK(t, v.count == 2 && at(&v, "/e")->size == 0);
    /* Bytes past image_size are ignored: a page-rounded mapping is fine. */
    uint8_t *bigger = calloc(1, im.size + 100);
    memcpy(bigger, im.buf, im.size);
    const char *why;
    uint64_t where;
    CHECK(t, uimg_open(&v, bigger, im.size + 100, &why, &where) == 0 && v.size == im.size);
    free(bigger);
    /* A 0-byte image. */
    uint8_t *none = malloc(1);
    CHECK(t, uimg_open(&v, none, 0, &why, &where) < 0);
    CHECK(t, strstr(why, "shorter than its header") != NULL);
    free(none);
    img_free(&im);
}

static void t_many_entries(struct tc *t)
{
    enum { FLAT = 20000, DIRS = 500, PER = 10 };
    struct imgw *w = imgw_new();
    char name[64];
    /* Insert in a scrambled order: the result must still be sorted. */
    for (unsigned i = 0; i < FLAT; i++) {
        unsigned k = (i * 7919u) % FLAT;
        snprintf(name, sizeof name, "/flat/n%u", k);
        CHECK_OK(t, w, imgw_add_data(w, name, name, k % 3 == 0 ? strlen(name) : 0, 0644));
    }
    for (unsigned d = 0; d < DIRS; d++)
        for (unsigned f = 0; f < PER; f++) {
            snprintf(name, sizeof name, "/tree/d%u/f%u", d, f);
            CHECK_OK(t, w, imgw_add_data(w, name, NULL, 0, 0644));
        }
    CHECK_OK(t, w, imgw_set_entry(w, "/flat/n0"));
    struct img im;
    struct uimg_view v;
    if (build(t, w, &im) < 0 || open_view(t, &im, &v) < 0) {
        imgw_free(w);
        return;
    }
    imgw_free(w);
    CHECK(t, v.count == 1 + 2 + FLAT + DIRS + DIRS * PER);
    for (unsigned k = 0; k < FLAT; k++) {
        snprintf(name, sizeof name, "/flat/n%u", k);
        int64_t ino = resolve(&v, name);
        CHECK(t, ino > 0);
        uint64_t size;
        const char *d = uimg_data(&v, (uint32_t)ino, &size);
        if (k % 3 == 0)
            CHECK(t, size == strlen(name) && memcmp(d, name, size) == 0);
        else
            CHECK(t, size == 0);
    }
    for (unsigned d = 0; d < DIRS; d += 7) {
        snprintf(name, sizeof name, "/tree/d%u/f%u", d, d % PER);
        CHECK(t, resolve(&v, name) > 0);
    }
    CHECK(t, resolve(&v, "/flat/n20000") == -2);
    img_free(&im);
}

static void t_names_255(struct tc *t)
{
    /* 255-byte names that differ in their last byte, over every byte value but '/'
     * and NUL, so the sort and the lookup agree on unsigned byte order. */
    char name[UIMG_NAME_MAX + 8];
    struct imgw *w = imgw_new();
    for (int c = 1; c < 256; c++) {
        if (c == '/')
            continue;
        name[0] = '/';
        memset(name + 1, 'n', UIMG_NAME_MAX);
        name[UIMG_NAME_MAX] = (char)c;
        name[UIMG_NAME_MAX + 1] = '\0';
        CHECK_OK(t, w, imgw_add_data(w, name, &c, 1, 0644));
    }
    CHECK_OK(t, w, imgw_add_data(w, "/\xff", "hi", 2, 0644));
    CHECK_OK(t, w, imgw_add_data(w, "/n", "short", 5, 0644)); /* a prefix sorts first */
    CHECK_OK(t, w, imgw_set_entry(w, "/n"));
    memset(name + 1, 'n', UIMG_NAME_MAX + 1); /* 256 bytes */
    name[UIMG_NAME_MAX + 2] = '\0';
    CHECK(t, imgw_add_data(w, name, "", 0, 0644) < 0);
    CHECK(t, strstr(imgw_error(w), "longer than 255") != NULL);
    struct img im;
    struct uimg_view v;
    if (build(t, w, &im) < 0 || open_view(t, &im, &v) < 0) {
        imgw_free(w);
        return;
    }
    imgw_free(w);
    for (int c = 1; c < 256; c++) {
        if (c == '/')
            continue;
        memset(name, 'n', UIMG_NAME_MAX);
        name[UIMG_NAME_MAX - 1] = (char)c;
        int64_t ino = uimg_lookup(&v, UIMG_ROOT, name, UIMG_NAME_MAX);
        CHECK(t, ino > 0);
        uint64_t size;
        const uint8_t *d = uimg_data(&v, (uint32_t)ino, &size);
        CHECK(t, size == 1 && d[0] == c);
    }
    CHECK(t, resolve(&v, "/\xff") > 0 && resolve(&v, "/n") > 0);
    img_free(&im);
}

/* The same inputs, added in another order and with another spelling of the paths. */
static int build_det(struct tc *t, int reverse, struct img *im)
{
    struct imgw *w = imgw_new();
    const char *paths[] = {"/z/1", "/a/2", "/m/n/o", "/a/1", "/b"};
    const char *alt[] = {"z//1", "a/2/", "/m/n/o", "//a/1", "b"};
    for (int i = 0; i < 5; i++) {
        int k = reverse ? 4 - i : i;
        if (imgw_add_data(w, reverse ? alt[k] : paths[k], paths[k], strlen(paths[k]), 0644) < 0)
            goto bad;
    }
    if (imgw_add_symlink(w, "/l", "/b") < 0 || imgw_add_tree(w, "/t", tmp_path(t, "det")) < 0 ||
        imgw_add_env(w, reverse ? "A=0" : "A=1") < 0 || imgw_add_env(w, "B=2") < 0 ||
        (reverse && imgw_add_env(w, "A=1") < 0) || imgw_set_entry(w, "/b") < 0)
        goto bad;
    int rc = build(t, w, im);
    imgw_free(w);
    return rc;
bad:
    tc_fail(t, "building: %s", imgw_error(w));
    imgw_free(w);
    return -1;
}

static void t_determinism(struct tc *t)
{
    CHECK(t, mkdir(tmp_path(t, "det"), 0755) == 0);
    for (int i = 0; i < 50; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "det/f%d", (i * 37) % 50);
        CHECK(t, write_host_file(tmp_path(t, rel), rel, strlen(rel), 0644) == 0);
        CHECK(t, set_mtime(tmp_path(t, rel), 12345 + i) == 0);
    }
    CHECK(t, set_mtime(tmp_path(t, "det"), 777) == 0);
    struct img a, b;
    if (build_det(t, 0, &a) < 0)
        return;
    if (build_det(t, 1, &b) < 0) {
        img_free(&a);
        return;
    }
    CHECK(t, a.size == b.size && memcmp(a.buf, b.buf, a.size) == 0);
    struct uimg_view v;
    if (open_view(t, &a, &v) == 0) {
        CHECK(t, v.hdr->envc == 2 && strcmp(uimg_env(&v, 0), "A=1") == 0);
        CHECK(t, strcmp(uimg_env(&v, 1), "B=2") == 0 && uimg_env(&v, 2) == NULL);
    }
    img_free(&a);
    img_free(&b);
}

static void t_argv_env(struct tc *t)
{
    struct imgw *w = imgw_new();
    char *const argv[] = {"prog", "", "two words", "--x=1"};
    CHECK_OK(t, w, imgw_add_data(w, "/bin/prog", "", 0, 0755));
    CHECK_OK(t, w, imgw_set_entry(w, "/bin/prog"));
    CHECK(t, imgw_set_argv(w, 0, argv) < 0);
    CHECK_OK(t, w, imgw_set_argv(w, 4, argv));
    CHECK_OK(t, w, imgw_add_env(w, "PATH=/bin"));
    CHECK_OK(t, w, imgw_add_env(w, "EMPTY="));
    CHECK_OK(t, w, imgw_add_env(w, "PATH=/usr/bin:/bin"));
    CHECK_OK(t, w, imgw_add_env(w, "X=a=b"));
    CHECK(t, imgw_add_env(w, "=v") < 0 && strstr(imgw_error(w), "NAME=VALUE"));
    CHECK(t, imgw_add_env(w, "novalue") < 0);
    struct img im;
    struct uimg_view v;
    if (build(t, w, &im) < 0 || open_view(t, &im, &v) < 0) {
        imgw_free(w);
        return;
    }
    imgw_free(w);
    CHECK(t, v.hdr->argc == 4 && v.hdr->envc == 3);
    for (int i = 0; i < 4; i++)
        CHECK(t, strcmp(uimg_arg(&v, (uint32_t)i), argv[i]) == 0);
    CHECK(t, strcmp(uimg_env(&v, 0), "PATH=/usr/bin:/bin") == 0);
    CHECK(t, strcmp(uimg_env(&v, 1), "EMPTY=") == 0);
    CHECK(t, strcmp(uimg_env(&v, 2), "X=a=b") == 0);
    img_free(&im);
}

static void t_writer_errors(struct tc *t)
{
    struct imgw *w = imgw_new();
    struct img im;
    CHECK(t, strcmp(imgw_error(NULL), "out of memory") == 0);
    CHECK(t, imgw_write_fd(w, 1) < 0 && strstr(imgw_error(w), "no entry"));
    CHECK_OK(t, w, imgw_add_data(w, "/f", "x", 1, 0644));
    CHECK(t, imgw_add_data(w, "/f", "x", 1, 0644) < 0 && strstr(imgw_error(w), "already in"));
    CHECK(t, imgw_add_dir(w, "/f", 0755) < 0 && strstr(imgw_error(w), "already in"));
    CHECK(t, imgw_add_data(w, "/f/g", "x", 1, 0644) < 0 &&
                 strstr(imgw_error(w), "/f is not a directory"));
    CHECK(t, imgw_add_data(w, "/a/../b", "x", 1, 0644) < 0 && strstr(imgw_error(w), "\"..\""));
    CHECK(t, imgw_add_data(w, "/./b", "x", 1, 0644) < 0);
    CHECK(t, imgw_add_data(w, "/", "x", 1, 0644) < 0 && strstr(imgw_error(w), "root"));
    CHECK(t, imgw_add_symlink(w, "/l", "") < 0);
    CHECK(t, imgw_add_file(w, "/h", tmp_path(t, "missing")) < 0 &&
                 strstr(imgw_error(w), "No such file"));
    CHECK(t, imgw_add_file(w, "/h", t->tmp) < 0 && strstr(imgw_error(w), "not a regular file"));
    CHECK(t, imgw_add_tree(w, "/h", tmp_path(t, "missing")) < 0);
    CHECK(t, imgw_set_entry(w, "/") < 0);
    CHECK_OK(t, w, imgw_set_entry(w, "/nope"));
    CHECK(t, imgw_write_fd(w, 1) < 0 && strstr(imgw_error(w), "not in the image"));
    CHECK_OK(t, w, imgw_add_dir(w, "/d", 0755));
    CHECK_OK(t, w, imgw_set_entry(w, "/d"));
    CHECK(t, imgw_write_fd(w, 1) < 0 && strstr(imgw_error(w), "not a regular file"));
    CHECK_OK(t, w, imgw_add_symlink(w, "/s", "f"));
    CHECK_OK(t, w, imgw_set_entry(w, "/s"));
    CHECK(t, imgw_write_fd(w, 1) < 0 && strstr(imgw_error(w), "not a regular file"));
    /* A host file that changes size between add and write. */
    CHECK(t, write_host_file(tmp_path(t, "grow"), "ab", 2, 0644) == 0);
    CHECK_OK(t, w, imgw_add_file(w, "/grow", tmp_path(t, "grow")));
    CHECK_OK(t, w, imgw_set_entry(w, "/f"));
    CHECK(t, write_host_file(tmp_path(t, "grow"), "abc", 3, 0644) == 0);
    int fd = memfd_create("x", MFD_CLOEXEC);
    CHECK(t, imgw_write_fd(w, fd) < 0 && strstr(imgw_error(w), "changed while"));
    close(fd);
    /* A special file in a host tree. */
    CHECK(t, mkdir(tmp_path(t, "sp"), 0755) == 0);
    CHECK(t, mkfifo(tmp_path(t, "sp/fifo"), 0644) == 0);
    CHECK(t, imgw_add_tree(w, "/sp", tmp_path(t, "sp")) < 0 &&
                 strstr(imgw_error(w), "not a regular file, directory or symlink"));
    /* Still usable after errors. */
    CHECK(t, write_host_file(tmp_path(t, "grow"), "ab", 2, 0644) == 0);
    CHECK(t, build(t, w, &im) == 0);
    img_free(&im);
    imgw_free(w);
}

/* The image reads the same through a memfd, a regular file and a pipe. */
static void t_output_kinds(struct tc *t)
{
    CHECK(t, write_host_file(tmp_path(t, "src"), "source bytes", 12, 0755) == 0);
    struct imgw *w = imgw_new();
    CHECK_OK(t, w, imgw_add_file(w, "/bin/src", tmp_path(t, "src")));
    CHECK_OK(t, w, imgw_add_data(w, "/d", "data", 4, 0644));
    CHECK_OK(t, w, imgw_set_entry(w, "/bin/src"));
    struct img ref, file;
    if (build(t, w, &ref) < 0) {
        imgw_free(w);
        return;
    }
    int fd = open(tmp_path(t, "out.img"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(t, fd >= 0);
    CHECK_OK(t, w, imgw_write_fd(w, fd));
    CHECK(t, read_fd_all(fd, &file) == 0);
    close(fd);
    CHECK(t, file.size == ref.size && memcmp(file.buf, ref.buf, ref.size) == 0);
    int p[2];
    CHECK(t, pipe(p) == 0);
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    CHECK(t, ref.size <= (uint64_t)fcntl(p[1], F_GETPIPE_SZ));
    CHECK_OK(t, w, imgw_write_fd(w, p[1]));
    close(p[1]);
    uint8_t *buf = malloc(ref.size + 1);
    uint64_t got = 0;
    ssize_t n;
    while ((n = read(p[0], buf + got, ref.size + 1 - got)) > 0)
        got += (uint64_t)n;
    close(p[0]);
    CHECK(t, got == ref.size && memcmp(buf, ref.buf, ref.size) == 0);
    free(buf);
    img_free(&ref);
    img_free(&file);
    imgw_free(w);
}

/* ---- bad input ----------------------------------------------------------------- */

/* Expects uimg_open to refuse a copy of im (exact size) with a message containing want. */
static int expect_bad(struct tc *t, const uint8_t *buf, uint64_t size, const char *want, int line)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, buf, size);
    struct uimg_view v;
    const char *why = NULL;
    uint64_t where;
    int rc = uimg_open(&v, copy, size, &why, &where);
    free(copy);
    if (rc == 0) {
        tc_fail(t, "line %d: accepted a bad image (wanted \"%s\")", line, want);
        return -1;
    }
    if (!why || !strstr(why, want)) {
        tc_fail(t, "line %d: wanted \"%s\", got \"%s\"", line, want, why ? why : "(null)");
        return -1;
    }
    return 0;
}

#define BAD(t, buf, size, want)                                                                    \
    do {                                                                                           \
        if (expect_bad(t, buf, size, want, __LINE__) < 0)                                          \
            return;                                                                                \
    } while (0)

/* A mutable copy of the sample, for one broken field at a time. */
struct mut {
    uint8_t *buf;
    uint64_t size;
    struct uimg_header *h;
    struct uimg_view v;
};

/* Inside a bad-input case: reset the copy, break it with stmt, expect want. */
#define TRY(stmt, want)                                                                            \
    do {                                                                                           \
        mut_reset(&m, &im);                                                                        \
        stmt;                                                                                      \
        BAD(t, m.buf, m.size, want);                                                               \
    } while (0)

/* Points n at the inode of path in the copy (path resolved in the good image). */
#define INO(path) ((void)(n = mut_inode(&m, &good, path)))

static void mut_reset(struct mut *m, const struct img *im)
{
    memcpy(m->buf, im->buf, im->size);
    m->size = im->size;
    m->h = (struct uimg_header *)m->buf;
    m->v.inodes = (const struct uimg_inode *)(m->buf + m->h->inode_off);
}

static struct uimg_inode *mut_inode(struct mut *m, const struct uimg_view *good, const char *path)
{
    int64_t ino = resolve(good, path);
    return ino < 0 ? NULL : (struct uimg_inode *)&m->v.inodes[ino];
}

static void t_truncated(struct tc *t)
{
    struct img im;
    if (build_sample(t, &im) < 0)
        return;
    /* Every length short of the full image, each an exact-size buffer. */
    for (uint64_t cut = 0; cut < im.size; cut++) {
        const char *want =
            cut < sizeof(struct uimg_header) ? "shorter than its header" : "image truncated";
        if (expect_bad(t, im.buf, cut, want, __LINE__) < 0)
            break;
    }
    /* And images whose image_size claims less: each region boundary cut off. */
    struct mut m = {malloc(im.size), 0, 0, {0}};
    mut_reset(&m, &im);
    struct uimg_header h = *m.h;
    uint64_t cuts[] = {h.inode_off, h.inode_off + 1,
                       h.inode_off + (uint64_t)h.inode_count * sizeof(struct uimg_inode) - 1,
                       h.names_off + h.names_size - 1, h.config_off + h.config_size - 1};
    const char *wants[] = {"inode table out of bounds", "inode table out of bounds",
                           "inode table out of bounds", "name pool out of bounds",
                           "config block out of bounds"};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        mut_reset(&m, &im);
        m.h->image_size = cuts[i];
        BAD(t, m.buf, m.size, wants[i]);
    }
    mut_reset(&m, &im);
    m.h->image_size = h.config_off + h.config_size + 1; /* symlink target and file cut off */
    BAD(t, m.buf, m.size, "out of bounds");
    free(m.buf);
    img_free(&im);
}

static void t_bad_header(struct tc *t)
{
    struct img im;
    struct uimg_view good;
    if (build_sample(t, &im) < 0 || open_view(t, &im, &good) < 0)
        return;
    struct mut m = {malloc(im.size), 0, 0, {0}};
    struct uimg_header h0 = *good.hdr;
    TRY(m.h->magic[0] = 'X', "bad magic");
    TRY(m.h->magic[7] = 2, "bad magic");
    TRY(m.h->version = 2, "unsupported format version");
    TRY(m.h->header_size = 112, "bad header_size");
    TRY(m.h->image_size = im.size + 1, "image truncated");
    TRY(m.h->image_size = UINT64_MAX, "image truncated");
    TRY(m.h->image_size = 100, "smaller than the header");
    TRY(m.h->flags = 1, "unknown flags");
    TRY(m.h->reserved[3] = 1, "reserved header field");
    TRY(m.h->inode_size = 40, "bad inode_size");
    TRY(m.h->inode_count = 0, "no inodes");
    TRY(m.h->argc = 0, "argc is 0");
    TRY(m.h->entry = h0.inode_count, "entry inode out of range");
    TRY(m.h->entry = UINT32_MAX, "entry inode out of range");
    TRY(m.h->inode_off += 4, "not 8-byte aligned");
    TRY(m.h->inode_off = UINT64_MAX - 7, "inode table out of bounds");
    TRY(m.h->inode_count = UINT32_MAX, "inode table out of bounds");
    TRY(m.h->names_off = UINT64_MAX, "name pool out of bounds");
    TRY((m.h->names_off = 8, m.h->names_size = UINT64_MAX - 7), "name pool out of bounds");
    TRY((m.h->names_off = UINT64_MAX - 1, m.h->names_size = 2), "name pool out of bounds");
    TRY(m.h->config_off = im.size, "config block out of bounds");
    TRY((m.h->config_off = 1ull << 63, m.h->config_size = 1ull << 63), "config block out of");
    TRY(m.h->inode_off = 0, "overlaps the header");
    TRY(m.h->names_off = 100, "overlaps the header");
    TRY(m.h->config_off = h0.inode_off + 8, "inode table overlaps the config block");
    TRY(m.h->names_off = h0.inode_off, "inode table overlaps the name pool");
    TRY(m.h->config_off = h0.names_off, "name pool overlaps the config block");
    /* Misaligned in memory. */
    uint8_t *odd = malloc(im.size + 1);
    memcpy(odd + 1, im.buf, im.size);
    const char *why;
    uint64_t where;
    CHECK(t, uimg_open(&good, odd + 1, im.size, &why, &where) < 0 && strstr(why, "aligned"));
    free(odd);
    free(m.buf);
    img_free(&im);
}

static void t_bad_config(struct tc *t)
{
    struct img im;
    struct uimg_view good;
    if (build_sample(t, &im) < 0 || open_view(t, &im, &good) < 0)
        return;
    struct mut m = {malloc(im.size), 0, 0, {0}};
    uint64_t end = good.hdr->config_off + good.hdr->config_size;
    TRY(m.buf[end - 1] = 'x', "not NUL-terminated");
    TRY(m.h->config_size = 0, "not NUL-terminated");
    TRY(m.h->argc = 2, "fewer config strings"); /* "HOME=/" is now argv[1] */
    TRY(m.h->envc = 2, "fewer config strings");
    TRY(m.h->argc = 100000, "fewer config strings");
    TRY((m.h->argc = UINT32_MAX, m.h->envc = UINT32_MAX), "fewer config strings");
    TRY(m.h->envc = 0, "more config strings");
    TRY(m.buf[good.hdr->config_off + strlen(good.config) + 1 + 4] = '\0',
        "not NAME=VALUE"); /* "HOME" "/" */
    TRY(m.buf[good.hdr->config_off + strlen(good.config) + 1 + 4] = 'x', "not NAME=VALUE");
    TRY(m.buf[good.hdr->config_off + strlen(good.config) + 1] = '=', "not NAME=VALUE");
    free(m.buf);
    img_free(&im);
}

static void t_bad_inodes(struct tc *t)
{
    struct img im;
    struct uimg_view good;
    if (build_sample(t, &im) < 0 || open_view(t, &im, &good) < 0)
        return;
    struct mut m = {malloc(im.size), 0, 0, {0}};
    struct uimg_inode *n;
    /* Files and symlinks. */
    TRY((INO("/bin/app"), n->data += 1), "file data not 4 KiB-aligned");
    TRY((INO("/bin/app"), n->data = UINT64_MAX - 4095), "file data out of bounds");
    TRY((INO("/bin/app"), n->data = 1ull << 63, n->size = 1ull << 63), "file data out of");
    TRY((INO("/bin/app"), n->size = im.size), "file data out of bounds");
    TRY((INO("/bin/app"), n->size = UINT64_MAX), "file data out of bounds");
    TRY((INO("/etc/c"), n->data = im.size + UIMG_ALIGN), "file data out of bounds");
    TRY((INO("/bin/sh"), n->size = 0), "symlink target empty");
    TRY((INO("/bin/sh"), n->size = UIMG_LINK_MAX + 1), "symlink target empty or longer");
    TRY((INO("/bin/sh"), n->data = UINT64_MAX - 1), "symlink target out of bounds");
    TRY((INO("/bin/sh"), m.buf[n->data] = 0), "symlink target contains NUL");
    /* Modes. */
    TRY((INO("/etc/a"), n->mode = 0020644), "not a file, directory or symlink");
    TRY((INO("/etc/a"), n->mode = 0644), "not a file, directory or symlink");
    TRY((INO("/etc/a"), n->mode |= 0200000), "unknown mode bits");
    TRY((INO("/etc/a"), n->reserved = 1), "inode reserved field");
    TRY((INO("/"), n->mode = UIMG_S_IFREG | 0644), "root is not a directory");
    TRY((INO("/"), n->name_len = 1), "root has a name");
    TRY((INO("/"), n->parent = 1), "root has a name or a parent");
    /* Names. */
    TRY((INO("/etc/a"), n->name_len = 0), "name empty");
    TRY((INO("/etc/a"), n->name_len = 256), "longer than 255");
    TRY((INO("/etc/a"), n->name_off = UINT32_MAX), "name out of the name pool");
    TRY((INO("/etc/a"), n->name_off = (uint32_t)good.hdr->names_size), "out of the name pool");
    TRY((INO("/etc/a"), m.buf[good.hdr->names_off + n->name_off] = '/'), "contains '/' or NUL");
    TRY((INO("/etc/a"), m.buf[good.hdr->names_off + n->name_off] = 0), "contains '/' or NUL");
    TRY((INO("/etc/a"), m.buf[good.hdr->names_off + n->name_off] = '.'), "name is \".\"");
    TRY((INO("/bin"), m.buf[good.hdr->names_off + n->name_off] = '.',
         m.buf[good.hdr->names_off + n->name_off + 1] = '.', n->name_len = 2),
        "name is \".\" or \"..\"");
    /* Entry. */
    TRY(m.h->entry = (uint32_t)resolve(&good, "/etc"), "entry is not a regular file");
    TRY(m.h->entry = (uint32_t)resolve(&good, "/bin/sh"), "entry is not a regular file");
    TRY(m.h->entry = 0, "entry is not a regular file");
    free(m.buf);
    img_free(&im);
}

static void t_bad_tree(struct tc *t)
{
    struct img im;
    struct uimg_view good;
    if (build_sample(t, &im) < 0 || open_view(t, &im, &good) < 0)
        return;
    struct mut m = {malloc(im.size), 0, 0, {0}};
    struct uimg_inode *n, *o;
    int64_t a = resolve(&good, "/etc/a"), b = resolve(&good, "/etc/b");
    CHECK(t, b == a + 1);
    /* Unsorted and duplicate children: swap or copy names of /etc/a and /etc/b. */
    TRY((INO("/etc/a"), o = n + 1, n->name_off ^= o->name_off, o->name_off ^= n->name_off,
         n->name_off ^= o->name_off, n->name_len = 1, o->name_len = 1),
        "directory not sorted by name");
    TRY((INO("/etc/a"), n[1].name_off = n->name_off, n[1].name_len = n->name_len),
        "duplicate name in a directory");
    /* Cycles and tree shape. */
    TRY((INO("/lib/x"), n->data = 0), "children do not come after it");
    TRY((INO("/lib/x"), n->data = (uint64_t)resolve(&good, "/lib/x")),
        "children do not come after it");
    TRY((INO("/lib"), n->data = (uint64_t)resolve(&good, "/")), "children do not come after");
    TRY((INO("/lib"), n->data = 1ull << 40), "children out of range");
    TRY((INO("/lib"), n->size = UINT64_MAX), "children out of range");
    TRY((INO("/etc"), n->size = good.count), "children out of range");
    TRY((INO("/empty"), n->data = 5), "empty directory with a first-child index");
    /* Wrong parent fields. */
    TRY((INO("/etc/a"), n->parent = (uint32_t)resolve(&good, "/bin")), "not its parent");
    TRY((INO("/lib/x/y"), n->parent = (uint32_t)resolve(&good, "/lib")), "not its parent");
    TRY((INO("/lib/x/y"), n->parent = (uint32_t)resolve(&good, "/lib/x/y")),
        "parent does not come before");
    TRY((INO("/lib/x/y"), n->parent = UINT32_MAX), "parent does not come before");
    /* Overlapping runs: /etc also claims /bin's last child; the total stays right. */
    TRY((INO("/etc"), n->data -= 1), "not its parent");
    /* Unreachable and doubly-listed inodes. */
    TRY((INO("/etc"), n->size -= 1), "not listed by any directory");
    TRY((INO("/lib/x"), n->size = 0, n->data = 0), "not listed by any directory");
    TRY((INO("/etc"), n->size += 1), "more directory entries than inodes");
    TRY(m.h->inode_count -= 1, "children out of range");
    /* A directory turned into a file leaves its children unlisted. */
    TRY((INO("/lib/x"), n->mode = UIMG_S_IFREG | 0644, n->data = 0, n->size = 0),
        "not listed by any directory");
    free(m.buf);
    img_free(&im);
}

/* ---- main -------------------------------------------------------------------- */

struct test {
    const char *name;
    void (*fn)(struct tc *);
};

static const struct test tests[] = {
    {"roundtrip_data", t_roundtrip_data},
    {"roundtrip_host_tree", t_roundtrip_host},
    {"roundtrip_symlinks_dirs", t_roundtrip_symlinks_dirs},
    {"deep_tree", t_deep_tree},
    {"empty_files_and_0_byte_image", t_empty_and_tiny},
    {"many_entries", t_many_entries},
    {"names_255_bytes", t_names_255},
    {"determinism", t_determinism},
    {"argv_env", t_argv_env},
    {"writer_errors", t_writer_errors},
    {"output_memfd_file_pipe", t_output_kinds},
    {"bad_truncated", t_truncated},
    {"bad_header", t_bad_header},
    {"bad_config", t_bad_config},
    {"bad_inodes", t_bad_inodes},
    {"bad_tree", t_bad_tree},
};

static int wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!wanted(tests[i].name, argc, argv))
            continue;
        struct tc t = {.name = tests[i].name};
        snprintf(t.tmp, sizeof t.tmp, "%s/uimg-test.XXXXXX", base);
        if (!mkdtemp(t.tmp)) {
            printf("FAIL image/%s: mkdtemp: %s\n", t.name, strerror(errno));
            continue;
        }
        tests[i].fn(&t);
        nftw(t.tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        if (t.failed)
            printf("FAIL image/%s: %s\n", t.name, t.why);
        else
            printf("PASS image/%s\n", t.name);
        fflush(stdout);
    }
    return 0;
}

/* blobs.c -- storage's files (see storage.h).
 *
 * One file per blob, DIR/blobs/<key>, whose first 256 bytes say its sha256
 * and content type, so that the ETag needs no second file that a crash could
 * leave out of step. A write goes to DIR/tmp/ first and becomes visible only
 * by rename(2) after fsync(2) of the data, followed by fsync of the
 * directory: after a crash a key holds either its old blob or its new one,
 * whole. Only open/read/write/pread/fsync/rename/unlink/mkdir/getdents are
 * used, which is what the unikernel's file systems offer.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"

int blob_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n < 1 || n > BLOB_KEY_MAX || key[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

int blob_ctype_valid(const char *ctype)
{
    size_t n = strlen(ctype);
    if (n > BLOB_CTYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ctype[i] < 0x20 || ctype[i] > 0x7e || ctype[i] == '"' || ctype[i] == '\\')
            return 0;
    return 1;
}

static int mkdir_p(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int blob_store_open(blob_store *s, const char *dir)
{
    char path[1024];
    memset(s, 0, sizeof(*s));
    if (strlen(dir) >= sizeof(s->dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    if (mkdir_p(dir) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/blobs", dir);
    if (mkdir_p(path) < 0)
        return -1;
    s->blobs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->blobs_fd < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/tmp", dir);
    if (mkdir_p(path) < 0)
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char f[1400];
        snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
        unlink(f);
    }
    closedir(d);
    fsync_dir(s->dir);
    return 0;
}

long blob_store_count(blob_store *s)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/blobs", s->dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int blob_write_begin(blob_store *s, blob_writer *w, const char *key, const char *ctype)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (!blob_key_valid(key) || !blob_ctype_valid(ctype)) {
        errno = EINVAL;
        return -1;
    }
    snprintf(w->key, sizeof(w->key), "%s", key);
    snprintf(w->ctype, sizeof(w->ctype), "%s", ctype);
    snprintf(w->tmp, sizeof(w->tmp), "%s/tmp/%llu.%d", s->dir, ++s->tmp_seq, (int)getpid());
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return -1;
    char hdr[BLOB_HDR_LEN];
    memset(hdr, ' ', sizeof(hdr));
    hdr[BLOB_HDR_LEN - 1] = '\n';
    if (write_all(w->fd, hdr, sizeof(hdr)) < 0) {
        blob_write_abort(w);
        return -1;
    }
    sha256_init(&w->sha);
    return 0;
}

int blob_write(blob_writer *w, const void *data, size_t len)
{
    if (write_all(w->fd, data, len) < 0)
        return -1;
    sha256_update(&w->sha, data, len);
    w->size += (long long)len;
    return 0;
}

void blob_write_abort(blob_writer *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
        w->fd = -1;
    }
}

int blob_write_commit(blob_store *s, blob_writer *w)
{
    char hdr[BLOB_HDR_LEN + 1], path[1024];
    sha256_final_hex(&w->sha, w->sha_hex);
    memset(hdr, ' ', BLOB_HDR_LEN);
    int n = snprintf(hdr, sizeof(hdr), "UIGBLOB1 %s %s", w->sha_hex, w->ctype);
    hdr[n] = ' ';
    hdr[BLOB_HDR_LEN - 1] = '\n';
    snprintf(path, sizeof(path), "%s/blobs/%s", s->dir, w->key);
    if (pwrite(w->fd, hdr, BLOB_HDR_LEN, 0) != BLOB_HDR_LEN || fsync(w->fd) < 0 ||
        rename(w->tmp, path) < 0) {
        int e = errno;
        blob_write_abort(w);
        errno = e;
        return -1;
    }
    close(w->fd);
    w->fd = -1;
    if (fsync(s->blobs_fd) < 0)
        return -1;
    return 0;
}

int blob_open(blob_store *s, const char *key, blob_info *info)
{
    char path[1024], hdr[BLOB_HDR_LEN + 1];
    if (!blob_key_valid(key)) {
        errno = EINVAL;
        return -1;
    }
    snprintf(path, sizeof(path), "%s/blobs/%s", s->dir, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size < BLOB_HDR_LEN ||
        pread(fd, hdr, BLOB_HDR_LEN, 0) != BLOB_HDR_LEN || memcmp(hdr, "UIGBLOB1 ", 9) != 0 ||
        hdr[9 + 64] != ' ') {
        close(fd);
        errno = EIO; /* not a blob file: refuse rather than serve garbage */
        return -1;
    }
    hdr[BLOB_HDR_LEN - 1] = '\0';
    memcpy(info->sha, hdr + 9, 64);
    info->sha[64] = '\0';
    char *ct = hdr + 9 + 65;
    size_t ctn = strlen(ct);
    while (ctn && ct[ctn - 1] == ' ')
        ctn--;
    if (ctn > BLOB_CTYPE_MAX)
        ctn = BLOB_CTYPE_MAX;
    memcpy(info->ctype, ct, ctn);
    info->ctype[ctn] = '\0';
    info->size = (long long)st.st_size - BLOB_HDR_LEN;
    return fd;
}

int blob_delete(blob_store *s, const char *key)
{
    char path[1024];
    if (!blob_key_valid(key)) {
        errno = EINVAL;
        return -1;
    }
    snprintf(path, sizeof(path), "%s/blobs/%s", s->dir, key);
    if (unlink(path) < 0)
        return -1;
    return fsync(s->blobs_fd);
}

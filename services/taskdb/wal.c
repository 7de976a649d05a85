/* wal.c -- taskdb's append-only log.
 *
 * A record is [u32 length][u32 crc32 of the payload][payload], little-endian.
 * The payload is an op byte and fixed-width fields followed by the type and
 * the data. Records are appended to a buffer as changes happen and written
 * and fdatasync()ed in one go at the end of the loop iteration (group commit):
 * replies wait for that, so an acknowledged change is on disk. On open, the
 * first record that is short or fails its CRC ends the log: it can only be a
 * write that a crash interrupted, and it is cut off so that new records do
 * not land behind garbage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "taskdb.h"

#define HDR     8
#define FIXED   (1 + 8 + 1 + 4 + 8 + 8 + 2 + 4) /* op id state attempts created updated tlen dlen */
#define REC_MAX (FIXED + TASK_TYPE_MAX + TASK_DATA_MAX)

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void put(unsigned char **p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        *(*p)++ = (unsigned char)(v >> (8 * i));
}

static uint64_t get(const unsigned char **p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t) * (*p)++ << (8 * i);
    return v;
}

static void encode(buf *b, const wal_record *r)
{
    size_t tl = r->type_len, dl = r->data_len;
    size_t len = FIXED + tl + dl;
    unsigned char *start = (unsigned char *)buf_reserve(b, HDR + len);
    unsigned char *p = start + HDR;
    put(&p, (uint64_t)r->op, 1);
    put(&p, r->id, 8);
    put(&p, (uint64_t)r->state, 1);
    put(&p, r->attempts, 4);
    put(&p, (uint64_t)r->created, 8);
    put(&p, (uint64_t)r->updated, 8);
    put(&p, tl, 2);
    put(&p, dl, 4);
    memcpy(p, r->type, tl);
    p += tl;
    memcpy(p, r->data, dl);
    unsigned char *h = start;
    put(&h, len, 4);
    put(&h, crc32(start + HDR, len), 4);
    buf_commit(b, HDR + len);
}

static int decode(const unsigned char *p, size_t len, wal_record *r)
{
    if (len < FIXED)
        return -1;
    const unsigned char *end = p + len;
    r->op = (int)get(&p, 1);
    r->id = get(&p, 8);
    r->state = (int)get(&p, 1);
    r->attempts = (uint32_t)get(&p, 4);
    r->created = (int64_t)get(&p, 8);
    r->updated = (int64_t)get(&p, 8);
    r->type_len = (size_t)get(&p, 2);
    r->data_len = (size_t)get(&p, 4);
    if ((size_t)(end - p) != r->type_len + r->data_len || r->type_len > TASK_TYPE_MAX ||
        r->data_len > TASK_DATA_MAX)
        return -1;
    r->type = (const char *)p;
    r->data = (const char *)p + r->type_len;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int wal_open(wal *w, const char *dir, void (*apply)(const wal_record *r, void *arg), void *arg)
{
    crc_init();
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    w->dir = strdup(dir);
    w->path = malloc(strlen(dir) + 16);
    if (!w->dir || !w->path)
        return -1;
    sprintf(w->path, "%s/taskdb.log", dir);
    w->fd = open(w->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return -1;
    /* Read the whole log; it is compacted, so it stays modest. */
    buf data = BUF_INIT;
    for (;;) {
        char *dst = buf_reserve(&data, 1 << 20);
        ssize_t n = read(w->fd, dst, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            buf_free(&data);
            return -1;
        }
        if (n == 0)
            break;
        buf_commit(&data, (size_t)n);
    }
    const unsigned char *p = (const unsigned char *)buf_peek(&data);
    size_t len = buf_used(&data), off = 0;
    while (len - off >= HDR) {
        const unsigned char *h = p + off;
        size_t rlen = (size_t)get(&h, 4);
        uint32_t crc = (uint32_t)get(&h, 4);
        wal_record r;
        if (rlen > REC_MAX || len - off - HDR < rlen || crc32(p + off + HDR, rlen) != crc ||
            decode(p + off + HDR, rlen, &r) < 0)
            break;
        apply(&r, arg);
        off += HDR + rlen;
        w->records++;
    }
    if (off < len) {
        log_warn("%s: cutting %zu bytes of an incomplete record at offset %zu", w->path, len - off,
                 off);
        if (ftruncate(w->fd, (off_t)off) < 0 || fsync(w->fd) < 0) {
            buf_free(&data);
            return -1;
        }
    }
    buf_free(&data);
    w->bytes = off;
    if (lseek(w->fd, (off_t)off, SEEK_SET) < 0)
        return -1;
    return fsync_dir(dir);
}

void wal_append(wal *w, const wal_record *r)
{
    encode(&w->pending, r);
    w->records++;
}

int wal_sync(wal *w)
{
    while (buf_used(&w->pending)) {
        ssize_t n = write(w->fd, buf_peek(&w->pending), buf_used(&w->pending));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        w->bytes += (uint64_t)n;
        buf_consume(&w->pending, (size_t)n);
    }
    return fdatasync(w->fd);
}

int wal_rewrite(wal *w, void (*emit)(wal *w, void *arg), void *arg)
{
    if (wal_sync(w) < 0)
        return -1;
    char *tmp = malloc(strlen(w->path) + 8);
    if (!tmp)
        return -1;
    sprintf(tmp, "%s.tmp", w->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    w->records = 0;
    emit(w, arg); /* fills w->pending through wal_append */
    int old = w->fd;
    w->fd = fd;
    w->bytes = 0;
    if (wal_sync(w) < 0 || rename(tmp, w->path) < 0 || fsync_dir(w->dir) < 0) {
        int e = errno;
        w->fd = old;
        buf_clear(&w->pending);
        close(fd);
        unlink(tmp);
        free(tmp);
        errno = e;
        return -1; /* the old log is intact */
    }
    close(old);
    free(tmp);
    return 0;
}

void wal_close(wal *w)
{
    if (w->fd >= 0)
        close(w->fd);
    buf_free(&w->pending);
    free(w->path);
    free(w->dir);
}

/* console.c -- each VM's console: stdout and stderr into a size-capped log,
 * and to every client following it.
 *
 * The VM writes into a FIFO in its directory, not into a pipe the daemon
 * alone holds: a FIFO has a name, so a daemon that was killed and started
 * again can open it and carry on reading what the VM writes. The VM's fd is
 * opened read-write, so the VM itself always counts as a reader and its
 * writes never fail with EPIPE while no daemon is there; they wait once the
 * FIFO's buffer is full and go on when the next daemon drains it. The log is
 * kept to --log-size by moving the older half to console.log.1 (two files,
 * no copying), so GET /logs is always the newest bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define READ_CHUNK      (64 * 1024)
#define READ_PER_EVENT  (256 * 1024)
#define FIFO_SIZE       (256 * 1024)
#define FOLLOWER_BUFFER (1024 * 1024)

typedef struct follower {
    http_req *req;
    console *con;
    struct follower *next;
} follower;

struct console {
    char dir[PATH_MAX];
    int rfd;
    int logfd;
    long long size;
    follower *followers;
};

static void path_in(const console *c, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", c->dir, name);
}

static int open_log(console *c)
{
    char p[PATH_MAX + 32];
    path_in(c, "console.log", p, sizeof p);
    c->logfd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (c->logfd < 0)
        return -1;
    struct stat st;
    c->size = fstat(c->logfd, &st) == 0 ? st.st_size : 0;
    return 0;
}

static void rotate(console *c)
{
    char cur[PATH_MAX + 32], old[PATH_MAX + 32];
    path_in(c, "console.log", cur, sizeof cur);
    path_in(c, "console.log.1", old, sizeof old);
    close(c->logfd);
    if (rename(cur, old) < 0)
        log_warn("console: rename %s: %s", cur, strerror(errno));
    if (open_log(c) < 0)
        log_warn("console: %s: %s", cur, strerror(errno));
}

static void follower_remove(console *c, follower *f)
{
    for (follower **pp = &c->followers; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            free(f);
            return;
        }
}

static void on_follower_abort(http_req *req, void *arg)
{
    (void)req;
    follower *f = arg;
    follower_remove(f->con, f);
}

static void feed(console *c, const char *data, size_t n)
{
    /* Each file holds at most half of --log-size: a chunk is split where the
       current file fills up, so the two together never exceed it. */
    long long half = cfg.log_size / 2;
    size_t off = 0;
    while (c->logfd >= 0 && off < n) {
        if (c->size >= half) {
            rotate(c);
            if (c->logfd >= 0 && c->size >= half) { /* the rename failed: start over */
                if (ftruncate(c->logfd, 0) < 0)
                    break;
                c->size = 0;
            }
            continue;
        }
        size_t room = (size_t)(half - c->size), len = n - off < room ? n - off : room;
        ssize_t w = write(c->logfd, data + off, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log_warn("console: writing %s/console.log: %s", c->dir, strerror(errno));
            break;
        }
        off += w;
        c->size += w;
    }
    for (follower *f = c->followers, *next; f; f = next) {
        next = f->next;
        if (http_reply_pending(f->req) > FOLLOWER_BUFFER) {
            /* A client that does not read is cut off rather than buffered for. */
            http_req *req = f->req;
            follower_remove(c, f);
            http_req_drop(req);
            continue;
        }
        http_reply_write(f->req, data, n);
    }
}

static void read_some(console *c, size_t budget)
{
    static char chunk[READ_CHUNK];
    while (budget > 0) {
        ssize_t n = read(c->rfd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        feed(c, chunk, n);
        budget = (size_t)n >= budget ? 0 : budget - n;
    }
}

static void on_readable(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)fd;
    (void)mask;
    read_some(data, READ_PER_EVENT);
}

console *console_open(const char *dir, bool recover, char *err, size_t errlen)
{
    console *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->rfd = c->logfd = -1;
    char fifo[PATH_MAX + 32];
    path_in(c, "console.fifo", fifo, sizeof fifo);
    if (mkfifo(fifo, 0600) < 0 && !(errno == EEXIST && recover)) {
        snprintf(err, errlen, "mkfifo %s: %s", fifo, strerror(errno));
        goto fail;
    }
    c->rfd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (c->rfd < 0) {
        snprintf(err, errlen, "open %s: %s", fifo, strerror(errno));
        goto fail;
    }
    fcntl(c->rfd, F_SETPIPE_SZ, FIFO_SIZE); /* best effort: 64 KiB otherwise */
    if (open_log(c) < 0) {
        snprintf(err, errlen, "open %s/console.log: %s", dir, strerror(errno));
        goto fail;
    }
    if (el_file_add(loop, c->rfd, EL_READABLE, on_readable, c) < 0) {
        snprintf(err, errlen, "event loop: %s", strerror(errno));
        goto fail;
    }
    return c;
fail:
    if (c->rfd >= 0)
        close(c->rfd);
    if (c->logfd >= 0)
        close(c->logfd);
    free(c);
    return NULL;
}

int console_writer(console *c)
{
    char fifo[PATH_MAX + 32];
    path_in(c, "console.fifo", fifo, sizeof fifo);
    return open(fifo, O_RDWR | O_CLOEXEC);
}

void console_drain(console *c)
{
    read_some(c, (size_t)-1);
}

void console_end_followers(console *c)
{
    while (c->followers) {
        follower *f = c->followers;
        c->followers = f->next;
        http_req_on_abort(f->req, NULL, NULL);
        http_reply_end(f->req);
        free(f);
    }
}

void console_free(console *c)
{
    if (!c)
        return;
    console_drain(c);
    console_end_followers(c);
    el_file_del(loop, c->rfd, EL_READABLE | EL_WRITABLE);
    close(c->rfd);
    if (c->logfd >= 0)
        close(c->logfd);
    free(c);
}

static void slurp(const char *path, buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    for (;;) {
        char *p = buf_reserve(b, 64 * 1024);
        ssize_t n = read(fd, p, 64 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf_commit(b, n);
    }
    close(fd);
}

void console_reply(console *c, http_req *req, long tail, bool follow)
{
    console_drain(c);
    buf b = BUF_INIT;
    char p[PATH_MAX + 32];
    path_in(c, "console.log.1", p, sizeof p);
    slurp(p, &b);
    path_in(c, "console.log", p, sizeof p);
    slurp(p, &b);
    const char *text = buf_peek(&b);
    size_t len = buf_used(&b);
    if (tail >= 0) {
        /* The last `tail` lines; a final line without '\n' counts as one. */
        size_t i = len;
        long lines = 0;
        if (i > 0 && text[i - 1] == '\n')
            i--;
        while (i > 0) {
            if (text[i - 1] == '\n' && ++lines == tail)
                break;
            i--;
        }
        if (tail == 0)
            i = len;
        text += i;
        len -= i;
    }
    if (!follow) {
        http_reply(req, 200, "text/plain; charset=utf-8", text, len);
        buf_free(&b);
        return;
    }
    if (http_reply_start(req, 200, "text/plain; charset=utf-8", -1) < 0) {
        buf_free(&b);
        return;
    }
    if (len)
        http_reply_write(req, text, len);
    buf_free(&b);
    follower *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->req = req;
    f->con = c;
    f->next = c->followers;
    c->followers = f;
    http_req_on_abort(req, on_follower_abort, f);
}

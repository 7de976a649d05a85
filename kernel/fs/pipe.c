/*
 * pipe.c — pipes: a 64 KiB ring shared by a read end and a write end.
 *
 * With one thread in the guest, a read on an empty pipe whose write end is still
 * open can only be satisfied by a signal handler; like Linux, it blocks (the vCPU
 * sleeps) and a non-blocking end gets EAGAIN. Writing with no reader left gives
 * EPIPE and SIGPIPE.
 */
#include "vfs.h"
#include "sys/proc.h"
#include "sys/time.h"

#define PIPE_SIZE 65536
#define FIONREAD 0x541b

struct pipe {
    uint8_t *buf;
    uint64_t head, tail; /* bytes written / read so far */
    int readers, writers;
    uint64_t ino;
    uint64_t gen; /* moves on every read and write: epoll's edge-triggered mode */
};

static const struct file_ops pipe_read_ops, pipe_write_ops;
static uint64_t pipe_ino = 1;

static void pipe_release(struct pipe *p)
{
    if (p->readers == 0 && p->writers == 0) {
        free(p->buf);
        free(p);
    }
}

static ssize_t pipe_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    struct pipe *p = f->priv;
    if (len == 0)
        return 0;
    while (p->head == p->tail) {
        if (p->writers == 0)
            return 0;
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        kwait(DEADLINE_NEVER, 0);
        if (signal_pending())
            return -EINTR;
    }
    uint64_t n = MIN(len, p->head - p->tail), done = 0;
    while (done < n) {
        uint64_t at = (p->tail + done) % PIPE_SIZE;
        uint64_t chunk = MIN(n - done, PIPE_SIZE - at);
        memcpy((uint8_t *)buf + done, p->buf + at, chunk);
        done += chunk;
    }
    p->tail += n;
    p->gen++;
    return n;
}

static ssize_t pipe_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    struct pipe *p = f->priv;
    uint64_t done = 0;
    while (done < len) {
        if (p->readers == 0) {
            signal_send(SIGPIPE, SI_USER, 0);
            return done ? (ssize_t)done : -EPIPE;
        }
        uint64_t space = PIPE_SIZE - (p->head - p->tail);
        if (space == 0) {
            if (f->flags & O_NONBLOCK)
                return done ? (ssize_t)done : -EAGAIN;
            /* Nobody else can drain it: natively this write would block forever too. */
            kwait(DEADLINE_NEVER, 0);
            if (signal_pending())
                return done ? (ssize_t)done : -EINTR;
            continue;
        }
        uint64_t at = p->head % PIPE_SIZE;
        uint64_t chunk = MIN(MIN(len - done, space), PIPE_SIZE - at);
        memcpy(p->buf + at, (const uint8_t *)buf + done, chunk);
        p->head += chunk;
        done += chunk;
    }
    p->gen++;
    return done;
}

static uint32_t pipe_read_poll(struct file *f, uint32_t *wait)
{
    (void)wait;
    struct pipe *p = f->priv;
    uint32_t ev = 0;
    if (p->head != p->tail)
        ev |= POLLIN;
    if (p->writers == 0)
        ev |= POLLHUP;
    return ev;
}

static uint32_t pipe_write_poll(struct file *f, uint32_t *wait)
{
    (void)wait;
    struct pipe *p = f->priv;
    if (p->readers == 0)
        return POLLERR | POLLOUT;
    return PIPE_SIZE - (p->head - p->tail) >= 4096 ? POLLOUT : 0;
}

static uint64_t pipe_events_gen(struct file *f)
{
    return ((struct pipe *)f->priv)->gen;
}

static int pipe_ioctl(struct file *f, unsigned long cmd, uint64_t arg)
{
    struct pipe *p = f->priv;
    if (cmd != FIONREAD)
        return -ENOTTY;
    int *n = (int *)arg;
    if (user_check(n, sizeof *n, true) < 0)
        return -EFAULT;
    *n = (int)(p->head - p->tail);
    return 0;
}

static void pipe_close_read(struct file *f)
{
    struct pipe *p = f->priv;
    p->readers--;
    pipe_release(p);
}

static void pipe_close_write(struct file *f)
{
    struct pipe *p = f->priv;
    p->writers--;
    pipe_release(p);
}

static const struct file_ops pipe_read_ops = {
    .read = pipe_read,
    .poll = pipe_read_poll,
    .ioctl = pipe_ioctl,
    .close = pipe_close_read,
    .events_gen = pipe_events_gen,
};

static const struct file_ops pipe_write_ops = {
    .write = pipe_write,
    .poll = pipe_write_poll,
    .ioctl = pipe_ioctl,
    .close = pipe_close_write,
    .events_gen = pipe_events_gen,
};

bool file_is_pipe(struct file *f)
{
    return f->ops == &pipe_read_ops || f->ops == &pipe_write_ops;
}

uint64_t pipe_ino_of(struct file *f)
{
    return ((struct pipe *)f->priv)->ino;
}

struct file *pipe_new_pair(struct file **wr, uint32_t flags)
{
    struct pipe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->buf = malloc(PIPE_SIZE);
    struct file *r = p->buf ? file_new(&pipe_read_ops, O_RDONLY | flags, p) : NULL;
    struct file *w = r ? file_new(&pipe_write_ops, O_WRONLY | flags, p) : NULL;
    if (!w) {
        free(r);
        free(p->buf);
        free(p);
        return NULL;
    }
    p->readers = p->writers = 1;
    p->ino = pipe_ino++;
    *wr = w;
    return r;
}

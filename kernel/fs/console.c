/*
 * console.c — fds 0, 1 and 2: the host's stdin, stdout and stderr through the
 * monitor. A console file remembers which host fd it stands for, so dup2(1, 2)
 * sends "stderr" to the host's stdout exactly as natively. A read that finds
 * nothing waits in kwait() on UH_READY_STDIN, so the vCPU sleeps meanwhile.
 * Only fds that are open on the host exist in the guest.
 */
#include "vfs.h"
#include "arch/hcall.h"
#include "sys/proc.h"
#include "sys/time.h"

#define TCGETS 0x5401
#define TIOCGWINSZ 0x5413
#define FIONREAD 0x541b
#define FIONBIO 0x5421

struct console {
    int host_fd;
    uint32_t mode; /* S_IF* | UH_STDIO_TTY */
    uint16_t rows, cols;
};

static struct console consoles[3];

struct console_xfer {
    struct console *c;
    bool write;
};

/* One batch of console I/O through the monitor. */
static int64_t console_batch(void *ctx, uint32_t nsegs, uint64_t segs)
{
    struct console_xfer *x = ctx;
    struct uh_io io = {.fd = x->c->host_fd, .nsegs = nsegs, .segs = segs};
    hcall(x->write ? UH_WRITE : UH_READ, &io);
    if (io.ret == -EPIPE)
        signal_send(SIGPIPE, SI_USER, 0);
    return io.ret;
}

/* Moves bytes between the iovecs and the host fd. A read stops after one batch
 * (whatever was available), a write at the first short batch. */
static ssize_t console_xfer(struct file *f, const struct kiovec *iov, int cnt, bool write)
{
    struct console_xfer x = {.c = f->priv, .write = write};
    return iov_xfer(iov, cnt, !write, !write, console_batch, &x);
}

static ssize_t console_writev(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos)
{
    (void)pos;
    return console_xfer(f, iov, cnt, true);
}

static ssize_t console_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    struct kiovec iov = {(void *)buf, len};
    return console_writev(f, &iov, 1, pos);
}

static uint32_t stdin_ready(void)
{
    struct uh_poll p = {.timeout_ns = 0, .want = UH_READY_STDIN};
    hcall(UH_POLL, &p);
    return p.ready & UH_READY_STDIN;
}

static ssize_t console_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    struct kiovec iov = {buf, len};
    for (;;) {
        ssize_t r = console_xfer(f, &iov, 1, false);
        if (r != -EAGAIN || (f->flags & O_NONBLOCK))
            return r;
        kwait(DEADLINE_NEVER, UH_READY_STDIN);
        if (signal_pending())
            return -EINTR;
    }
}

static uint32_t console_poll(struct file *f, uint32_t *wait)
{
    struct console *c = f->priv;
    if (c->host_fd != 0)
        return POLLOUT;
    if ((c->mode & S_IFMT) == S_IFREG || stdin_ready())
        return POLLIN;
    *wait |= UH_READY_STDIN;
    return 0;
}

static int64_t console_seek_op(struct console *c, int64_t off, unsigned whence)
{
    struct uh_seek s = {.fd = c->host_fd, .whence = whence, .offset = off};
    hcall(UH_SEEK, &s);
    return s.ret;
}

static int64_t console_lseek(struct file *f, int64_t off, int whence)
{
    struct console *c = f->priv;
    if ((c->mode & S_IFMT) != S_IFREG)
        return -ESPIPE;
    return console_seek_op(c, off, whence);
}

struct ktermios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line, c_cc[19];
};

static int console_ioctl(struct file *f, unsigned long cmd, uint64_t arg)
{
    struct console *c = f->priv;
    bool tty = c->mode & UH_STDIO_TTY;
    switch (cmd) {
    case TIOCGWINSZ: {
        if (!tty)
            return -ENOTTY;
        uint16_t *ws = (uint16_t *)arg;
        if (user_check(ws, 8, true) < 0)
            return -EFAULT;
        ws[0] = c->rows;
        ws[1] = c->cols;
        ws[2] = ws[3] = 0;
        return 0;
    }
    case TCGETS: {
        if (!tty)
            return -ENOTTY;
        struct ktermios *t = (struct ktermios *)arg;
        if (user_check(t, sizeof *t, true) < 0)
            return -EFAULT;
        memset(t, 0, sizeof *t);
        t->c_iflag = 0x500;  /* ICRNL | IXON */
        t->c_oflag = 0x5;    /* OPOST | ONLCR */
        t->c_cflag = 0xbf;   /* B38400 | CS8 | CREAD */
        t->c_lflag = 0x8a3b; /* ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN */
        return 0;
    }
    case FIONREAD: {
        int *n = (int *)arg;
        if (user_check(n, sizeof *n, true) < 0)
            return -EFAULT;
        int64_t r = console_seek_op(c, 0, UH_SEEK_FIONREAD);
        if (r < 0)
            return r;
        *n = (int)r;
        return 0;
    }
    default:
        return tty ? -EINVAL : -ENOTTY;
    }
}

static int console_stat(struct file *f, struct kstat *st)
{
    struct console *c = f->priv;
    memset(st, 0, sizeof *st);
    st->st_mode = (c->mode & S_IFMT) | 0620;
    st->st_nlink = 1;
    st->st_blksize = 4096;
    st->st_ino = c->host_fd + 1;
    if ((c->mode & S_IFMT) == S_IFREG) {
        int64_t cur = console_seek_op(c, 0, SEEK_CUR);
        int64_t end = console_seek_op(c, 0, SEEK_END);
        if (cur >= 0 && end >= 0) {
            st->st_size = end;
            console_seek_op(c, cur, SEEK_SET);
        }
    }
    return 0;
}

const struct file_ops console_ops = {
    .lseek = console_lseek,
    .read = console_read,
    .write = console_write,
    .writev = console_writev,
    .ioctl = console_ioctl,
    .poll = console_poll,
};

bool file_is_console(struct file *f)
{
    return f->ops == &console_ops;
}

int console_fstat(struct file *f, struct kstat *st)
{
    return console_stat(f, st);
}

void console_init(const struct uh_bootinfo *bi)
{
    for (int fd = 0; fd < 3; fd++) {
        if (!bi->stdio[fd].mode)
            continue;
        consoles[fd].host_fd = fd;
        consoles[fd].mode = bi->stdio[fd].mode;
        consoles[fd].rows = bi->stdio[fd].rows;
        consoles[fd].cols = bi->stdio[fd].cols;
        uint32_t flags = fd == 0 ? O_RDONLY : O_WRONLY;
        struct file *f = file_new(&console_ops, flags, &consoles[fd]);
        if (!f || fd_install_at(f, fd, false) < 0)
            panic("out of memory setting up the console");
    }
}

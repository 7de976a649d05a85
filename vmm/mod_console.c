/*
 * mod_console.c — the program's stdin, stdout and stderr are uvmm's own fds 0, 1, 2.
 *
 * Writes go to the host fd the guest names (1 or 2), so the two streams stay apart
 * and a program's stdout under uvmm is byte-identical to its native run. Reads from
 * stdin never block the vCPU: when nothing is ready the guest gets -EAGAIN and waits
 * in UH_POLL (which watches stdin), so timers and network keep running meanwhile.
 * The kernel learns each fd's file type and terminal size at boot, so isatty(),
 * fstat() and stdio buffering behave as they do natively.
 */
#include "uvmm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

static uint32_t stdio_mode[3];

/* Advances an iovec array past n bytes. */
static int iov_advance(struct iovec **iov, int cnt, size_t n)
{
    while (cnt > 0 && n >= (*iov)->iov_len) {
        n -= (*iov)->iov_len;
        (*iov)++;
        cnt--;
    }
    if (cnt > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + n;
        (*iov)->iov_len -= n;
    }
    return cnt;
}

static void hc_write(struct vm *vm, uh_gpa_t arg)
{
    struct uh_io *io = gpa_ptr(vm, arg, sizeof *io);
    struct iovec iov_arr[UH_IO_MAX_SEGS], *iov = iov_arr;
    uint64_t total;
    int cnt = guest_iovec(vm, io, iov, &total, true);
    int fd = io->fd;
    if ((fd != 1 && fd != 2) || stdio_mode[fd] == 0) {
        io->ret = -EBADF;
        return;
    }
    uint64_t done = 0;
    while (done < total) {
        ssize_t r = writev(fd, iov, cnt);
        if (r > 0) {
            done += r;
            cnt = iov_advance(&iov, cnt, r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN) { /* someone made our stdout non-blocking */
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, -1);
            continue;
        }
        if (done == 0) {
            io->ret = r < 0 ? -errno : -EIO;
            return;
        }
        break;
    }
    io->ret = done;
}

static void hc_read(struct vm *vm, uh_gpa_t arg)
{
    struct uh_io *io = gpa_ptr(vm, arg, sizeof *io);
    struct iovec iov[UH_IO_MAX_SEGS];
    uint64_t total;
    int cnt = guest_iovec(vm, io, iov, &total, false);
    if (io->fd != 0 || stdio_mode[0] == 0) {
        io->ret = -EBADF;
        return;
    }
    if (!S_ISREG(stdio_mode[0])) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, 0) == 0) {
            io->ret = -EAGAIN;
            return;
        }
    }
    ssize_t r;
    do
        r = readv(0, iov, cnt);
    while (r < 0 && errno == EINTR);
    io->ret = r < 0 ? -errno : r;
}

static void hc_seek(struct vm *vm, uh_gpa_t arg)
{
    struct uh_seek *s = gpa_ptr(vm, arg, sizeof *s);
    if (s->fd > 2 || stdio_mode[s->fd] == 0) {
        s->ret = -EBADF;
        return;
    }
    if (s->whence == UH_SEEK_FIONREAD) {
        int n = 0;
        s->ret = ioctl(s->fd, FIONREAD, &n) < 0 ? -errno : n;
        return;
    }
    if (s->whence > SEEK_END) {
        s->ret = -EINVAL;
        return;
    }
    off_t r = lseek(s->fd, s->offset, s->whence);
    s->ret = r < 0 ? -errno : r;
}

static int console_setup(struct vm *vm, struct uh_bootinfo *bi)
{
    (void)vm, (void)bi;
    hypercall_register(UH_WRITE, hc_write);
    hypercall_register(UH_READ, hc_read);
    hypercall_register(UH_SEEK, hc_seek);
    return 0;
}

/* At launch, since a pool request may have brought new stdio fds. */
static int console_launch(struct vm *vm, struct uh_bootinfo *bi)
{
    (void)vm;
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            continue;
        stdio_mode[fd] = st.st_mode & S_IFMT;
        bi->stdio[fd].mode = stdio_mode[fd];
        struct winsize ws;
        if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
            bi->stdio[fd].rows = ws.ws_row;
            bi->stdio[fd].cols = ws.ws_col;
            bi->stdio[fd].mode |= UH_STDIO_TTY;
        }
    }
    if (stdio_mode[0])
        poll_register(0, UH_READY_STDIN);
    return 0;
}

const struct uvmm_module mod_console = {
    .name = "console", .setup = console_setup, .launch = console_launch};

/*
 * fd.c — open file descriptions and the fd table.
 *
 * The table grows on demand up to RLIMIT_NOFILE (1024 by default, like Linux;
 * raised with setrlimit up to the hard limit). Closing the last fd of a file
 * calls its close op, which is where pipes see EOF and sockets get shut down.
 */
#include "vfs.h"

#define NOFILE_HARD 65536

static struct file **table;
static uint8_t *cloexec;
static int table_size;
static uint64_t nofile_limit = 1024;

struct file *file_new(const struct file_ops *ops, uint32_t flags, void *priv)
{
    struct file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->ops = ops;
    f->refs = 1;
    f->flags = flags;
    f->priv = priv;
    return f;
}

void file_put(struct file *f)
{
    if (!f || --f->refs > 0)
        return;
    if (f->epolls)
        epoll_forget(f);
    if (f->ops->close)
        f->ops->close(f);
    vn_put(f->vn);
    free(f->dirpath);
    free(f);
}

struct file *fd_get(int fd)
{
    if (fd < 0 || fd >= table_size)
        return NULL;
    return table[fd];
}

static int grow(int want)
{
    if (want <= table_size)
        return 0;
    int n = table_size ? table_size : 64;
    while (n < want)
        n *= 2;
    struct file **t = realloc(table, n * sizeof *t);
    if (!t)
        return -ENOMEM;
    uint8_t *c = realloc(cloexec, n);
    if (!c) {
        table = t;
        return -ENOMEM;
    }
    memset(t + table_size, 0, (n - table_size) * sizeof *t);
    memset(c + table_size, 0, n - table_size);
    table = t;
    cloexec = c;
    table_size = n;
    return 0;
}

int fd_install(struct file *f, int min_fd, bool cx)
{
    for (int fd = min_fd; (uint64_t)fd < nofile_limit; fd++) {
        if (fd >= table_size && grow(fd + 1) < 0)
            break;
        if (!table[fd]) {
            table[fd] = f;
            cloexec[fd] = cx;
            return fd;
        }
    }
    file_put(f);
    return -EMFILE;
}

int fd_install_at(struct file *f, int fd, bool cx)
{
    if (fd < 0 || (uint64_t)fd >= nofile_limit) {
        file_put(f);
        return -EBADF;
    }
    int r = grow(fd + 1);
    if (r < 0) {
        file_put(f);
        return r;
    }
    struct file *old = table[fd];
    table[fd] = f;
    cloexec[fd] = cx;
    file_put(old);
    return fd;
}

int fd_close(int fd)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    table[fd] = NULL;
    file_put(f);
    return 0;
}

bool fd_cloexec(int fd)
{
    return fd >= 0 && fd < table_size && cloexec[fd];
}

void fd_set_cloexec(int fd, bool on)
{
    if (fd >= 0 && fd < table_size)
        cloexec[fd] = on;
}

uint64_t fd_limit(void)
{
    return nofile_limit;
}

void fd_set_limit(uint64_t n)
{
    nofile_limit = n > NOFILE_HARD ? NOFILE_HARD : n;
}

uint64_t fd_hard_limit(void)
{
    return NOFILE_HARD;
}

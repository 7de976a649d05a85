/*
 * epoll.c — epoll_create1, epoll_ctl, epoll_wait/epoll_pwait/epoll_pwait2, and
 * eventfd.
 *
 * An epoll set is a list of (fd, file, events, data). Waiting asks each watched
 * file for its ready events, as poll does; with one thread there is nobody else
 * to wake us, so readiness is computed on demand instead of being pushed.
 * Level-triggered entries report while ready. Edge-triggered entries report when
 * the file's events_gen counter moved since the entry last reported (new data,
 * a new connection, room to write) or, for files without one, when the ready
 * events changed. EPOLLONESHOT disarms an entry until EPOLL_CTL_MOD. A file that
 * is closed for good leaves every set (as Linux does when the last descriptor of
 * the open file goes).
 */
#include "vfs.h"
#include "sys/proc.h"
#include "sys/time.h"

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLLIN 0x001
#define EPOLLPRI 0x002
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLHUP 0x010
#define EPOLLRDHUP 0x2000
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP (1u << 29)
#define EPOLLONESHOT (1u << 30)
#define EPOLLET (1u << 31)
#define EPOLL_CLOEXEC O_CLOEXEC
#define EP_MAX_EVENTS (0x7fffffff / 12)

struct kepoll_event {
    uint32_t events;
    uint64_t data;
} __attribute__((packed));

struct epitem {
    struct epitem *next;
    struct epoll *ep;
    int fd;
    struct file *file; /* not a reference: epoll_forget() drops us when it goes */
    uint32_t events;
    uint64_t data;
    bool disarmed;   /* EPOLLONESHOT fired */
    bool reported;   /* edge-triggered: something was reported since the last edge */
    uint64_t gen;    /* edge-triggered: events_gen when last reported */
    uint32_t last;   /* edge-triggered without events_gen: ready events last seen */
};

struct epoll {
    struct epitem *items;
    struct epoll *next_set; /* all sets, for epoll_forget */
    struct epitem *cursor;  /* where the next wait starts: fairness over many ready fds */
};

static const struct file_ops epoll_ops;
static struct epoll *all_sets;

uint64_t sig_swap_mask(const uint64_t *mask, uint64_t *saved);
void sig_restore_mask(uint64_t saved);

static void item_unlink(struct epoll *ep, struct epitem *it)
{
    for (struct epitem **pp = &ep->items; *pp; pp = &(*pp)->next) {
        if (*pp == it) {
            *pp = it->next;
            break;
        }
    }
    if (ep->cursor == it)
        ep->cursor = NULL;
    it->file->epolls--;
    free(it);
}

void epoll_forget(struct file *f)
{
    for (struct epoll *ep = all_sets; ep && f->epolls; ep = ep->next_set) {
        for (struct epitem *it = ep->items, *n; it; it = n) {
            n = it->next;
            if (it->file == f)
                item_unlink(ep, it);
        }
    }
}

static void epoll_close(struct file *f)
{
    struct epoll *ep = f->priv;
    while (ep->items)
        item_unlink(ep, ep->items);
    for (struct epoll **pp = &all_sets; *pp; pp = &(*pp)->next_set) {
        if (*pp == ep) {
            *pp = ep->next_set;
            break;
        }
    }
    free(ep);
}

static uint32_t file_ready(struct file *f, uint32_t *wait)
{
    return f->ops->poll ? f->ops->poll(f, wait) : (EPOLLIN | EPOLLOUT);
}

/* Fills up to max events; *wait collects the host events to sleep on. */
static int collect(struct epoll *ep, struct kepoll_event *out, int max, uint32_t *wait)
{
    int n = 0;
    struct epitem *start = ep->cursor ? ep->cursor : ep->items;
    struct epitem *it = start;
    if (!it)
        return 0;
    do {
        struct epitem *next = it->next ? it->next : ep->items;
        if (!it->disarmed) {
            uint32_t want = it->events | EPOLLERR | EPOLLHUP;
            uint32_t ready = file_ready(it->file, wait) & want;
            bool report = ready != 0;
            if (report && (it->events & EPOLLET)) {
                if (it->file->ops->events_gen) {
                    uint64_t g = it->file->ops->events_gen(it->file);
                    /* Report once per change; a fresh registration reports at once. */
                    report = !it->reported || g != it->gen;
                    if (report)
                        it->gen = g;
                } else {
                    report = (ready & ~it->last) != 0 || !it->reported;
                }
                it->last = ready;
                if (report)
                    it->reported = true;
            } else if (it->events & EPOLLET) {
                it->last = 0;
            }
            if (report) {
                out[n].events = ready;
                out[n].data = it->data;
                n++;
                if (it->events & EPOLLONESHOT)
                    it->disarmed = true;
                if (n == max) {
                    ep->cursor = next;
                    return n;
                }
            }
        }
        it = next;
    } while (it != start);
    return n;
}

static int64_t do_wait(int epfd, struct kepoll_event *events, int max, uint64_t deadline,
                       const uint64_t *sigmask)
{
    struct file *f = fd_get(epfd);
    if (!f)
        return -EBADF;
    if (f->ops != &epoll_ops)
        return -EINVAL;
    if (max <= 0 || max > EP_MAX_EVENTS)
        return -EINVAL;
    if (user_check(events, (uint64_t)max * sizeof *events, true) < 0)
        return -EFAULT;
    struct epoll *ep = f->priv;
    uint64_t saved = 0;
    if (sigmask)
        sig_swap_mask(sigmask, &saved);
    int64_t r;
    bool polled = false;
    for (;;) {
        uint32_t wait = 0;
        int n = collect(ep, events, max, &wait);
        if (n > 0) {
            r = n;
            break;
        }
        if (now_ns() >= deadline) {
            if (!polled && (wait & kwait_always)) {
                /* A zero timeout still looks at frames that already arrived. */
                kwait(0, wait);
                polled = true;
                continue;
            }
            r = 0;
            break;
        }
        kwait(deadline, wait);
        polled = true;
        if (signal_pending()) {
            r = -EINTR;
            break;
        }
    }
    if (sigmask && r != -EINTR)
        sig_restore_mask(saved);
    return r;
}

int64_t sys_epoll_create1(int flags)
{
    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    struct epoll *ep = calloc(1, sizeof *ep);
    if (!ep)
        return -ENOMEM;
    struct file *f = file_new(&epoll_ops, O_RDWR, ep);
    if (!f) {
        free(ep);
        return -ENOMEM;
    }
    ep->next_set = all_sets;
    all_sets = ep;
    int fd = fd_install(f, 0, flags & EPOLL_CLOEXEC);
    if (fd < 0)
        file_put(f);
    return fd;
}

int64_t sys_epoll_create(int size)
{
    if (size <= 0)
        return -EINVAL;
    return sys_epoll_create1(0);
}

static struct epitem *find(struct epoll *ep, int fd, struct file *f)
{
    for (struct epitem *it = ep->items; it; it = it->next)
        if (it->fd == fd && it->file == f)
            return it;
    return NULL;
}

int64_t sys_epoll_ctl(int epfd, int op, int fd, const struct kepoll_event *uev)
{
    struct file *ef = fd_get(epfd);
    if (!ef)
        return -EBADF;
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (ef->ops != &epoll_ops || f == ef)
        return -EINVAL;
    if (f->vn && S_ISREG(f->vn->mode))
        return -EPERM; /* regular files and directories are always ready: Linux refuses */
    if (f->vn && S_ISDIR(f->vn->mode))
        return -EPERM;
    struct kepoll_event ev = {0};
    if (op != EPOLL_CTL_DEL) {
        if (user_check(uev, sizeof ev, false) < 0)
            return -EFAULT;
        memcpy(&ev, uev, sizeof ev);
    }
    struct epoll *ep = ef->priv;
    struct epitem *it = find(ep, fd, f);
    switch (op) {
    case EPOLL_CTL_ADD:
        if (it)
            return -EEXIST;
        if (f->ops == &epoll_ops)
            return -EINVAL; /* nested epoll sets are not supported */
        it = calloc(1, sizeof *it);
        if (!it)
            return -ENOMEM;
        it->ep = ep;
        it->fd = fd;
        it->file = f;
        it->events = ev.events & ~(EPOLLEXCLUSIVE | EPOLLWAKEUP);
        it->data = ev.data;
        it->next = ep->items;
        ep->items = it;
        f->epolls++;
        return 0;
    case EPOLL_CTL_MOD:
        if (!it)
            return -ENOENT;
        if (ev.events & EPOLLEXCLUSIVE)
            return -EINVAL;
        it->events = ev.events & ~EPOLLWAKEUP;
        it->data = ev.data;
        it->disarmed = false;
        it->reported = false; /* re-arming reports what is ready now */
        it->last = 0;
        return 0;
    case EPOLL_CTL_DEL:
        if (!it)
            return -ENOENT;
        item_unlink(ep, it);
        return 0;
    default:
        return -EINVAL;
    }
}

static uint64_t ms_deadline(int timeout)
{
    if (timeout < 0)
        return DEADLINE_NEVER;
    return deadline_after((uint64_t)timeout * 1000000);
}

int64_t sys_epoll_wait(int epfd, struct kepoll_event *ev, int max, int timeout)
{
    return do_wait(epfd, ev, max, ms_deadline(timeout), NULL);
}

int64_t sys_epoll_pwait(int epfd, struct kepoll_event *ev, int max, int timeout,
                        const uint64_t *sigmask, uint64_t sigsetsize)
{
    if (sigmask) {
        if (sigsetsize != 8)
            return -EINVAL;
        if (user_check(sigmask, 8, false) < 0)
            return -EFAULT;
    }
    return do_wait(epfd, ev, max, ms_deadline(timeout), sigmask);
}

struct ktimespec64 {
    int64_t tv_sec, tv_nsec;
};

int64_t sys_epoll_pwait2(int epfd, struct kepoll_event *ev, int max,
                         const struct ktimespec64 *ts, const uint64_t *sigmask,
                         uint64_t sigsetsize)
{
    uint64_t deadline = DEADLINE_NEVER;
    if (ts) {
        if (user_check(ts, sizeof *ts, false) < 0)
            return -EFAULT;
        if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
            return -EINVAL;
        uint64_t ns = (uint64_t)ts->tv_sec > UINT64_MAX / NSEC_PER_SEC
                          ? UINT64_MAX
                          : (uint64_t)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
        deadline = deadline_after(ns);
    }
    if (sigmask) {
        if (sigsetsize != 8)
            return -EINVAL;
        if (user_check(sigmask, 8, false) < 0)
            return -EFAULT;
    }
    return do_wait(epfd, ev, max, deadline, sigmask);
}

static uint32_t epoll_poll(struct file *f, uint32_t *wait)
{
    struct epoll *ep = f->priv;
    for (struct epitem *it = ep->items; it; it = it->next) {
        if (!it->disarmed && (file_ready(it->file, wait) & (it->events | EPOLLERR | EPOLLHUP)))
            return EPOLLIN;
    }
    return 0;
}

static const struct file_ops epoll_ops = {
    .poll = epoll_poll,
    .close = epoll_close,
};

/* ---- eventfd ---------------------------------------------------------------------- */

#define EFD_SEMAPHORE 1
#define EFD_CLOEXEC O_CLOEXEC
#define EFD_NONBLOCK O_NONBLOCK

struct eventfd {
    uint64_t count;
    bool semaphore;
    uint64_t gen;
};

static ssize_t eventfd_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    struct eventfd *e = f->priv;
    if (len < 8)
        return -EINVAL;
    while (e->count == 0) {
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        kwait(DEADLINE_NEVER, 0);
        if (signal_pending())
            return -EINTR;
    }
    uint64_t v = e->semaphore ? 1 : e->count;
    e->count -= v;
    memcpy(buf, &v, 8);
    e->gen++;
    return 8;
}

static ssize_t eventfd_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    struct eventfd *e = f->priv;
    if (len < 8)
        return -EINVAL;
    uint64_t v;
    memcpy(&v, buf, 8);
    if (v == UINT64_MAX)
        return -EINVAL;
    while (UINT64_MAX - 1 - e->count < v) {
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        kwait(DEADLINE_NEVER, 0);
        if (signal_pending())
            return -EINTR;
    }
    e->count += v;
    e->gen++;
    return 8;
}

static uint32_t eventfd_poll(struct file *f, uint32_t *wait)
{
    (void)wait;
    struct eventfd *e = f->priv;
    uint32_t ev = 0;
    if (e->count > 0)
        ev |= POLLIN;
    if (e->count < UINT64_MAX - 1)
        ev |= POLLOUT;
    return ev;
}

static uint64_t eventfd_gen(struct file *f)
{
    return ((struct eventfd *)f->priv)->gen;
}

static void eventfd_close(struct file *f)
{
    free(f->priv);
}

static int eventfd_ioctl(struct file *f, unsigned long cmd, uint64_t arg)
{
    (void)f;
    (void)cmd;
    (void)arg;
    return -ENOTTY;
}

static const struct file_ops eventfd_ops = {
    .read = eventfd_read,
    .write = eventfd_write,
    .poll = eventfd_poll,
    .ioctl = eventfd_ioctl,
    .close = eventfd_close,
    .events_gen = eventfd_gen,
};

bool file_is_eventfd(struct file *f)
{
    return f->ops == &eventfd_ops;
}

bool file_is_epoll(struct file *f)
{
    return f->ops == &epoll_ops;
}

int64_t sys_eventfd2(unsigned initval, int flags)
{
    if (flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK))
        return -EINVAL;
    struct eventfd *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->count = initval;
    e->semaphore = flags & EFD_SEMAPHORE;
    struct file *f = file_new(&eventfd_ops, O_RDWR | (flags & EFD_NONBLOCK), e);
    if (!f) {
        free(e);
        return -ENOMEM;
    }
    int fd = fd_install(f, 0, flags & EFD_CLOEXEC);
    if (fd < 0)
        file_put(f);
    return fd;
}

int64_t sys_eventfd(unsigned initval)
{
    return sys_eventfd2(initval, 0);
}

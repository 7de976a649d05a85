/*
 * poll.c — poll, ppoll, select and pselect6 over any mix of files.
 *
 * Each round asks every file for its ready events; if none is ready the vCPU
 * sleeps in kwait() until the deadline or until one of the host events the files
 * named (stdin readable, network frame) arrives, then asks again.
 */
#include "vfs.h"
#include "sys/proc.h"
#include "sys/time.h"

struct kpollfd {
    int32_t fd;
    int16_t events, revents;
};

struct ktimespec {
    int64_t tv_sec, tv_nsec;
};

struct ktimeval {
    int64_t tv_sec, tv_usec;
};

uint64_t sig_swap_mask(const uint64_t *mask, uint64_t *saved);
void sig_restore_mask(uint64_t saved);

static uint32_t file_events(struct file *f, uint32_t *wait)
{
    uint32_t ev = f->ops->poll ? f->ops->poll(f, wait) : (POLLIN | POLLOUT);
    if (ev & POLLIN)
        ev |= POLLRDNORM;
    if (ev & POLLOUT)
        ev |= POLLWRNORM;
    return ev;
}

static int poll_once(struct kpollfd *fds, uint64_t n, uint32_t *wait)
{
    int count = 0;
    for (uint64_t i = 0; i < n; i++) {
        fds[i].revents = 0;
        if (fds[i].fd < 0)
            continue;
        struct file *f = fd_get(fds[i].fd);
        if (!f) {
            fds[i].revents = POLLNVAL;
            count++;
            continue;
        }
        uint32_t ev = file_events(f, wait);
        fds[i].revents = ev & ((uint16_t)fds[i].events | POLLERR | POLLHUP | POLLNVAL);
        if (fds[i].revents)
            count++;
    }
    return count;
}

static int64_t do_poll(struct kpollfd *ufds, uint64_t n, uint64_t deadline)
{
    if (n > fd_limit())
        return -EINVAL;
    if (user_check(ufds, n * sizeof *ufds, true) < 0)
        return -EFAULT;
    for (;;) {
        uint32_t wait = 0;
        int count = poll_once(ufds, n, &wait);
        if (count > 0)
            return count;
        if (now_ns() >= deadline)
            return 0;
        kwait(deadline, wait);
        if (signal_pending())
            return -EINTR;
    }
}

static uint64_t deadline_ts(const struct ktimespec *ts, int *err)
{
    if (!ts)
        return DEADLINE_NEVER;
    if (user_check(ts, sizeof *ts, false) < 0) {
        *err = -EFAULT;
        return 0;
    }
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (int64_t)NSEC_PER_SEC) {
        *err = -EINVAL;
        return 0;
    }
    if ((uint64_t)ts->tv_sec > (DEADLINE_NEVER / NSEC_PER_SEC) / 2)
        return DEADLINE_NEVER;
    return deadline_after(ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec);
}

static void remaining_ts(struct ktimespec *ts, uint64_t deadline)
{
    if (!ts || deadline == DEADLINE_NEVER)
        return;
    uint64_t now = now_ns(), left = deadline > now ? deadline - now : 0;
    ts->tv_sec = left / NSEC_PER_SEC;
    ts->tv_nsec = left % NSEC_PER_SEC;
}

int64_t sys_poll(struct kpollfd *fds, uint64_t n, int64_t timeout_ms)
{
    int t = (int)timeout_ms;
    uint64_t deadline = t < 0 ? DEADLINE_NEVER : deadline_after((uint64_t)t * 1000000ULL);
    return do_poll(fds, n, deadline);
}

int64_t sys_ppoll(struct kpollfd *fds, uint64_t n, struct ktimespec *ts, const uint64_t *mask,
                  uint64_t masksize)
{
    int err = 0;
    uint64_t deadline = deadline_ts(ts, &err);
    if (err)
        return err;
    uint64_t saved = 0;
    if (mask) {
        if (masksize != 8)
            return -EINVAL;
        if (user_check(mask, 8, false) < 0)
            return -EFAULT;
        sig_swap_mask(mask, &saved);
    }
    int64_t r = do_poll(fds, n, deadline);
    if (mask)
        sig_restore_mask(saved);
    remaining_ts(ts, deadline);
    return r;
}

/* ---- select ------------------------------------------------------------------ */

static bool fdset_has(const uint64_t *set, int fd)
{
    return set && (set[fd / 64] >> (fd % 64)) & 1;
}

static int64_t do_select(int64_t nfds, uint64_t *rd, uint64_t *wr, uint64_t *ex,
                         uint64_t deadline)
{
    if (nfds < 0 || (uint64_t)nfds > fd_limit())
        return -EINVAL;
    uint64_t words = (nfds + 63) / 64;
    uint64_t *sets[3] = {rd, wr, ex};
    for (int s = 0; s < 3; s++)
        if (sets[s] && user_check(sets[s], words * 8, true) < 0)
            return -EFAULT;
    for (int fd = 0; fd < nfds; fd++)
        if ((fdset_has(rd, fd) || fdset_has(wr, fd) || fdset_has(ex, fd)) && !fd_get(fd))
            return -EBADF;
    uint64_t out[3][16];
    if (words > 16)
        return -EINVAL;
    for (;;) {
        uint32_t wait = 0;
        int count = 0;
        memset(out, 0, sizeof out);
        for (int fd = 0; fd < nfds; fd++) {
            bool r = fdset_has(rd, fd), w = fdset_has(wr, fd), x = fdset_has(ex, fd);
            if (!r && !w && !x)
                continue;
            uint32_t ev = file_events(fd_get(fd), &wait);
            bool rr = r && (ev & (POLLIN | POLLHUP | POLLERR));
            bool ww = w && (ev & (POLLOUT | POLLERR));
            bool xx = x && (ev & POLLPRI);
            if (rr)
                out[0][fd / 64] |= 1ULL << (fd % 64);
            if (ww)
                out[1][fd / 64] |= 1ULL << (fd % 64);
            if (xx)
                out[2][fd / 64] |= 1ULL << (fd % 64);
            count += rr + ww + xx;
        }
        if (count > 0 || now_ns() >= deadline) {
            for (int s = 0; s < 3; s++)
                if (sets[s])
                    memcpy(sets[s], out[s], words * 8);
            return count;
        }
        kwait(deadline, wait);
        if (signal_pending())
            return -EINTR;
    }
}

int64_t sys_select(int nfds, uint64_t *rd, uint64_t *wr, uint64_t *ex, struct ktimeval *tv)
{
    uint64_t deadline = DEADLINE_NEVER;
    if (tv) {
        if (user_check(tv, sizeof *tv, true) < 0)
            return -EFAULT;
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
            return -EINVAL;
        deadline = deadline_after(tv->tv_sec * NSEC_PER_SEC + tv->tv_usec * 1000);
    }
    int64_t r = do_select(nfds, rd, wr, ex, deadline);
    if (tv && deadline != DEADLINE_NEVER) {
        uint64_t now = now_ns(), left = deadline > now ? deadline - now : 0;
        tv->tv_sec = left / NSEC_PER_SEC;
        tv->tv_usec = (left % NSEC_PER_SEC) / 1000;
    }
    return r;
}

struct sigset_arg {
    const uint64_t *set;
    uint64_t size;
};

int64_t sys_pselect6(int nfds, uint64_t *rd, uint64_t *wr, uint64_t *ex,
                     struct ktimespec *ts, const struct sigset_arg *sig)
{
    int err = 0;
    uint64_t deadline = deadline_ts(ts, &err);
    if (err)
        return err;
    uint64_t saved = 0;
    bool swapped = false;
    if (sig) {
        if (user_check(sig, sizeof *sig, false) < 0)
            return -EFAULT;
        if (sig->set) {
            if (sig->size != 8)
                return -EINVAL;
            if (user_check(sig->set, 8, false) < 0)
                return -EFAULT;
            sig_swap_mask(sig->set, &saved);
            swapped = true;
        }
    }
    int64_t r = do_select(nfds, rd, wr, ex, deadline);
    if (swapped)
        sig_restore_mask(saved);
    remaining_ts(ts, deadline);
    return r;
}

/* el.c -- the event loop (see el.h).
 *
 * File events live in an array indexed by fd that grows on demand. Timers sit
 * in an unsorted list: a service has a handful of them (sweeps, refreshes), so
 * a linear scan per iteration costs less than keeping a heap in order. The
 * loop caches the monotonic clock once per iteration so that callbacks can ask
 * for the time without a system call.
 */
#include "el.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

typedef struct el_file {
    int mask;
    el_file_proc *proc;
    void *data;
} el_file;

typedef struct el_timer {
    long long id;
    uint64_t when;
    el_timer_proc *proc;
    void *data;
    struct el_timer *next;
} el_timer;

typedef struct el_hook {
    el_hook_proc *proc;
    void *data;
    struct el_hook *next;
} el_hook;

struct el_loop {
    int epfd;
    int stop;
    el_file *files;
    int nfiles;
    struct epoll_event *events;
    int nevents;
    el_timer *timers;
    long long next_timer_id;
    el_hook *hooks;
    uint64_t now;
};

uint64_t el_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t el_now(el_loop *loop)
{
    return loop->now;
}

el_loop *el_create(void)
{
    el_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->nevents = 256;
    loop->events = calloc(loop->nevents, sizeof(*loop->events));
    if (loop->epfd < 0 || !loop->events) {
        int e = errno;
        if (loop->epfd >= 0)
            close(loop->epfd);
        free(loop->events);
        free(loop);
        errno = e ? e : ENOMEM;
        return NULL;
    }
    loop->next_timer_id = 1;
    loop->now = el_clock_ms();
    return loop;
}

void el_free(el_loop *loop)
{
    if (!loop)
        return;
    while (loop->timers) {
        el_timer *t = loop->timers;
        loop->timers = t->next;
        free(t);
    }
    while (loop->hooks) {
        el_hook *h = loop->hooks;
        loop->hooks = h->next;
        free(h);
    }
    close(loop->epfd);
    free(loop->files);
    free(loop->events);
    free(loop);
}

static int grow_files(el_loop *loop, int fd)
{
    if (fd < loop->nfiles)
        return 0;
    int n = loop->nfiles ? loop->nfiles : 64;
    while (n <= fd)
        n *= 2;
    el_file *f = realloc(loop->files, (size_t)n * sizeof(*f));
    if (!f)
        return -1;
    memset(f + loop->nfiles, 0, (size_t)(n - loop->nfiles) * sizeof(*f));
    loop->files = f;
    loop->nfiles = n;
    return 0;
}

static int epoll_mask(int mask)
{
    return (mask & EL_READABLE ? EPOLLIN : 0) | (mask & EL_WRITABLE ? EPOLLOUT : 0);
}

int el_file_add(el_loop *loop, int fd, int mask, el_file_proc *proc, void *data)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (grow_files(loop, fd) < 0)
        return -1;
    el_file *f = &loop->files[fd];
    int newmask = f->mask | mask;
    if (newmask != f->mask) {
        struct epoll_event ev = {.events = (uint32_t)epoll_mask(newmask), .data.fd = fd};
        int op = f->mask == EL_NONE ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(loop->epfd, op, fd, &ev) < 0)
            return -1;
    }
    f->mask = newmask;
    f->proc = proc;
    f->data = data;
    return 0;
}

void el_file_del(el_loop *loop, int fd, int mask)
{
    if (fd < 0 || fd >= loop->nfiles)
        return;
    el_file *f = &loop->files[fd];
    if (f->mask == EL_NONE)
        return;
    int newmask = f->mask & ~mask;
    if (newmask == f->mask)
        return;
    struct epoll_event ev = {.events = (uint32_t)epoll_mask(newmask), .data.fd = fd};
    epoll_ctl(loop->epfd, newmask == EL_NONE ? EPOLL_CTL_DEL : EPOLL_CTL_MOD, fd, &ev);
    f->mask = newmask;
}

int el_file_mask(el_loop *loop, int fd)
{
    if (fd < 0 || fd >= loop->nfiles)
        return EL_NONE;
    return loop->files[fd].mask;
}

long long el_timer_add(el_loop *loop, long long ms, el_timer_proc *proc, void *data)
{
    el_timer *t = malloc(sizeof(*t));
    if (!t)
        return -1;
    if (ms < 0)
        ms = 0;
    t->id = loop->next_timer_id++;
    t->when = el_clock_ms() + (uint64_t)ms;
    t->proc = proc;
    t->data = data;
    t->next = loop->timers;
    loop->timers = t;
    return t->id;
}

int el_timer_del(el_loop *loop, long long id)
{
    for (el_timer **pp = &loop->timers; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            el_timer *t = *pp;
            *pp = t->next;
            free(t);
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

int el_hook_add(el_loop *loop, el_hook_proc *proc, void *data)
{
    el_hook *h = malloc(sizeof(*h));
    if (!h)
        return -1;
    h->proc = proc;
    h->data = data;
    h->next = NULL;
    el_hook **pp = &loop->hooks;
    while (*pp)
        pp = &(*pp)->next;
    *pp = h;
    return 0;
}

void el_hook_del(el_loop *loop, el_hook_proc *proc, void *data)
{
    for (el_hook **pp = &loop->hooks; *pp; pp = &(*pp)->next) {
        if ((*pp)->proc == proc && (*pp)->data == data) {
            el_hook *h = *pp;
            *pp = h->next;
            free(h);
            return;
        }
    }
}

/* Runs every timer that is due. A callback may add or delete timers, so the
 * scan restarts after each call; ids only grow, and a timer added during this
 * pass (id >= limit) waits for the next iteration even with a zero delay. */
static int process_timers(el_loop *loop)
{
    int n = 0;
    long long limit = loop->next_timer_id;
    for (;;) {
        el_timer **pp, *due = NULL;
        for (pp = &loop->timers; *pp; pp = &(*pp)->next) {
            if ((*pp)->when <= loop->now && (*pp)->id < limit) {
                due = *pp;
                *pp = due->next;
                break;
            }
        }
        if (!due)
            return n;
        el_timer_proc *proc = due->proc;
        void *data = due->data;
        long long id = due->id;
        free(due);
        proc(loop, id, data);
        n++;
    }
}

static int next_timeout(el_loop *loop, int timeout_ms)
{
    if (!loop->timers)
        return timeout_ms;
    uint64_t first = loop->timers->when;
    for (el_timer *t = loop->timers->next; t; t = t->next)
        if (t->when < first)
            first = t->when;
    uint64_t now = el_clock_ms();
    long long wait = first > now ? (long long)(first - now) : 0;
    if (timeout_ms >= 0 && wait > timeout_ms)
        wait = timeout_ms;
    return (int)wait;
}

int el_run_once(el_loop *loop, int timeout_ms)
{
    int timeout = next_timeout(loop, timeout_ms);
    int n = epoll_wait(loop->epfd, loop->events, loop->nevents, timeout);
    loop->now = el_clock_ms();
    int handled = 0;
    for (int i = 0; i < n; i++) {
        int fd = loop->events[i].data.fd;
        uint32_t ev = loop->events[i].events;
        if (fd >= loop->nfiles)
            continue;
        el_file *f = &loop->files[fd];
        int mask = 0;
        if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
            mask |= EL_READABLE;
        if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            mask |= EL_WRITABLE;
        /* An earlier callback may have dropped interest in this fd. */
        mask &= f->mask;
        if (!mask)
            continue;
        f->proc(loop, fd, f->data, mask);
        handled++;
    }
    if (n == loop->nevents && loop->nevents < 4096) {
        struct epoll_event *e = realloc(loop->events, 2 * (size_t)loop->nevents * sizeof(*e));
        if (e) {
            loop->events = e;
            loop->nevents *= 2;
        }
    }
    handled += process_timers(loop);
    for (el_hook *h = loop->hooks, *next; h; h = next) {
        next = h->next;
        h->proc(loop, h->data);
    }
    return handled;
}

void el_run(el_loop *loop)
{
    loop->stop = 0;
    while (!loop->stop)
        el_run_once(loop, -1);
}

void el_stop(el_loop *loop)
{
    loop->stop = 1;
}

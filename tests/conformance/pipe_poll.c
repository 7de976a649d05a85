// poll/ppoll on pipes: readiness, timeouts that really wait, POLLHUP/POLLERR/POLLNVAL, errors.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void ev(const char *what, int ret, short re)
{
    printf("%s: ret=%d revents=", what, ret);
    if (ret < 0)
        printf("%s", errname(errno));
    if (re & POLLIN)
        printf("IN ");
    if (re & POLLOUT)
        printf("OUT ");
    if (re & POLLERR)
        printf("ERR ");
    if (re & POLLHUP)
        printf("HUP ");
    if (re & POLLNVAL)
        printf("NVAL ");
    printf("\n");
}

static int poll1(int fd, short events, int timeout, short *re)
{
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, timeout);
    *re = p.revents;
    return r;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    pipe(p);
    short re;
    int r;
    r = poll1(p[0], POLLIN, 0, &re);
    ev("empty read end", r, re);
    r = poll1(p[1], POLLOUT, 0, &re);
    ev("write end", r, re);
    r = poll1(p[0], POLLOUT, 0, &re);
    ev("read end asked for POLLOUT", r, re);

    long long t0 = now_ms();
    r = poll1(p[0], POLLIN, 30, &re);
    long long waited = now_ms() - t0;
    ev("30 ms timeout", r, re);
    printf("waited >= 30 ms: %s, < 3 s: %s\n", waited >= 30 ? "yes" : "no",
           waited < 3000 ? "yes" : "no");

    write(p[1], "x", 1);
    r = poll1(p[0], POLLIN, -1, &re);
    ev("with data", r, re);
    close(p[1]);
    r = poll1(p[0], POLLIN, 0, &re);
    ev("data and writer gone", r, re);
    char c;
    read(p[0], &c, 1);
    r = poll1(p[0], POLLIN, 1000, &re);
    ev("drained, writer gone", r, re);
    close(p[0]);

    pipe(p);
    close(p[0]);
    r = poll1(p[1], POLLOUT, 0, &re);
    ev("reader gone", r, re);

    int q[2];
    pipe(q);
    write(q[1], "y", 1);
    struct pollfd set[4] = {
        {q[0], POLLIN, 0}, {-1, POLLIN, 0}, {99, POLLIN, 0}, {q[1], POLLOUT, 0}};
    r = poll(set, 4, 0);
    printf("four fds: ret=%d\n", r);
    for (int i = 0; i < 4; i++)
        ev("  entry", 0, set[i].revents);

    struct timespec ts = {0, 20 * 1000000};
    sigset_t mask;
    sigemptyset(&mask);
    struct pollfd one = {q[0], POLLIN, 0};
    read(q[0], &c, 1);
    t0 = now_ms();
    r = ppoll(&one, 1, &ts, &mask);
    ev("ppoll 20 ms", r, one.revents);
    printf("ppoll waited >= 20 ms: %s\n", now_ms() - t0 >= 20 ? "yes" : "no");
    t0 = now_ms();
    r = poll(0, 0, 20);
    printf("poll(NULL, 0, 20) -> %d, waited >= 20 ms: %s\n", r, now_ms() - t0 >= 20 ? "yes" : "no");
    errno = 0;
    r = poll(set, 1u << 30, 0);
    ev("nfds 2^30", r, 0);
    errno = 0;
    r = poll((struct pollfd *)8, 1, 0);
    ev("bad pointer", r, 0);
    struct timespec bad = {0, 1000000000};
    errno = 0;
    r = ppoll(&one, 1, &bad, 0);
    ev("ppoll tv_nsec 1e9", r, 0);
    return 0;
}

// select on pipes: readiness sets, real timeouts, the remaining time written back, errors.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* The raw syscall: musl passes a copy of the timeval, so the update would be lost. */
static long sel(int n, fd_set *r, fd_set *w, struct timeval *tv)
{
    return syscall(SYS_select, n, r, w, 0, tv);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    pipe(p);
    fd_set r, w;
    struct timeval tv = {0, 0};

    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(sel(p[0] + 1, &r, 0, &tv));
    printf("read end set: %s\n", FD_ISSET(p[0], &r) ? "yes" : "no");

    FD_ZERO(&w);
    FD_SET(p[1], &w);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(sel(p[1] + 1, &r, &w, &tv));
    printf("read end set: %s, write end set: %s\n", FD_ISSET(p[0], &r) ? "yes" : "no",
           FD_ISSET(p[1], &w) ? "yes" : "no");

    tv = (struct timeval){0, 30000};
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    long long t0 = now_ms();
    SHOW(sel(p[0] + 1, &r, 0, &tv));
    printf("waited >= 30 ms: %s, timeval left zero: %s\n", now_ms() - t0 >= 30 ? "yes" : "no",
           tv.tv_sec == 0 && tv.tv_usec == 0 ? "yes" : "no");

    write(p[1], "x", 1);
    tv = (struct timeval){5, 0};
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(sel(p[0] + 1, &r, 0, &tv));
    printf("read end set: %s, time left in (4 s, 5 s]: %s\n", FD_ISSET(p[0], &r) ? "yes" : "no",
           tv.tv_sec == 4 || (tv.tv_sec == 5 && tv.tv_usec == 0) ? "yes" : "no");

    char c;
    read(p[0], &c, 1);
    close(p[1]);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(select(p[0] + 1, &r, 0, 0, &(struct timeval){1, 0}));
    printf("readable at EOF: %s\n", FD_ISSET(p[0], &r) ? "yes" : "no");

    t0 = now_ms();
    SHOW(select(0, 0, 0, 0, &(struct timeval){0, 20000}));
    printf("select with no fds waited >= 20 ms: %s\n", now_ms() - t0 >= 20 ? "yes" : "no");
    SHOW(select(-1, 0, 0, 0, &(struct timeval){0, 0}));
    FD_ZERO(&r);
    FD_SET(60, &r);
    SHOW(select(61, &r, 0, 0, &(struct timeval){0, 0}));
    SHOW(sel(1, 0, 0, &(struct timeval){0, -1}));
    SHOW(sel(1, (fd_set *)8, 0, &(struct timeval){0, 0}));
    return 0;
}

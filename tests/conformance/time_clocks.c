// clock_gettime/clock_getres/gettimeofday/time: clocks that exist, monotonicity, sane values.
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

static long long ns(struct timespec t)
{
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
    static const struct {
        clockid_t id;
        const char *name;
    } clocks[] = {
        {CLOCK_REALTIME, "REALTIME"},
        {CLOCK_MONOTONIC, "MONOTONIC"},
        {CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"},
        {CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"},
        {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
        {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
        {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
        {CLOCK_BOOTTIME, "BOOTTIME"},
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec t = {-1, -1}, res = {-1, -1};
        errno = 0;
        int r = clock_gettime(clocks[i].id, &t);
        printf("%s: gettime %s", clocks[i].name, r == 0 ? "ok" : errname(errno));
        printf(", nsec in range: %s", t.tv_nsec >= 0 && t.tv_nsec < 1000000000 ? "yes" : "no");
        errno = 0;
        r = clock_getres(clocks[i].id, &res);
        printf(", getres %s, res in (0, 10 ms]: %s\n", r == 0 ? "ok" : errname(errno),
               ns(res) > 0 && ns(res) <= 10000000 ? "yes" : "no");
    }

    struct timespec prev, cur;
    clock_gettime(CLOCK_MONOTONIC, &prev);
    int backwards = 0;
    for (int i = 0; i < 20000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &cur);
        backwards += ns(cur) < ns(prev);
        prev = cur;
    }
    printf("monotonic went backwards: %d times\n", backwards);
    struct timespec first;
    clock_gettime(CLOCK_MONOTONIC, &first);
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 2000000; i++)
        spin += i;
    clock_gettime(CLOCK_MONOTONIC, &cur);
    printf("monotonic advanced over a busy loop: %s\n", ns(cur) > ns(first) ? "yes" : "no");

    struct timespec rt;
    struct timeval tv;
    clock_gettime(CLOCK_REALTIME, &rt);
    SHOW(gettimeofday(&tv, 0));
    time_t t = time(0);
    printf("realtime after 2020: %s\n", rt.tv_sec > 1577836800 ? "yes" : "no");
    printf("gettimeofday within 2 s of clock_gettime: %s, usec in range: %s\n",
           tv.tv_sec - rt.tv_sec <= 2 && tv.tv_sec >= rt.tv_sec ? "yes" : "no",
           tv.tv_usec >= 0 && tv.tv_usec < 1000000 ? "yes" : "no");
    printf("time() within 2 s: %s\n", t - rt.tv_sec <= 2 && t >= rt.tv_sec ? "yes" : "no");
    time_t t2;
    SHOW(time(&t2) == t2);
    SHOW(syscall(SYS_time, 0) >= rt.tv_sec);

    struct timespec x;
    SHOW(clock_gettime(12345, &x));
    SHOW(clock_getres(12345, &x));
    SHOW(clock_getres(CLOCK_MONOTONIC, 0));
    SHOW(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)8));
    SHOW(syscall(SYS_gettimeofday, (void *)8, 0));
    SHOW(syscall(SYS_clock_getres, CLOCK_MONOTONIC, (void *)8));
    return 0;
}

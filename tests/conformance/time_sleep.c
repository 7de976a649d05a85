// nanosleep/clock_nanosleep really wait at least as asked; absolute deadlines; invalid requests.
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
    long long t0 = now_ns();
    struct timespec rem = {-1, -1};
    SHOW(nanosleep(&(struct timespec){0, 20000000}, &rem));
    long long dt = now_ns() - t0;
    printf("nanosleep 20 ms took >= 20 ms: %s, < 2 s: %s\n", dt >= 20000000 ? "yes" : "no",
           dt < 2000000000LL ? "yes" : "no");

    t0 = now_ns();
    RC(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 15000000}, 0));
    printf("relative 15 ms took >= 15 ms: %s\n", now_ns() - t0 >= 15000000 ? "yes" : "no");

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 25000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    RC(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, 0));
    struct timespec after;
    clock_gettime(CLOCK_MONOTONIC, &after);
    printf("woke at or after the absolute deadline: %s\n",
           after.tv_sec > deadline.tv_sec ||
                   (after.tv_sec == deadline.tv_sec && after.tv_nsec >= deadline.tv_nsec)
               ? "yes"
               : "no");
    t0 = now_ns();
    RC(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &(struct timespec){1, 0}, 0));
    printf("deadline in the past returns at once: %s\n", now_ns() - t0 < 1000000000 ? "yes" : "no");
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    rt.tv_nsec = 0;
    rt.tv_sec += 0;
    RC(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &rt, 0));

    t0 = now_ns();
    SHOW(usleep(10000));
    printf("usleep 10 ms took >= 10 ms: %s\n", now_ns() - t0 >= 10000000 ? "yes" : "no");
    SHOW(nanosleep(&(struct timespec){0, 0}, 0));
    SHOW(nanosleep(&(struct timespec){0, 1000000000}, 0));
    SHOW(nanosleep(&(struct timespec){-1, 0}, 0));
    SHOW(nanosleep(&(struct timespec){0, -5}, 0));
    SHOW(nanosleep((struct timespec *)8, 0));
    RC(clock_nanosleep(12345, 0, &(struct timespec){0, 1000}, 0));
    RC(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000000000}, 0));
    RC(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &(struct timespec){0, 1000}, 0));
    return 0;
}

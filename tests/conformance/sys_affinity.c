// sched_getaffinity reports at least one CPU; sysconf agrees; errors of the raw call.
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    SHOW(sched_getaffinity(0, sizeof set, &set));
    int n = CPU_COUNT(&set);
    printf("cpus>=1: %s\n", n >= 1 ? "yes" : "no");
    long onln = sysconf(_SC_NPROCESSORS_ONLN);
    printf("sysconf(_SC_NPROCESSORS_ONLN) >= 1: %s\n", onln >= 1 ? "yes" : "no");
    SHOW(sched_getaffinity(getpid(), sizeof set, &set));
    long r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
    printf("raw call returns a positive multiple of 8: %s\n", r > 0 && r % 8 == 0 ? "yes" : "no");
    SHOW(syscall(SYS_sched_getaffinity, 0, 3, &set));
    SHOW(syscall(SYS_sched_getaffinity, 0, sizeof set, (void *)8));
    return 0;
}

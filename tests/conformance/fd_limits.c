// RLIMIT_NOFILE is enforced: lowering it makes open/dup/pipe fail with EMFILE; other rlimits.
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    struct rlimit rl, stack, old;
    SHOW(getrlimit(RLIMIT_NOFILE, &rl));
    SHOW(getrlimit(RLIMIT_STACK, &stack));
    printf("NOFILE soft <= hard: %s\n", rl.rlim_cur <= rl.rlim_max ? "yes" : "no");
    printf("STACK soft >= 1 MiB: %s\n", stack.rlim_cur >= (1u << 20) ? "yes" : "no");
    SHOW(prlimit(0, RLIMIT_NOFILE, 0, &old));
    printf("prlimit agrees with getrlimit: %s\n", old.rlim_cur == rl.rlim_cur ? "yes" : "no");
    SHOW(syscall(SYS_prlimit64, 0, 999, 0, &old));
    SHOW(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (void *)8));
    struct rlimit bad = {rl.rlim_max == RLIM_INFINITY ? 100 : rl.rlim_max,
                         rl.rlim_max == RLIM_INFINITY ? 50 : rl.rlim_max - 1};
    SHOW(setrlimit(RLIMIT_NOFILE, &bad));

    struct rlimit low = {32, rl.rlim_max};
    SHOW(setrlimit(RLIMIT_NOFILE, &low));
    SHOW(getrlimit(RLIMIT_NOFILE, &old));
    printf("soft limit now: %llu\n", (unsigned long long)old.rlim_cur);
    int opened = 0, fd, last = 0;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
        opened++;
        last = fd;
    }
    printf("opened until %s: %d, last fd %d\n", errname(errno), opened, last);
    SHOW(dup(0));
    SHOW(fcntl(0, F_DUPFD, 0));
    int p[2];
    SHOW(pipe(p));
    SHOW(dup2(0, 32));
    SHOW(close(last));
    SHOW(pipe(p));
    SHOW(fd = open("/dev/null", O_RDONLY));
    SHOW(fd = open("/dev/null", O_RDONLY));
    SHOW(setrlimit(RLIMIT_NOFILE, &rl));
    SHOW(fd = open("/dev/null", O_RDONLY));
    return 0;
}

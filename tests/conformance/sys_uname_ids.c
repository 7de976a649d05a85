// uname fields that are the same on every x86-64 Linux, and the process identity calls.
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    struct utsname u;
    SHOW(uname(&u));
    printf("sysname: %s\n", u.sysname);
    printf("machine: %s\n", u.machine);
    printf("release starts with a digit: %s\n",
           u.release[0] >= '0' && u.release[0] <= '9' ? "yes" : "no");
    printf("version set: %s\n", u.version[0] ? "yes" : "no");
    SHOW(syscall(SYS_uname, (void *)8));

    pid_t pid = getpid();
    printf("pid > 0: %s, stable: %s\n", pid > 0 ? "yes" : "no", getpid() == pid ? "yes" : "no");
    printf("tid == pid (one thread): %s\n", gettid() == pid ? "yes" : "no");
    printf("ppid >= 0: %s\n", getppid() >= 0 ? "yes" : "no");
    printf("uid == euid: %s, gid == egid: %s\n", getuid() == geteuid() ? "yes" : "no",
           getgid() == getegid() ? "yes" : "no");
    printf("sysconf(_SC_PAGESIZE)=%ld\n", sysconf(_SC_PAGESIZE));
    printf("sysconf(_SC_CLK_TCK)=%ld\n", sysconf(_SC_CLK_TCK));
    return 0;
}

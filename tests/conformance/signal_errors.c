// Failure paths of rt_sigaction, rt_sigprocmask, kill and tkill.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

static void handler(int sig)
{
    (void)sig;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    SHOW(sigaction(SIGKILL, &sa, 0));
    SHOW(sigaction(SIGSTOP, &sa, 0));
    SHOW(sigaction(SIGKILL, 0, &sa));
    SHOW(sigaction(0, &sa, 0));
    SHOW(sigaction(65, &sa, 0));
    SHOW(sigaction(SIGUSR1, &sa, 0));

    /* The raw calls take the kernel's sigset size, which must be 8. */
    unsigned long kset = 0, kact[4] = {(unsigned long)SIG_IGN, 0, 0, 0};
    SHOW(syscall(SYS_rt_sigaction, SIGUSR2, kact, 0, 8));
    SHOW(syscall(SYS_rt_sigaction, SIGUSR2, kact, 0, 4));
    SHOW(syscall(SYS_rt_sigaction, SIGUSR2, kact, 0, 16));
    SHOW(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &kset, 0, 8));
    SHOW(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &kset, 0, 7));
    SHOW(syscall(SYS_rt_sigprocmask, 3, &kset, 0, 8));
    SHOW(syscall(SYS_rt_sigprocmask, 3, 0, 0, 8));
    SHOW(syscall(SYS_rt_sigaction, SIGUSR2, (void *)8, 0, 8));
    SHOW(syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, 0, 8));

    SHOW(kill(getpid(), 0));
    SHOW(kill(getpid(), 65));
    SHOW(kill(getpid(), -1));
    SHOW(syscall(SYS_tkill, gettid(), 0));
    SHOW(syscall(SYS_tkill, gettid(), 99));
    SHOW(syscall(SYS_tkill, -5, SIGUSR1));
    SHOW(syscall(SYS_tkill, 0, SIGUSR1));
    return 0;
}

// sigprocmask: a raised signal stays pending while blocked and is delivered on unblock.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static volatile sig_atomic_t hits;

static void on_usr1(int sig)
{
    (void)sig;
    hits++;
}

int main(void)
{
    sigset_t none, usr1, old, pend;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    signal(SIGUSR1, on_usr1);

    SHOW(sigprocmask(SIG_BLOCK, &usr1, &old));
    printf("old mask had SIGUSR1: %s\n", sigismember(&old, SIGUSR1) ? "yes" : "no");
    raise(SIGUSR1);
    raise(SIGUSR1); /* a standard signal is pending at most once */
    printf("hits while blocked: %d\n", (int)hits);
    SHOW(sigpending(&pend));
    printf("SIGUSR1 pending: %s, SIGUSR2 pending: %s\n", sigismember(&pend, SIGUSR1) ? "yes" : "no",
           sigismember(&pend, SIGUSR2) ? "yes" : "no");
    SHOW(sigprocmask(SIG_UNBLOCK, &usr1, 0));
    printf("hits right after unblock: %d\n", (int)hits);
    sigpending(&pend);
    printf("still pending: %s\n", sigismember(&pend, SIGUSR1) ? "yes" : "no");

    /* SIGKILL and SIGSTOP cannot be blocked: they are silently dropped from the mask. */
    sigset_t all, cur;
    sigfillset(&all);
    SHOW(sigprocmask(SIG_SETMASK, &all, 0));
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("SIGKILL blocked: %s, SIGSTOP blocked: %s, SIGTERM blocked: %s\n",
           sigismember(&cur, SIGKILL) ? "yes" : "no", sigismember(&cur, SIGSTOP) ? "yes" : "no",
           sigismember(&cur, SIGTERM) ? "yes" : "no");
    SHOW(sigprocmask(SIG_SETMASK, &none, 0));
    SHOW(sigprocmask(12345, &none, 0));
    return 0;
}

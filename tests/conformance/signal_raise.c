// Handlers for raise()/kill() to self: siginfo, sa_mask during the handler, SA_RESETHAND.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static volatile sig_atomic_t count, last_code, last_signo, usr2_blocked_inside;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    usr2_blocked_inside = sigismember(&cur, SIGUSR2) && sigismember(&cur, SIGUSR1);
    last_signo = si->si_signo == sig ? sig : -1;
    last_code = si->si_code;
    count++;
}

static const char *code(int c)
{
    return c == SI_USER ? "SI_USER" : c == SI_TKILL ? "SI_TKILL" : "other";
}

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    SHOW(sigaction(SIGUSR1, &sa, 0));

    SHOW(raise(SIGUSR1));
    printf("after raise: count=%d signo=%s code=%s mask in handler has USR1+USR2: %s\n", (int)count,
           signame(last_signo), code(last_code), usr2_blocked_inside ? "yes" : "no");
    SHOW(kill(getpid(), SIGUSR1));
    printf("after kill: count=%d code=%s\n", (int)count, code(last_code));
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("mask restored after handler: %s\n", sigismember(&cur, SIGUSR1) ? "no" : "yes");

    SHOW(sigaction(SIGUSR1, 0, &old));
    printf("old handler is ours: %s, SA_SIGINFO kept: %s\n",
           old.sa_sigaction == on_usr1 ? "yes" : "no", old.sa_flags & SA_SIGINFO ? "yes" : "no");

    /* SA_RESETHAND: the first delivery resets the action to SIG_DFL. */
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    SHOW(sigaction(SIGUSR1, &sa, 0));
    raise(SIGUSR1);
    sigaction(SIGUSR1, 0, &old);
    printf("count=%d, reset to SIG_DFL: %s\n", (int)count,
           old.sa_handler == SIG_DFL ? "yes" : "no");

    /* SIG_IGN: nothing happens. */
    signal(SIGUSR2, SIG_IGN);
    SHOW(raise(SIGUSR2));
    SHOW(kill(getpid(), 0));
    printf("still running\n");
    return 0;
}

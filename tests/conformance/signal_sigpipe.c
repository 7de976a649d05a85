// EPIPE without a reader: with SIGPIPE ignored, and with a handler that counts it.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"

static volatile sig_atomic_t pipes;

static void on_pipe(int sig)
{
    (void)sig;
    pipes++;
}

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    int p[2];

    signal(SIGPIPE, SIG_IGN);
    pipe(p);
    close(p[0]);
    SHOW(write(p[1], "abc", 3));
    SHOW(write(p[1], "", 0));
    close(p[1]);

    signal(SIGPIPE, on_pipe);
    pipe(p);
    SHOW(write(p[1], "abc", 3));
    close(p[0]);
    SHOW(write(p[1], "abc", 3));
    printf("SIGPIPE handler ran %d time(s)\n", (int)pipes);
    SHOW(write(p[1], "abc", 3));
    printf("SIGPIPE handler ran %d time(s)\n", (int)pipes);
    return 0;
}

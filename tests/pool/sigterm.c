/* sigterm.c -- a program for SIGTERM sent to uvmm from outside:
 *   sigterm handle    catches SIGTERM, says so, exits 0
 *   sigterm default   waits with SIGTERM's default action (status 143)
 *   sigterm ignore    ignores SIGTERM and waits on (SIGKILL ends it)
 *   sigterm spin      never waits: no kernel wait can take the signal
 * Each prints "ready" once it is set up. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_term(int sig)
{
    got = sig;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "handle";
    if (!strcmp(mode, "handle")) {
        struct sigaction sa = {.sa_handler = on_term};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
    } else if (!strcmp(mode, "ignore")) {
        signal(SIGTERM, SIG_IGN);
    } else if (strcmp(mode, "default") && strcmp(mode, "spin")) {
        fprintf(stderr, "usage: sigterm handle|default|ignore|spin\n");
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    if (!strcmp(mode, "spin"))
        for (volatile unsigned long i = 0;; i++)
            ;
    while (!got)
        pause();
    printf("got SIGTERM, exiting cleanly\n");
    return 0;
}

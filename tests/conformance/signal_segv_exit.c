// A SIGSEGV handler that chooses the exit status: _exit(77) from the handler.
// expect-status: 77
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_segv(int sig)
{
    static const char msg[] = "caught SIGSEGV, exiting 77\n";
    write(1, msg, sizeof msg - 1);
    _exit(sig == SIGSEGV ? 77 : 1);
}

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    signal(SIGSEGV, on_segv);
    printf("about to fault\n");
    fflush(stdout);
    volatile int *volatile bad = (volatile int *)16;
    *bad = 1;
    printf("not reached\n");
    return 0;
}

// raise() of a signal whose default action is to terminate: SIGTERM, status 143.
// expect-status: 143
#include <signal.h>
#include <stdio.h>

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    signal(SIGTERM, SIG_DFL);
    printf("raising SIGTERM\n");
    fflush(stdout);
    raise(SIGTERM);
    printf("not reached\n");
    return 0;
}

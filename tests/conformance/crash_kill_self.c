// kill(getpid(), SIGUSR1) with the default action terminates at once: status 138.
// expect-status: 138
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    signal(SIGUSR1, SIG_DFL);
    printf("kill(getpid(), SIGUSR1)\n");
    fflush(stdout);
    kill(getpid(), SIGUSR1);
    printf("not reached\n");
    return 0;
}

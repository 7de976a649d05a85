// Writing to a pipe without a reader kills with SIGPIPE by default: status 141.
// expect-status: 141
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    signal(SIGPIPE, SIG_DFL);
    int p[2];
    if (pipe(p) != 0)
        return 1;
    close(p[0]);
    printf("writing to a pipe with no reader\n");
    fflush(stdout);
    write(p[1], "x", 1);
    printf("not reached\n");
    return 0;
}

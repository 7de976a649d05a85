// A SIGABRT handler that returns does not stop abort(): status is still 134.
// expect-status: 134
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void on_abrt(int sig)
{
    static const char msg[] = "SIGABRT handler ran and returns\n";
    (void)sig;
    write(1, msg, sizeof msg - 1);
}

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    signal(SIGABRT, on_abrt);
    printf("calling abort with a handler installed\n");
    fflush(stdout);
    abort();
}

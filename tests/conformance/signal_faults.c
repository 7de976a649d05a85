// Synchronous faults delivered to SA_SIGINFO handlers: signal, si_code, si_addr; siglongjmp out.
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

static void null_read(void *arg)
{
    (void)arg;
    printf("%d\n", *(volatile int *)0);
}

static void bad_write(void *arg)
{
    *(volatile char *)arg = 1;
}

static void divide(void *arg)
{
    volatile int num = 100, zero = arg != 0;
    printf("%d\n", num / zero);
}

static void trap(void *arg)
{
    (void)arg;
    __builtin_trap();
}

static const char *code(int sig, int c)
{
    if (sig == SIGSEGV)
        return c == SEGV_MAPERR ? "SEGV_MAPERR" : c == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
    if (sig == SIGFPE)
        return c == FPE_INTDIV ? "FPE_INTDIV" : "other";
    if (sig == SIGILL)
        return c == ILL_ILLOPN ? "ILL_ILLOPN" : "other";
    return "-";
}

static void run(const char *what, void (*fn)(void *), void *arg, void *addr)
{
    int sig = conf_trap(fn, arg);
    printf("%s: %s %s si_addr%s\n", what, signame(sig), code(sig, conf_code),
           addr == (void *)1   ? ""
           : conf_addr == addr ? "=expected"
                               : "=unexpected");
}

int main(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);

    char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    static const char rodata[] = "constant";

    for (int round = 0; round < 2; round++) {
        printf("round %d\n", round);
        run("NULL read", null_read, 0, 0);
        run("write to PROT_READ page", bad_write, ro + 100, ro + 100);
        run("write to unmapped page", bad_write, gone + 8, gone + 8);
        run("write to .rodata", bad_write, (void *)rodata, (void *)rodata);
        run("division by zero", divide, 0, (void *)1);
        run("ud2", trap, 0, (void *)1);
    }
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("no signal left blocked: %s\n",
           sigismember(&cur, SIGSEGV) || sigismember(&cur, SIGFPE) || sigismember(&cur, SIGILL)
               ? "no"
               : "yes");
    return 0;
}

// _Thread_local data: initialised (.tdata) and zeroed (.tbss) variables, alignment, errno.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Thread_local int counter = 42;
static _Thread_local char name[16] = "thread-local";
static _Thread_local long zeroed[100];
static _Thread_local _Alignas(64) unsigned char aligned[64] = {1, 2, 3};
static _Thread_local double ratio = 1.5;

static int *counter_addr(void)
{
    return &counter;
}

int main(void)
{
    printf("counter=%d name=%s ratio=%.2f\n", counter, name, ratio);
    long sum = 0;
    for (int i = 0; i < 100; i++)
        sum += zeroed[i];
    printf("tbss all zero: %s\n", sum == 0 ? "yes" : "no");
    printf("64-byte aligned: %s, contents %d %d %d %d\n",
           ((uintptr_t)aligned & 63) == 0 ? "yes" : "no", aligned[0], aligned[1], aligned[2],
           aligned[3]);
    for (int i = 0; i < 1000; i++)
        (*counter_addr())++;
    strcpy(name, "changed");
    zeroed[99] = 7;
    printf("counter=%d name=%s zeroed[99]=%ld\n", counter, name, zeroed[99]);

    /* The thread pointer points to itself (x86-64 TLS ABI), and errno lives in TLS. */
    void *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    printf("%%fs:0 points to itself: %s\n", tp == __builtin_thread_pointer() ? "yes" : "no");
    printf("TLS below the thread pointer: %s\n", (void *)&counter < tp ? "yes" : "no");
    errno = 0;
    close(-1);
    printf("errno after close(-1): %s\n", errno == EBADF ? "EBADF" : "other");
    return 0;
}

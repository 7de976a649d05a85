// Unbounded recursion runs into the stack guard: SIGSEGV, status 139.
// expect-status: 139
#include <stdio.h>

static volatile int limit = -1; /* never reached: the recursion has no real bound */

static int depth(volatile char *prev, int n)
{
    volatile char frame[4096];
    frame[0] = prev ? prev[0] + 1 : 0;
    frame[4095] = frame[0];
    if (n == limit)
        return 0;
    return depth(frame, n + 1) + frame[4095];
}

int main(void)
{
    printf("recursing without end\n");
    fflush(stdout);
    return depth(0, 0);
}

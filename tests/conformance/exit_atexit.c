// atexit handlers run in reverse order after main returns, then stdio is flushed.
// expect-status: 7
#include <stdio.h>
#include <stdlib.h>

static void first(void)
{
    printf("registered first, runs last\n");
}

static void second(void)
{
    printf("registered second, runs first\n");
}

int main(void)
{
    atexit(first);
    atexit(second);
    printf("main returns 7\n");
    return 7;
}

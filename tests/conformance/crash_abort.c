// abort() ends the program with SIGABRT: status 134, flushed output kept.
// expect-status: 134
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("before abort\n");
    fflush(stdout);
    abort();
}

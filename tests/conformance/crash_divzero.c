// Integer division by zero is SIGFPE: status 136.
// expect-status: 136
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argv;
    volatile int zero = argc - 1;
    printf("dividing by zero\n");
    fflush(stdout);
    printf("%d\n", 100 / zero);
    return 0;
}

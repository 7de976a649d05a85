/* hello — the smallest unikernel: prints a greeting and its arguments. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("Hello from a Uigniter unikernel!\n");
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    return 0;
}

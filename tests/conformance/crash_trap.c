// __builtin_trap (ud2) is SIGILL: status 132.
// expect-status: 132
#include <stdio.h>

int main(void)
{
    printf("executing ud2\n");
    fflush(stdout);
    __builtin_trap();
}

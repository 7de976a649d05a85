// Only the low 8 bits of the exit code reach the parent: exit(300) is status 44.
// expect-status: 44
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("calling exit(300)\n");
    exit(300);
}

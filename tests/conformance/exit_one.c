// exit(1) flushes stdio and ends with status 1.
// expect-status: 1
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("calling exit(1)\n");
    exit(1);
}

// Smallest program: one line through stdio, return 0 from main.
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}

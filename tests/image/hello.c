/* hello.c — a tiny program for the uigniterctl tests, linked static and dynamic. */
#include <stdio.h>

int main(void)
{
    puts("hello");
    return 0;
}

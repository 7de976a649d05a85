// _exit skips stdio: a line still buffered (stdout is not a terminal) is lost.
// expect-status: 3
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("this line is flushed\n");
    fflush(stdout);
    printf("this line stays in the buffer and is lost\n");
    _exit(3);
}

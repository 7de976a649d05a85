// _exit(255) ends at once with status 255; fflush first keeps the line.
// expect-status: 255
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("calling _exit(255)\n");
    fflush(stdout);
    _exit(255);
}

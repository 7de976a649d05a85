// stdout to a file or pipe is fully buffered: on abort the unflushed tail is lost.
// expect-status: 134
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    /* More than one buffer's worth: the first part reaches stdout, the rest not. */
    for (int i = 0; i < 300; i++)
        printf("line %03d of output written before the crash\n", i);
    printf("no newline and never flushed");
    abort();
}

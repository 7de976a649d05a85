// exit() runs atexit handlers before stdio is flushed: _exit from a handler sets the status.
// expect-status: 9
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void handler(void)
{
    printf("handler: flushing and calling _exit(9)\n");
    fflush(stdout);
    printf("buffered in the handler, lost\n");
    _exit(9);
}

int main(void)
{
    atexit(handler);
    printf("main calls exit(3)\n");
    exit(3);
}

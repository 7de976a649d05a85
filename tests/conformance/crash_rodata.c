// A write to a string literal (read-only data) is SIGSEGV: status 139.
// expect-status: 139
#include <stdio.h>

static const char message[] = "read-only";

int main(void)
{
    printf("first byte: %c\n", message[0]);
    fflush(stdout);
    *(volatile char *)message = 'R';
    printf("not reached\n");
    return 0;
}

// Returning 42 from main is the exit status, after stdio is flushed.
// expect-status: 42
#include <stdio.h>

int main(void)
{
    printf("returning 42 from main");
    return 42;
}

// Default stdin is /dev/null: every read returns 0 at once, stdio sees EOF.
#include <stdio.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    char buf[16];
    SHOW(read(0, buf, sizeof buf));
    SHOW(read(0, buf, 0));
    printf("getchar: %d\n", getchar());
    YES(feof(stdin));
    SHOW(read(0, buf, sizeof buf));
    return 0;
}

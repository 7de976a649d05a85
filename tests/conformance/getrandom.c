// getrandom: full-length results, flags, two calls differ, large and zero lengths, errors.
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    unsigned char a[32], b[32];
    SHOW(getrandom(a, sizeof a, 0));
    SHOW(getrandom(b, sizeof b, GRND_NONBLOCK));
    printf("two calls differ: %s\n", memcmp(a, b, sizeof a) ? "yes" : "no");
    SHOW(getrandom(a, 0, 0));
    SHOW(getrandom(a, 1, 0));
    static unsigned char big[256];
    SHOW(getrandom(big, sizeof big, 0));
    static unsigned char huge[1 << 20];
    long n = getrandom(huge, sizeof huge, 0);
    printf("1 MiB request returned > 0: %s\n", n > 0 ? "yes" : "no");
    SHOW(getrandom(a, sizeof a, 0x100));
    SHOW(syscall(SYS_getrandom, (void *)8, 16, 0));
    return 0;
}

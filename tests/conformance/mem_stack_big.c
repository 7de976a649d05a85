// Large stack use: a 1 MiB local array, then 4 MiB of recursion in 64 KiB frames.
#include <stdio.h>
#include <string.h>

static unsigned long frames(int n)
{
    volatile unsigned char buf[64 * 1024];
    buf[0] = (unsigned char)n;
    buf[sizeof buf - 1] = (unsigned char)(n * 3);
    if (n == 0)
        return buf[0] + buf[sizeof buf - 1];
    return frames(n - 1) + buf[0] + buf[sizeof buf - 1];
}

static unsigned long big_array(void)
{
    volatile unsigned char a[1 << 20];
    for (size_t i = 0; i < sizeof a; i += 64)
        a[i] = (unsigned char)(i >> 6);
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof a; i += 64)
        sum += a[i];
    return sum;
}

int main(void)
{
    printf("1 MiB array sum: %lu\n", big_array());
    printf("64 frames of 64 KiB: %lu\n", frames(63));
    return 0;
}

// madvise: MADV_DONTNEED zero-fills private anonymous pages; hints succeed; errors.
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "conf.h"

#define PG 4096u

int main(void)
{
    unsigned char *p = mmap(0, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 0x77, 8 * PG);
    SHOW(madvise(p + 2 * PG, 2 * PG, MADV_DONTNEED));
    for (int i = 0; i < 8; i++)
        printf("page %d first/last byte: %02x %02x\n", i, p[i * PG], p[i * PG + PG - 1]);
    p[2 * PG] = 5;
    printf("writable again: %d\n", p[2 * PG]);

    SHOW(madvise(p, 8 * PG, MADV_NORMAL));
    SHOW(madvise(p, 8 * PG, MADV_WILLNEED));
    SHOW(madvise(p, 8 * PG, MADV_SEQUENTIAL));
    SHOW(madvise(p, 8 * PG, MADV_RANDOM));
    SHOW(madvise(p, 0, MADV_DONTNEED));
    SHOW(madvise(p + 1, PG, MADV_DONTNEED));
    SHOW(madvise(p, PG, 12345));
    munmap(p + 4 * PG, 4 * PG);
    SHOW(madvise(p + 4 * PG, PG, MADV_DONTNEED));
    SHOW(madvise(p, 8 * PG, MADV_WILLNEED));
    SHOW(posix_madvise(p, PG, POSIX_MADV_NORMAL));
    return 0;
}

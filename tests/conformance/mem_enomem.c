// Allocation failures: requests larger than the address space fail with ENOMEM, cleanly.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    volatile size_t huge = (size_t)1 << 47, n = SIZE_MAX / 2 + 2, max = SIZE_MAX;
    errno = 0;
    void *p = malloc(huge);
    printf("malloc(128 TiB): %s %s\n", p ? "non-NULL" : "NULL", errname(errno));
    errno = 0;
    p = calloc(n, 2);
    printf("calloc overflowing size_t: %s %s\n", p ? "non-NULL" : "NULL", errname(errno));
    errno = 0;
    p = malloc(max);
    printf("malloc(SIZE_MAX): %s %s\n", p ? "non-NULL" : "NULL", errname(errno));

    char *keep = malloc(100);
    strcpy(keep, "still here");
    errno = 0;
    char *r = realloc(keep, huge);
    if (r) {
        printf("realloc to 128 TiB: non-NULL\n");
    } else {
        printf("realloc to 128 TiB: NULL %s, old block intact: %s\n", errname(errno),
               strcmp(keep, "still here") == 0 ? "yes" : "no");
        free(keep);
    }

    MAPOK(mmap(0, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    MAPOK(mmap(0, SIZE_MAX & ~(size_t)4095, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    char *cur = (char *)syscall(SYS_brk, 0);
    printf("brk +128 TiB refused: %s\n",
           (char *)syscall(SYS_brk, cur + huge) == cur ? "yes" : "no");
    p = malloc(1000);
    printf("small malloc afterwards works: %s\n", p ? "yes" : "no");
    return 0;
}

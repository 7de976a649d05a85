// Anonymous mmap/munmap: zero fill, MAP_FIXED replacement, holes, PROT_NONE, argument errors.
// mem: 128
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "conf.h"

#define MB (1u << 20)

static void touch(void *p)
{
    *(volatile char *)p = 1;
}

static void peek(void *p)
{
    (void)*(volatile char *)p;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 997)
        if (p[i])
            return 0;
    return p[n - 1] == 0;
}

int main(void)
{
    unsigned char *a = mmap(0, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    MAPOK(a);
    printf("page aligned: %s, zero filled: %s\n", ((uintptr_t)a & 4095) ? "no" : "yes",
           all_zero(a, MB) ? "yes" : "no");
    memset(a, 0xab, MB);

    /* MAP_FIXED over the middle replaces those pages with fresh zero pages. */
    void *m = mmap(a + 64 * 4096, 4 * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at the asked address: %s\n", m == a + 64 * 4096 ? "yes" : "no");
    printf("replaced pages zero: %s, neighbours kept: %s\n",
           all_zero(a + 64 * 4096, 4 * 4096) ? "yes" : "no",
           a[64 * 4096 - 1] == 0xab && a[68 * 4096] == 0xab ? "yes" : "no");

    /* A hole in the middle faults; both sides stay usable. */
    SHOW(munmap(a + 10 * 4096, 4096));
    printf("touch hole: %s\n", signame(conf_trap(touch, a + 10 * 4096 + 5)));
    printf("touch before/after hole: %s %s\n", signame(conf_trap(touch, a + 10 * 4096 - 1)),
           signame(conf_trap(touch, a + 11 * 4096)));
    SHOW(munmap(a + 10 * 4096, 4096));
    SHOW(munmap(a, MB));
    printf("touch after munmap: %s\n", signame(conf_trap(touch, a + 4096)));

    unsigned char *n = mmap(0, 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("read PROT_NONE: %s\n", signame(conf_trap(peek, n)));
    SHOW(mprotect(n, 2 * 4096, PROT_READ | PROT_WRITE));
    printf("after mprotect: %s, zero: %s\n", signame(conf_trap(touch, n + 4097)),
           n[0] == 0 ? "yes" : "no");
    munmap(n, 2 * 4096);

    unsigned char *big = mmap(0, 64 * MB, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    MAPOK(big);
    big[0] = big[32 * MB] = big[64 * MB - 1] = 7;
    printf("64 MiB mapping sparse writes: %s\n", big[32 * MB] == 7 && big[1] == 0 ? "ok" : "bad");
    munmap(big, 64 * MB);
    MAPOK(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    MAPOK(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));

    int ok = 0;
    void *many[500];
    for (int i = 0; i < 500; i++) {
        many[i] = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ok += many[i] != MAP_FAILED;
    }
    for (int i = 0; i < 500; i++)
        ok -= munmap(many[i], 4096) != 0;
    printf("500 small mappings made and removed: %d\n", ok);

    MAPOK(mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    MAPOK(mmap(0, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0));
    MAPOK(mmap((char *)0x10001000 + 1, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
               0));
    MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 100));
    MAPOK(mmap(0, (size_t)1 << 47, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE, -1, 0));
    MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE, 99, 0));
    SHOW(munmap(a + 1, 4096));
    SHOW(munmap(a, 0));
    return 0;
}

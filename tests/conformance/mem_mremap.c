// mremap: growth with MREMAP_MAYMOVE keeps contents, in-place shrink, MREMAP_FIXED, errors.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "conf.h"

#define PG 4096u

static void touch(void *p)
{
    *(volatile char *)p = 1;
}

static int check(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + i / PG))
            return 0;
    return 1;
}

static void fill(unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        p[i] = (unsigned char)(i * 7 + i / PG);
}

int main(void)
{
    size_t len = PG;
    unsigned char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(p, 0, len);
    int kept = 1, zeroed = 1;
    while (len < 512 * PG) {
        unsigned char *q = mremap(p, len, len * 2, MREMAP_MAYMOVE);
        if (q == MAP_FAILED) {
            printf("mremap grow to %zu pages: %s\n", len * 2 / PG, errname(errno));
            return 1;
        }
        kept &= check(q, len);
        zeroed &= q[len] == 0 && q[2 * len - 1] == 0;
        fill(q, len, 2 * len);
        p = q;
        len *= 2;
    }
    printf("grew 1 -> 512 pages, contents kept: %s, new parts zero: %s\n", kept ? "yes" : "no",
           zeroed ? "yes" : "no");

    unsigned char *s = mremap(p, len, 3 * PG, 0);
    printf("shrink in place: %s, contents kept: %s\n", s == p ? "yes" : "no",
           check(p, 3 * PG) ? "yes" : "no");
    printf("touch past the shrunk end: %s\n", signame(conf_trap(touch, p + 3 * PG)));

    /* Growing the first page of a 3-page mapping in place is impossible. */
    MAPOK(mremap(p, PG, 2 * PG, 0));

    unsigned char *target = mmap(0, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *moved = mremap(p, 3 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    printf("MREMAP_FIXED lands at target: %s, contents kept: %s, writable: %s\n",
           moved == target ? "yes" : "no", check(target, 3 * PG) ? "yes" : "no",
           conf_trap(touch, target + 7 * PG) ? "no" : "yes");
    printf("old address unmapped: %s\n", signame(conf_trap(touch, p)));

    MAPOK(mremap(p, PG, 2 * PG, MREMAP_MAYMOVE));
    MAPOK(mremap(target + 1, PG, 2 * PG, MREMAP_MAYMOVE));
    MAPOK(mremap(target, PG, 0, MREMAP_MAYMOVE));
    MAPOK(mremap(target, PG, 2 * PG, 0x100));
    MAPOK(mremap(target, PG, 2 * PG, MREMAP_FIXED, target + 100 * PG));
    MAPOK(mremap(target, 8 * PG, (size_t)1 << 47, MREMAP_MAYMOVE));
    return 0;
}

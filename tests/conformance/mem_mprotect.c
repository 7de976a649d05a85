// mprotect: read-only pages fault on write (handled), PROT_NONE in the middle, restore, errors.
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

#define PG 4096u

static void poke(void *p)
{
    *(volatile char *)p = 2;
}

static void peek(void *p)
{
    (void)*(volatile char *)p;
}

int main(void)
{
    unsigned char *p = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 1, 4 * PG);

    SHOW(mprotect(p, 4 * PG, PROT_READ));
    printf("read: %s\n", signame(conf_trap(peek, p + 10)));
    int sig = conf_trap(poke, p + 10);
    printf("write: %s code=%s addr=%s\n", signame(sig),
           conf_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other",
           conf_addr == p + 10 ? "expected" : "unexpected");
    printf("value unchanged: %d\n", p[10]);

    SHOW(mprotect(p, 4 * PG, PROT_READ | PROT_WRITE));
    printf("write after restore: %s\n", signame(conf_trap(poke, p + 10)));
    printf("value now: %d\n", p[10]);

    SHOW(mprotect(p + PG, PG, PROT_NONE));
    printf("pages 0..3 read: %s %s %s %s\n", signame(conf_trap(peek, p)),
           signame(conf_trap(peek, p + PG)), signame(conf_trap(peek, p + 2 * PG - 1)),
           signame(conf_trap(peek, p + 2 * PG)));
    SHOW(mprotect(p + PG, PG, PROT_READ | PROT_WRITE));
    printf("page 1 contents kept: %s\n", p[PG] == 1 && p[2 * PG - 1] == 1 ? "yes" : "no");

    SHOW(mprotect(p, 4 * PG, PROT_READ | PROT_EXEC));
    SHOW(mprotect(p, 0, PROT_READ));
    /* musl's mprotect rounds the address down: ask the kernel directly. */
    SHOW(syscall(SYS_mprotect, p + 1, PG, PROT_READ));
    SHOW(mprotect(p, PG, 0x100));
    munmap(p + 2 * PG, 2 * PG);
    SHOW(mprotect(p, 4 * PG, PROT_READ));
    SHOW(mprotect(p + 2 * PG, PG, PROT_READ));
    return 0;
}

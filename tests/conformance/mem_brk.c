// The raw brk syscall: query, grow, shrink, regrow zero-filled, refusals return the old break.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *brk_(void *p)
{
    return (char *)syscall(SYS_brk, p);
}

int main(void)
{
    char *b0 = brk_(0);
    printf("initial break page aligned: %s\n", ((uintptr_t)b0 & 4095) == 0 ? "yes" : "no");
    printf("brk(0) twice is the same: %s\n", brk_(0) == b0 ? "yes" : "no");
    printf("grow by 1 MiB: %s\n", brk_(b0 + (1 << 20)) == b0 + (1 << 20) ? "yes" : "no");
    int zero = 1;
    for (int i = 0; i < 1 << 20; i += 512)
        zero &= b0[i] == 0;
    printf("new memory is zero: %s\n", zero ? "yes" : "no");
    memset(b0, 0x5a, 1 << 20);
    printf("shrink to one page: %s\n", brk_(b0 + 4096) == b0 + 4096 ? "yes" : "no");
    printf("grow again: %s\n", brk_(b0 + (1 << 20)) == b0 + (1 << 20) ? "yes" : "no");
    printf("first page kept: %s\n", b0[0] == 0x5a && b0[4095] == 0x5a ? "yes" : "no");
    zero = 1;
    for (int i = 4096; i < 1 << 20; i += 512)
        zero &= b0[i] == 0;
    printf("regrown memory is zero: %s\n", zero ? "yes" : "no");
    char *cur = brk_(0);
    printf("unaligned break is kept as asked: %s\n", brk_(cur + 100) == cur + 100 ? "yes" : "no");
    cur = brk_(0);
    printf("below the start refused: %s\n", brk_(b0 - (64 << 20)) == cur ? "yes" : "no");
    printf("beyond user space refused: %s\n",
           brk_((void *)0x7ffffffff000000ull) == cur ? "yes" : "no");
    printf("back to start: %s\n", brk_(b0) == b0 ? "yes" : "no");
    return 0;
}

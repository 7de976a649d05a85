// stdout is a pipe: 2 MiB through stdio and write(), then an unflushed tail lost on abort.
// stdout: pipe
// expect-status: 134
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    printf("stdout is a terminal: %s\n", isatty(1) ? "yes" : "no");
    static char block[65536];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = i % 64 == 63 ? '\n' : "abcdefghijklmnopqrstuvwxyz"[i % 26];
    for (int i = 0; i < 16; i++)
        fwrite(block, 1, sizeof block, stdout);
    fflush(stdout);
    size_t short_writes = 0;
    for (int i = 0; i < 16; i++)
        short_writes += write(1, block, sizeof block) != (ssize_t)sizeof block;
    printf("short writes: %zu\n", short_writes);
    for (int i = 0; i < 20; i++)
        printf("buffered line %d\n", i);
    printf("and no newline");
    abort();
}

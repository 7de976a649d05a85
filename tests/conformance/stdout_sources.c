// write/writev to stdout from every kind of memory: .rodata, .data, .bss, stack, heap, mmap.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static const char rodata[] = "from .rodata\n";
/* Large enough that whole pages hold nothing but this constant. */
static const char big_rodata[3 * 4096 + 1] = "large .rodata: first page\n";
static char data[] = "from .data\n";
static char bss[32];

static void out(const char *what, const char *p, size_t n)
{
    char line[64];
    ssize_t w = write(1, p, n);
    int len = snprintf(line, sizeof line, "  write %s: %zd\n", what, w);
    write(1, line, len);
}

int main(void)
{
    char stack[] = "from the stack\n";
    char *heap = malloc(32), *big = malloc(200000);
    char *map = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(bss, "from .bss\n");
    strcpy(heap, "from the heap\n");
    memset(big, 'b', 200000);
    strcpy(big + 100000, "from a large malloc\n");
    strcpy(map + 4090, "across two mmap pages\n");

    out(".rodata", rodata, strlen(rodata));
    const char *mid = big_rodata + 6000; /* all zero bytes: print them as a count */
    ssize_t zw = write(2, mid, 2000);
    char msg[64];
    write(1, msg, snprintf(msg, sizeof msg, "  2000 bytes from a .rodata-only page: %zd\n", zw));
    out("large .rodata", big_rodata, strlen(big_rodata));
    out(".data", data, strlen(data));
    out(".bss", bss, strlen(bss));
    out("stack", stack, strlen(stack));
    out("heap", heap, strlen(heap));
    out("large malloc", big + 100000, strlen(big + 100000));
    out("mmap", map + 4090, strlen(map + 4090));

    struct iovec iov[7] = {
        {(void *)rodata, strlen(rodata)},
        {data, strlen(data)},
        {bss, strlen(bss)},
        {stack, strlen(stack)},
        {heap, strlen(heap)},
        {big + 100000, 20},
        {map + 4090, 22},
    };
    ssize_t w = writev(1, iov, 7);
    char line[64];
    write(1, line, snprintf(line, sizeof line, "  writev of all seven: %zd\n", w));
    w = writev(1, iov + 3, 1);
    write(1, line, snprintf(line, sizeof line, "  writev of the stack alone: %zd\n", w));
    w = writev(2, iov, 7);
    write(1, line, snprintf(line, sizeof line, "  writev to stderr: %zd\n", w));
    return 0;
}

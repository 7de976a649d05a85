// A 100 MiB calloc, touched page by page: zero on first read, keeps what was written.
// mem: 256
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    size_t size = 100u << 20;
    unsigned char *p = calloc(size, 1);
    if (!p) {
        printf("calloc failed\n");
        return 1;
    }
    size_t nonzero = 0;
    for (size_t off = 0; off < size; off += 4096) {
        nonzero += p[off] != 0 || p[off + 4095] != 0;
        p[off] = (unsigned char)(off >> 12);
        p[off + 4095] = (unsigned char)~(off >> 12);
    }
    size_t wrong = 0;
    for (size_t off = 0; off < size; off += 4096)
        wrong +=
            p[off] != (unsigned char)(off >> 12) || p[off + 4095] != (unsigned char)~(off >> 12);
    printf("pages=%zu nonzero before write=%zu wrong after write=%zu\n", size / 4096, nonzero,
           wrong);
    free(p);
    return 0;
}

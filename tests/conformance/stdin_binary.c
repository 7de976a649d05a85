// 3 MB of binary stdin through a pipe, read() with odd sizes; checked against the generator.
// stdin: pipe-gen:3000000
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    static unsigned char buf[70000];
    static const size_t sizes[] = {1, 7, 4096, 65536, 70000, 513, 3};
    uint32_t x = CONF_GEN_SEED;
    uint64_t h = CONF_FNV_INIT;
    size_t total = 0, bad = 0, reads = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizes[reads++ % 7]);
        if (n < 0) {
            printf("read: %s\n", errname(errno));
            return 1;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            bad += buf[i] != conf_gen_next(&x);
        h = conf_fnv(h, buf, n);
        total += n;
    }
    printf("bytes=%zu mismatches=%zu fnv=%016llx\n", total, bad, (unsigned long long)h);
    printf("read at EOF again: %zd\n", read(0, buf, 10));
    return 0;
}

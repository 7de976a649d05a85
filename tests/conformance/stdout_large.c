// Several MiB through stdio to stdout, then a digest of what was written.
#include <stdio.h>

#define CONF_FULL_BUFFER /* 100000 lines: keep the write count low */
#include "conf.h"

int main(void)
{
    char line[128];
    uint64_t h = CONF_FNV_INIT;
    size_t total = 0;
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(line, sizeof line, "line %06d %08x the quick brown fox %d\n", i,
                         (unsigned)(i * 2654435761u), i % 97);
        fputs(line, stdout);
        h = conf_fnv(h, line, n);
        total += n;
    }
    static char block[1 << 20];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = "0123456789abcdef\n"[i % 17];
    for (int i = 0; i < 3; i++) {
        fwrite(block, 1, sizeof block, stdout);
        h = conf_fnv(h, block, sizeof block);
        total += sizeof block;
    }
    printf("\ntotal=%zu fnv=%016llx\n", total, (unsigned long long)h);
    return 0;
}

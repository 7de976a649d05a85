// malloc/realloc/free churn: ~100 MiB allocated over time, up to tens of MiB live, contents
// checked. mem: 128
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512

static uint32_t rng = 12345;

static uint32_t next(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

int main(void)
{
    static unsigned char *p[SLOTS];
    static size_t len[SLOTS];
    size_t live = 0, peak = 0, total = 0, bad = 0;
    for (int it = 0; it < 4000; it++) {
        int s = next() % SLOTS;
        if (p[s]) {
            /* Check the fill pattern at both ends and in the middle. */
            unsigned char want = (unsigned char)s;
            bad += p[s][0] != want || p[s][len[s] / 2] != want || p[s][len[s] - 1] != want;
            if (next() % 4 == 0) {
                size_t nlen = len[s] * 2 + 1;
                unsigned char *q = realloc(p[s], nlen);
                if (!q)
                    return 1;
                bad += q[len[s] - 1] != want;
                memset(q + len[s], want, nlen - len[s]);
                live += nlen - len[s];
                total += nlen - len[s];
                p[s] = q;
                len[s] = nlen;
                continue;
            }
            free(p[s]);
            live -= len[s];
            p[s] = 0;
            continue;
        }
        len[s] = ((size_t)1 << (next() % 19)) + next() % 1000 + 1;
        p[s] = malloc(len[s]);
        if (!p[s])
            return 1;
        memset(p[s], s, len[s]);
        live += len[s];
        total += len[s];
        if (live > peak)
            peak = live;
    }
    for (int s = 0; s < SLOTS; s++)
        free(p[s]);
    printf("allocated %zu MiB in total, peak live %zu MiB, corrupted blocks: %zu\n", total >> 20,
           peak >> 20, bad);
    return 0;
}

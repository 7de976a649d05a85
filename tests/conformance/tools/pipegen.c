/* pipegen N — writes the first N bytes of the deterministic "pipe-gen" stream
 * (conf_gen_next in ../conf.h) to stdout, for programs whose stdin is a pipe. */
#include <stdlib.h>
#include <unistd.h>

#include "../conf.h"

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    unsigned long long left = strtoull(argv[1], 0, 10);
    uint32_t x = CONF_GEN_SEED;
    unsigned char buf[65536];
    while (left > 0) {
        size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = conf_gen_next(&x);
        for (size_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, n - off);
            if (w <= 0)
                return 1;
            off += (size_t)w;
        }
        left -= n;
    }
    return 0;
}

/*
 * vol_big.c DIR [MIB] — a large file in DIR (default 64 MiB): written in pieces of
 * assorted sizes, fsynced, read back whole and at scattered offsets, with digests.
 * stdout is the same natively and under uvmm; stderr gets the write and read
 * throughput (which is not compared).
 */
#include "conf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) < 0) {
        printf("usage: vol_big DIR [MIB]\n");
        return 2;
    }
    size_t size = (size_t)(argc > 2 ? atoi(argv[2]) : 64) << 20;
    size_t bufsize = 4 << 20;
    unsigned char *buf = malloc(bufsize);
    uint32_t x = CONF_GEN_SEED;
    uint64_t h = CONF_FNV_INIT;
    int fd = open("big.bin", O_CREAT | O_TRUNC | O_WRONLY, 0644);
    OK(fd);
    static const size_t pieces[] = {1 << 20, 3000, 4096, 65536 + 17, 4 << 20, 1, 777777};
    double t0 = now();
    size_t done = 0;
    for (int p = 0; done < size; p++) {
        size_t n = pieces[p % 7];
        if (n > size - done)
            n = size - done;
        for (size_t i = 0; i < n; i++)
            buf[i] = conf_gen_next(&x);
        h = conf_fnv(h, buf, n);
        ssize_t w = write(fd, buf, n);
        if (w != (ssize_t)n) {
            printf("write at %zu -> %zd %s\n", done, w, errname(errno));
            return 1;
        }
        done += n;
    }
    SHOW(fsync(fd));
    double t1 = now();
    SHOW(close(fd));
    printf("wrote %zu bytes, fnv %016llx\n", done, (unsigned long long)h);

    struct stat st;
    SHOW(stat("big.bin", &st));
    printf("size %lld\n", (long long)st.st_size);
    fd = open("big.bin", O_RDONLY);
    uint64_t h2 = CONF_FNV_INIT;
    size_t got = 0;
    double t2 = now();
    for (;;) {
        ssize_t r = read(fd, buf, bufsize);
        if (r <= 0)
            break;
        h2 = conf_fnv(h2, buf, r);
        got += r;
    }
    double t3 = now();
    printf("read %zu bytes, fnv %016llx, %s\n", got, (unsigned long long)h2,
           h2 == h ? "same" : "DIFFERENT");
    uint64_t h3 = CONF_FNV_INIT;
    for (int i = 0; i < 64; i++) {
        off_t off = ((uint64_t)i * 2654435761u) % size;
        ssize_t r = pread(fd, buf, 10000, off);
        if (r > 0)
            h3 = conf_fnv(h3, buf, r);
    }
    printf("scattered preads fnv %016llx\n", (unsigned long long)h3);
    SHOW(close(fd));
    fprintf(stderr, "write %.1f MB/s, read %.1f MB/s\n", size / 1e6 / (t1 - t0),
            size / 1e6 / (t3 - t2));
    return 0;
}

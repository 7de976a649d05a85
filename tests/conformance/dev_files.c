// /dev/null, /dev/zero and /dev/urandom: reads, writes, seeks and types.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    static char buf[65536];
    int fd;
    SHOW(fd = open("/dev/null", O_RDWR));
    SHOW(write(fd, buf, sizeof buf));
    SHOW(read(fd, buf, sizeof buf));
    SHOW(lseek(fd, 100, SEEK_SET));
    SHOW(read(fd, buf, 1));
    close(fd);

    memset(buf, 0x55, sizeof buf);
    SHOW(fd = open("/dev/zero", O_RDWR));
    SHOW(read(fd, buf, sizeof buf));
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        nonzero += buf[i] != 0;
    printf("/dev/zero nonzero bytes: %zu\n", nonzero);
    SHOW(write(fd, "abc", 3));
    SHOW(read(fd, buf, 0));
    close(fd);

    SHOW(fd = open("/dev/urandom", O_RDONLY));
    unsigned char a[64], b[64];
    SHOW(read(fd, a, sizeof a));
    SHOW(read(fd, b, sizeof b));
    printf("two reads differ: %s\n", memcmp(a, b, sizeof a) ? "yes" : "no");
    SHOW(read(fd, buf, sizeof buf));
    int seen[256] = {0}, distinct = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        distinct += !seen[(unsigned char)buf[i]]++;
    printf("64 KiB of urandom uses all 256 byte values: %s\n", distinct == 256 ? "yes" : "no");
    close(fd);

    SHOW(open("/dev/nope", O_RDONLY));
    SHOW(open("/dev/null", O_CREAT | O_EXCL | O_WRONLY, 0644));
    SHOW(fd = open("/dev/null", O_WRONLY | O_TRUNC));
    SHOW(fd = open("/dev", O_RDONLY | O_DIRECTORY) >= 0);
    FILE *f = fopen("/dev/null", "w");
    printf("fprintf to /dev/null: %d\n", fprintf(f, "%s", "discarded"));
    fclose(f);
    return 0;
}

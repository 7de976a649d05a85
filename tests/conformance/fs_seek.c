// lseek SEEK_SET/CUR/END, holes read back as zeros, pread/pwrite keep the offset, ESPIPE.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    int fd = open("/tmp/s", O_CREAT | O_RDWR, 0644);
    SHOW(write(fd, "0123456789", 10));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(lseek(fd, 3, SEEK_SET));
    SHOW(lseek(fd, 2, SEEK_CUR));
    SHOW(lseek(fd, -3, SEEK_END));
    char c[4] = {0};
    SHOW(read(fd, c, 3));
    printf("read [%s]\n", c);
    SHOW(lseek(fd, -11, SEEK_END));
    SHOW(lseek(fd, -1, SEEK_SET));
    SHOW(lseek(fd, 0, 99));
    SHOW(lseek(fd, 0, SEEK_CUR));

    /* Past the end: reads return 0, a write leaves a hole of zeros. */
    SHOW(lseek(fd, 1 << 20, SEEK_SET));
    SHOW(read(fd, c, 1));
    SHOW(write(fd, "X", 1));
    struct stat st;
    fstat(fd, &st);
    printf("size %lld\n", (long long)st.st_size);
    static unsigned char hole[1 << 20];
    SHOW(pread(fd, hole, sizeof hole, 10));
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof hole - 10; i++)
        nonzero += hole[i] != 0;
    printf("hole nonzero bytes: %zu, last byte %c\n", nonzero, hole[sizeof hole - 10]);

    SHOW(lseek(fd, 2, SEEK_SET));
    SHOW(pwrite(fd, "ab", 2, 5));
    SHOW(pread(fd, c, 3, 4));
    printf("pread [%.3s]\n", c);
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(pread(fd, c, 3, 5 << 20));
    SHOW(pread(fd, c, 3, -1));
    SHOW(pwrite(fd, c, 3, -1));
    close(fd);

    int p[2];
    pipe(p);
    SHOW(lseek(p[0], 0, SEEK_CUR));
    SHOW(lseek(p[1], 0, SEEK_SET));
    SHOW(pread(p[0], c, 1, 0));
    SHOW(pwrite(p[1], c, 1, 0));
    SHOW(lseek(99, 0, SEEK_SET));
    return 0;
}

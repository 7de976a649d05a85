// readv/writev/pread/pwrite on a tmpfs file: scatter/gather, offsets, limits and errors.
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    int fd = open("/tmp/v", O_CREAT | O_RDWR, 0644);
    struct iovec w[3] = {{"alpha ", 6}, {"", 0}, {"beta gamma", 10}};
    SHOW(writev(fd, w, 3));
    SHOW(lseek(fd, 0, SEEK_CUR));
    char a[3] = {0}, b[6] = {0}, c[32] = {0};
    struct iovec r[3] = {{a, 2}, {b, 5}, {c, sizeof c - 1}};
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(readv(fd, r, 3));
    printf("[%s] [%s] [%s]\n", a, b, c);
    SHOW(readv(fd, r, 3));
    SHOW(writev(fd, w, 0));
    SHOW(readv(fd, r, 0));

    SHOW(pwrite(fd, "XY", 2, 100));
    SHOW(lseek(fd, 0, SEEK_CUR));
    char buf[128] = {0};
    SHOW(pread(fd, buf, sizeof buf, 0));
    size_t zeros = 0;
    for (int i = 16; i < 100; i++)
        zeros += buf[i] == 0;
    printf("gap zeros: %zu, tail [%.2s]\n", zeros, buf + 100);

    static struct iovec many[IOV_MAX + 1];
    for (int i = 0; i <= IOV_MAX; i++)
        many[i] = (struct iovec){"z", 1};
    SHOW(writev(fd, many, IOV_MAX));
    SHOW(writev(fd, many, IOV_MAX + 1));
    SHOW(writev(fd, many, -1));
    struct iovec huge[2] = {{"a", 1}, {"b", SIZE_MAX / 2 + 1}};
    SHOW(writev(fd, huge, 2));
    SHOW(readv(fd, (struct iovec *)8, 1));
    SHOW(readv(99, r, 1));

    /* Both vectors on stdout, too. */
    struct iovec out[4] = {{"writev ", 7}, {"to ", 3}, {"stdout", 6}, {"\n", 1}};
    fflush(stdout);
    SHOW(writev(1, out, 4));
    return 0;
}

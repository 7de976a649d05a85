// ftruncate on a tmpfs file: shrink, grow zero-filled (old bytes do not come back), errors.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

static void dump(int fd)
{
    struct stat st;
    fstat(fd, &st);
    unsigned char buf[64];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    printf("size %lld:", (long long)st.st_size);
    for (ssize_t i = 0; i < n; i++)
        printf(buf[i] >= 32 && buf[i] < 127 ? "%c" : "\\%o", buf[i]);
    printf("\n");
}

int main(void)
{
    int fd = open("/tmp/t", O_CREAT | O_RDWR, 0644);
    write(fd, "abcdefghijkl", 12);
    dump(fd);
    SHOW(ftruncate(fd, 4));
    dump(fd);
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(ftruncate(fd, 10));
    dump(fd);
    SHOW(ftruncate(fd, 2));
    SHOW(ftruncate(fd, 8));
    dump(fd);
    SHOW(write(fd, "Z", 1));
    dump(fd);

    SHOW(ftruncate(fd, 3 << 20));
    static unsigned char big[3 << 20];
    SHOW(pread(fd, big, sizeof big, 0));
    size_t nonzero = 0;
    for (size_t i = 16; i < sizeof big; i++)
        nonzero += big[i] != 0;
    printf("grown part nonzero bytes: %zu\n", nonzero);
    SHOW(ftruncate(fd, 0));
    dump(fd);
    SHOW(ftruncate(fd, -1));
    close(fd);

    fd = open("/tmp/t", O_RDONLY);
    SHOW(ftruncate(fd, 0));
    close(fd);
    fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    SHOW(ftruncate(fd, 0));
    close(fd);
    int p[2];
    pipe(p);
    SHOW(ftruncate(p[1], 0));
    fd = open("/dev/null", O_WRONLY);
    SHOW(ftruncate(fd, 0));
    SHOW(ftruncate(99, 0));
    return 0;
}

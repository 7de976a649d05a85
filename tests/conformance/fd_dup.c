// dup/dup2/dup3: lowest free descriptor, shared offsets, closing targets, flags and errors.
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    int fd, d;
    SHOW(fd = open("/tmp/f", O_CREAT | O_RDWR, 0644));
    SHOW(d = dup(fd));
    SHOW(write(fd, "abcdef", 6));
    SHOW(lseek(d, 0, SEEK_CUR));
    SHOW(lseek(d, 2, SEEK_SET));
    char c[3] = {0};
    SHOW(read(fd, c, 2));
    printf("read through the first fd after seeking the dup: %s\n", c);
    SHOW(close(fd));
    SHOW(write(d, "G", 1));
    SHOW(fd = open("/tmp/f", O_RDONLY));

    SHOW(dup2(d, 10));
    SHOW(dup2(10, 10));
    SHOW(dup2(fd, 10));
    SHOW(pread(10, c, 2, 0));
    SHOW(write(10, "x", 1));
    SHOW(dup2(99, 11));
    SHOW(dup2(99, 99));
    SHOW(dup2(fd, -1));
    SHOW(dup3(fd, 11, O_CLOEXEC));
    SHOW(fcntl(11, F_GETFD));
    SHOW(fcntl(fd, F_GETFD));
    SHOW(dup3(fd, 12, 0));
    SHOW(fcntl(12, F_GETFD));
    SHOW(dup3(fd, fd, 0));
    /* musl checks some dup3 arguments itself: ask the kernel directly. */
    SHOW(syscall(SYS_dup3, fd, fd, O_CLOEXEC));
    SHOW(syscall(SYS_dup3, fd, 13, 0x4));
    SHOW(syscall(SYS_dup3, 99, 13, 0));
    SHOW(dup(99));
    SHOW(dup(-1));

    struct rlimit rl;
    SHOW(getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_cur < 100000) {
        SHOW(dup2(fd, (int)rl.rlim_cur) >= 0);
        SHOW(dup2(fd, (int)rl.rlim_cur - 1) >= 0);
        close((int)rl.rlim_cur - 1);
    } else {
        printf("RLIMIT_NOFILE soft limit too large to probe\n");
    }

    /* Lowest free descriptor: close 3 and the next dup takes it. */
    close(fd);
    close(d);
    SHOW(dup(1));
    SHOW(dup(1));
    SHOW(close(3));
    SHOW(dup(1));
    SHOW(close(99));
    SHOW(close(3));
    SHOW(close(3));
    return 0;
}

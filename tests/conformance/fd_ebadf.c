// Every fd-taking call fails with EBADF on a closed descriptor and on -1.
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    char buf[64];
    struct stat st;
    struct iovec iov = {buf, sizeof buf};
    int fds[] = {77, -1};
    for (int i = 0; i < 2; i++) {
        int fd = fds[i];
        printf("fd %d\n", fd);
        SHOW(read(fd, buf, 1));
        SHOW(write(fd, buf, 1));
        SHOW(readv(fd, &iov, 1));
        SHOW(writev(fd, &iov, 1));
        SHOW(pread(fd, buf, 1, 0));
        SHOW(pwrite(fd, buf, 1, 0));
        SHOW(lseek(fd, 0, SEEK_SET));
        SHOW(fstat(fd, &st));
        SHOW(close(fd));
        SHOW(dup(fd));
        SHOW(dup2(fd, 20));
        SHOW(dup3(fd, 20, 0));
        SHOW(fcntl(fd, F_GETFL));
        SHOW(ioctl(fd, FIONREAD, &(int){0}));
        SHOW(syscall(SYS_getdents64, fd, buf, sizeof buf));
        SHOW(ftruncate(fd, 0));
        SHOW(fsync(fd));
        SHOW(openat(fd, "x", O_RDONLY));
        MAPOK(mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0));
    }
    return 0;
}

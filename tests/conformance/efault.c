// Bad user pointers (unmapped, read-only, kernel half) give EFAULT instead of a crash.
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    /* No mapping is made after the unmap, so nothing can take its place. */
    char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    void *bad[] = {(void *)8, gone, (void *)0xffff800000000000ull, (void *)0x800000000000ull};
    int p[2];
    pipe(p);
    int zero = open("/dev/zero", O_RDONLY);
    int file = open("/tmp/f", O_CREAT | O_RDWR, 0644);
    write(file, "0123456789", 10);

    for (int i = 0; i < 4; i++) {
        char *b = bad[i];
        printf("pointer %d\n", i);
        SHOW(syscall(SYS_write, 1, b, 10));
        SHOW(syscall(SYS_write, p[1], b, 10));
        SHOW(syscall(SYS_read, zero, b, 10));
        SHOW(syscall(SYS_pread64, file, b, 4, 0));
        SHOW(syscall(SYS_pwrite64, file, b, 4, 0));
        SHOW(syscall(SYS_open, b, O_RDONLY));
        SHOW(syscall(SYS_mkdir, b, 0755));
        SHOW(syscall(SYS_pipe2, b, 0));
        SHOW(syscall(SYS_readv, zero, b, 1));
        struct iovec iov = {b, 10};
        SHOW(syscall(SYS_readv, zero, &iov, 1));
        SHOW(syscall(SYS_writev, file, &iov, 1));
        SHOW(syscall(SYS_poll, b, 1, 0));
        SHOW(syscall(SYS_clock_gettime, CLOCK_REALTIME, b));
        SHOW(syscall(SYS_nanosleep, b, 0));
        SHOW(syscall(SYS_uname, b));
        SHOW(syscall(SYS_getrandom, b, 8, 0));
        SHOW(syscall(SYS_getcwd, b, 64));
        SHOW(syscall(SYS_chdir, b));
        SHOW(syscall(SYS_fstat, file, b));
    }
    printf("read-only destination\n");
    SHOW(syscall(SYS_read, zero, ro, 10));
    SHOW(syscall(SYS_pread64, file, ro, 4, 0));
    SHOW(syscall(SYS_clock_gettime, CLOCK_REALTIME, ro));
    SHOW(syscall(SYS_pipe2, ro, 0));
    SHOW(syscall(SYS_getrandom, ro, 8, 0));
    printf("read-only source is fine\n");
    SHOW(syscall(SYS_write, file, ro, 10));
    SHOW(syscall(SYS_pipe2, (int *)0, 0));
    return 0;
}

// pipe2: data in order, partial reads, EOF, O_NONBLOCK/EAGAIN, capacity, flags, wrong ends.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    int p[2], n = -1;
    SHOW(pipe2(p, 0));
    printf("fds %d %d\n", p[0], p[1]);
    SHOW(write(p[1], "hello", 5));
    SHOW(write(p[1], " world", 6));
    SHOW(ioctl(p[0], FIONREAD, &n));
    printf("FIONREAD: %d\n", n);
    char buf[100] = {0};
    SHOW(read(p[0], buf, 3));
    SHOW(read(p[0], buf + 3, sizeof buf - 4));
    printf("got [%s]\n", buf);
    SHOW(read(p[1], buf, 1));
    SHOW(write(p[0], "x", 1));
    SHOW(write(p[1], "tail", 4));
    SHOW(close(p[1]));
    SHOW(read(p[0], buf, sizeof buf));
    SHOW(read(p[0], buf, sizeof buf));
    SHOW(read(p[0], buf, sizeof buf));
    close(p[0]);

    SHOW(pipe2(p, O_NONBLOCK | O_CLOEXEC));
    SHOW(fcntl(p[0], F_GETFD));
    SHOW(fcntl(p[1], F_GETFD));
    SHOW((fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    SHOW(read(p[0], buf, 1));
    /* Fill the pipe until it refuses more; Linux's default capacity is 64 KiB. */
    static char chunk[1000];
    size_t total = 0;
    ssize_t w;
    while ((w = write(p[1], chunk, sizeof chunk)) > 0)
        total += w;
    int err = errno;
    while (write(p[1], "x", 1) == 1)
        total++;
    printf("filled until %s, then %s, capacity >= 4 KiB: %s\n", errname(err), errname(errno),
           total >= 4096 ? "yes" : "no");
    size_t drained = 0;
    ssize_t r;
    while ((r = read(p[0], chunk, sizeof chunk)) > 0)
        drained += r;
    printf("drained everything: %s, then %s\n", drained == total ? "yes" : "no", errname(errno));
    close(p[0]);
    close(p[1]);

    /* Stream integrity through a pipe in one process: write and read in different sizes. */
    pipe2(p, O_NONBLOCK);
    unsigned char out[4096], in[4096];
    uint64_t hw = CONF_FNV_INIT, hr = CONF_FNV_INIT;
    size_t sent = 0, recvd = 0;
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)(i * 37 % 4000) + 1;
        for (size_t j = 0; j < len; j++)
            out[j] = (unsigned char)(sent + j);
        w = write(p[1], out, len);
        if (w > 0) {
            hw = conf_fnv(hw, out, w);
            sent += w;
        }
        r = read(p[0], in, (size_t)(i * 53 % 3000) + 1);
        if (r > 0) {
            hr = conf_fnv(hr, in, r);
            recvd += r;
        }
    }
    while ((r = read(p[0], in, sizeof in)) > 0) {
        hr = conf_fnv(hr, in, r);
        recvd += r;
    }
    printf("stream: sent == received: %s, same digest: %s\n", sent == recvd ? "yes" : "no",
           hw == hr ? "yes" : "no");

    SHOW(pipe2(p, 0x1));
    SHOW(syscall(SYS_pipe2, (void *)8, 0));
    return 0;
}

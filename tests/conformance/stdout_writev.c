// Raw write()/writev() to stdout in odd sizes, interleaved with stderr; every call is complete.
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    static char buf[300000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 'a' + i % 26;
    static const size_t sizes[] = {1, 2, 7, 4095, 4096, 4097, 65536, 65537, 299999};
    size_t short_writes = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ssize_t n = write(1, buf, sizes[i]);
        short_writes += n != (ssize_t)sizes[i];
        write(1, "\n", 1);
        write(2, "to stderr\n", 10);
    }
    struct iovec iov[64];
    size_t want = 0;
    for (int i = 0; i < 64; i++) {
        iov[i].iov_base = buf + i;
        iov[i].iov_len = (size_t)i * 37;
        want += iov[i].iov_len;
    }
    ssize_t n = writev(1, iov, 64);
    write(1, "\n", 1);
    char msg[128];
    int len = snprintf(msg, sizeof msg, "short writes: %zu, writev wrote all: %s\n", short_writes,
                       n == (ssize_t)want ? "yes" : "no");
    write(1, msg, len);
    SHOW(write(1, buf, 0));
    struct iovec empty = {buf, 0};
    SHOW(writev(1, &empty, 1));
    return 0;
}

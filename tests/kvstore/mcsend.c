/* mcsend.c -- test tool: sends its standard input to a TCP server and prints
 * what comes back until the server closes or stays quiet for QUIET_MS
 * (default 300). Lets shell tests speak the memcached text protocol byte for
 * byte, malformed input included.
 *   usage: mcsend HOST:PORT [QUIET_MS]
 * Exit status 0, or 3 when the server closed the connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "net.h"

int main(int argc, char **argv)
{
    char host[NET_ADDR_MAX];
    int port;
    if (argc < 2 || net_parse_hostport(argv[1], host, sizeof(host), &port) < 0) {
        fprintf(stderr, "usage: mcsend HOST:PORT [QUIET_MS]\n");
        return 2;
    }
    int quiet = argc > 2 ? atoi(argv[2]) : 300;
    buf in = BUF_INIT;
    for (;;) {
        char *d = buf_reserve(&in, 65536);
        ssize_t n = read(0, d, 65536);
        if (n <= 0)
            break;
        buf_commit(&in, (size_t)n);
    }
    int fd = net_connect_wait(host, port, 2000);
    if (fd < 0) {
        fprintf(stderr, "mcsend: connect %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    net_set_nonblock(fd, 0);
    size_t off = 0;
    int closed = 0;
    while (!closed) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (off < buf_used(&in) ? POLLOUT : 0)};
        if (poll(&p, 1, quiet) <= 0)
            break;
        if (p.revents & POLLOUT) {
            ssize_t w = write(fd, buf_peek(&in) + off, buf_used(&in) - off);
            if (w > 0)
                off += (size_t)w;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char b[65536];
            ssize_t n = read(fd, b, sizeof(b));
            if (n <= 0)
                closed = 1;
            else
                fwrite(b, 1, (size_t)n, stdout);
        }
    }
    return closed ? 3 : 0;
}

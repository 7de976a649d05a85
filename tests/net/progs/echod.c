/*
 * echod — TCP and UDP echo server on one port, single-threaded with epoll
 * (edge-triggered), for the network tests. Serves until killed, or exits after
 * `--max N` TCP connections have been served.
 *
 * usage: echod [--port P] [--max N] [--backlog B]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ 65536

struct conn {
    int fd;
    char *pending; /* bytes read but not yet echoed */
    size_t len, off;
    int eof;
};

static int ep;

static void conn_close(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

/* Echoes what can be echoed; returns 1 when the connection is done. */
static int pump(struct conn *c)
{
    for (;;) {
        while (c->off < c->len) {
            ssize_t w = write(c->fd, c->pending + c->off, c->len - c->off);
            if (w < 0)
                return errno == EAGAIN ? 0 : 1;
            c->off += w;
        }
        c->off = c->len = 0;
        if (c->eof) {
            shutdown(c->fd, SHUT_WR);
            return 1;
        }
        ssize_t r = read(c->fd, c->pending, BUFSZ);
        if (r == 0) {
            c->eof = 1;
            continue;
        }
        if (r < 0)
            return errno == EAGAIN ? 0 : 1;
        c->len = r;
    }
}

int main(int argc, char **argv)
{
    int port = 7, max = -1, backlog = 1024;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max"))
            max = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--backlog"))
            backlog = atoi(argv[i + 1]);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, backlog) < 0) {
        perror("echod: tcp");
        return 1;
    }
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (bind(u, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("echod: udp");
        return 1;
    }
    ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
    static struct conn udp_marker;
    e.data.ptr = &udp_marker;
    epoll_ctl(ep, EPOLL_CTL_ADD, u, &e);
    printf("echod: listening on port %d\n", port);
    fflush(stdout);
    int served = 0;
    static char dbuf[65536];
    while (max < 0 || served < max) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == &udp_marker) {
                for (;;) {
                    struct sockaddr_in from;
                    socklen_t fl = sizeof from;
                    ssize_t r = recvfrom(u, dbuf, sizeof dbuf, 0, (struct sockaddr *)&from, &fl);
                    if (r < 0)
                        break;
                    sendto(u, dbuf, r, 0, (struct sockaddr *)&from, fl);
                }
            } else if (!c) {
                for (;;) {
                    int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->pending = malloc(BUFSZ);
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                    if (pump(c)) {
                        conn_close(c);
                        served++;
                    }
                }
            } else if (pump(c)) {
                conn_close(c);
                served++;
            }
        }
    }
    return 0;
}

/*
 * netclient — the client side of the network tests.
 *
 *   netclient echo HOST PORT SIZE...        one connection per size: send SIZE
 *                                           pattern bytes, half-close, read the
 *                                           echo, compare; prints "echo SIZE ok"
 *   netclient many HOST PORT N              N connections at once, each sends a
 *                                           line and reads it back; prints a count
 *   netclient bulk HOST PORT MIB            sends MIB MiB and reads them back at
 *                                           the same time; prints sha256 of both
 *   netclient udp HOST PORT N               N datagrams of growing size, echoed
 *   netclient refused HOST PORT             connect to a closed port: the errno
 *   netclient rst HOST PORT                 the peer closes with unread data
 *   netclient resolve NAME -                getaddrinfo(NAME): the IPv4 addresses
 *
 * Exit status 0 when everything matched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sha256.h"

static struct sockaddr_in addr;

static unsigned char pattern(uint64_t off)
{
    return (unsigned char)((off * 2654435761u) >> 11);
}

static int dial(int flags)
{
    int fd = socket(AF_INET, SOCK_STREAM | flags, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Sends n pattern bytes and reads the echo at the same time; 0 when equal. */
static int exchange(int fd, uint64_t n, sha256_ctx *hs, sha256_ctx *hr)
{
    static unsigned char out[65536], in[65536];
    uint64_t sent = 0, got = 0;
    int wr_open = 1;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int bad = 0;
    while (got < n || wr_open) {
        struct pollfd p = {fd, (sent < n ? POLLOUT : 0) | POLLIN, 0};
        if (sent == n && wr_open) {
            shutdown(fd, SHUT_WR);
            wr_open = 0;
            p.events = POLLIN;
        }
        if (poll(&p, 1, 30000) <= 0) {
            fprintf(stderr, "netclient: stalled at sent %llu got %llu\n",
                    (unsigned long long)sent, (unsigned long long)got);
            return -1;
        }
        if ((p.revents & POLLOUT) && sent < n) {
            size_t k = n - sent < sizeof out ? n - sent : sizeof out;
            for (size_t i = 0; i < k; i++)
                out[i] = pattern(sent + i);
            ssize_t w = write(fd, out, k);
            if (w > 0) {
                if (hs)
                    sha256_update(hs, out, w);
                sent += w;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(fd, in, sizeof in);
            if (r < 0 && errno != EAGAIN) {
                fprintf(stderr, "netclient: read: %s\n", strerror(errno));
                return -1;
            }
            if (r == 0)
                break;
            if (r > 0) {
                for (ssize_t i = 0; i < r && !bad; i++)
                    if (in[i] != pattern(got + i))
                        bad = 1;
                if (hr)
                    sha256_update(hr, in, r);
                got += r;
            }
        }
    }
    return got == n && !bad ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: netclient MODE HOST PORT [ARG...]\n");
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "resolve")) {
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
        int r = getaddrinfo(argv[2], NULL, &hints, &res);
        if (r != 0) {
            printf("resolve %s: %s\n", argv[2], gai_strerror(r));
            return 1;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            char b[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, b, sizeof b);
            printf("resolve %s: %s\n", argv[2], b);
        }
        freeaddrinfo(res);
        return 0;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "netclient: bad address %s\n", argv[2]);
        return 2;
    }
    int fails = 0;
    if (!strcmp(mode, "echo")) {
        for (int i = 4; i < argc; i++) {
            uint64_t n = strtoull(argv[i], NULL, 0);
            int fd = dial(0);
            if (fd < 0) {
                printf("echo %s: connect: %s\n", argv[i], strerror(errno));
                fails++;
                continue;
            }
            int r = exchange(fd, n, NULL, NULL);
            printf("echo %s %s\n", argv[i], r == 0 ? "ok" : "FAILED");
            fails += r != 0;
            close(fd);
        }
    } else if (!strcmp(mode, "many") && argc > 4) {
        int n = atoi(argv[4]), ok = 0;
        int *fds = calloc(n, sizeof *fds);
        int *state = calloc(n, sizeof *state); /* 0 connecting, 1 sent, 2 done */
        int ep = epoll_create1(0);
        for (int i = 0; i < n; i++) {
            fds[i] = dial(SOCK_NONBLOCK);
            if (fds[i] < 0) {
                fprintf(stderr, "netclient: connect %d: %s\n", i, strerror(errno));
                state[i] = 2;
                continue;
            }
            struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = i};
            epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
        }
        int left = n;
        for (int i = 0; i < n; i++)
            left -= state[i] == 2;
        while (left > 0) {
            struct epoll_event evs[128];
            int k = epoll_wait(ep, evs, 128, 30000);
            if (k <= 0)
                break;
            for (int j = 0; j < k; j++) {
                int i = evs[j].data.u32;
                char line[64], back[64];
                int len = snprintf(line, sizeof line, "connection %d\n", i);
                if (state[i] == 0 && (evs[j].events & EPOLLOUT)) {
                    if (write(fds[i], line, len) == len)
                        state[i] = 1;
                    struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &e);
                } else if (state[i] == 1 && (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                    ssize_t r = read(fds[i], back, sizeof back);
                    if (r < 0 && errno == EAGAIN)
                        continue;
                    if (r == len && !memcmp(back, line, len))
                        ok++;
                    state[i] = 2;
                    left--;
                    close(fds[i]);
                }
            }
        }
        printf("many %d: %d ok\n", n, ok);
        fails = ok != n;
    } else if (!strcmp(mode, "bulk") && argc > 4) {
        uint64_t n = strtoull(argv[4], NULL, 0) << 20;
        int fd = dial(0);
        if (fd < 0) {
            printf("bulk: connect: %s\n", strerror(errno));
            return 1;
        }
        sha256_ctx hs, hr;
        sha256_init(&hs);
        sha256_init(&hr);
        int r = exchange(fd, n, &hs, &hr);
        char xs[SHA256_HEX], xr[SHA256_HEX];
        sha256_final_hex(&hs, xs);
        sha256_final_hex(&hr, xr);
        printf("bulk %s MiB: sent sha256 %s, received sha256 %s: %s\n", argv[4], xs, xr,
               r == 0 && !strcmp(xs, xr) ? "ok" : "FAILED");
        fails = r != 0 || strcmp(xs, xr);
        close(fd);
    } else if (!strcmp(mode, "udp") && argc > 4) {
        int n = atoi(argv[4]), ok = 0;
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        connect(fd, (struct sockaddr *)&addr, sizeof addr);
        static unsigned char out[9000], in[9000];
        for (int i = 0; i < n; i++) {
            size_t len = 1 + (i * 97) % 8000;
            for (size_t k = 0; k < len; k++)
                out[k] = pattern(i + k);
            send(fd, out, len, 0);
            struct pollfd p = {fd, POLLIN, 0};
            /* UDP may lose a datagram: ask again once. */
            if (poll(&p, 1, 2000) <= 0) {
                send(fd, out, len, 0);
                if (poll(&p, 1, 2000) <= 0)
                    continue;
            }
            ssize_t r = recv(fd, in, sizeof in, 0);
            ok += r == (ssize_t)len && !memcmp(in, out, len);
        }
        printf("udp %d: %d ok\n", n, ok);
        fails = ok != n;
    } else if (!strcmp(mode, "srcaddr")) {
        /* The address a program learns for itself: UDP connect, getsockname. */
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in me;
        socklen_t len = sizeof me;
        char b[INET_ADDRSTRLEN] = "?";
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
            getsockname(fd, (struct sockaddr *)&me, &len) < 0)
            return 1;
        inet_ntop(AF_INET, &me.sin_addr, b, sizeof b);
        printf("srcaddr %s: %s port %s\n", argv[2], b, ntohs(me.sin_port) ? "set" : "0");
        close(fd);
    } else if (!strcmp(mode, "refused")) {
        int fd = dial(0);
        printf("refused: %s\n", fd < 0 ? strerror(errno) : "connected");
        fails = !(fd < 0 && errno == ECONNREFUSED);
    } else if (!strcmp(mode, "rst")) {
        /* Send data the echo server will not read in time... it echoes everything,
           so instead: connect, then close at once with data queued to us unread. */
        int fd = dial(0);
        if (fd < 0)
            return 1;
        write(fd, "unread\n", 7);
        shutdown(fd, SHUT_WR);
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 5000);
        close(fd); /* the echo is unread: we reset, and the server must survive it */
        printf("rst: sent\n");
    } else {
        fprintf(stderr, "netclient: unknown mode %s\n", mode);
        return 2;
    }
    return fails ? 1 : 0;
}

// 64 MiB each way through one loopback TCP connection with non-blocking I/O and
// poll, checked with a running checksum; then many short connections.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"

#define TOTAL (64u << 20)

static uint64_t sum(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static unsigned char pattern(uint64_t off)
{
    return (unsigned char)((off * 2654435761u) >> 13);
}

int main(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    listen(l, 128);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("connect: %s\n", r == 0 ? "ok" : errname(errno));
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    struct pollfd pc = {c, POLLOUT, 0};
    poll(&pc, 1, 5000);
    static unsigned char out[65536], in[65536];
    uint64_t sent[2] = {0, 0}, got[2] = {0, 0}, hs[2] = {0xcbf29ce484222325ULL, 0xcbf29ce484222325ULL},
             hr[2] = {0xcbf29ce484222325ULL, 0xcbf29ce484222325ULL};
    int fds[2] = {c, s};
    while (got[0] < TOTAL || got[1] < TOTAL) {
        struct pollfd p[2];
        for (int i = 0; i < 2; i++) {
            p[i].fd = fds[i];
            p[i].events = (sent[i] < TOTAL ? POLLOUT : 0) | (got[i] < TOTAL ? POLLIN : 0);
        }
        if (poll(p, 2, 10000) <= 0) {
            printf("stalled\n");
            return 1;
        }
        for (int i = 0; i < 2; i++) {
            if ((p[i].revents & POLLOUT) && sent[i] < TOTAL) {
                size_t n = TOTAL - sent[i] < sizeof out ? TOTAL - sent[i] : sizeof out;
                for (size_t k = 0; k < n; k++)
                    out[k] = pattern(sent[i] + k + i);
                ssize_t w = write(fds[i], out, n);
                if (w > 0) {
                    hs[i] = sum(hs[i], out, w);
                    sent[i] += w;
                }
            }
            if (p[i].revents & POLLIN) {
                ssize_t rd = read(fds[i], in, sizeof in);
                if (rd > 0) {
                    hr[i] = sum(hr[i], in, rd);
                    got[i] += rd;
                }
            }
        }
    }
    printf("client->server: %s, server->client: %s\n", hs[0] == hr[1] ? "intact" : "CORRUPT",
           hs[1] == hr[0] ? "intact" : "CORRUPT");
    close(c);
    close(s);

    int ok = 0;
    for (int i = 0; i < 200; i++) {
        int cc = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(cc, (struct sockaddr *)&a, sizeof a) != 0)
            break;
        int ss = accept(l, NULL, NULL);
        char b[8];
        if (write(cc, "ping", 4) == 4 && read(ss, b, 8) == 4 && write(ss, "pong", 4) == 4 &&
            read(cc, b, 8) == 4)
            ok++;
        close(cc);
        close(ss);
    }
    printf("short connections: %d\n", ok);
    return 0;
}

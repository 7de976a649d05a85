// Socket errors as Linux gives them: refused connects (blocking and not),
// addresses in use, wrong families and types, calls in the wrong state.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"

static void res(const char *what, int r)
{
    printf("%s: %s\n", what, r < 0 ? errname(errno) : "ok");
}

static struct sockaddr_in lo(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    res("socket bad type", socket(AF_INET, 77, 0));
    res("socket bad flags", socket(AF_INET, SOCK_STREAM | 0x400, 0));
    res("socket stream/udp", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    res("bind bad fd", bind(99, NULL, 0));
    res("bind not a socket", bind(1, NULL, 0));

    /* A port nobody listens on: take one, then free it. */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(0);
    bind(t, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(t, (struct sockaddr *)&a, &al);
    close(t);

    int c = socket(AF_INET, SOCK_STREAM, 0);
    res("connect refused", connect(c, (struct sockaddr *)&a, sizeof a));
    int err = -1;
    socklen_t el = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR after: %d\n", err);
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    if (r < 0 && errno == EINPROGRESS) {
        struct pollfd p = {c, POLLOUT, 0};
        poll(&p, 1, 5000);
        printf("nonblocking refused: revents=%#x\n", p.revents);
        el = sizeof err;
        getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
        printf("SO_ERROR: %s\n", errname(err));
        el = sizeof err;
        getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
        printf("SO_ERROR again: %d\n", err);
    } else {
        printf("nonblocking refused at once: %s\n", r < 0 ? errname(errno) : "ok");
    }
    close(c);

    /* Fresh sockets. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    struct pollfd p = {c, POLLIN | POLLOUT, 0};
    printf("fresh poll: %d revents=%#x\n", poll(&p, 1, 0), p.revents);
    char b[8];
    res("recv unconnected", (int)recv(c, b, sizeof b, 0));
    res("send unconnected", (int)send(c, "x", 1, 0));
    struct sockaddr_in x;
    socklen_t xl = sizeof x;
    res("getpeername unconnected", getpeername(c, (struct sockaddr *)&x, &xl));
    res("accept unlistened", accept(c, NULL, NULL));
    res("shutdown unconnected", shutdown(c, SHUT_WR));
    res("shutdown bad how", shutdown(c, 7));
    struct sockaddr_in bad = lo(0);
    bad.sin_family = AF_INET6;
    res("bind wrong family", bind(c, (struct sockaddr *)&bad, sizeof bad));
    res("bind short", bind(c, (struct sockaddr *)&a, 4));
    struct sockaddr_in far = lo(0);
    far.sin_addr.s_addr = inet_addr("203.0.113.7");
    res("bind foreign address", bind(c, (struct sockaddr *)&far, sizeof far));

    /* Addresses in use. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    a = lo(0);
    res("bind", bind(l, (struct sockaddr *)&a, sizeof a));
    res("bind twice", bind(l, (struct sockaddr *)&a, sizeof a));
    al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    res("listen", listen(l, 4));
    int l2 = socket(AF_INET, SOCK_STREAM, 0);
    res("bind in use", bind(l2, (struct sockaddr *)&a, sizeof a));
    int one = 1;
    setsockopt(l2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rb = bind(l2, (struct sockaddr *)&a, sizeof a);
    printf("bind in use with SO_REUSEADDR: %s\n", rb < 0 ? errname(errno) : "ok");
    if (rb == 0)
        res("listen on the same port", listen(l2, 4));
    close(l2);
    res("connect a listener", connect(l, (struct sockaddr *)&a, sizeof a));
    res("listen on UDP", listen(socket(AF_INET, SOCK_DGRAM, 0), 1));

    res("setsockopt unknown", setsockopt(c, SOL_SOCKET, 12345, &one, sizeof one));
    res("setsockopt short", setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, 2));
    res("getsockopt unknown level", getsockopt(c, 12345, 1, &one, &el));
    int rcv = 0;
    el = sizeof rcv;
    int want = 65536;
    setsockopt(c, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
    getsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcv, &el);
    printf("SO_RCVBUF after setting 65536: %d\n", rcv);
    close(c);
    close(l);
    return 0;
}

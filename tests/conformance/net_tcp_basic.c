// TCP over loopback in one process: listen, blocking connect, accept, echo,
// half-close, addresses, FIONREAD, MSG_PEEK, close with unread data resets.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"

static void check(const char *what, int r)
{
    if (r < 0)
        printf("%s: %s\n", what, errname(errno));
    else
        printf("%s: ok\n", what);
}

static int listener(struct sockaddr_in *a)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    check("setsockopt SO_REUSEADDR", setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check("bind", bind(l, (struct sockaddr *)a, sizeof *a));
    socklen_t len = sizeof *a;
    check("getsockname", getsockname(l, (struct sockaddr *)a, &len));
    printf("bound port nonzero: %s, addr %s, len %u\n", a->sin_port ? "yes" : "no",
           inet_ntoa(a->sin_addr), (unsigned)len);
    check("listen", listen(l, 8));
    return l;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in a;
    int l = listener(&a);
    int v = -1;
    socklen_t vl = sizeof v;
    check("getsockopt SO_ACCEPTCONN", getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
    printf("acceptconn=%d type:", v);
    vl = sizeof v;
    getsockopt(l, SOL_SOCKET, SO_TYPE, &v, &vl);
    printf(" %d\n", v);

    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    check("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    check("accept4", s);
    printf("peer %s len %u\n", inet_ntoa(peer.sin_addr), (unsigned)pl);
    struct sockaddr_in cl;
    socklen_t cll = sizeof cl;
    getsockname(c, (struct sockaddr *)&cl, &cll);
    printf("accepted peer port matches client port: %s\n",
           cl.sin_port == peer.sin_port ? "yes" : "no");
    pl = sizeof peer;
    check("getpeername", getpeername(c, (struct sockaddr *)&peer, &pl));
    printf("client's peer is the listener port: %s\n", peer.sin_port == a.sin_port ? "yes" : "no");

    const char msg[] = "hello over loopback";
    printf("send: %zd\n", send(c, msg, sizeof msg, 0));
    struct pollfd p = {s, POLLIN, 0};
    printf("poll: %d revents=%#x\n", poll(&p, 1, 5000), p.revents);
    int n = -1;
    check("FIONREAD", ioctl(s, FIONREAD, &n));
    printf("FIONREAD=%d\n", n);
    char buf[256];
    printf("peek: %zd\n", recv(s, buf, 5, MSG_PEEK));
    ssize_t r = recv(s, buf, sizeof buf, 0);
    printf("recv: %zd '%s'\n", r, buf);
    printf("echo: %zd\n", write(s, buf, r));
    memset(buf, 0, sizeof buf);
    printf("read back: %zd '%s'\n", read(c, buf, sizeof buf), buf);

    /* Half-close: the server reads EOF but can still write. */
    check("shutdown SHUT_WR", shutdown(c, SHUT_WR));
    p = (struct pollfd){s, POLLIN | POLLRDHUP, 0};
    poll(&p, 1, 5000);
    printf("server sees: revents=%#x\n", p.revents);
    printf("server read: %zd\n", read(s, buf, sizeof buf));
    printf("server write after peer's half-close: %zd\n", write(s, "late", 4));
    memset(buf, 0, sizeof buf);
    printf("client reads: %zd '%s'\n", read(c, buf, sizeof buf), buf);
    errno = 0;
    printf("client write after SHUT_WR: %zd %s\n", write(c, "x", 1), errname(errno));
    check("close server", close(s));
    p = (struct pollfd){c, POLLIN | POLLRDHUP, 0};
    poll(&p, 1, 5000);
    printf("client after server close: revents=%#x read=%zd\n", p.revents,
           read(c, buf, sizeof buf));
    close(c);

    /* Closing with unread data resets the connection. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    check("connect 2", connect(c, (struct sockaddr *)&a, sizeof a));
    s = accept(l, NULL, NULL);
    check("accept 2", s);
    send(c, "unread", 6, 0);
    p = (struct pollfd){s, POLLIN, 0};
    poll(&p, 1, 5000);
    close(s);
    p = (struct pollfd){c, POLLIN, 0};
    poll(&p, 1, 5000);
    printf("after reset: revents=%#x\n", p.revents);
    errno = 0;
    r = recv(c, buf, sizeof buf, 0);
    printf("recv after reset: %zd %s\n", r, r < 0 ? errname(errno) : "");
    r = recv(c, buf, sizeof buf, 0);
    printf("recv again: %zd\n", r);
    errno = 0;
    r = send(c, "x", 1, 0);
    printf("send after reset: %zd %s\n", r, r < 0 ? errname(errno) : "");
    close(c);
    close(l);
    return 0;
}

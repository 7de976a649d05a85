// UDP over loopback: sendto/recvfrom with addresses, connected sockets,
// MSG_PEEK and MSG_TRUNC, datagram boundaries, errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conf.h"

static void res(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, errname(errno));
    else
        printf("%s: %ld\n", what, r);
}

int main(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET}, sb = sa, from;
    sa.sin_addr.s_addr = sb.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    res("bind a", bind(a, (struct sockaddr *)&sa, sizeof sa));
    res("bind b", bind(b, (struct sockaddr *)&sb, sizeof sb));
    socklen_t l = sizeof sa;
    getsockname(a, (struct sockaddr *)&sa, &l);
    l = sizeof sb;
    getsockname(b, (struct sockaddr *)&sb, &l);
    char buf[2048];
    res("recv empty nonblocking", recv(b, buf, sizeof buf, 0));
    res("send unconnected", send(a, "x", 1, 0));
    res("sendto 5", sendto(a, "hello", 5, 0, (struct sockaddr *)&sb, sizeof sb));
    res("sendto 0", sendto(a, "", 0, 0, (struct sockaddr *)&sb, sizeof sb));
    res("sendto 1000", sendto(a, memset(buf, 'z', 1000), 1000, 0, (struct sockaddr *)&sb, sizeof sb));
    struct pollfd p = {b, POLLIN, 0};
    res("poll", poll(&p, 1, 5000));
    int n = -1;
    ioctl(b, FIONREAD, &n);
    printf("FIONREAD (next datagram): %d\n", n);
    res("peek", recv(b, buf, 3, MSG_PEEK));
    l = sizeof from;
    memset(&from, 0, sizeof from);
    long r = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &l);
    printf("recvfrom: %ld '%.*s' from the sender: %s len %u\n", r, (int)r, buf,
           from.sin_port == sa.sin_port && from.sin_addr.s_addr == sa.sin_addr.s_addr ? "yes" : "no",
           (unsigned)l);
    res("empty datagram", recv(b, buf, sizeof buf, 0));
    res("truncated with MSG_TRUNC", recv(b, buf, 10, MSG_TRUNC));
    res("nothing left", recv(b, buf, sizeof buf, 0));

    /* recvmsg reports truncation in msg_flags. */
    sendto(a, "0123456789", 10, 0, (struct sockaddr *)&sb, sizeof sb);
    poll(&p, 1, 5000);
    char x[4], y[3];
    struct iovec iov[2] = {{x, sizeof x}, {y, sizeof y}};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = iov,
                       .msg_iovlen = 2};
    r = recvmsg(b, &m, 0);
    printf("recvmsg: %ld '%.4s%.3s' truncated: %s namelen %u\n", r, x, y,
           m.msg_flags & MSG_TRUNC ? "yes" : "no", (unsigned)m.msg_namelen);

    /* Connected: send() works, replies come back through recv(). */
    res("connect b->a", connect(b, (struct sockaddr *)&sa, sizeof sa));
    res("send connected", send(b, "ping", 4, 0));
    l = sizeof from;
    r = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &l);
    printf("a got %ld '%.*s'\n", r, (int)r, buf);
    res("reply", sendto(a, "pong", 4, 0, (struct sockaddr *)&from, l));
    poll(&p, 1, 5000);
    r = recv(b, buf, sizeof buf, 0);
    printf("b got %ld '%.*s'\n", r, (int)r, buf);
    struct sockaddr_in peer;
    l = sizeof peer;
    res("getpeername", getpeername(b, (struct sockaddr *)&peer, &l));
    printf("peer is a: %s\n", peer.sin_port == sa.sin_port ? "yes" : "no");
    struct sockaddr_in unspec = {.sin_family = AF_UNSPEC};
    res("disconnect", connect(b, (struct sockaddr *)&unspec, sizeof unspec));
    l = sizeof peer;
    res("getpeername after", getpeername(b, (struct sockaddr *)&peer, &l));
    res("too big", sendto(a, buf, 70000, 0, (struct sockaddr *)&sb, sizeof sb));
    struct sockaddr_in bcast = sb;
    bcast.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    res("broadcast without SO_BROADCAST", sendto(a, "b", 1, 0, (struct sockaddr *)&bcast, sizeof bcast));
    res("shutdown unconnected udp", shutdown(a, SHUT_RD));
    close(a);
    close(b);
    return 0;
}

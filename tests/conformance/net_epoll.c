// epoll: level- and edge-triggered readiness on sockets, pipes and eventfd,
// EPOLLONESHOT, EPOLLRDHUP, closed descriptors leaving the set, errors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"

static int ep;

static void show(const char *what, int timeout)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, timeout);
    printf("%s: %d", what, n);
    if (n < 0)
        printf(" %s", errname(errno));
    /* Order within one wait is not specified: print sorted by tag. */
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            if (ev[k].data.u64 < ev[i].data.u64) {
                struct epoll_event t = ev[i];
                ev[i] = ev[k];
                ev[k] = t;
            }
    for (int i = 0; i < n; i++)
        printf(" [%llu %#x]", (unsigned long long)ev[i].data.u64, ev[i].events);
    printf("\n");
}

static void add(int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event e = {.events = events, .data.u64 = tag};
    int r = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    printf("add %llu: %s\n", (unsigned long long)tag, r < 0 ? errname(errno) : "ok");
}

int main(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1: %s\n", ep >= 0 ? "ok" : errname(errno));
    printf("epoll_create(0): %s\n", epoll_create(0) < 0 ? errname(errno) : "ok");
    printf("epoll_create1(bad): %s\n", epoll_create1(1) < 0 ? errname(errno) : "ok");

    int pfd[2];
    pipe2(pfd, O_NONBLOCK);
    add(pfd[0], EPOLLIN, 1);
    add(pfd[0], EPOLLIN, 1);
    show("empty pipe", 0);
    write(pfd[1], "ab", 2);
    show("LT after write", 0);
    show("LT again", 0);
    char c;
    read(pfd[0], &c, 1);
    read(pfd[0], &c, 1);
    show("drained", 0);
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
    printf("mod ET: %s\n", epoll_ctl(ep, EPOLL_CTL_MOD, pfd[0], &e) < 0 ? errname(errno) : "ok");
    write(pfd[1], "x", 1);
    show("ET after write", 0);
    show("ET again", 0);
    write(pfd[1], "y", 1);
    show("ET after more", 0);

    int efd = eventfd(0, EFD_NONBLOCK);
    add(efd, EPOLLIN | EPOLLONESHOT, 2);
    uint64_t one = 1;
    write(efd, &one, 8);
    show("oneshot", 0);
    show("oneshot disarmed", 0);
    e = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 2};
    epoll_ctl(ep, EPOLL_CTL_MOD, efd, &e);
    show("re-armed", 0);
    uint64_t v = 0;
    ssize_t rn = read(efd, &v, 8);
    printf("eventfd read: %zd value %llu\n", rn, (unsigned long long)v);
    printf("eventfd read empty: %s\n", read(efd, &v, 8) < 0 ? errname(errno) : "data");
    printf("del: %s\n", epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) < 0 ? errname(errno) : "ok");
    printf("del again: %s\n", epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) < 0 ? errname(errno) : "ok");
    int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    read(sem, &v, 8);
    printf("semaphore read: %llu\n", (unsigned long long)v);

    /* Sockets: a listener, a connection, half-close. */
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    listen(l, 4);
    add(l, EPOLLIN, 3);
    int cl = socket(AF_INET, SOCK_STREAM, 0);
    connect(cl, (struct sockaddr *)&a, sizeof a);
    show("listener after connect", 1000);
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    show("listener after accept", 0);
    add(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 4);
    show("new connection (writable)", 0);
    show("nothing new", 0);
    send(cl, "data", 4, 0);
    show("data arrived", 1000);
    send(cl, "more", 4, 0);
    show("more data (ET fires again)", 1000);
    shutdown(cl, SHUT_WR);
    show("peer half-closed", 1000);
    char buf[64];
    printf("read: %zd\n", read(s, buf, sizeof buf));
    printf("read at EOF: %zd\n", read(s, buf, sizeof buf));

    /* A closed descriptor leaves the set. */
    close(s);
    show("after close", 0);
    printf("ctl on a non-epoll fd: %s\n",
           epoll_ctl(pfd[0], EPOLL_CTL_ADD, pfd[1], &e) < 0 ? errname(errno) : "ok");
    printf("ctl epoll on itself: %s\n",
           epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e) < 0 ? errname(errno) : "ok");
    printf("ctl bad fd: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, 99, &e) < 0 ? errname(errno) : "ok");
    printf("ctl bad op: %s\n", epoll_ctl(ep, 9, pfd[1], &e) < 0 ? errname(errno) : "ok");
    int f = open("/bin/net_epoll", O_RDONLY);
    printf("ctl regular file: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, f, &e) < 0 ? errname(errno) : "ok");
    struct epoll_event evs[1];
    printf("wait maxevents 0: %s\n", epoll_wait(ep, evs, 0, 0) < 0 ? errname(errno) : "ok");
    printf("wait on a pipe: %s\n", epoll_wait(pfd[0], evs, 1, 0) < 0 ? errname(errno) : "ok");
    close(cl);
    close(l);
    return 0;
}

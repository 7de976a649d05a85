/*
 * socket.c — BSD sockets (AF_INET, TCP and UDP) with Linux's semantics, on lwIP's
 * raw API.
 *
 * lwIP calls us back when data, connections, acknowledgements or errors arrive;
 * the callbacks only queue and record. The system calls look at that state, and
 * when they must wait, the vCPU sleeps in kwait() until the tap has frames or a
 * timer is due; the network poller feeds lwIP and the call looks again.
 *
 * State follows Linux's model so that poll masks and errno match it: a socket is
 * CLOSE (fresh, failed or finished), LISTEN, SYN_SENT or ESTABLISHED, with a
 * shutdown mask (RCV: the peer's FIN arrived or SHUT_RD; SEND: our FIN) and a
 * pending error (SO_ERROR) that the next call consumes. Received TCP data stays in
 * lwIP's pbufs until read; the receive window opens as the application reads, and
 * closing with unread data resets the connection, as Linux does.
 */
#include "net.h"

#include "fs/vfs.h"
#include "lwip/ip4.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "lwip/priv/tcp_priv.h"
#include "sys/proc.h"
#include "sys/time.h"

#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_TYPE_MASK 0xf
#define SOCK_NONBLOCK O_NONBLOCK
#define SOCK_CLOEXEC O_CLOEXEC
#define IPPROTO_IP 0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define SOL_SOCKET 1

#define SO_DEBUG 1
#define SO_REUSEADDR 2
#define SO_TYPE 3
#define SO_ERROR 4
#define SO_DONTROUTE 5
#define SO_BROADCAST 6
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_KEEPALIVE 9
#define SO_OOBINLINE 10
#define SO_LINGER 13
#define SO_REUSEPORT 15
#define SO_RCVLOWAT 18
#define SO_SNDLOWAT 19
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define SO_ACCEPTCONN 30
#define SO_PROTOCOL 38
#define SO_DOMAIN 39
#define TCP_NODELAY 1
#define TCP_MAXSEG 2
#define TCP_CORK 3
#define TCP_KEEPIDLE 4
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6
#define TCP_DEFER_ACCEPT 9
#define TCP_QUICKACK 12
#define TCP_USER_TIMEOUT 18
#define IP_TOS 1
#define IP_TTL 2

#define MSG_OOB 0x1
#define MSG_PEEK 0x2
#define MSG_DONTROUTE 0x4
#define MSG_CTRUNC 0x8
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_EOR 0x80
#define MSG_WAITALL 0x100
#define MSG_NOSIGNAL 0x4000
#define MSG_MORE 0x8000
#define MSG_CMSG_CLOEXEC 0x40000000

#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2
#define SHUTDOWN_MASK 3

#define FIONREAD 0x541b
#define SIOCOUTQ 0x5411
#define SIOCINQ FIONREAD

#define SOMAXCONN 4096
#define UDP_MAX_PAYLOAD 65507

struct ksockaddr_in {
    uint16_t family;
    uint16_t port; /* network order */
    uint32_t addr; /* network order */
    uint8_t zero[8];
};

struct kmsghdr {
    void *name;
    uint32_t namelen;
    struct kiovec *iov;
    uint64_t iovlen;
    void *control;
    uint64_t controllen;
    int32_t flags;
};

struct kmmsghdr {
    struct kmsghdr hdr;
    uint32_t len;
};

struct ktimeval {
    int64_t tv_sec, tv_usec;
};

enum sstate { ST_CLOSE, ST_LISTEN, ST_SYN_SENT, ST_ESTABLISHED };

/* A received TCP pbuf chain (lwIP chains hold at most 64 KiB). */
struct rxseg {
    struct rxseg *next;
    struct pbuf *p;
    uint32_t off;
};

/* A received UDP datagram. */
struct dgram {
    struct dgram *next;
    struct pbuf *p;
    uint32_t addr;
    uint16_t port;
};

struct sock {
    int type;
    enum sstate state;
    int shut;          /* RCV_SHUTDOWN | SEND_SHUTDOWN */
    int err;           /* pending error (positive errno), SO_ERROR */
    bool was_connected;
    bool bound;
    struct tcp_pcb *tcp;
    struct udp_pcb *udp;
    /* received data */
    struct rxseg *rx_head, *rx_tail;
    uint64_t rx_bytes;
    struct dgram *dq_head, *dq_tail;
    uint64_t dq_bytes;
    /* listening: connections not yet accepted */
    struct sock **acq;
    int acq_head, acq_n, acq_cap;
    struct sock *listener; /* while in a listener's queue */
    /* addresses, kept when lwIP's pcb is gone */
    uint32_t local_addr, peer_addr;
    uint16_t local_port, peer_port;
    /* options */
    bool reuseaddr, reuseport, keepalive, nodelay, broadcast, linger_on;
    int linger_secs;
    int rcvbuf, sndbuf;
    uint64_t rcvtimeo_ns, sndtimeo_ns;
    uint32_t keep_idle, keep_intvl, keep_cnt; /* seconds, seconds, probes */
    uint64_t gen;
};

static const struct file_ops sock_ops;

static inline void bump(struct sock *s)
{
    s->gen++;
}

static int err_to_errno(err_t e)
{
    switch (e) {
    case ERR_OK: return 0;
    case ERR_MEM: return ENOMEM;
    case ERR_BUF: return ENOBUFS;
    case ERR_TIMEOUT: return ETIMEDOUT;
    case ERR_RTE: return ENETUNREACH;
    case ERR_INPROGRESS: return EINPROGRESS;
    case ERR_VAL: return EINVAL;
    case ERR_WOULDBLOCK: return EWOULDBLOCK;
    case ERR_USE: return EADDRINUSE;
    case ERR_ALREADY: return EALREADY;
    case ERR_ISCONN: return EISCONN;
    case ERR_CONN: return ENOTCONN;
    case ERR_IF: return ENODEV;
    case ERR_ABRT: return ECONNABORTED;
    case ERR_RST: return ECONNRESET;
    case ERR_CLSD: return ENOTCONN;
    case ERR_ARG: return EINVAL;
    default: return EIO;
    }
}

static struct sock *sock_alloc(int type)
{
    struct sock *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->type = type;
    s->state = ST_CLOSE;
    s->rcvbuf = type == SOCK_STREAM ? 131072 : 212992;
    s->sndbuf = type == SOCK_STREAM ? 16384 : 212992;
    s->keep_idle = 7200;
    s->keep_intvl = 75;
    s->keep_cnt = 9;
    return s;
}

static void free_rx(struct sock *s)
{
    for (struct rxseg *r = s->rx_head, *n; r; r = n) {
        n = r->next;
        pbuf_free(r->p);
        free(r);
    }
    s->rx_head = s->rx_tail = NULL;
    s->rx_bytes = 0;
    for (struct dgram *d = s->dq_head, *n; d; d = n) {
        n = d->next;
        pbuf_free(d->p);
        free(d);
    }
    s->dq_head = s->dq_tail = NULL;
    s->dq_bytes = 0;
}

/* Remembers the pcb's addresses for getsockname/getpeername after it is gone. */
static void note_addrs(struct sock *s)
{
    if (s->tcp) {
        s->local_addr = ip4_addr_get_u32(ip_2_ip4(&s->tcp->local_ip));
        s->local_port = s->tcp->local_port;
        if (s->state == ST_ESTABLISHED || s->state == ST_SYN_SENT) {
            s->peer_addr = ip4_addr_get_u32(ip_2_ip4(&s->tcp->remote_ip));
            s->peer_port = s->tcp->remote_port;
        }
    } else if (s->udp) {
        s->local_addr = ip4_addr_get_u32(ip_2_ip4(&s->udp->local_ip));
        s->local_port = s->udp->local_port;
        /* Connected and bound to any address: Linux reports the source
           address of the route to the peer (how a program learns its own
           address: connect a UDP socket, then getsockname). */
        if (s->local_addr == 0 && s->state == ST_ESTABLISHED) {
            const ip4_addr_t *peer = ip_2_ip4(&s->udp->remote_ip);
            struct netif *n = ip4_route(peer);
            if (ip4_addr_isloopback(peer))
                s->local_addr = PP_HTONL(0x7f000001ul);
            else if (n)
                s->local_addr = ip4_addr_get_u32(netif_ip4_addr(n));
        }
    }
}

/* ---- lwIP callbacks -------------------------------------------------------- */

static err_t tcp_recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)pcb;
    (void)err;
    struct sock *s = arg;
    if (!p) { /* the peer's FIN */
        s->shut |= RCV_SHUTDOWN;
        bump(s);
        return ERR_OK;
    }
    struct rxseg *r = malloc(sizeof *r);
    if (!r)
        return ERR_MEM; /* lwIP keeps the data and offers it again later */
    r->next = NULL;
    r->p = p;
    r->off = 0;
    if (s->rx_tail)
        s->rx_tail->next = r;
    else
        s->rx_head = r;
    s->rx_tail = r;
    s->rx_bytes += p->tot_len;
    bump(s);
    return ERR_OK;
}

static err_t tcp_sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    (void)len;
    bump(arg);
    return ERR_OK;
}

static void tcp_err_cb(void *arg, err_t err)
{
    struct sock *s = arg;
    s->tcp = NULL; /* lwIP has freed it */
    if (err == ERR_CLSD) {
        s->shut = SHUTDOWN_MASK;
    } else {
        int e = err_to_errno(err);
        if (s->state == ST_SYN_SENT)
            e = err == ERR_RST ? ECONNREFUSED : ETIMEDOUT;
        else if (err == ERR_ABRT)
            e = ETIMEDOUT; /* retransmissions or keepalive probes gave up */
        s->err = e;
        s->shut = SHUTDOWN_MASK;
    }
    s->state = ST_CLOSE;
    bump(s);
    if (s->listener)
        bump(s->listener);
}

static void tcp_attach(struct sock *s, struct tcp_pcb *pcb)
{
    s->tcp = pcb;
    tcp_arg(pcb, s);
    tcp_recv(pcb, tcp_recv_cb);
    tcp_sent(pcb, tcp_sent_cb);
    tcp_err(pcb, tcp_err_cb);
}

/* Stops lwIP from calling back into s (before s goes away). */
static void tcp_detach(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    if (pcb->state == LISTEN) {
        tcp_accept(pcb, NULL);
        return;
    }
    tcp_recv(pcb, NULL); /* lwIP's default: drop data, close on FIN */
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
}

static void tcp_reset(struct sock *s)
{
    if (s->tcp) {
        tcp_detach(s->tcp);
        tcp_abort(s->tcp);
        s->tcp = NULL;
    }
}

static void apply_tcp_options(struct sock *s)
{
    struct tcp_pcb *p = s->tcp;
    if (!p)
        return;
    if (s->reuseaddr || s->reuseport)
        ip_set_option(p, SOF_REUSEADDR);
    else
        ip_reset_option(p, SOF_REUSEADDR);
    if (s->keepalive)
        ip_set_option(p, SOF_KEEPALIVE);
    else
        ip_reset_option(p, SOF_KEEPALIVE);
    p->keep_idle = s->keep_idle * 1000;
    p->keep_intvl = s->keep_intvl * 1000;
    p->keep_cnt = s->keep_cnt;
    if (s->nodelay)
        tcp_nagle_disable(p);
    else
        tcp_nagle_enable(p);
}

static void sock_destroy(struct sock *s);

static err_t tcp_accept_cb(void *arg, struct tcp_pcb *newpcb, err_t err)
{
    struct sock *l = arg;
    if (err != ERR_OK || !newpcb)
        return ERR_VAL;
    if (l->acq_n >= l->acq_cap)
        return ERR_MEM; /* lwIP aborts it; the listen backlog normally prevents this */
    struct sock *c = sock_alloc(SOCK_STREAM);
    if (!c)
        return ERR_MEM;
    c->state = ST_ESTABLISHED;
    c->was_connected = true;
    c->bound = true;
    c->reuseaddr = l->reuseaddr;
    c->keepalive = l->keepalive;
    c->nodelay = l->nodelay;
    c->rcvbuf = l->rcvbuf;
    c->sndbuf = l->sndbuf;
    c->keep_idle = l->keep_idle;
    c->keep_intvl = l->keep_intvl;
    c->keep_cnt = l->keep_cnt;
    tcp_attach(c, newpcb);
    apply_tcp_options(c);
    note_addrs(c);
    /* Counts against the backlog until accept() takes it, as Linux's accept queue. */
    tcp_backlog_delayed(newpcb);
    c->listener = l;
    l->acq[(l->acq_head + l->acq_n) % l->acq_cap] = c;
    l->acq_n++;
    bump(l);
    return ERR_OK;
}

static err_t tcp_connected_cb(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    struct sock *s = arg;
    if (err != ERR_OK) {
        s->err = err_to_errno(err);
        s->state = ST_CLOSE;
    } else {
        s->state = ST_ESTABLISHED;
        s->was_connected = true;
        note_addrs(s);
    }
    bump(s);
    return ERR_OK;
}

static void udp_recv_cb(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                        u16_t port)
{
    (void)pcb;
    struct sock *s = arg;
    if (s->shut & RCV_SHUTDOWN || s->dq_bytes + p->tot_len > (uint64_t)s->rcvbuf) {
        pbuf_free(p); /* a full receive buffer drops datagrams, as Linux does */
        return;
    }
    struct dgram *d = malloc(sizeof *d);
    if (!d) {
        pbuf_free(p);
        return;
    }
    d->next = NULL;
    d->p = p;
    d->addr = ip4_addr_get_u32(ip_2_ip4(addr));
    d->port = port;
    if (s->dq_tail)
        s->dq_tail->next = d;
    else
        s->dq_head = d;
    s->dq_tail = d;
    s->dq_bytes += p->tot_len;
    bump(s);
}

/* ---- helpers ---------------------------------------------------------------- */

static struct sock *sock_of(int fd, int *err)
{
    struct file *f = fd_get(fd);
    if (!f) {
        *err = -EBADF;
        return NULL;
    }
    if (f->ops != &sock_ops) {
        *err = -ENOTSOCK;
        return NULL;
    }
    return f->priv;
}

/* Reads a sockaddr_in; Linux checks the length before the family. AF_UNSPEC is
 * passed through when unspec_ok (connect: dissolve; bind: INADDR_ANY only). */
static int get_addr_in(const void *uaddr, uint32_t len, struct ksockaddr_in *out, bool unspec_ok)
{
    if (len < sizeof(uint16_t) || len > 128)
        return -EINVAL;
    if (user_check(uaddr, len, false) < 0)
        return -EFAULT;
    memset(out, 0, sizeof *out);
    memcpy(out, uaddr, MIN(len, sizeof *out));
    if (out->family == AF_UNSPEC && unspec_ok)
        return 0;
    if (len < sizeof *out)
        return -EINVAL;
    if (out->family != AF_INET)
        return -EAFNOSUPPORT;
    return 0;
}

static int put_addr_in(void *uaddr, uint32_t *ulen, uint32_t addr, uint16_t port)
{
    if (!uaddr || !ulen)
        return 0;
    if (user_check(ulen, sizeof *ulen, true) < 0)
        return -EFAULT;
    int32_t len = (int32_t)*ulen;
    if (len < 0)
        return -EINVAL;
    struct ksockaddr_in sa = {.family = AF_INET, .port = lwip_htons(port), .addr = addr};
    uint32_t n = MIN((uint32_t)len, (uint32_t)sizeof sa);
    if (n && user_check(uaddr, n, true) < 0)
        return -EFAULT;
    memcpy(uaddr, &sa, n);
    *ulen = sizeof sa;
    return 0;
}

/* An address this machine has: any, loopback, or the interface's. */
static bool addr_is_local(uint32_t a)
{
    if (a == 0 || (lwip_ntohl(a) >> 24) == 127)
        return true;
    struct netif *n;
    NETIF_FOREACH(n)
    {
        if (ip4_addr_get_u32(netif_ip4_addr(n)) == a)
            return true;
    }
    return false;
}

/* Sleeps until something may have changed for the socket; -EINTR, -EAGAIN (time
 * limit) or 0 to look again. */
static int sock_wait(uint64_t deadline)
{
    if (now_ns() >= deadline)
        return -EAGAIN;
    kwait(deadline, UH_READY_NET);
    if (signal_pending())
        return -EINTR;
    return 0;
}

static uint64_t timeo_deadline(uint64_t ns)
{
    return ns ? deadline_after(ns) : DEADLINE_NEVER;
}

static bool nonblocking(struct file *f, int flags)
{
    return (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

static int take_err(struct sock *s)
{
    int e = s->err;
    s->err = 0;
    return e;
}

/* ---- creation ------------------------------------------------------------------ */

static int install(struct sock *s, int flags)
{
    struct file *f = file_new(&sock_ops, O_RDWR | (flags & O_NONBLOCK), s);
    if (!f) {
        sock_destroy(s);
        return -ENOMEM;
    }
    int fd = fd_install(f, 0, flags & O_CLOEXEC);
    if (fd < 0)
        file_put(f);
    return fd;
}

int64_t sys_socket(int domain, int type, int protocol)
{
    if (domain != AF_INET)
        return -EAFNOSUPPORT;
    if (type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    int kind = type & SOCK_TYPE_MASK;
    if (kind != SOCK_STREAM && kind != SOCK_DGRAM)
        return -ESOCKTNOSUPPORT;
    if (protocol != 0 && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return -EPROTONOSUPPORT;
    net_start();
    struct sock *s = sock_alloc(kind);
    if (!s)
        return -ENOMEM;
    if (kind == SOCK_STREAM) {
        s->tcp = tcp_new_ip_type(IPADDR_TYPE_V4);
        if (s->tcp)
            tcp_attach(s, s->tcp);
    } else {
        s->udp = udp_new_ip_type(IPADDR_TYPE_V4);
        if (s->udp)
            udp_recv(s->udp, udp_recv_cb, s);
    }
    if (!s->tcp && !s->udp) {
        free(s);
        return -ENOBUFS;
    }
    return install(s, type);
}

int64_t sys_socketpair(int domain, int type, int protocol, int *sv)
{
    (void)type;
    (void)protocol;
    (void)sv;
    return domain == AF_INET ? -EOPNOTSUPP : -EAFNOSUPPORT;
}

/* ---- bind, listen, accept, connect --------------------------------------------- */

int64_t sys_bind(int fd, const void *uaddr, uint32_t len)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    struct ksockaddr_in sa;
    if ((r = get_addr_in(uaddr, len, &sa, false)) < 0) {
        /* Linux's compatibility rule: AF_UNSPEC with INADDR_ANY binds like AF_INET. */
        if (r != -EAFNOSUPPORT || sa.family != AF_UNSPEC || sa.addr != 0)
            return r;
    }
    if (s->bound)
        return -EINVAL;
    if (!addr_is_local(sa.addr) &&
        !(s->type == SOCK_DGRAM && (sa.addr == 0xffffffffu)))
        return -EADDRNOTAVAIL;
    ip_addr_t a = IPADDR4_INIT(sa.addr);
    err_t e;
    if (s->type == SOCK_STREAM) {
        if (!s->tcp)
            return -EINVAL;
        apply_tcp_options(s);
        e = tcp_bind(s->tcp, &a, lwip_ntohs(sa.port));
    } else {
        if (s->reuseaddr || s->reuseport)
            ip_set_option(s->udp, SOF_REUSEADDR);
        e = udp_bind(s->udp, &a, lwip_ntohs(sa.port));
    }
    if (e != ERR_OK)
        return -err_to_errno(e);
    s->bound = true;
    note_addrs(s);
    return 0;
}

int64_t sys_listen(int fd, int backlog)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    if (s->type != SOCK_STREAM)
        return -EOPNOTSUPP;
    if (backlog < 0 || backlog > SOMAXCONN)
        backlog = SOMAXCONN;
    if (s->state == ST_LISTEN) {
        /* Linux lets listen() change the backlog of a listening socket. */
        return 0;
    }
    if (s->state != ST_CLOSE || !s->tcp || s->was_connected)
        return -EINVAL;
    apply_tcp_options(s);
    if (!s->bound) {
        err_t e = tcp_bind(s->tcp, IP4_ADDR_ANY, 0);
        if (e != ERR_OK)
            return -err_to_errno(e);
        s->bound = true;
    }
    /* Linux's accept queue holds backlog + 1 connections; lwIP counts in a u8. */
    int cap = MIN(backlog + 1, 255);
    struct sock **q = calloc(cap, sizeof *q);
    if (!q)
        return -ENOMEM;
    err_t e;
    struct tcp_pcb *l = tcp_listen_with_backlog_and_err(s->tcp, (u8_t)cap, &e);
    if (!l) {
        free(q);
        return -err_to_errno(e);
    }
    s->tcp = l; /* the old pcb is freed by lwIP */
    tcp_arg(l, s);
    tcp_accept(l, tcp_accept_cb);
    s->acq = q;
    s->acq_cap = cap;
    s->state = ST_LISTEN;
    note_addrs(s);
    return 0;
}

int64_t sys_accept4(int fd, void *uaddr, uint32_t *ulen, int flags)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    if (s->type != SOCK_STREAM)
        return -EOPNOTSUPP;
    if (s->state != ST_LISTEN)
        return -EINVAL;
    struct file *f = fd_get(fd);
    uint64_t deadline = timeo_deadline(s->rcvtimeo_ns);
    while (s->acq_n == 0) {
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        if ((r = sock_wait(deadline)) < 0)
            return r;
    }
    struct sock *c = s->acq[s->acq_head];
    if (uaddr || ulen) {
        if (!ulen || user_check(ulen, sizeof *ulen, true) < 0)
            return -EFAULT;
        if ((int32_t)*ulen < 0)
            return -EINVAL;
    }
    s->acq_head = (s->acq_head + 1) % s->acq_cap;
    s->acq_n--;
    c->listener = NULL;
    if (c->tcp)
        tcp_backlog_accepted(c->tcp);
    r = put_addr_in(uaddr, ulen, c->peer_addr, c->peer_port);
    int nfd = install(c, flags);
    if (nfd >= 0 && r < 0) {
        fd_close(nfd);
        return r;
    }
    return nfd;
}

int64_t sys_accept(int fd, void *uaddr, uint32_t *ulen)
{
    return sys_accept4(fd, uaddr, ulen, 0);
}

int64_t sys_connect(int fd, const void *uaddr, uint32_t len)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    struct ksockaddr_in sa;
    if ((r = get_addr_in(uaddr, len, &sa, true)) < 0)
        return r;
    if (s->type == SOCK_DGRAM) {
        if (sa.family == AF_UNSPEC) {
            udp_disconnect(s->udp);
            s->peer_addr = 0;
            s->peer_port = 0;
            s->state = ST_CLOSE;
            return 0;
        }
        ip_addr_t a = IPADDR4_INIT(sa.addr);
        err_t e = udp_connect(s->udp, &a, lwip_ntohs(sa.port));
        if (e != ERR_OK)
            return -err_to_errno(e);
        s->bound = true;
        s->state = ST_ESTABLISHED;
        s->peer_addr = sa.addr;
        s->peer_port = lwip_ntohs(sa.port);
        note_addrs(s);
        return 0;
    }
    struct file *f = fd_get(fd);
    switch (s->state) {
    case ST_LISTEN:
    case ST_ESTABLISHED:
        return -EISCONN;
    case ST_SYN_SENT:
        return -EALREADY;
    case ST_CLOSE:
        break;
    }
    if (sa.family == AF_UNSPEC)
        return 0;
    if (!s->tcp) {
        /* A connect that failed before: Linux allows trying again on the socket. */
        if (s->was_connected)
            return -EISCONN;
        s->tcp = tcp_new_ip_type(IPADDR_TYPE_V4);
        if (!s->tcp)
            return -ENOBUFS;
        tcp_attach(s, s->tcp);
        s->shut = 0;
        s->bound = false;
    }
    s->err = 0;
    apply_tcp_options(s);
    ip_addr_t a = IPADDR4_INIT(sa.addr);
    s->state = ST_SYN_SENT;
    s->peer_addr = sa.addr;
    s->peer_port = lwip_ntohs(sa.port);
    err_t e = tcp_connect(s->tcp, &a, lwip_ntohs(sa.port), tcp_connected_cb);
    if (e != ERR_OK) {
        s->state = ST_CLOSE;
        return -err_to_errno(e);
    }
    s->bound = true;
    note_addrs(s);
    net_flush();
    if (f->flags & O_NONBLOCK)
        return -EINPROGRESS; /* as Linux, even when the peer is on this machine */
    uint64_t deadline = timeo_deadline(s->sndtimeo_ns);
    while (s->state == ST_SYN_SENT) {
        if ((r = sock_wait(deadline)) < 0)
            return r == -EAGAIN ? -EINPROGRESS : r;
    }
    if (s->state != ST_ESTABLISHED)
        return -(take_err(s) ?: ECONNREFUSED);
    return 0;
}

/* ---- receiving ------------------------------------------------------------------- */

/* Copies up to len bytes of queued TCP data into the iovecs; consumes unless peek. */
static uint64_t tcp_copy_out(struct sock *s, const struct kiovec *iov, int cnt, uint64_t len,
                             bool peek)
{
    uint64_t done = 0;
    int vi = 0;
    uint64_t voff = 0;
    struct rxseg *r = s->rx_head;
    uint32_t roff = r ? r->off : 0;
    while (r && done < len && vi < cnt) {
        if (voff == iov[vi].len) {
            vi++;
            voff = 0;
            continue;
        }
        uint32_t avail = r->p->tot_len - roff;
        uint64_t n = MIN(MIN((uint64_t)avail, iov[vi].len - voff), len - done);
        pbuf_copy_partial(r->p, (uint8_t *)iov[vi].base + voff, (u16_t)n, (u16_t)roff);
        done += n;
        voff += n;
        roff += n;
        if (roff == r->p->tot_len) {
            struct rxseg *next = r->next;
            if (!peek) {
                s->rx_head = next;
                if (!next)
                    s->rx_tail = NULL;
                pbuf_free(r->p);
                free(r);
            }
            r = next;
            roff = r ? r->off : 0;
        } else if (!peek) {
            r->off = roff;
        }
    }
    if (!peek) {
        s->rx_bytes -= done;
        /* Open the window by what the application took. */
        for (uint64_t left = done; s->tcp && left;) {
            u16_t chunk = (u16_t)MIN(left, 0xffffu);
            tcp_recved(s->tcp, chunk);
            left -= chunk;
        }
    }
    return done;
}

static int iov_check(const struct kiovec *iov, int cnt, bool write)
{
    for (int i = 0; i < cnt; i++)
        if (iov[i].len && user_check(iov[i].base, iov[i].len, write) < 0)
            return -EFAULT;
    return 0;
}

static uint64_t iov_total(const struct kiovec *iov, int cnt)
{
    uint64_t t = 0;
    for (int i = 0; i < cnt; i++)
        t += iov[i].len;
    return t;
}

static ssize_t tcp_recv_iov(struct file *f, struct sock *s, const struct kiovec *iov, int cnt,
                            int flags)
{
    uint64_t want = iov_total(iov, cnt);
    if (s->state == ST_LISTEN)
        return -ENOTCONN;
    uint64_t deadline = timeo_deadline(s->rcvtimeo_ns);
    uint64_t done = 0;
    for (;;) {
        if (s->rx_bytes) {
            done += tcp_copy_out(s, iov, cnt, want - done, flags & MSG_PEEK);
            /* MSG_WAITALL keeps going until everything arrived (or EOF/error). */
            if (!(flags & MSG_WAITALL) || done == want || (flags & MSG_PEEK))
                break;
            /* The iovecs are partly filled: continue past what is done. */
            struct kiovec *rest = malloc(sizeof *rest * cnt);
            if (!rest)
                break;
            int n = 0;
            uint64_t skip = done;
            for (int i = 0; i < cnt; i++) {
                if (skip >= iov[i].len) {
                    skip -= iov[i].len;
                    continue;
                }
                rest[n].base = (uint8_t *)iov[i].base + skip;
                rest[n].len = iov[i].len - skip;
                skip = 0;
                n++;
            }
            uint64_t before = done;
            while (!s->rx_bytes && !(s->shut & RCV_SHUTDOWN) && !s->err && s->tcp) {
                if (sock_wait(deadline) < 0)
                    break;
            }
            if (s->rx_bytes)
                done += tcp_copy_out(s, rest, n, want - done, false);
            free(rest);
            if (done == before || done == want)
                break;
            continue;
        }
        if (done)
            break;
        if (want == 0 && s->state == ST_ESTABLISHED)
            return 0;
        if (s->err)
            return -take_err(s);
        if (s->shut & RCV_SHUTDOWN)
            return 0;
        if (s->state == ST_CLOSE)
            return s->was_connected ? 0 : -ENOTCONN;
        if (nonblocking(f, flags))
            return -EAGAIN;
        int r = sock_wait(deadline);
        if (r < 0)
            return r;
    }
    return done; /* window updates leave with the next send or wait */
}

static ssize_t udp_recv_iov(struct file *f, struct sock *s, const struct kiovec *iov, int cnt,
                            int flags, void *uaddr, uint32_t *ulen, int *msg_flags)
{
    uint64_t deadline = timeo_deadline(s->rcvtimeo_ns);
    while (!s->dq_head) {
        if (s->err)
            return -take_err(s);
        if (nonblocking(f, flags))
            return -EAGAIN;
        int r = sock_wait(deadline);
        if (r < 0)
            return r;
    }
    struct dgram *d = s->dq_head;
    uint64_t len = d->p->tot_len, done = 0;
    for (int i = 0; i < cnt && done < len; i++) {
        uint64_t n = MIN(iov[i].len, len - done);
        pbuf_copy_partial(d->p, iov[i].base, (u16_t)n, (u16_t)done);
        done += n;
    }
    int r = put_addr_in(uaddr, ulen, d->addr, d->port);
    if (r < 0)
        return r;
    if (done < len && msg_flags)
        *msg_flags |= MSG_TRUNC;
    if (!(flags & MSG_PEEK)) {
        s->dq_head = d->next;
        if (!s->dq_head)
            s->dq_tail = NULL;
        s->dq_bytes -= len;
        pbuf_free(d->p);
        free(d);
    }
    return (flags & MSG_TRUNC) ? (ssize_t)len : (ssize_t)done;
}

static ssize_t sock_recv(struct file *f, const struct kiovec *iov, int cnt, int flags,
                         void *uaddr, uint32_t *ulen, int *msg_flags)
{
    struct sock *s = f->priv;
    if (flags & MSG_OOB)
        return -EINVAL;
    if (iov_check(iov, cnt, true) < 0)
        return -EFAULT;
    if (s->type == SOCK_DGRAM)
        return udp_recv_iov(f, s, iov, cnt, flags, uaddr, ulen, msg_flags);
    ssize_t n = tcp_recv_iov(f, s, iov, cnt, flags);
    if (n >= 0 && uaddr && ulen) {
        /* Linux leaves the address alone for connected streams but sets the length. */
        if (user_check(ulen, sizeof *ulen, true) < 0)
            return -EFAULT;
        *ulen = 0;
    }
    return n;
}

/* ---- sending -------------------------------------------------------------------- */

static ssize_t pipe_error(struct sock *s, int flags)
{
    int e = take_err(s);
    if (e)
        return -e;
    if (!(flags & MSG_NOSIGNAL))
        signal_send(SIGPIPE, SI_USER, 0);
    return -EPIPE;
}

static ssize_t tcp_send_iov(struct file *f, struct sock *s, const struct kiovec *iov, int cnt,
                            int flags)
{
    uint64_t deadline = timeo_deadline(s->sndtimeo_ns);
    while (s->state == ST_SYN_SENT) {
        if (nonblocking(f, flags))
            return -EAGAIN;
        int r = sock_wait(deadline);
        if (r < 0)
            return r;
    }
    if (s->state != ST_ESTABLISHED || !s->tcp || (s->shut & SEND_SHUTDOWN))
        return pipe_error(s, flags);
    uint64_t total = iov_total(iov, cnt), done = 0;
    int vi = 0;
    uint64_t voff = 0;
    while (done < total) {
        if (!s->tcp || (s->shut & SEND_SHUTDOWN) || s->state != ST_ESTABLISHED) {
            if (done)
                break;
            return pipe_error(s, flags);
        }
        if (voff == iov[vi].len) {
            vi++;
            voff = 0;
            continue;
        }
        uint32_t space = tcp_sndbuf(s->tcp);
        if (space == 0 || tcp_sndqueuelen(s->tcp) >= TCP_SND_QUEUELEN - 4) {
            tcp_output(s->tcp);
            if (nonblocking(f, flags)) {
                if (done)
                    break;
                return -EAGAIN;
            }
            int r = sock_wait(deadline);
            if (r < 0) {
                if (done)
                    break;
                return r;
            }
            continue;
        }
        uint64_t n = MIN(MIN((uint64_t)space, iov[vi].len - voff), 0xffffULL);
        u8_t wflags = TCP_WRITE_FLAG_COPY;
        if (done + n < total || (flags & MSG_MORE))
            wflags |= TCP_WRITE_FLAG_MORE;
        err_t e = tcp_write(s->tcp, (uint8_t *)iov[vi].base + voff, (u16_t)n, wflags);
        if (e == ERR_MEM) {
            /* No room for segments now: let acknowledgements free some. */
            tcp_output(s->tcp);
            int r = nonblocking(f, flags) ? -EAGAIN : sock_wait(deadline);
            if (r < 0) {
                if (done)
                    break;
                return r;
            }
            continue;
        }
        if (e != ERR_OK) {
            if (done)
                break;
            return -err_to_errno(e);
        }
        done += n;
        voff += n;
    }
    if (s->tcp && !(flags & MSG_MORE))
        tcp_output(s->tcp);
    net_flush();
    return done;
}

static ssize_t udp_send_iov(struct sock *s, const struct kiovec *iov, int cnt, int flags,
                            const void *uaddr, uint32_t ulen)
{
    (void)flags;
    struct ksockaddr_in sa;
    bool to = uaddr != NULL;
    if (to) {
        int r = get_addr_in(uaddr, ulen, &sa, false);
        if (r < 0)
            return r;
    } else if (s->state != ST_ESTABLISHED) {
        return -EDESTADDRREQ;
    }
    if (s->shut & SEND_SHUTDOWN)
        return pipe_error(s, flags);
    uint64_t total = iov_total(iov, cnt);
    if (total > UDP_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (iov_check(iov, cnt, false) < 0)
        return -EFAULT;
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)total, PBUF_RAM);
    if (!p)
        return -ENOBUFS;
    uint64_t off = 0;
    for (int i = 0; i < cnt; i++) {
        if (iov[i].len)
            pbuf_take_at(p, iov[i].base, (u16_t)iov[i].len, (u16_t)off);
        off += iov[i].len;
    }
    err_t e;
    if (to) {
        if (sa.addr == 0xffffffffu && !s->broadcast) {
            pbuf_free(p);
            return -EACCES;
        }
        ip_addr_t a = IPADDR4_INIT(sa.addr);
        e = udp_sendto(s->udp, p, &a, lwip_ntohs(sa.port));
    } else {
        e = udp_send(s->udp, p);
    }
    pbuf_free(p);
    if (e != ERR_OK && e != ERR_MEM && e != ERR_BUF)
        return -err_to_errno(e);
    s->bound = true;
    note_addrs(s);
    net_flush();
    return total; /* a datagram the host dropped is lost, as on a full NIC queue */
}

static ssize_t sock_send(struct file *f, const struct kiovec *iov, int cnt, int flags,
                         const void *uaddr, uint32_t ulen)
{
    struct sock *s = f->priv;
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (s->type == SOCK_DGRAM)
        return udp_send_iov(s, iov, cnt, flags, uaddr, ulen);
    if (uaddr && s->state != ST_ESTABLISHED)
        return s->state == ST_CLOSE && !s->was_connected ? -EPIPE : -EISCONN;
    if (iov_check(iov, cnt, false) < 0)
        return -EFAULT;
    return tcp_send_iov(f, s, iov, cnt, flags);
}

/* ---- the file side -------------------------------------------------------------- */

static ssize_t sock_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    struct kiovec v = {buf, len};
    return sock_recv(f, &v, 1, 0, NULL, NULL, NULL);
}

static ssize_t sock_readv(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos)
{
    (void)pos;
    return sock_recv(f, iov, cnt, 0, NULL, NULL, NULL);
}

static ssize_t sock_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
    (void)pos;
    struct kiovec v = {(void *)buf, len};
    return sock_send(f, &v, 1, 0, NULL, 0);
}

static ssize_t sock_writev(struct file *f, const struct kiovec *iov, int cnt, uint64_t *pos)
{
    (void)pos;
    return sock_send(f, iov, cnt, 0, NULL, 0);
}

static bool tcp_writable(struct sock *s)
{
    return s->tcp && tcp_sndbuf(s->tcp) >= MIN((uint32_t)TCP_SND_BUF / 4, (uint32_t)s->sndbuf) &&
           tcp_sndqueuelen(s->tcp) < TCP_SND_QUEUELEN / 2;
}

static uint32_t sock_poll(struct file *f, uint32_t *wait)
{
    struct sock *s = f->priv;
    *wait |= UH_READY_NET;
    uint32_t ev = 0;
    if (s->type == SOCK_DGRAM) {
        if (s->dq_head)
            ev |= POLLIN;
        if (!(s->shut & SEND_SHUTDOWN))
            ev |= POLLOUT;
        if (s->shut & RCV_SHUTDOWN)
            ev |= POLLIN | POLLRDHUP;
        if (s->shut == SHUTDOWN_MASK)
            ev |= POLLHUP;
        if (s->err)
            ev |= POLLERR;
        return ev;
    }
    if (s->state == ST_LISTEN)
        return s->acq_n ? POLLIN : 0;
    if (s->shut == SHUTDOWN_MASK || s->state == ST_CLOSE)
        ev |= POLLHUP;
    if (s->shut & RCV_SHUTDOWN)
        ev |= POLLIN | POLLRDHUP;
    if (s->state != ST_SYN_SENT) {
        if (s->rx_bytes)
            ev |= POLLIN;
        if (!(s->shut & SEND_SHUTDOWN)) {
            if (s->state == ST_CLOSE || tcp_writable(s))
                ev |= POLLOUT;
        } else {
            ev |= POLLOUT;
        }
    }
    if (s->err)
        ev |= POLLERR;
    return ev;
}

static uint64_t sock_events_gen(struct file *f)
{
    return ((struct sock *)f->priv)->gen;
}

static int sock_ioctl(struct file *f, unsigned long cmd, uint64_t arg)
{
    struct sock *s = f->priv;
    int *v = (int *)arg;
    switch (cmd) {
    case FIONREAD:
        if (user_check(v, sizeof *v, true) < 0)
            return -EFAULT;
        if (s->state == ST_LISTEN)
            return -EINVAL;
        if (s->type == SOCK_DGRAM)
            *v = s->dq_head ? s->dq_head->p->tot_len : 0;
        else
            *v = (int)MIN(s->rx_bytes, 0x7fffffffULL);
        return 0;
    case SIOCOUTQ:
        if (user_check(v, sizeof *v, true) < 0)
            return -EFAULT;
        *v = s->tcp && s->state != ST_LISTEN ? (int)(TCP_SND_BUF - tcp_sndbuf(s->tcp)) : 0;
        return 0;
    default:
        return -ENOTTY;
    }
}

static void sock_destroy(struct sock *s)
{
    if (s->state == ST_LISTEN) {
        /* Connections nobody accepted are reset, as Linux does. */
        for (int i = 0; i < s->acq_n; i++) {
            struct sock *c = s->acq[(s->acq_head + i) % s->acq_cap];
            tcp_reset(c);
            free_rx(c);
            free(c);
        }
        free(s->acq);
        if (s->tcp) {
            tcp_detach(s->tcp);
            tcp_close(s->tcp);
        }
    } else if (s->tcp) {
        if (s->rx_bytes || (s->linger_on && s->linger_secs == 0)) {
            tcp_reset(s); /* unread data or SO_LINGER 0: RST */
        } else {
            if (s->linger_on && s->state == ST_ESTABLISHED) {
                /* SO_LINGER: wait (bounded) until what we sent is acknowledged. */
                uint64_t deadline = deadline_after((uint64_t)s->linger_secs * NSEC_PER_SEC);
                tcp_output(s->tcp);
                while (s->tcp && (s->tcp->unsent || s->tcp->unacked) && now_ns() < deadline) {
                    if (sock_wait(deadline) == -EINTR)
                        break;
                }
            }
            if (s->tcp) {
                struct tcp_pcb *p = s->tcp;
                tcp_detach(p);
                if (tcp_close(p) != ERR_OK)
                    tcp_abort(p);
                s->tcp = NULL;
            }
        }
    } else if (s->udp) {
        udp_recv(s->udp, NULL, NULL);
        udp_remove(s->udp);
    }
    free_rx(s);
    free(s);
    net_flush();
}

static void sock_close(struct file *f)
{
    sock_destroy(f->priv);
}

static const struct file_ops sock_ops = {
    .read = sock_read,
    .write = sock_write,
    .writev = sock_writev,
    .readv = sock_readv,
    .ioctl = sock_ioctl,
    .poll = sock_poll,
    .close = sock_close,
    .events_gen = sock_events_gen,
};

bool file_is_socket(struct file *f)
{
    return f->ops == &sock_ops;
}

/* ---- send/recv family ------------------------------------------------------------ */

static struct file *sock_file(int fd, int *err)
{
    struct file *f = fd_get(fd);
    if (!f) {
        *err = -EBADF;
        return NULL;
    }
    if (f->ops != &sock_ops) {
        *err = -ENOTSOCK;
        return NULL;
    }
    return f;
}

int64_t sys_sendto(int fd, const void *buf, uint64_t len, int flags, const void *uaddr,
                   uint32_t alen)
{
    int r = 0;
    struct file *f = sock_file(fd, &r);
    if (!f)
        return r;
    if (len > 0x7ffff000ULL)
        len = 0x7ffff000ULL;
    struct kiovec v = {(void *)buf, len};
    return sock_send(f, &v, 1, flags, uaddr, alen);
}

int64_t sys_recvfrom(int fd, void *buf, uint64_t len, int flags, void *uaddr, uint32_t *alen)
{
    int r = 0;
    struct file *f = sock_file(fd, &r);
    if (!f)
        return r;
    if (len > 0x7ffff000ULL)
        len = 0x7ffff000ULL;
    struct kiovec v = {buf, len};
    return sock_recv(f, &v, 1, flags, uaddr, alen, NULL);
}

static int check_msg_iov(const struct kmsghdr *m, bool write)
{
    if (m->iovlen > 1024)
        return -EMSGSIZE;
    if (m->iovlen && user_check(m->iov, m->iovlen * sizeof(struct kiovec), false) < 0)
        return -EFAULT;
    uint64_t total = 0;
    for (uint64_t i = 0; i < m->iovlen; i++) {
        if (m->iov[i].len > 0x7ffff000ULL - total)
            return -EINVAL;
        total += m->iov[i].len;
    }
    (void)write; /* the buffers are checked by sock_send/sock_recv, in Linux's order */
    return 0;
}

static int64_t do_sendmsg(struct file *f, const struct kmsghdr *m, int flags)
{
    int r = check_msg_iov(m, false);
    if (r < 0)
        return r;
    return sock_send(f, m->iov, (int)m->iovlen, flags, m->namelen ? m->name : NULL,
                     m->namelen);
}

static int64_t do_recvmsg(struct file *f, struct kmsghdr *m, int flags)
{
    int r = check_msg_iov(m, true);
    if (r < 0)
        return r;
    int mflags = 0;
    /* m was checked writable: its namelen is the user's value-result length. */
    ssize_t n = sock_recv(f, m->iov, (int)m->iovlen, flags, m->name ? m->name : NULL,
                          m->name ? &m->namelen : NULL, &mflags);
    if (n < 0)
        return n;
    m->controllen = 0; /* no ancillary data */
    m->flags = mflags;
    return n;
}

int64_t sys_sendmsg(int fd, const struct kmsghdr *m, int flags)
{
    int r = 0;
    struct file *f = sock_file(fd, &r);
    if (!f)
        return r;
    if (user_check(m, sizeof *m, false) < 0)
        return -EFAULT;
    return do_sendmsg(f, m, flags);
}

int64_t sys_recvmsg(int fd, struct kmsghdr *m, int flags)
{
    int r = 0;
    struct file *f = sock_file(fd, &r);
    if (!f)
        return r;
    if (user_check(m, sizeof *m, true) < 0)
        return -EFAULT;
    return do_recvmsg(f, m, flags);
}

int64_t sys_sendmmsg(int fd, struct kmmsghdr *v, uint32_t n, int flags)
{
    int r = 0;
    struct file *f = sock_file(fd, &r);
    if (!f)
        return r;
    n = MIN(n, 1024u);
    if (user_check(v, (uint64_t)n * sizeof *v, true) < 0)
        return -EFAULT;
    uint32_t i;
    for (i = 0; i < n; i++) {
        int64_t k = do_sendmsg(f, &v[i].hdr, flags);
        if (k < 0)
            return i ? (int64_t)i : k;
        v[i].len = (uint32_t)k;
    }
    return i;
}

int64_t sys_recvmmsg(int fd, struct kmmsghdr *v, uint32_t n, int flags, void *timeout)
{
    (void)timeout;
    int r = 0;
    struct file *f = sock_file(fd, &r);
    if (!f)
        return r;
    n = MIN(n, 1024u);
    if (user_check(v, (uint64_t)n * sizeof *v, true) < 0)
        return -EFAULT;
    uint32_t i;
    for (i = 0; i < n; i++) {
        int64_t k = do_recvmsg(f, &v[i].hdr, i ? flags | MSG_DONTWAIT : flags);
        if (k < 0)
            return i ? (int64_t)i : k;
        v[i].len = (uint32_t)k;
    }
    return i;
}

int64_t sys_shutdown(int fd, int how)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    if (s->type == SOCK_STREAM && s->state != ST_ESTABLISHED && s->state != ST_SYN_SENT) {
        if (s->state == ST_LISTEN && how != SHUT_WR) {
            /* Linux: shutting a listener down stops it; accept() then fails. */
            return 0;
        }
        return -ENOTCONN;
    }
    if (s->type == SOCK_DGRAM && s->state != ST_ESTABLISHED)
        return -ENOTCONN;
    int mask = how == SHUT_RD ? RCV_SHUTDOWN : how == SHUT_WR ? SEND_SHUTDOWN : SHUTDOWN_MASK;
    if ((mask & SEND_SHUTDOWN) && !(s->shut & SEND_SHUTDOWN) && s->tcp) {
        tcp_output(s->tcp);
        err_t e = tcp_shutdown(s->tcp, 0, 1);
        if (e != ERR_OK && e != ERR_CONN)
            return -err_to_errno(e);
    }
    s->shut |= mask;
    bump(s);
    net_flush();
    return 0;
}

int64_t sys_getsockname(int fd, void *uaddr, uint32_t *ulen)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    if (!ulen || user_check(ulen, sizeof *ulen, true) < 0)
        return -EFAULT;
    note_addrs(s);
    return put_addr_in(uaddr, ulen, s->local_addr, s->local_port);
}

int64_t sys_getpeername(int fd, void *uaddr, uint32_t *ulen)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    if (s->state != ST_ESTABLISHED)
        return -ENOTCONN;
    if (!ulen || user_check(ulen, sizeof *ulen, true) < 0)
        return -EFAULT;
    return put_addr_in(uaddr, ulen, s->peer_addr, s->peer_port);
}

/* ---- options -------------------------------------------------------------------- */

static int opt_int(const void *val, uint32_t len, int *out)
{
    if (len < sizeof(int))
        return -EINVAL;
    if (user_check(val, sizeof(int), false) < 0)
        return -EFAULT;
    *out = *(const int *)val;
    return 0;
}

static int opt_timeval(const void *val, uint32_t len, uint64_t *ns)
{
    if (len < sizeof(struct ktimeval))
        return -EINVAL;
    if (user_check(val, sizeof(struct ktimeval), false) < 0)
        return -EFAULT;
    const struct ktimeval *tv = val;
    if (tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -EDOM;
    if (tv->tv_sec < 0) {
        *ns = 0;
        return 0;
    }
    *ns = (uint64_t)tv->tv_sec * NSEC_PER_SEC + (uint64_t)tv->tv_usec * 1000;
    return 0;
}

int64_t sys_setsockopt(int fd, int level, int name, const void *val, uint32_t len)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    int v = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_RCVTIMEO:
            return opt_timeval(val, len, &s->rcvtimeo_ns);
        case SO_SNDTIMEO:
            return opt_timeval(val, len, &s->sndtimeo_ns);
        case SO_LINGER: {
            if (len < 8)
                return -EINVAL;
            if (user_check(val, 8, false) < 0)
                return -EFAULT;
            const int *l = val;
            s->linger_on = l[0] != 0;
            s->linger_secs = l[1] < 0 ? 0 : l[1];
            return 0;
        }
        }
        if ((r = opt_int(val, len, &v)) < 0)
            return r;
        switch (name) {
        case SO_REUSEADDR:
            s->reuseaddr = v != 0;
            break;
        case SO_REUSEPORT:
            s->reuseport = v != 0;
            break;
        case SO_KEEPALIVE:
            s->keepalive = v != 0;
            break;
        case SO_BROADCAST:
            s->broadcast = v != 0;
            if (s->udp) {
                if (v)
                    ip_set_option(s->udp, SOF_BROADCAST);
                else
                    ip_reset_option(s->udp, SOF_BROADCAST);
            }
            return 0;
        case SO_RCVBUF:
            /* Linux doubles the value for its bookkeeping and reports that. */
            s->rcvbuf = MAX(MIN(v, 212992) * 2, 2304);
            return 0;
        case SO_SNDBUF:
            s->sndbuf = MAX(MIN(v, 212992) * 2, 4608);
            return 0;
        case SO_RCVLOWAT:
        case SO_SNDLOWAT:
        case SO_DEBUG:
        case SO_DONTROUTE:
        case SO_OOBINLINE:
            return 0;
        default:
            return -ENOPROTOOPT;
        }
        if (s->type == SOCK_STREAM)
            apply_tcp_options(s);
        else if (s->udp && (s->reuseaddr || s->reuseport))
            ip_set_option(s->udp, SOF_REUSEADDR);
        return 0;
    }
    if (level == IPPROTO_TCP) {
        if (s->type != SOCK_STREAM)
            return -EOPNOTSUPP;
        if ((r = opt_int(val, len, &v)) < 0)
            return r;
        switch (name) {
        case TCP_NODELAY:
            s->nodelay = v != 0;
            break;
        case TCP_KEEPIDLE:
        case TCP_KEEPINTVL:
            if (v < 1 || v > 32767)
                return -EINVAL;
            if (name == TCP_KEEPIDLE)
                s->keep_idle = v;
            else
                s->keep_intvl = v;
            break;
        case TCP_KEEPCNT:
            if (v < 1 || v > 127)
                return -EINVAL;
            s->keep_cnt = v;
            break;
        case TCP_CORK:
        case TCP_QUICKACK:
        case TCP_DEFER_ACCEPT:
        case TCP_USER_TIMEOUT:
        case TCP_MAXSEG:
            return 0;
        default:
            return -ENOPROTOOPT;
        }
        apply_tcp_options(s);
        return 0;
    }
    if (level == IPPROTO_IP) {
        if ((r = opt_int(val, len, &v)) < 0)
            return r;
        if (name == IP_TOS || name == IP_TTL)
            return 0;
        return -ENOPROTOOPT;
    }
    return -EOPNOTSUPP; /* a level the protocol does not know, as Linux says */
}

int64_t sys_getsockopt(int fd, int level, int name, void *val, uint32_t *ulen)
{
    int r = 0;
    struct sock *s = sock_of(fd, &r);
    if (!s)
        return r;
    if (!ulen || user_check(ulen, sizeof *ulen, true) < 0)
        return -EFAULT;
    int32_t len = (int32_t)*ulen;
    if (len < 0)
        return -EINVAL;
    uint8_t out[16];
    uint32_t olen = sizeof(int);
    int v = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE: v = s->type; break;
        case SO_ERROR: v = take_err(s); break;
        case SO_REUSEADDR: v = s->reuseaddr; break;
        case SO_REUSEPORT: v = s->reuseport; break;
        case SO_KEEPALIVE: v = s->keepalive; break;
        case SO_BROADCAST: v = s->broadcast; break;
        case SO_RCVBUF: v = s->rcvbuf; break;
        case SO_SNDBUF: v = s->sndbuf; break;
        case SO_ACCEPTCONN: v = s->state == ST_LISTEN; break;
        case SO_PROTOCOL: v = s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP; break;
        case SO_DOMAIN: v = AF_INET; break;
        case SO_RCVLOWAT: v = 1; break;
        case SO_SNDLOWAT: v = 1; break;
        case SO_DEBUG: case SO_DONTROUTE: case SO_OOBINLINE: v = 0; break;
        case SO_LINGER: {
            int l[2] = {s->linger_on, s->linger_secs};
            memcpy(out, l, 8);
            olen = 8;
            goto copy;
        }
        case SO_RCVTIMEO:
        case SO_SNDTIMEO: {
            uint64_t ns = name == SO_RCVTIMEO ? s->rcvtimeo_ns : s->sndtimeo_ns;
            struct ktimeval tv = {ns / NSEC_PER_SEC, (ns % NSEC_PER_SEC) / 1000};
            memcpy(out, &tv, sizeof tv);
            olen = sizeof tv;
            goto copy;
        }
        default:
            return -ENOPROTOOPT;
        }
    } else if (level == IPPROTO_TCP) {
        if (s->type != SOCK_STREAM)
            return -EOPNOTSUPP;
        switch (name) {
        case TCP_NODELAY: v = s->nodelay; break;
        case TCP_KEEPIDLE: v = s->keep_idle; break;
        case TCP_KEEPINTVL: v = s->keep_intvl; break;
        case TCP_KEEPCNT: v = s->keep_cnt; break;
        case TCP_MAXSEG: v = s->tcp && s->state == ST_ESTABLISHED ? tcp_mss(s->tcp) : 536; break;
        case TCP_CORK: case TCP_QUICKACK: case TCP_DEFER_ACCEPT: case TCP_USER_TIMEOUT:
            v = name == TCP_QUICKACK; break;
        default:
            return -ENOPROTOOPT;
        }
    } else if (level == IPPROTO_IP) {
        switch (name) {
        case IP_TOS: v = 0; break;
        case IP_TTL: v = 64; break;
        default: return -ENOPROTOOPT;
        }
    } else {
        return -EOPNOTSUPP;
    }
    memcpy(out, &v, sizeof v);
copy:;
    uint32_t n = MIN((uint32_t)len, olen);
    if (n && user_check(val, n, true) < 0)
        return -EFAULT;
    memcpy(val, out, n);
    *ulen = n;
    return 0;
}

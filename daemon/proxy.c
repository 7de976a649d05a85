/* proxy.c -- published ports (see proxy.h): a listener on the host and, for
 * every connection it accepts, a non-blocking connection to the VM, with the
 * bytes copied both ways on the daemon's event loop.
 *
 * A connection is two directions, client→VM and VM→client. Each has a queue
 * (a ring that starts at 16 KiB and grows to 256 KiB) between the socket it
 * reads and the socket it writes. Bytes read are written on at once; what the
 * writer does not take waits in the queue, and the writer's socket is watched
 * for writability until it is empty. A full queue stops reading its source
 * (back-pressure: the sender's window closes instead of our memory growing).
 *
 * The copy is exact because nothing ends before it is done: an EOF is only
 * noted, and the FIN is passed on (shutdown(SHUT_WR)) after the last queued
 * byte has been written; the connection is closed only when both directions
 * have passed their FIN, that is when both sockets have been read to their
 * EOF, so close() never finds unread data (which would turn it into a reset
 * and throw away what is still in flight). Partial writes, EAGAIN and EINTR
 * just leave the rest in the queue.
 *
 * An error on either socket (a reset, EPIPE) resets the other: both are closed
 * with SO_LINGER 0, which sends an RST, as a direct connection would have seen.
 * A connection the VM refuses, or that is not up after CONNECT_TIMEOUT_MS, is
 * reset the same way; proxy_close() resets whatever is still open, since what
 * it cuts short is not a complete stream.
 *
 * Everything is non-blocking and level-triggered; a callback may free its
 * connection, after which it returns at once (el skips events of fds that left
 * the epoll set in the same iteration).
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

#define QUEUE_MIN          (16 * 1024)
#define QUEUE_MAX          (256 * 1024)
#define ACCEPT_BATCH       64
#define ACCEPT_RETRY_MS    100
#define CONNECT_TIMEOUT_MS 10000
#define LISTEN_BACKLOG     511

typedef struct queue {
    char *buf;
    size_t cap, head, len;
} queue;

/* One direction: bytes read from fd[i] wait in q to be written to fd[1 - i]. */
typedef struct dir {
    queue q;
    bool eof;  /* the source sent its FIN */
    bool shut; /* ... and it was passed on */
} dir;

typedef struct conn {
    proxy *p;
    struct conn *prev, *next;
    int fd[2]; /* 0: the client, 1: the VM */
    dir d[2];  /* 0: client→VM, 1: VM→client */
    bool connecting;
    long long timer;
} conn;

struct proxy {
    el_loop *loop;
    int lfd;
    port_spec spec;
    char vm_ip[16];
    conn *conns;
    int nconns;
    long long accept_timer;
};

/* ---- port specs ---------------------------------------------------------- */

static int spec_fail(char *err, size_t errlen, const char *s, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "port '%.40s': %s", s, why);
    errno = EINVAL;
    return -1;
}

/* 1..65535 in decimal digits only: no sign, no spaces, at most 5 digits. */
static int parse_port(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535 ? v : -1;
}

int port_spec_parse(const char *s, port_spec *out, char *err, size_t errlen)
{
    char buf[48];
    if (!s || !*s)
        return spec_fail(err, errlen, "", "empty");
    if (strlen(s) >= sizeof(buf))
        return spec_fail(err, errlen, s, "too long");
    memcpy(buf, s, strlen(s) + 1);
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        if (strcmp(slash + 1, "udp") == 0)
            return spec_fail(err, errlen, s, "/udp is not supported (TCP only)");
        if (strcmp(slash + 1, "tcp") != 0)
            return spec_fail(err, errlen, s, "the protocol must be /tcp");
    }
    char *parts[3];
    int nparts = 0;
    for (char *p = buf;; p++) {
        if (nparts == 3)
            return spec_fail(err, errlen, s, "expected HOSTPORT:VMPORT or ADDR:HOSTPORT:VMPORT");
        parts[nparts++] = p;
        p = strchr(p, ':');
        if (!p)
            break;
        *p = '\0';
    }
    if (nparts < 2)
        return spec_fail(err, errlen, s, "expected HOSTPORT:VMPORT or ADDR:HOSTPORT:VMPORT");
    port_spec ps;
    memset(&ps, 0, sizeof(ps));
    struct in_addr a = {.s_addr = htonl(INADDR_LOOPBACK)};
    if (nparts == 3) {
        if (inet_pton(AF_INET, parts[0], &a) != 1)
            return spec_fail(err, errlen, s, "ADDR must be an IPv4 address");
        if ((ntohl(a.s_addr) >> 24) != 127)
            return spec_fail(err, errlen, s, "ADDR must be a loopback address (127.0.0.0/8)");
    }
    inet_ntop(AF_INET, &a, ps.host_addr, sizeof(ps.host_addr));
    ps.host_port = parse_port(parts[nparts - 2]);
    ps.vm_port = parse_port(parts[nparts - 1]);
    if (ps.host_port < 0)
        return spec_fail(err, errlen, s, "HOSTPORT must be 1..65535");
    if (ps.vm_port < 0)
        return spec_fail(err, errlen, s, "VMPORT must be 1..65535");
    *out = ps;
    return 0;
}

int port_spec_clash(const port_spec *a, const port_spec *b)
{
    return a->host_port == b->host_port &&
           (!strcmp(a->host_addr, b->host_addr) || !strcmp(a->host_addr, "0.0.0.0") ||
            !strcmp(b->host_addr, "0.0.0.0"));
}

void port_spec_str(const port_spec *p, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s:%d:%d", p->host_addr, p->host_port, p->vm_port);
}

/* ---- queues -------------------------------------------------------------- */

/* Makes room for more bytes when the queue is full and may still grow.
 * Returns the free space (0 when it is full at QUEUE_MAX), or -1 without
 * memory. */
static ssize_t q_room(queue *q)
{
    if (!q->buf) {
        q->buf = malloc(QUEUE_MIN);
        if (!q->buf)
            return -1;
        q->cap = QUEUE_MIN;
        q->head = q->len = 0;
    }
    if (q->len == q->cap && q->cap < QUEUE_MAX) {
        char *nb = malloc(q->cap * 2);
        if (!nb)
            return -1;
        size_t first = q->cap - q->head; /* the queue is full: it wraps at cap */
        memcpy(nb, q->buf + q->head, first);
        memcpy(nb + first, q->buf, q->len - first);
        free(q->buf);
        q->buf = nb;
        q->cap *= 2;
        q->head = 0;
    }
    return (ssize_t)(q->cap - q->len);
}

static int q_free_iov(const queue *q, struct iovec iov[2])
{
    size_t tail = (q->head + q->len) % q->cap, room = q->cap - q->len;
    size_t first = room < q->cap - tail ? room : q->cap - tail;
    iov[0].iov_base = q->buf + tail;
    iov[0].iov_len = first;
    iov[1].iov_base = q->buf;
    iov[1].iov_len = room - first;
    return iov[1].iov_len ? 2 : 1;
}

static int q_used_iov(const queue *q, struct iovec iov[2])
{
    size_t first = q->len < q->cap - q->head ? q->len : q->cap - q->head;
    iov[0].iov_base = q->buf + q->head;
    iov[0].iov_len = first;
    iov[1].iov_base = q->buf;
    iov[1].iov_len = q->len - first;
    return iov[1].iov_len ? 2 : 1;
}

static void q_consume(queue *q, size_t n)
{
    q->head = (q->head + n) % q->cap;
    q->len -= n;
    if (q->len == 0)
        q->head = 0;
}

/* ---- connections --------------------------------------------------------- */

static void on_conn_event(el_loop *loop, int fd, void *data, int mask);

static void close_fd(el_loop *loop, int fd, bool reset)
{
    if (fd < 0)
        return;
    el_file_del(loop, fd, EL_READABLE | EL_WRITABLE);
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(fd);
}

static void conn_free(conn *c, bool reset)
{
    proxy *p = c->p;
    if (c->timer > 0)
        el_timer_del(p->loop, c->timer);
    close_fd(p->loop, c->fd[0], reset);
    close_fd(p->loop, c->fd[1], reset);
    for (int i = 0; i < 2; i++)
        free(c->d[i].q.buf);
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->nconns--;
    free(c);
}

/* Writes what direction i has queued to its destination. When the queue is
 * empty and the source has ended, passes the FIN on. -1 on a socket error. */
static int dir_flush(conn *c, int i)
{
    dir *d = &c->d[i];
    int dst = c->fd[1 - i];
    while (d->q.len > 0) {
        struct iovec iov[2];
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)q_used_iov(&d->q, iov)};
        ssize_t n = sendmsg(dst, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        q_consume(&d->q, (size_t)n);
    }
    if (d->eof && !d->shut) {
        if (shutdown(dst, SHUT_WR) < 0)
            return -1;
        d->shut = true;
    }
    return 0;
}

/* Reads from direction i's source into its queue, then writes on. */
static int dir_fill(conn *c, int i)
{
    dir *d = &c->d[i];
    if (d->eof)
        return 0;
    ssize_t room = q_room(&d->q);
    if (room < 0)
        return -1;
    if (room > 0) {
        struct iovec iov[2];
        int cnt = q_free_iov(&d->q, iov);
        ssize_t n;
        do
            n = readv(c->fd[i], iov, cnt);
        while (n < 0 && errno == EINTR);
        if (n > 0)
            d->q.len += (size_t)n;
        else if (n == 0)
            d->eof = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
    }
    return dir_flush(c, i);
}

static int watch(conn *c, int k, int want)
{
    el_loop *loop = c->p->loop;
    int fd = c->fd[k], cur = el_file_mask(loop, fd);
    if (want & ~cur && el_file_add(loop, fd, want & ~cur, on_conn_event, c) < 0)
        return -1;
    if (cur & ~want)
        el_file_del(loop, fd, cur & ~want);
    return 0;
}

/* After any progress: closes a connection whose both directions are done,
 * otherwise watches each socket for what it can do next. Returns false when
 * the connection is gone. */
static bool conn_update(conn *c)
{
    if (c->d[0].shut && c->d[1].shut) {
        conn_free(c, false);
        return false;
    }
    for (int k = 0; k < 2; k++) {
        int want = 0;
        if (!c->d[k].eof && c->d[k].q.len < QUEUE_MAX)
            want |= EL_READABLE;
        if (c->d[1 - k].q.len > 0)
            want |= EL_WRITABLE;
        if (watch(c, k, want) < 0) {
            conn_free(c, true);
            return false;
        }
    }
    return true;
}

static void on_connect_timeout(el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    conn *c = data;
    c->timer = 0;
    log_debug("proxy %s:%d: %s:%d did not answer in %d ms", c->p->spec.host_addr,
              c->p->spec.host_port, c->p->vm_ip, c->p->spec.vm_port, CONNECT_TIMEOUT_MS);
    conn_free(c, true);
}

static void connect_done(conn *c)
{
    if (net_connect_result(c->fd[1]) < 0) {
        log_debug("proxy %s:%d: connecting to %s:%d: %s", c->p->spec.host_addr,
                  c->p->spec.host_port, c->p->vm_ip, c->p->spec.vm_port, strerror(errno));
        conn_free(c, true);
        return;
    }
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (getpeername(c->fd[1], (struct sockaddr *)&sa, &len) < 0)
        return; /* not connected yet: a stale event for an fd number reused */
    c->connecting = false;
    if (c->timer > 0)
        el_timer_del(c->p->loop, c->timer);
    c->timer = 0;
    conn_update(c);
}

static void on_conn_event(el_loop *loop, int fd, void *data, int mask)
{
    (void)loop;
    conn *c = data;
    int k = fd == c->fd[0] ? 0 : 1;
    if (c->connecting) {
        if (k == 1 && (mask & EL_WRITABLE))
            connect_done(c);
        return;
    }
    /* Writing first frees queue space that the read can then use. */
    if ((mask & EL_WRITABLE) && dir_flush(c, 1 - k) < 0) {
        conn_free(c, true);
        return;
    }
    if ((mask & EL_READABLE) && dir_fill(c, k) < 0) {
        conn_free(c, true);
        return;
    }
    conn_update(c);
}

static void conn_start(proxy *p, int cfd)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close_fd(p->loop, cfd, true);
        return;
    }
    c->p = p;
    c->fd[0] = cfd;
    c->fd[1] = -1;
    c->connecting = true;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->nconns++;
    net_set_nodelay(cfd, 1);
    c->fd[1] = net_connect(p->vm_ip, p->spec.vm_port);
    if (c->fd[1] < 0) {
        log_debug("proxy %s:%d: connecting to %s:%d: %s", p->spec.host_addr, p->spec.host_port,
                  p->vm_ip, p->spec.vm_port, strerror(errno));
        conn_free(c, true);
        return;
    }
    if (el_file_add(p->loop, c->fd[1], EL_WRITABLE, on_conn_event, c) < 0) {
        conn_free(c, true);
        return;
    }
    c->timer = el_timer_add(p->loop, CONNECT_TIMEOUT_MS, on_connect_timeout, c);
}

/* ---- the listener -------------------------------------------------------- */

/* The namespace published ports listen in, and the daemon's own, to return to;
 * -1 when they listen where the daemon runs. */
static int listen_ns = -1, own_ns = -1;

int proxy_listen_netns(const char *path, char *err, size_t errlen)
{
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own < 0) {
        snprintf(err, errlen, "/proc/thread-self/ns/net: %s", strerror(errno));
        close(ns);
        return -1;
    }
    /* A trial switch, so that a file that is no network namespace, or a
     * missing privilege, is reported now and not at the first publish. */
    if (setns(ns, CLONE_NEWNET) < 0) {
        snprintf(err, errlen, "%s: not a network namespace we can enter: %s", path,
                 strerror(errno));
        close(ns);
        close(own);
        return -1;
    }
    if (setns(own, CLONE_NEWNET) < 0) {
        snprintf(err, errlen, "returning to our own network namespace: %s", strerror(errno));
        close(ns);
        close(own);
        return -1;
    }
    listen_ns = ns;
    own_ns = own;
    return 0;
}

/* net_listen, in listen_ns when one is set. setns moves only the calling
 * thread, and a socket stays in the namespace it was made in. */
static int listen_in_ns(const char *addr, int port)
{
    if (listen_ns < 0)
        return net_listen(addr, port, LISTEN_BACKLOG);
    if (setns(listen_ns, CLONE_NEWNET) < 0)
        return -1;
    int fd = net_listen(addr, port, LISTEN_BACKLOG);
    int e = errno;
    if (setns(own_ns, CLONE_NEWNET) < 0) {
        /* Staying in the other namespace would send VM traffic astray. */
        log_error("proxy: cannot return to our own network namespace: %s", strerror(errno));
        abort();
    }
    errno = e;
    return fd;
}

static void on_accept(el_loop *loop, int fd, void *data, int mask);

static void resume_accept(el_loop *loop, long long id, void *data)
{
    (void)id;
    proxy *p = data;
    p->accept_timer = 0;
    el_file_add(loop, p->lfd, EL_READABLE, on_accept, p);
}

static void on_accept(el_loop *loop, int fd, void *data, int mask)
{
    (void)mask;
    proxy *p = data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int cfd = net_accept(fd, NULL, 0, NULL);
        if (cfd >= 0) {
            conn_start(p, cfd);
            continue;
        }
        if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Level-triggered: the pending connection would wake us at once
               again. Pause for a moment instead of spinning. */
            log_warn("proxy %s:%d: accept: %s", p->spec.host_addr, p->spec.host_port,
                     strerror(errno));
            el_file_del(loop, fd, EL_READABLE);
            p->accept_timer = el_timer_add(loop, ACCEPT_RETRY_MS, resume_accept, p);
        }
        return;
    }
}

proxy *proxy_open(el_loop *loop, const port_spec *spec, const char *vm_ip, char *err, size_t errlen)
{
    struct in_addr a;
    if (!vm_ip || inet_pton(AF_INET, vm_ip, &a) != 1) {
        if (err && errlen)
            snprintf(err, errlen, "proxy: '%s' is not an IPv4 address", vm_ip ? vm_ip : "");
        errno = EINVAL;
        return NULL;
    }
    proxy *p = calloc(1, sizeof(*p));
    if (!p) {
        if (err && errlen)
            snprintf(err, errlen, "proxy: out of memory");
        errno = ENOMEM;
        return NULL;
    }
    p->loop = loop;
    p->spec = *spec;
    snprintf(p->vm_ip, sizeof(p->vm_ip), "%s", vm_ip);
    p->lfd = listen_in_ns(spec->host_addr, spec->host_port);
    if (p->lfd < 0 || el_file_add(loop, p->lfd, EL_READABLE, on_accept, p) < 0) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "listening on %s:%d: %s", spec->host_addr, spec->host_port,
                     strerror(e));
        if (p->lfd >= 0)
            close(p->lfd);
        free(p);
        errno = e;
        return NULL;
    }
    return p;
}

void proxy_close(proxy *p)
{
    if (!p)
        return;
    el_file_del(p->loop, p->lfd, EL_READABLE | EL_WRITABLE);
    close(p->lfd);
    if (p->accept_timer > 0)
        el_timer_del(p->loop, p->accept_timer);
    while (p->conns)
        conn_free(p->conns, true);
    free(p);
}

int proxy_conns(const proxy *p)
{
    return p->nconns;
}

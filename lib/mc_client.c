/* mc_client.c -- the memcached client on the event loop (see mc.h).
 *
 * Requests are serialized into one output buffer when they are made and
 * remembered in a FIFO; replies are matched to them in order. Any failure
 * (connect, reset, timeout, a reply that does not parse) fails every pending
 * request and closes the connection: after a protocol error there is no safe
 * way to know which reply belongs to whom. Status lines are NUL-terminated in
 * place before a callback sees them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "mc.h"
#include "net.h"

typedef struct mc_req {
    int kind;
    mc_reply_proc *cb;
    void *arg;
    uint64_t deadline;
    struct mc_req *next;
} mc_req;

struct mc_client {
    el_loop *loop;
    char host[NET_ADDR_MAX];
    int port;
    char addr[NET_ADDR_MAX + 8];
    int fd;
    int connected;
    buf in, out;
    mc_req *head, *tail;
    int timeout_ms;
    int conn_err; /* why the last connect failed at once */
    long long timer;
    mc_value *vals;
    int valcap;
    int *alive; /* set to 0 when freed from inside a callback */
};

static void mc_on_event(el_loop *loop, int fd, void *data, int mask);

int mc_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 250)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] <= ' ' || key[i] == 0x7f)
            return 0;
    return 1;
}

static void mc_close(mc_client *mc)
{
    if (mc->fd >= 0) {
        el_file_del(mc->loop, mc->fd, EL_READABLE | EL_WRITABLE);
        close(mc->fd);
    }
    mc->fd = -1;
    mc->connected = 0;
    buf_clear(&mc->in);
    buf_clear(&mc->out);
}

/* Fails every pending request with err. Callbacks may queue new requests;
 * those stay queued for a fresh connection. */
static void mc_fail_all(mc_client *mc, int err)
{
    mc_req *list = mc->head;
    mc->head = mc->tail = NULL;
    mc_close(mc);
    int alive = 1;
    mc->alive = &alive;
    while (list) {
        mc_req *r = list;
        list = r->next;
        r->cb(mc, err, NULL, r->arg);
        free(r);
        if (!alive) {
            while (list) { /* freed by a callback: the rest are cancelled silently */
                mc_req *x = list;
                list = x->next;
                x->cb(NULL, ECANCELED, NULL, x->arg);
                free(x);
            }
            return;
        }
    }
    mc->alive = NULL;
}

static void mc_update_events(mc_client *mc)
{
    if (mc->fd < 0)
        return;
    int want = EL_READABLE | (buf_used(&mc->out) || !mc->connected ? EL_WRITABLE : 0);
    int have = el_file_mask(mc->loop, mc->fd);
    if (have & ~want)
        el_file_del(mc->loop, mc->fd, have & ~want);
    if (want & ~have)
        el_file_add(mc->loop, mc->fd, want & ~have, mc_on_event, mc);
}

static void mc_on_timer(el_loop *loop, long long id, void *data)
{
    (void)id;
    mc_client *mc = data;
    mc->timer = 0;
    if (mc->head && mc->fd < 0) {
        mc_fail_all(mc, mc->conn_err ? mc->conn_err : ECONNREFUSED);
    } else if (mc->head && mc->head->deadline <= el_now(loop)) {
        mc_fail_all(mc, ETIMEDOUT);
    }
    if (mc->head)
        mc->timer = el_timer_add(loop, 100, mc_on_timer, mc);
}

static int mc_connect(mc_client *mc)
{
    mc->fd = net_connect(mc->host, mc->port);
    if (mc->fd < 0) {
        mc->conn_err = errno;
        return -1;
    }
    mc->connected = 0;
    mc_update_events(mc);
    return 0;
}

static void mc_flush(mc_client *mc)
{
    while (buf_used(&mc->out)) {
        ssize_t n = write(mc->fd, buf_peek(&mc->out), buf_used(&mc->out));
        if (n > 0) {
            buf_consume(&mc->out, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            mc_fail_all(mc, n < 0 ? errno : ECONNRESET);
            return;
        }
    }
    mc_update_events(mc);
}

/* Delivers every complete reply in the input buffer. */
static void mc_deliver(mc_client *mc)
{
    int alive = 1;
    mc->alive = &alive;
    while (mc->head && buf_used(&mc->in)) {
        mc_reply r;
        long n = mc_parse_reply(buf_peek(&mc->in), buf_used(&mc->in), mc->head->kind, &r, &mc->vals,
                                &mc->valcap);
        if (n == 0)
            break;
        if (n < 0) {
            mc->alive = NULL;
            mc_fail_all(mc, EPROTO);
            return;
        }
        char *line = (char *)r.line;
        if (line) /* terminate the status line in place: it ends in "\r\n" */
            line[strcspn(line, "\r")] = '\0';
        mc_req *req = mc->head;
        mc->head = req->next;
        if (!mc->head)
            mc->tail = NULL;
        req->cb(mc, 0, &r, req->arg);
        free(req);
        if (!alive)
            return;
        buf_consume(&mc->in, (size_t)n);
    }
    mc->alive = NULL;
    if (mc->head && buf_used(&mc->in) == 0)
        mc->head->deadline = el_now(mc->loop) + (uint64_t)mc->timeout_ms;
    if (!mc->head && buf_used(&mc->in)) /* a reply nobody asked for */
        mc_fail_all(mc, EPROTO);
}

static void mc_on_event(el_loop *loop, int fd, void *data, int mask)
{
    (void)loop;
    (void)fd;
    mc_client *mc = data;
    if (!mc->connected && (mask & (EL_WRITABLE | EL_READABLE))) {
        if (net_connect_result(mc->fd) < 0) {
            mc_fail_all(mc, errno);
            return;
        }
        mc->connected = 1;
    }
    if (mask & EL_WRITABLE) {
        mc_flush(mc);
        if (mc->fd < 0)
            return;
    }
    if (mask & EL_READABLE) {
        char *dst = buf_reserve(&mc->in, 16384);
        ssize_t n = read(mc->fd, dst, 16384);
        if (n > 0) {
            buf_commit(&mc->in, (size_t)n);
            mc_deliver(mc);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
            mc_fail_all(mc, n == 0 ? ECONNRESET : errno);
        }
    }
}

mc_client *mc_client_create(el_loop *loop, const char *host, int port)
{
    mc_client *mc = calloc(1, sizeof(*mc));
    if (!mc)
        return NULL;
    mc->loop = loop;
    snprintf(mc->host, sizeof(mc->host), "%s", host);
    mc->port = port;
    snprintf(mc->addr, sizeof(mc->addr), "%s:%d", host, port);
    mc->fd = -1;
    mc->timeout_ms = 2000;
    return mc;
}

void mc_client_free(mc_client *mc)
{
    if (!mc)
        return;
    mc_fail_all(mc, ECANCELED);
    if (mc->alive)
        *mc->alive = 0;
    if (mc->timer)
        el_timer_del(mc->loop, mc->timer);
    buf_free(&mc->in);
    buf_free(&mc->out);
    free(mc->vals);
    free(mc);
}

void mc_client_set_timeout(mc_client *mc, int ms)
{
    mc->timeout_ms = ms > 0 ? ms : 2000;
}

const char *mc_client_addr(const mc_client *mc)
{
    return mc->addr;
}

el_loop *mc_client_loop(const mc_client *mc)
{
    return mc->loop;
}

/* Queues a request whose text is already in mc->out. */
static int mc_queue(mc_client *mc, int kind, mc_reply_proc *cb, void *arg)
{
    mc_req *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    r->kind = kind;
    r->cb = cb;
    r->arg = arg;
    r->deadline = el_clock_ms() + (uint64_t)mc->timeout_ms;
    if (mc->tail)
        mc->tail->next = r;
    else
        mc->head = r;
    mc->tail = r;
    if (!mc->timer)
        mc->timer = el_timer_add(mc->loop, 100, mc_on_timer, mc);
    if (mc->fd < 0 && mc_connect(mc) < 0) {
        /* Reported through the callback, like any other failure, but from
         * the timer rather than from inside the caller. */
        buf_clear(&mc->out);
        return 0;
    }
    if (mc->connected)
        mc_flush(mc);
    else
        mc_update_events(mc);
    return 0;
}

int mc_get(mc_client *mc, const char *const *keys, int nkeys, int with_cas, mc_reply_proc *cb,
           void *arg)
{
    if (nkeys <= 0) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < nkeys; i++)
        if (!mc_key_valid(keys[i])) {
            errno = EINVAL;
            return -1;
        }
    buf_puts(&mc->out, with_cas ? "gets" : "get");
    for (int i = 0; i < nkeys; i++) {
        buf_puts(&mc->out, " ");
        buf_puts(&mc->out, keys[i]);
    }
    buf_puts(&mc->out, "\r\n");
    return mc_queue(mc, MC_KIND_VALUES, cb, arg);
}

static int mc_store(mc_client *mc, const char *cmd, const char *key, const void *data, size_t len,
                    uint32_t flags, int64_t exptime, const char *cas, mc_reply_proc *cb, void *arg)
{
    if (!mc_key_valid(key)) {
        errno = EINVAL;
        return -1;
    }
    buf_printf(&mc->out, "%s %s %" PRIu32 " %" PRId64 " %zu%s%s\r\n", cmd, key, flags, exptime, len,
               cas ? " " : "", cas ? cas : "");
    buf_append(&mc->out, data, len);
    buf_puts(&mc->out, "\r\n");
    return mc_queue(mc, MC_KIND_STATUS, cb, arg);
}

int mc_set(mc_client *mc, const char *key, const void *data, size_t len, uint32_t flags,
           int64_t exptime, mc_reply_proc *cb, void *arg)
{
    return mc_store(mc, "set", key, data, len, flags, exptime, NULL, cb, arg);
}

int mc_add(mc_client *mc, const char *key, const void *data, size_t len, uint32_t flags,
           int64_t exptime, mc_reply_proc *cb, void *arg)
{
    return mc_store(mc, "add", key, data, len, flags, exptime, NULL, cb, arg);
}

int mc_cas(mc_client *mc, const char *key, const void *data, size_t len, uint32_t flags,
           int64_t exptime, uint64_t cas, mc_reply_proc *cb, void *arg)
{
    char c[24];
    snprintf(c, sizeof(c), "%" PRIu64, cas);
    return mc_store(mc, "cas", key, data, len, flags, exptime, c, cb, arg);
}

int mc_delete(mc_client *mc, const char *key, mc_reply_proc *cb, void *arg)
{
    if (!mc_key_valid(key)) {
        errno = EINVAL;
        return -1;
    }
    buf_printf(&mc->out, "delete %s\r\n", key);
    return mc_queue(mc, MC_KIND_STATUS, cb, arg);
}

int mc_touch(mc_client *mc, const char *key, int64_t exptime, mc_reply_proc *cb, void *arg)
{
    if (!mc_key_valid(key)) {
        errno = EINVAL;
        return -1;
    }
    buf_printf(&mc->out, "touch %s %" PRId64 "\r\n", key, exptime);
    return mc_queue(mc, MC_KIND_STATUS, cb, arg);
}

int mc_incr(mc_client *mc, const char *key, uint64_t delta, mc_reply_proc *cb, void *arg)
{
    if (!mc_key_valid(key)) {
        errno = EINVAL;
        return -1;
    }
    buf_printf(&mc->out, "incr %s %" PRIu64 "\r\n", key, delta);
    return mc_queue(mc, MC_KIND_NUMBER, cb, arg);
}

/* http_client.c -- the HTTP/1.1 client (see http.h).
 *
 * A call owns one connection while it runs; connections that end a
 * keep-alive exchange cleanly go back to a per-client pool and are reused
 * for the same host:port, or the same Unix socket path (kept in host with
 * port 0, which no TCP peer has). A pooled connection may have been closed by the
 * server in the meantime, so a call that fails on a reused connection before
 * any byte of response arrived is retried once on a fresh one, when its
 * request is still at hand (a whole body, not one fed later).
 * Anything that would free the call while http-parser is running inside it
 * is deferred until http_parser_execute() returns.
 */
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http_int.h"
#include "net.h"

/* Room for an IPv4 host name or a Unix socket path. */
#define PEER_MAX   (NET_UNIX_PATH_MAX + 1)
#define READ_CHUNK (64 * 1024)
#define DRAIN_LOW  (64 * 1024)

typedef struct cconn {
    http_client *cli;
    int fd;
    char host[PEER_MAX];
    int port; /* 0: host is a Unix socket path */
    int connected;
    int reused;
    buf in, out;
    http_call *call;
    uint64_t idle_since;
    struct cconn *next; /* in the idle pool */
} cconn;

enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED };

struct http_call {
    http_client *cli;
    cconn *conn;
    char host[PEER_MAX];
    int port; /* 0: host is a Unix socket path */
    int is_head;
    buf request;   /* head and whole body, kept for a retry */
    int body_mode; /* for bodies fed later */
    long long body_left;
    int req_ended;
    int retried;
    http_parser parser;
    http_msg msg;
    buf body;
    http_response resp;
    int got_bytes;
    int complete;
    int paused;
    int in_parse;
    int pending_err; /* finish once the parser returns; -1: none */
    int streaming;
    int stream_stopped;
    size_t max_body;
    int timeout_ms;
    uint64_t deadline;
    http_resp_body_proc *on_body;
    void (*on_response)(http_call *, const http_response *, void *);
    http_done_proc *done;
    void *arg;
    void (*drain_fn)(http_call *, void *);
    void *drain_arg;
    http_call *prev, *next; /* the client's active calls */
};

struct http_client {
    el_loop *loop;
    http_call *calls;
    cconn *idle;
    int nidle_max;
    int idle_ms;
    long long sweep_timer;
};

static void conn_on_event(el_loop *loop, int fd, void *data, int mask);
static void call_finish(http_call *call, int err);
static void call_pump(http_call *call);

/* ---- connections ------------------------------------------------------- */

static void cconn_close(cconn *c)
{
    el_file_del(c->cli->loop, c->fd, EL_READABLE | EL_WRITABLE);
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

static cconn *cconn_open(http_client *cli, const char *host, int port)
{
    cconn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = port ? net_connect(host, port) : net_connect_unix(host);
    if (c->fd < 0) {
        int e = errno;
        free(c);
        errno = e;
        return NULL;
    }
    c->cli = cli;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    return c;
}

static void cconn_update(cconn *c)
{
    el_loop *loop = c->cli->loop;
    int want = 0;
    if (!c->call || !c->call->paused)
        want |= EL_READABLE;
    if (!c->connected || buf_used(&c->out))
        want |= EL_WRITABLE;
    int have = el_file_mask(loop, c->fd);
    if (have & ~want)
        el_file_del(loop, c->fd, have & ~want);
    if (want & ~have)
        el_file_add(loop, c->fd, want & ~have, conn_on_event, c);
}

/* An idle connection that became readable was closed by the server (or
 * sent garbage): either way it is of no further use. */
static void pool_drop(http_client *cli, cconn *c)
{
    for (cconn **pp = &cli->idle; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    cconn_close(c);
}

static void client_sweep(el_loop *loop, long long id, void *data);

/* Deadlines and idle connections are swept only while there are any: a client
 * with nothing in flight and nothing pooled does not wake its loop. */
static void sweep_arm(http_client *cli)
{
    if (cli->sweep_timer <= 0 && (cli->calls || cli->idle))
        cli->sweep_timer = el_timer_add(cli->loop, 100, client_sweep, cli);
}

static void pool_put(http_client *cli, cconn *c)
{
    int n = 0;
    for (cconn *x = cli->idle; x; x = x->next)
        if (x->port == c->port && strcmp(x->host, c->host) == 0)
            n++;
    if (n >= cli->nidle_max) {
        cconn_close(c);
        return;
    }
    c->call = NULL;
    c->reused = 1;
    c->idle_since = el_now(cli->loop);
    buf_clear(&c->in);
    c->next = cli->idle;
    cli->idle = c;
    sweep_arm(cli);
    cconn_update(c);
}

static cconn *pool_take(http_client *cli, const char *host, int port)
{
    for (cconn **pp = &cli->idle; *pp; pp = &(*pp)->next) {
        cconn *c = *pp;
        if (c->port == port && strcmp(c->host, host) == 0) {
            *pp = c->next;
            c->next = NULL;
            return c;
        }
    }
    return NULL;
}

/* ---- parser callbacks ---------------------------------------------------- */

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    http_call *call = p->data;
    return http_msg_field(&call->msg, at, len) < 0 ? (call->pending_err = EMSGSIZE, -1) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    http_call *call = p->data;
    return http_msg_value(&call->msg, at, len) < 0 ? (call->pending_err = EMSGSIZE, -1) : 0;
}

static int on_headers_complete(http_parser *p)
{
    http_call *call = p->data;
    if (p->status_code / 100 == 1)
        return 0; /* an interim response: its end restarts the parse */
    http_msg_finish(&call->msg);
    call->resp.status = p->status_code;
    call->resp.headers = call->msg.headers;
    call->resp.nheaders = call->msg.nheaders;
    if (p->flags & F_CHUNKED)
        call->resp.content_length = -1;
    else
        call->resp.content_length =
            p->content_length == ULLONG_MAX ? -1 : (long long)p->content_length;
    call->resp.body = "";
    if (!call->on_body && call->resp.content_length > 0 &&
        (unsigned long long)call->resp.content_length > call->max_body) {
        call->pending_err = EMSGSIZE;
        return -1;
    }
    if (call->on_response)
        call->on_response(call, &call->resp, call->arg);
    return call->is_head ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_call *call = p->data;
    if (call->on_body) {
        if (!call->stream_stopped && call->on_body(call, at, len, call->arg) < 0) {
            call->stream_stopped = 1;
            call->pending_err = ECANCELED;
            return -1;
        }
        return 0;
    }
    if (buf_used(&call->body) + len > call->max_body) {
        call->pending_err = EMSGSIZE;
        return -1;
    }
    buf_append(&call->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_call *call = p->data;
    if (p->status_code / 100 == 1) {
        http_msg_reset(&call->msg, call->msg.max_bytes);
        return 0;
    }
    call->complete = 1;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings client_settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- the call cycle ----------------------------------------------------- */

static void call_unlink(http_call *call)
{
    http_client *cli = call->cli;
    if (call->prev)
        call->prev->next = call->next;
    else if (cli->calls == call)
        cli->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

static void call_free(http_call *call)
{
    buf_free(&call->request);
    buf_free(&call->body);
    http_msg_free(&call->msg);
    free(call);
}

/* Ends the call: done() with err (0: success), then the connection goes back
 * to the pool or is closed. */
static void call_finish(http_call *call, int err)
{
    if (call->in_parse) {
        if (call->pending_err < 0 || err == ECANCELED)
            call->pending_err = err;
        return;
    }
    call_unlink(call);
    cconn *c = call->conn;
    call->conn = NULL;
    if (c) {
        c->call = NULL;
        int reusable = !err && call->req_ended && buf_used(&c->out) == 0 &&
                       http_should_keep_alive(&call->parser) && buf_used(&c->in) == 0;
        if (reusable)
            pool_put(call->cli, c);
        else
            cconn_close(c);
    }
    if (!err) {
        call->resp.body = buf_peek(&call->body);
        call->resp.body_len = buf_used(&call->body);
    }
    call->done(call, err, err ? NULL : &call->resp, call->arg);
    call_free(call);
}

/* Starts (or restarts) the call on a connection. */
static int call_attach(http_call *call)
{
    http_client *cli = call->cli;
    cconn *c = pool_take(cli, call->host, call->port);
    if (!c) {
        c = cconn_open(cli, call->host, call->port);
        if (!c)
            return -1;
    }
    c->call = call;
    call->conn = c;
    http_parser_init(&call->parser, HTTP_RESPONSE);
    call->parser.data = call;
    http_msg_reset(&call->msg, call->msg.max_bytes);
    buf_clear(&call->body);
    call->got_bytes = 0;
    buf_append(&c->out, buf_peek(&call->request), buf_used(&call->request));
    call->deadline = el_now(cli->loop) + (uint64_t)call->timeout_ms;
    if (c->connected || c->reused)
        c->connected = 1;
    cconn_update(c);
    return 0;
}

/* A failure on the connection: retry once when that is safe. */
static void call_conn_failed(http_call *call, int err)
{
    cconn *c = call->conn;
    int retry = c && c->reused && !call->got_bytes && !call->retried &&
                call->body_mode == BODY_NONE && err != ETIMEDOUT;
    if (retry) {
        call->retried = 1;
        c->call = NULL;
        call->conn = NULL;
        cconn_close(c);
        if (call_attach(call) == 0)
            return;
        err = errno;
    }
    call_finish(call, err);
}

static void call_flush(http_call *call)
{
    cconn *c = call->conn;
    while (buf_used(&c->out)) {
        ssize_t n = write(c->fd, buf_peek(&c->out), buf_used(&c->out));
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            call->deadline = el_now(c->cli->loop) + (uint64_t)call->timeout_ms;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            call_conn_failed(call, n < 0 ? errno : EPIPE);
            return;
        }
    }
    cconn_update(c);
    if (call->drain_fn && !call->req_ended && buf_used(&c->out) < DRAIN_LOW)
        call->drain_fn(call, call->drain_arg);
}

/* Feeds buffered response bytes to the parser. */
static void call_pump(http_call *call)
{
    cconn *c = call->conn;
    if (buf_used(&c->in) == 0 || call->paused)
        return;
    call->in_parse = 1;
    size_t n =
        http_parser_execute(&call->parser, &client_settings, buf_peek(&c->in), buf_used(&c->in));
    call->in_parse = 0;
    buf_consume(&c->in, n);
    enum http_errno perr = HTTP_PARSER_ERRNO(&call->parser);
    if (call->pending_err >= 0) {
        call_finish(call, call->pending_err);
    } else if (call->complete) {
        http_parser_pause(&call->parser, 0);
        call_finish(call, 0);
    } else if (perr != HPE_OK && perr != HPE_PAUSED) {
        call_finish(call, EPROTO);
    }
}

static void conn_on_event(el_loop *loop, int fd, void *data, int mask)
{
    (void)fd;
    cconn *c = data;
    http_call *call = c->call;
    if (!call) { /* idle in the pool */
        pool_drop(c->cli, c);
        return;
    }
    if (!c->connected) {
        if (net_connect_result(c->fd) < 0) {
            call_conn_failed(call, errno);
            return;
        }
        c->connected = 1;
    }
    if (mask & EL_WRITABLE) {
        call_flush(call);
        if (c->call != call)
            return; /* failed and retried or finished */
    }
    if (!(mask & EL_READABLE) || call->paused)
        return;
    char *dst = buf_reserve(&c->in, READ_CHUNK);
    ssize_t n = read(c->fd, dst, READ_CHUNK);
    if (n > 0) {
        buf_commit(&c->in, (size_t)n);
        call->got_bytes = 1;
        call->deadline = el_now(loop) + (uint64_t)call->timeout_ms;
        call_pump(call);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == 0 && call->got_bytes) {
        /* End of a body delimited by the close of the connection? */
        call->in_parse = 1;
        http_parser_execute(&call->parser, &client_settings, NULL, 0);
        call->in_parse = 0;
        if (call->pending_err >= 0) {
            call_finish(call, call->pending_err);
            return;
        }
        if (call->complete) {
            c->call = NULL; /* closed by the server: not for the pool */
            call->conn = NULL;
            cconn_close(c);
            call_finish(call, 0);
            return;
        }
    }
    call_conn_failed(call, n == 0 ? ECONNRESET : errno);
}

static void client_sweep(el_loop *loop, long long id, void *data)
{
    (void)id;
    http_client *cli = data;
    cli->sweep_timer = 0;
    uint64_t now = el_now(loop);
    for (http_call *call = cli->calls, *next; call; call = next) {
        next = call->next;
        if (call->deadline && call->deadline <= now)
            call_finish(call, ETIMEDOUT);
    }
    for (cconn **pp = &cli->idle; *pp;) {
        cconn *c = *pp;
        if (c->idle_since + (uint64_t)cli->idle_ms <= now) {
            *pp = c->next;
            cconn_close(c);
        } else {
            pp = &c->next;
        }
    }
    sweep_arm(cli);
}

/* ---- API -------------------------------------------------------------------- */

http_client *http_client_create(el_loop *loop)
{
    http_client *cli = calloc(1, sizeof(*cli));
    if (!cli)
        return NULL;
    cli->loop = loop;
    cli->nidle_max = 8;
    cli->idle_ms = 30000;
    return cli;
}

void http_client_free(http_client *cli)
{
    if (!cli)
        return;
    while (cli->calls)
        call_finish(cli->calls, ECANCELED);
    while (cli->idle) {
        cconn *c = cli->idle;
        cli->idle = c->next;
        cconn_close(c);
    }
    if (cli->sweep_timer > 0)
        el_timer_del(cli->loop, cli->sweep_timer);
    free(cli);
}

void http_client_set_pool(http_client *cli, int max_idle_per_host, int idle_ms)
{
    cli->nidle_max = max_idle_per_host >= 0 ? max_idle_per_host : 8;
    cli->idle_ms = idle_ms > 0 ? idle_ms : 30000;
}

static int token_ok(const char *s)
{
    return s && *s && !strpbrk(s, " \r\n");
}

http_call *http_call_start(http_client *cli, const http_call_opts *o, http_done_proc *done,
                           void *arg)
{
    const char *method = o->method ? o->method : "GET";
    const char *path = o->path ? o->path : "/";
    int tcp_ok = o->host && o->port > 0 && o->port <= 65535 && strlen(o->host) < NET_ADDR_MAX;
    int unix_ok = o->unix_path && *o->unix_path && strlen(o->unix_path) < PEER_MAX;
    if (!done || !token_ok(method) || !token_ok(path) || !(o->unix_path ? unix_ok : tcp_ok) ||
        (o->body && o->body_len < 0) || o->body_len < HTTP_BODY_LATER) {
        errno = EINVAL;
        return NULL;
    }
    for (int i = 0; i < o->nheaders; i++)
        if (!o->headers[i].name || !o->headers[i].value || strpbrk(o->headers[i].name, "\r\n:") ||
            strpbrk(o->headers[i].value, "\r\n")) {
            errno = EINVAL;
            return NULL;
        }
    http_call *call = calloc(1, sizeof(*call));
    if (!call)
        return NULL;
    call->cli = cli;
    snprintf(call->host, sizeof(call->host), "%s", o->unix_path ? o->unix_path : o->host);
    call->port = o->unix_path ? 0 : o->port;
    call->is_head = strcasecmp(method, "HEAD") == 0;
    call->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    call->max_body = o->max_body ? o->max_body : 16 * 1024 * 1024;
    call->on_body = o->on_body;
    call->on_response = o->on_response;
    call->done = done;
    call->arg = arg;
    call->pending_err = -1;
    call->msg.max_bytes = 64 * 1024;

    buf *r = &call->request;
    if (o->unix_path)
        buf_printf(r, "%s %s HTTP/1.1\r\nHost: localhost\r\n", method, path);
    else
        buf_printf(r, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", method, path, o->host, o->port);
    int has_body = o->body || o->body_len != 0;
    if (has_body && o->content_type)
        buf_printf(r, "Content-Type: %s\r\n", o->content_type);
    if (o->body_len == HTTP_BODY_LATER) {
        buf_puts(r, "Transfer-Encoding: chunked\r\n");
        call->body_mode = BODY_CHUNKED;
    } else if (has_body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        buf_printf(r, "Content-Length: %lld\r\n", o->body_len);
        if (!o->body && o->body_len > 0) {
            call->body_mode = BODY_LENGTH;
            call->body_left = o->body_len;
        }
    }
    for (int i = 0; i < o->nheaders; i++)
        buf_printf(r, "%s: %s\r\n", o->headers[i].name, o->headers[i].value);
    buf_puts(r, "\r\n");
    if (o->body && o->body_len > 0)
        buf_append(r, o->body, (size_t)o->body_len);
    call->req_ended = call->body_mode == BODY_NONE;

    if (call_attach(call) < 0) {
        int e = errno;
        call_free(call);
        errno = e;
        return NULL;
    }
    if (call->body_mode != BODY_NONE)
        buf_free(&call->request); /* no retry for streamed bodies */
    call->next = cli->calls;
    if (cli->calls)
        cli->calls->prev = call;
    cli->calls = call;
    sweep_arm(cli);
    if (call->conn->connected)
        call_flush(call);
    return call;
}

int http_call_write(http_call *call, const void *data, size_t len)
{
    if (call->req_ended || call->body_mode == BODY_NONE || !call->conn) {
        errno = EINVAL;
        return -1;
    }
    if (len == 0)
        return 0;
    cconn *c = call->conn;
    if (call->body_mode == BODY_LENGTH) {
        if ((long long)len > call->body_left) {
            errno = EMSGSIZE;
            return -1;
        }
        call->body_left -= (long long)len;
        buf_append(&c->out, data, len);
    } else {
        buf_printf(&c->out, "%zx\r\n", len);
        buf_append(&c->out, data, len);
        buf_puts(&c->out, "\r\n");
    }
    if (c->connected && buf_used(&c->out) >= DRAIN_LOW) {
        void (*fn)(http_call *, void *) = call->drain_fn;
        call->drain_fn = NULL; /* not from inside the caller */
        call_flush(call);
        if (c->call != call)
            return -1;
        call->drain_fn = fn;
    } else {
        cconn_update(c);
    }
    return 0;
}

int http_call_end(http_call *call)
{
    if (call->req_ended || !call->conn) {
        errno = EINVAL;
        return -1;
    }
    if (call->body_mode == BODY_LENGTH && call->body_left != 0) {
        errno = EMSGSIZE;
        return -1;
    }
    if (call->body_mode == BODY_CHUNKED)
        buf_puts(&call->conn->out, "0\r\n\r\n");
    call->req_ended = 1;
    cconn_update(call->conn);
    return 0;
}

size_t http_call_pending(const http_call *call)
{
    return call->conn ? buf_used(&call->conn->out) : 0;
}

void http_call_on_drain(http_call *call, void (*fn)(http_call *, void *), void *arg)
{
    call->drain_fn = fn;
    call->drain_arg = arg;
}

void http_call_pause(http_call *call)
{
    call->paused = 1;
    if (call->conn)
        cconn_update(call->conn);
}

void http_call_resume(http_call *call)
{
    call->paused = 0;
    if (!call->conn)
        return;
    cconn_update(call->conn);
    call_pump(call); /* bytes read before the pause */
}

void http_call_cancel(http_call *call)
{
    call_finish(call, ECANCELED);
}

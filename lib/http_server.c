/* http_server.c -- the HTTP/1.1 server (see http.h).
 *
 * One http_conn per socket. Bytes are read into conn->in and fed to
 * http-parser; the parser is paused at the end of each message so that a
 * pipelined request waits, unparsed, until the reply to the one before it has
 * ended. Handlers run outside http_parser_execute() except for on_headers and
 * body streaming; anything that would free the connection while the parser
 * is running is deferred to the end of conn_process(). Timeouts are checked by
 * one sweep timer per server rather than a timer per connection.
 */
#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_int.h"
#include "log.h"
#include "net.h"

#define READ_CHUNK    (64 * 1024)
#define LINGER_MS     2000 /* reading what a refused client still sends */
#define DRAIN_LOW     (64 * 1024)
#define INBUF_READMAX (64 * 1024) /* read ahead at most this much while a handler runs */

enum { PH_IDLE, PH_HEAD, PH_BODY, PH_HANDLER };
enum { RS_NONE, RS_STARTED, RS_ENDED };

typedef struct http_conn http_conn;

typedef struct req_impl {
    http_req pub;
    http_conn *conn;
    char *path;
    http_body_proc *stream;
    void *stream_arg;
    void (*abort_fn)(http_req *, void *);
    void *abort_arg;
    void (*drain_fn)(http_req *, void *);
    void *drain_arg;
    int keep_alive;
    int is_head;
    int complete; /* the whole request has been parsed */
    int reply_state;
    int reply_chunked;
    int stream_stopped;
    buf reply_headers;
} req_impl;

struct http_conn {
    http_server *srv;
    int fd;
    char peer[NET_ADDR_MAX];
    http_parser parser;
    http_msg msg;
    buf in, out;
    buf body;
    req_impl *req;
    int phase;
    int error_status; /* set by a parser callback: reply with it and close */
    int close_after;  /* close once out has been written */
    int unread_body;  /* closing while the client may still be sending */
    int lingering;    /* answered and half-closed: discarding input until EOF */
    int paused;
    int peer_eof;
    int in_process;
    int dead;
    uint64_t deadline;
    http_conn *prev, *next;
};

struct http_server {
    el_loop *loop;
    int fd;
    int port;
    http_server_config cfg;
    http_conn *conns;
    int nconns;
    long long sweep_timer;
    int sweep_ms;
};

static void conn_process(http_conn *c);
static void conn_update_events(http_conn *c);
static void conn_flush(http_conn *c);
static void conn_after_reply(http_conn *c);

static req_impl *impl(http_req *r)
{
    return (req_impl *)r;
}

/* ---- connection lifetime ------------------------------------------------ */

static void req_free(req_impl *r)
{
    if (!r)
        return;
    free(r->path);
    buf_free(&r->reply_headers);
    free(r);
}

static void conn_free(http_conn *c)
{
    http_server *s = c->srv;
    if (c->req) {
        req_impl *r = c->req;
        c->req = NULL;
        if (r->reply_state != RS_ENDED && r->abort_fn)
            r->abort_fn(&r->pub, r->abort_arg);
        req_free(r);
    }
    el_file_del(s->loop, c->fd, EL_READABLE | EL_WRITABLE);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    http_msg_free(&c->msg);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->body);
    free(c);
}

/* Closes now, or at the end of conn_process() when called from inside it. */
static void conn_close(http_conn *c)
{
    if (c->in_process) {
        c->dead = 1;
        return;
    }
    conn_free(c);
}

/* ---- parser callbacks -------------------------------------------------- */

static int on_message_begin(http_parser *p)
{
    http_conn *c = p->data;
    http_msg_reset(&c->msg, c->srv->cfg.max_header_bytes);
    buf_clear(&c->body);
    c->phase = PH_HEAD;
    c->deadline = el_now(c->srv->loop) + (uint64_t)c->srv->cfg.header_timeout_ms;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    if (http_msg_target(&c->msg, at, len) < 0) {
        c->error_status = 414;
        return -1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    if (http_msg_field(&c->msg, at, len) < 0) {
        c->error_status = 431;
        return -1;
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    if (http_msg_value(&c->msg, at, len) < 0) {
        c->error_status = 431;
        return -1;
    }
    return 0;
}

static char *decode_path(const char *url)
{
    const char *p = url;
    if (strncasecmp(p, "http://", 7) == 0) { /* absolute form */
        p = strchr(p + 7, '/');
        if (!p)
            p = "/";
    }
    size_t n = strcspn(p, "?#");
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    int len = http_url_decode(out, p, n, 0);
    /* A decoded NUL would cut the path short: refuse it. */
    if (len < 0 || strlen(out) != (size_t)len) {
        free(out);
        return NULL;
    }
    return out;
}

static int on_headers_complete(http_parser *p)
{
    http_conn *c = p->data;
    http_server *s = c->srv;
    http_msg_finish(&c->msg);
    req_impl *r = calloc(1, sizeof(*r));
    if (!r) {
        c->error_status = 503;
        return -1;
    }
    const char *url = buf_peek(&c->msg.head);
    r->path = decode_path(url);
    if (!r->path) {
        free(r);
        c->error_status = 400;
        return -1;
    }
    r->conn = c;
    r->pub.method = http_method_str((enum http_method)p->method);
    r->pub.url = url;
    r->pub.path = r->path;
    const char *q = strchr(url, '?');
    r->pub.query = q ? q + 1 : "";
    r->pub.headers = c->msg.headers;
    r->pub.nheaders = c->msg.nheaders;
    if (p->flags & F_CHUNKED)
        r->pub.content_length = -1;
    else if (p->content_length == ULLONG_MAX)
        r->pub.content_length = 0;
    else
        r->pub.content_length = (long long)p->content_length;
    r->pub.body = "";
    r->pub.peer = c->peer;
    r->pub.server = s;
    r->keep_alive = http_should_keep_alive(p);
    r->is_head = p->method == HTTP_HEAD;
    c->req = r;
    c->phase = PH_BODY;
    c->deadline = el_now(s->loop) + (uint64_t)s->cfg.body_timeout_ms;

    if (s->cfg.on_headers)
        s->cfg.on_headers(&r->pub);
    if (r->reply_state == RS_ENDED || c->dead)
        return 0; /* answered from the headers alone; conn_after_reply closes */
    if (!r->stream && r->pub.content_length > 0 &&
        (unsigned long long)r->pub.content_length > s->cfg.max_body_bytes) {
        c->error_status = 413;
        return -1;
    }
    const char *expect = http_req_header(&r->pub, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && r->pub.content_length != 0)
        buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    req_impl *r = c->req;
    if (!r || r->reply_state == RS_ENDED)
        return 0; /* already answered; the connection closes after the reply */
    if (r->stream) {
        if (r->stream_stopped)
            return 0;
        if (r->stream(&r->pub, at, len, r->stream_arg) < 0)
            r->stream_stopped = 1;
        return 0;
    }
    if (buf_used(&c->body) + len > c->srv->cfg.max_body_bytes) {
        c->error_status = 413;
        return -1;
    }
    buf_append(&c->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_conn *c = p->data;
    if (c->req) {
        c->req->complete = 1;
        c->req->pub.body = buf_peek(&c->body);
        c->req->pub.body_len = buf_used(&c->body);
    }
    c->phase = PH_HANDLER;
    c->deadline = 0;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings server_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- writing ------------------------------------------------------------ */

static void conn_on_event(el_loop *loop, int fd, void *data, int mask);

static void conn_update_events(http_conn *c)
{
    if (c->dead)
        return;
    el_loop *loop = c->srv->loop;
    int want = 0;
    if (c->lingering ||
        (!c->paused && !c->peer_eof && !c->close_after && buf_used(&c->in) < INBUF_READMAX))
        want |= EL_READABLE;
    if (buf_used(&c->out) > 0)
        want |= EL_WRITABLE;
    int have = el_file_mask(loop, c->fd);
    if (have & ~want)
        el_file_del(loop, c->fd, have & ~want);
    if (want & ~have)
        el_file_add(loop, c->fd, want, conn_on_event, c);
}

static void conn_flush(http_conn *c)
{
    while (buf_used(&c->out) > 0) {
        ssize_t n = write(c->fd, buf_peek(&c->out), buf_used(&c->out));
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            if (c->phase == PH_HANDLER)
                c->deadline = el_now(c->srv->loop) + (uint64_t)c->srv->cfg.body_timeout_ms;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        conn_close(c); /* peer gone */
        return;
    }
    if (buf_used(&c->out) == 0) {
        if (c->phase == PH_HANDLER && (!c->req || c->req->reply_state != RS_STARTED))
            c->deadline = 0;
        if (c->close_after && c->unread_body && !c->lingering && !c->peer_eof) {
            /* A client refused mid-body (413, 408) may still be sending: closing
             * now would reset the connection and lose the answer it has not read
             * yet. Half-close, read and drop until its EOF or LINGER_MS. */
            shutdown(c->fd, SHUT_WR);
            c->lingering = 1;
            c->deadline = el_now(c->srv->loop) + LINGER_MS;
            buf_clear(&c->in);
        } else if (c->close_after) {
            conn_close(c);
            return;
        }
    }
    conn_update_events(c);
    if (c->req && c->req->reply_state == RS_STARTED && c->req->drain_fn &&
        buf_used(&c->out) < DRAIN_LOW && !c->dead) {
        c->req->drain_fn(&c->req->pub, c->req->drain_arg);
        conn_update_events(c); /* what the callback queued needs the socket */
    }
}

/* Answers a request that failed in the parser (or was never made into a
 * request) and closes the connection afterwards. */
static void conn_send_error(http_conn *c, int status)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", http_status_text(status));
    buf_printf(&c->out,
               "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
               "Connection: close\r\n\r\n%s",
               status, http_status_text(status), n, body);
    c->close_after = 1;
    c->unread_body = 1;
    if (c->req) {
        req_impl *r = c->req;
        c->req = NULL;
        /* The request ends here, unanswered by its handler: tell the handler,
         * which may hold resources for it (a streamed upload's file). */
        if (r->reply_state != RS_ENDED && r->abort_fn)
            r->abort_fn(&r->pub, r->abort_arg);
        req_free(r);
    }
}

/* ---- reading and the request cycle ------------------------------------- */

/* Closing is deferred while any of these sections runs (see conn_close). */
static void conn_enter(http_conn *c)
{
    c->in_process++;
}

static void conn_leave(http_conn *c)
{
    if (--c->in_process == 0 && c->dead)
        conn_free(c);
}

/* Drives a connection: parses buffered input, runs handlers, moves on after
 * replies, writes what is queued. Call between conn_enter and conn_leave. */
static void conn_process(http_conn *c)
{
    http_server *s = c->srv;
    for (;;) {
        while (!c->dead && !c->close_after) {
            if (c->req && c->req->reply_state == RS_ENDED) {
                conn_after_reply(c);
                continue;
            }
            if (c->phase == PH_HANDLER || buf_used(&c->in) == 0)
                break;
            size_t len = buf_used(&c->in);
            size_t n = http_parser_execute(&c->parser, &server_settings, buf_peek(&c->in), len);
            buf_consume(&c->in, n);
            enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
            if (err == HPE_PAUSED) {
                http_parser_pause(&c->parser, 0);
            } else if (err != HPE_OK) {
                if (c->req && c->req->reply_state == RS_ENDED) {
                    c->close_after = 1; /* answered early; closing anyway */
                    c->unread_body = 1;
                    break;
                }
                int status = c->error_status ? c->error_status : 400;
                log_debug("http %s: %s (%s)", c->peer, http_status_text(status),
                          http_errno_name(err));
                conn_send_error(c, status);
                break;
            }
            if (c->phase == PH_HANDLER && c->req && c->req->reply_state == RS_NONE) {
                req_impl *r = c->req;
                if (r->stream) {
                    r->pub.body = "";
                    r->pub.body_len = 0;
                }
                s->cfg.on_request(&r->pub);
            } else if (n < len && c->phase != PH_HANDLER) {
                break; /* never spin */
            }
        }
        if (c->dead)
            return;
        conn_flush(c);
        if (c->dead)
            return;
        if (c->req && c->req->reply_state == RS_ENDED && c->req->complete && !c->close_after)
            continue; /* a drain callback ended the reply */
        if (c->peer_eof && c->phase == PH_IDLE && buf_used(&c->out) == 0)
            conn_close(c);
        return;
    }
}

/* The current reply has ended: forget the request and move to the next one,
 * unless the connection must close. */
static void conn_after_reply(http_conn *c)
{
    req_impl *r = c->req;
    if (!r)
        return;
    if (!r->complete || !r->keep_alive || r->stream_stopped)
        c->close_after = 1;
    if (!r->complete || r->stream_stopped)
        c->unread_body = 1; /* answered before the body was read: linger */
    if (!r->complete)
        return; /* keep r until the parser is done with it; we close anyway */
    c->req = NULL;
    req_free(r);
    c->paused = 0; /* a pause belongs to the request that asked for it */
    c->phase = PH_IDLE;
    c->deadline = el_now(c->srv->loop) + (uint64_t)c->srv->cfg.idle_timeout_ms;
    http_msg_reset(&c->msg, c->srv->cfg.max_header_bytes);
    buf_clear(&c->body);
}

/* A lingering connection's input: dropped; its EOF or error closes it. */
static void conn_linger_read(http_conn *c)
{
    char scratch[READ_CHUNK];
    for (;;) {
        ssize_t n = read(c->fd, scratch, sizeof scratch);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(c);
        return;
    }
}

static void conn_read(http_conn *c)
{
    if (c->lingering) {
        conn_linger_read(c);
        return;
    }
    for (;;) {
        char *dst = buf_reserve(&c->in, READ_CHUNK);
        ssize_t n = read(c->fd, dst, READ_CHUNK);
        if (n > 0) {
            buf_commit(&c->in, (size_t)n);
            if (c->phase == PH_BODY)
                c->deadline = el_now(c->srv->loop) + (uint64_t)c->srv->cfg.body_timeout_ms;
            break;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n == 0 && (c->phase == PH_HANDLER || buf_used(&c->out) > 0)) {
            c->peer_eof = 1; /* answer what was asked, then close */
            conn_update_events(c);
            return;
        }
        conn_close(c);
        return;
    }
}

static void conn_on_event(el_loop *loop, int fd, void *data, int mask)
{
    (void)loop;
    (void)fd;
    http_conn *c = data;
    conn_enter(c);
    if (mask & EL_WRITABLE)
        conn_flush(c);
    if ((mask & EL_READABLE) && !c->dead)
        conn_read(c);
    if (!c->dead && !c->lingering)
        conn_process(c);
    conn_leave(c);
}

static void server_sweep(el_loop *loop, long long id, void *data);

/* Deadlines are swept only while there are connections: an idle server sleeps. */
static void sweep_arm(http_server *s)
{
    if (s->sweep_timer <= 0 && s->conns)
        s->sweep_timer = el_timer_add(s->loop, s->sweep_ms, server_sweep, s);
}

static http_conn *conn_new(http_server *s, int fd, const char *peer)
{
    http_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->srv = s;
    c->fd = fd;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    http_msg_reset(&c->msg, s->cfg.max_header_bytes);
    c->phase = PH_IDLE;
    c->deadline = el_now(s->loop) + (uint64_t)s->cfg.idle_timeout_ms;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    sweep_arm(s);
    if (el_file_add(s->loop, fd, EL_READABLE, conn_on_event, c) < 0) {
        conn_free(c);
        return NULL;
    }
    return c;
}

/* A connection over --max-conns: a 503 in one best-effort write (a fresh
 * socket's buffer takes it), then closed, so that the client learns why. */
static void refuse_full(int fd)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                              "Content-Length: 32\r\nConnection: close\r\n\r\n"
                              "{\"error\":\"too many connections\"}";
    ssize_t w = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;
    close(fd);
}

int http_server_adopt(http_server *s, int fd, const char *peer)
{
    if (s->nconns >= s->cfg.max_conns) {
        refuse_full(fd);
        return 0;
    }
    if (net_set_nonblock(fd, 1) < 0) {
        close(fd);
        return -1;
    }
    if (!conn_new(s, fd, peer ? peer : "-")) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static void server_on_accept(el_loop *loop, int fd, void *data, int mask)
{
    (void)mask;
    (void)loop;
    http_server *s = data;
    for (int i = 0; i < 64; i++) {
        char ip[40], peer[NET_ADDR_MAX];
        int port;
        int cfd = net_accept(fd, ip, sizeof(ip), &port);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("accept: %s", strerror(errno));
            return;
        }
        if (s->nconns >= s->cfg.max_conns) {
            refuse_full(cfd);
            continue;
        }
        net_set_nodelay(cfd, 1);
        snprintf(peer, sizeof(peer), "%s:%d", ip, port);
        if (!conn_new(s, cfd, peer))
            return; /* out of memory; conn_new closed the socket */
    }
}

static void server_sweep(el_loop *loop, long long id, void *data)
{
    (void)id;
    http_server *s = data;
    s->sweep_timer = 0;
    uint64_t now = el_now(loop);
    http_conn *c = s->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (!c->deadline || c->deadline > now)
            continue;
        conn_enter(c);
        if (c->lingering) {
            conn_close(c);
        } else if ((c->phase == PH_HEAD || c->phase == PH_BODY) && !c->req && buf_used(&c->out) == 0) {
            conn_send_error(c, 408);
            conn_flush(c);
        } else if (c->phase == PH_BODY && c->req && c->req->reply_state == RS_NONE &&
                   buf_used(&c->out) == 0 && !c->req->stream) {
            conn_send_error(c, 408);
            conn_flush(c);
        } else {
            conn_close(c);
        }
        conn_leave(c);
    }
    sweep_arm(s);
}

/* ---- server ------------------------------------------------------------ */

http_server *http_server_create(el_loop *loop, const char *host, int port,
                                const http_server_config *cfg)
{
    if (!cfg || !cfg->on_request) {
        errno = EINVAL;
        return NULL;
    }
    http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->cfg = *cfg;
    if (!s->cfg.max_header_bytes)
        s->cfg.max_header_bytes = 16 * 1024;
    if (!s->cfg.max_body_bytes)
        s->cfg.max_body_bytes = 1024 * 1024;
    if (!s->cfg.header_timeout_ms)
        s->cfg.header_timeout_ms = 10000;
    if (!s->cfg.body_timeout_ms)
        s->cfg.body_timeout_ms = 30000;
    if (!s->cfg.idle_timeout_ms)
        s->cfg.idle_timeout_ms = 60000;
    if (!s->cfg.max_conns)
        s->cfg.max_conns = 1024;
    int t = s->cfg.header_timeout_ms;
    if (s->cfg.body_timeout_ms < t)
        t = s->cfg.body_timeout_ms;
    if (s->cfg.idle_timeout_ms < t)
        t = s->cfg.idle_timeout_ms;
    s->sweep_ms = t / 4 < 10 ? 10 : t / 4 > 1000 ? 1000 : t / 4;
    s->fd = host ? net_listen(host, port, 511) : -1;
    if (!host) {
        s->port = 0; /* serves only what is adopted */
        return s;
    }
    if (s->fd < 0) {
        int e = errno;
        free(s);
        errno = e;
        return NULL;
    }
    s->port = net_local_port(s->fd);
    if (el_file_add(loop, s->fd, EL_READABLE, server_on_accept, s) < 0) {
        int e = errno;
        close(s->fd);
        free(s);
        errno = e;
        return NULL;
    }
    return s;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_free(s->conns);
    if (s->sweep_timer > 0)
        el_timer_del(s->loop, s->sweep_timer);
    if (s->fd >= 0) {
        el_file_del(s->loop, s->fd, EL_READABLE);
        close(s->fd);
    }
    free(s);
}

int http_server_port(const http_server *s)
{
    return s->port;
}

void *http_server_data(const http_server *s)
{
    return s->cfg.data;
}

el_loop *http_server_loop(const http_server *s)
{
    return s->loop;
}

/* ---- requests ----------------------------------------------------------- */

const char *http_req_header(const http_req *req, const char *name)
{
    return http_find_header(req->headers, req->nheaders, name);
}

int http_req_query(const http_req *req, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    const char *p = req->query;
    while (*p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t nlen = eq ? (size_t)(eq - p) : n;
        if (nlen == klen && memcmp(p, key, klen) == 0) {
            const char *v = eq ? eq + 1 : p + n;
            size_t vlen = (size_t)(p + n - v);
            if (vlen >= outlen)
                return -1;
            return http_url_decode(out, v, vlen, 1);
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return -1;
}

cJSON *http_req_json(const http_req *req)
{
    return cJSON_ParseWithLength(req->body, req->body_len);
}

void http_req_stream_body(http_req *req, http_body_proc *fn, void *arg)
{
    impl(req)->stream = fn;
    impl(req)->stream_arg = arg;
}

void http_req_pause(http_req *req)
{
    http_conn *c = impl(req)->conn;
    c->paused = 1;
    conn_update_events(c);
}

void http_req_resume(http_req *req)
{
    http_conn *c = impl(req)->conn;
    c->paused = 0;
    conn_update_events(c);
}

void http_req_on_abort(http_req *req, void (*fn)(http_req *, void *), void *arg)
{
    impl(req)->abort_fn = fn;
    impl(req)->abort_arg = arg;
}

/* ---- replies ------------------------------------------------------------ */

void http_req_drop(http_req *req)
{
    req_impl *r = impl(req);
    http_conn *c = r->conn;
    r->abort_fn = NULL;
    r->drain_fn = NULL;
    r->reply_state = RS_ENDED;
    r->complete = 1;
    c->close_after = 1;
    buf_clear(&c->out); /* nothing more goes out, not even what is queued */
    conn_close(c);
}

int http_reply_header(http_req *req, const char *name, const char *value)
{
    req_impl *r = impl(req);
    if (r->reply_state != RS_NONE || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
        errno = EINVAL;
        return -1;
    }
    buf_printf(&r->reply_headers, "%s: %s\r\n", name, value);
    return 0;
}

int http_reply_start(http_req *req, int status, const char *content_type, long long content_length)
{
    req_impl *r = impl(req);
    http_conn *c = r->conn;
    if (r->reply_state != RS_NONE) {
        errno = EALREADY;
        return -1;
    }
    r->reply_state = RS_STARTED;
    int closing = !r->complete || !r->keep_alive || r->stream_stopped || c->peer_eof;
    buf_printf(&c->out, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
    if (content_type)
        buf_printf(&c->out, "Content-Type: %s\r\n", content_type);
    if (status == 204 || status == 304 || status / 100 == 1) {
        content_length = 0;
    } else if (content_length >= 0) {
        buf_printf(&c->out, "Content-Length: %lld\r\n", content_length);
    } else {
        buf_puts(&c->out, "Transfer-Encoding: chunked\r\n");
        r->reply_chunked = 1;
    }
    if (closing)
        buf_puts(&c->out, "Connection: close\r\n");
    buf_append(&c->out, buf_peek(&r->reply_headers), buf_used(&r->reply_headers));
    buf_puts(&c->out, "\r\n");
    if (r->is_head)
        r->reply_chunked = 0;
    conn_update_events(c); /* the head goes out without waiting for a write */
    return 0;
}

int http_reply_write(http_req *req, const void *data, size_t len)
{
    req_impl *r = impl(req);
    http_conn *c = r->conn;
    if (r->reply_state != RS_STARTED) {
        errno = EINVAL;
        return -1;
    }
    if (r->is_head || len == 0)
        return 0;
    if (r->reply_chunked)
        buf_printf(&c->out, "%zx\r\n", len);
    buf_append(&c->out, data, len);
    if (r->reply_chunked)
        buf_puts(&c->out, "\r\n");
    if (!c->in_process && buf_used(&c->out) >= DRAIN_LOW) {
        /* Write now rather than at the next loop turn: bounded memory. The
         * drain callback is not run from here, to keep the caller's loop flat. */
        void (*fn)(http_req *, void *) = r->drain_fn;
        r->drain_fn = NULL;
        conn_enter(c);
        conn_flush(c);
        int gone = c->dead;
        conn_leave(c);
        if (gone) {
            errno = EPIPE;
            return -1;
        }
        r->drain_fn = fn;
    } else {
        conn_update_events(c); /* written when the socket has room */
    }
    return 0;
}

int http_reply_end(http_req *req)
{
    req_impl *r = impl(req);
    http_conn *c = r->conn;
    if (r->reply_state != RS_STARTED) {
        errno = EINVAL;
        return -1;
    }
    if (r->reply_chunked)
        buf_puts(&c->out, "0\r\n\r\n");
    r->reply_state = RS_ENDED;
    r->drain_fn = NULL;
    if (c->in_process)
        return 0; /* the conn_process() up the stack moves on */
    conn_enter(c);
    conn_process(c); /* the next pipelined request, then flush */
    conn_leave(c);
    return 0;
}

size_t http_reply_pending(const http_req *req)
{
    return buf_used(&((const req_impl *)req)->conn->out);
}

void http_reply_on_drain(http_req *req, void (*fn)(http_req *, void *), void *arg)
{
    impl(req)->drain_fn = fn;
    impl(req)->drain_arg = arg;
}

int http_reply(http_req *req, int status, const char *content_type, const void *body, size_t len)
{
    if (http_reply_start(req, status, content_type, (long long)len) < 0)
        return -1;
    if (len && !impl(req)->is_head && status != 204 && status != 304)
        buf_append(&impl(req)->conn->out, body, len);
    return http_reply_end(req);
}

int http_reply_json(http_req *req, int status, const cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    if (!text)
        return http_reply(req, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = http_reply(req, status, "application/json", text, n + 1);
    free(text);
    return rc;
}

int http_reply_error(http_req *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    int rc = http_reply_json(req, status, o);
    cJSON_Delete(o);
    return rc;
}

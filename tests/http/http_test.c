/* http_test.c -- unit tests of lib's HTTP server and client, run under
 * AddressSanitizer and UBSan.
 *
 * The process forks: the child runs a test server on an event loop, the
 * parent talks to it with raw blocking sockets (to control every byte:
 * pipelining, limits, timeouts, malformed input) and with lib's own client.
 * Each case prints "PASS name" or "FAIL name: why".
 */
#include <cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "el.h"
#include "http.h"
#include "log.h"
#include "net.h"

/* The test server's connection limit; above the client test's 50 at once. */
#define MAX_CONNS 100

static int port;
static int failures;

/* ---- the server (child) ---------------------------------------------------- */

static int aborts;

typedef struct upload {
    http_req *req;
    size_t bytes;
    int pauses;
    long long resume_timer;
} upload;

static void slow_reply(el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    http_reply(data, 200, "text/plain", "slow", 4);
}

static void never_abort(http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    aborts++;
}

static void resume_upload(el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    upload *u = data;
    u->resume_timer = 0;
    http_req_resume(u->req);
}

static int upload_body(http_req *req, const char *data, size_t len, void *arg)
{
    upload *u = arg;
    (void)data;
    size_t before = u->bytes;
    u->bytes += len;
    if (before / (1 << 20) != u->bytes / (1 << 20)) { /* pause a moment every MiB */
        u->pauses++;
        http_req_pause(req);
        if (!u->resume_timer)
            u->resume_timer = el_timer_add(http_server_loop(req->server), 1, resume_upload, u);
    }
    return 0;
}

static void on_headers(http_req *req)
{
    if (strcmp(req->path, "/upload") == 0) {
        upload *u = calloc(1, sizeof(*u));
        u->req = req;
        req->data = u;
        http_req_stream_body(req, upload_body, u);
    }
}

static void on_request(http_req *req)
{
    el_loop *loop = http_server_loop(req->server);
    const char *p = req->path;
    char tmp[128];
    if (strcmp(p, "/hello") == 0) {
        http_reply(req, 200, "text/plain", "hello", 5);
    } else if (strcmp(p, "/echo") == 0) {
        snprintf(tmp, sizeof(tmp), "%zu", req->body_len);
        http_reply_header(req, "X-Body-Len", tmp);
        http_reply(req, 200, "application/octet-stream", req->body, req->body_len);
    } else if (strcmp(p, "/peer") == 0) {
        http_reply(req, 200, "text/plain", req->peer, strlen(req->peer));
    } else if (strcmp(p, "/query") == 0) {
        char v[64];
        int n = http_req_query(req, "v", v, sizeof(v));
        http_reply(req, 200, "text/plain", n >= 0 ? v : "-", n >= 0 ? (size_t)n : 1);
    } else if (strcmp(p, "/chunked") == 0) {
        http_reply_start(req, 200, "text/plain", -1);
        for (int i = 0; i < 100; i++)
            http_reply_write(req, "0123456789", 10);
        http_reply_end(req);
    } else if (strcmp(p, "/big") == 0) {
        size_t n = 2 << 20;
        char *b = malloc(n);
        memset(b, 'b', n);
        http_reply(req, 200, "application/octet-stream", b, n);
        free(b);
    } else if (strcmp(p, "/slow") == 0) {
        el_timer_add(loop, 300, slow_reply, req);
    } else if (strcmp(p, "/never") == 0) {
        http_req_on_abort(req, never_abort, NULL);
    } else if (strcmp(p, "/aborts") == 0) {
        snprintf(tmp, sizeof(tmp), "%d", aborts);
        http_reply(req, 200, "text/plain", tmp, strlen(tmp));
    } else if (strcmp(p, "/upload") == 0) {
        upload *u = req->data;
        snprintf(tmp, sizeof(tmp), "%zu %d", u->bytes, u->pauses);
        if (u->resume_timer) /* the body ended while paused */
            el_timer_del(loop, u->resume_timer);
        free(u);
        http_reply(req, 200, "text/plain", tmp, strlen(tmp));
    } else if (strcmp(p, "/json") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", p);
        http_reply_json(req, 200, o);
        cJSON_Delete(o);
    } else {
        http_reply_error(req, 404, "no route for %s", p);
    }
}

static void run_server(int ready_fd)
{
    el_loop *loop = el_create();
    http_server_config cfg = {.on_request = on_request,
                              .on_headers = on_headers,
                              .max_header_bytes = 8192,
                              .max_body_bytes = 1 << 20,
                              .header_timeout_ms = 300,
                              .body_timeout_ms = 500,
                              .idle_timeout_ms = 700,
                              .max_conns = MAX_CONNS};
    http_server *s = http_server_create(loop, "127.0.0.1", 0, &cfg);
    if (!s)
        die("listen: %s", strerror(errno));
    int p = http_server_port(s);
    if (write(ready_fd, &p, sizeof(p)) != sizeof(p))
        exit(1);
    close(ready_fd);
    el_run(loop);
}

/* ---- raw socket helpers (parent) ------------------------------------------- */

static void check(int ok, const char *name, const char *fmt, ...)
{
    if (ok) {
        printf("PASS http %s\n", name);
    } else {
        char why[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        printf("FAIL http %s: %s\n", name, why);
        failures++;
    }
    fflush(stdout);
}

static int raw_connect(void)
{
    int fd = net_connect_wait("127.0.0.1", port, 2000);
    if (fd >= 0)
        net_set_nonblock(fd, 0);
    return fd;
}

static void raw_send(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void raw_sends(int fd, const char *s)
{
    raw_send(fd, s, strlen(s));
}

/* Reads until the peer closes or nothing arrives for quiet_ms. Returns 1 if
 * the connection was closed by the peer. */
static int raw_recv(int fd, buf *out, int quiet_ms)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, quiet_ms) <= 0)
            return 0;
        char *d = buf_reserve(out, 65536);
        ssize_t n = read(fd, d, 65536);
        if (n <= 0)
            return 1;
        buf_commit(out, (size_t)n);
    }
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_raw(void)
{
    buf b = BUF_INIT;
    int fd;

    /* keep-alive: two requests, two answers, one connection */
    fd = raw_connect();
    raw_sends(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_recv(fd, &b, 200);
    raw_sends(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    int closed = raw_recv(fd, &b, 200);
    check(count(buf_peek(&b), "HTTP/1.1 200 OK") == 2 && !closed, "keep-alive", "got %s",
          buf_peek(&b));
    close(fd);

    /* pipelining: three requests in one write, answered in order */
    buf_clear(&b);
    fd = raw_connect();
    const char *pipe3 = "GET /query?v=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                        "GET /query?v=3 HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_send(fd, pipe3, strlen(pipe3));
    raw_recv(fd, &b, 300);
    const char *a1 = strstr(buf_peek(&b), "\r\n\r\n1"), *a2 = strstr(buf_peek(&b), "\r\n\r\nabc"),
               *a3 = strstr(buf_peek(&b), "\r\n\r\n3");
    check(a1 && a2 && a3 && a1 < a2 && a2 < a3, "pipelining", "got %s", buf_peek(&b));
    close(fd);

    /* chunked request body */
    buf_clear(&b);
    fd = raw_connect();
    const char *ch = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    raw_send(fd, ch, strlen(ch));
    raw_recv(fd, &b, 300);
    check(strstr(buf_peek(&b), "X-Body-Len: 11") && strstr(buf_peek(&b), "hello world"),
          "chunked request", "got %s", buf_peek(&b));
    close(fd);

    /* chunked response */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_recv(fd, &b, 300);
    check(strstr(buf_peek(&b), "Transfer-Encoding: chunked") &&
              count(buf_peek(&b), "a\r\n0123456789\r\n") == 100 &&
              strstr(buf_peek(&b), "\r\n0\r\n\r\n"),
          "chunked response", "got %.300s", buf_peek(&b));
    close(fd);

    /* header limit: 431 and close */
    buf_clear(&b);
    fd = raw_connect();
    buf req = BUF_INIT;
    buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (int i = 0; i < 10000; i++)
        buf_puts(&req, "a");
    buf_puts(&req, "\r\n\r\n");
    raw_send(fd, buf_peek(&req), buf_used(&req));
    closed = raw_recv(fd, &b, 1000);
    check(strstr(buf_peek(&b), "HTTP/1.1 431") && closed, "header limit", "got %.200s",
          buf_peek(&b));
    close(fd);
    buf_free(&req);

    /* body limit: 413 before the body is read */
    buf_clear(&b);
    fd = raw_connect();
    const char *big = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n";
    raw_send(fd, big, strlen(big));
    closed = raw_recv(fd, &b, 1000);
    check(strstr(buf_peek(&b), "HTTP/1.1 413") && closed, "body limit", "got %.200s", buf_peek(&b));
    close(fd);

    /* chunked body over the limit */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[70000];
    memset(chunk, 'x', sizeof(chunk));
    int n = snprintf(chunk, 16, "%x\r\n", 65536);
    chunk[n + 65536] = '\r';
    chunk[n + 65537] = '\n';
    for (int i = 0; i < 20; i++)
        raw_send(fd, chunk, (size_t)n + 65538);
    closed = raw_recv(fd, &b, 1000);
    check(strstr(buf_peek(&b), "HTTP/1.1 413") != NULL, "chunked body limit", "got %.200s",
          buf_peek(&b));
    close(fd);

    /* header timeout: half a request, then silence: 408 and close */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GET /hello HTTP/1.1\r\nHos");
    closed = raw_recv(fd, &b, 2000);
    check(strstr(buf_peek(&b), "HTTP/1.1 408") && closed, "header timeout", "got %.200s",
          buf_peek(&b));
    close(fd);

    /* idle keep-alive connection is closed */
    buf_clear(&b);
    fd = raw_connect();
    closed = raw_recv(fd, &b, 2000);
    check(closed && buf_used(&b) == 0, "idle timeout", "closed=%d got %.100s", closed,
          buf_peek(&b));
    close(fd);

    /* malformed request: 400, and the server keeps serving */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GARBAGE\x01\x02 / HTTP/9\r\n\r\n");
    closed = raw_recv(fd, &b, 500);
    close(fd);
    int ok400 = strstr(buf_peek(&b), "HTTP/1.1 400") != NULL && closed;
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_recv(fd, &b, 300);
    check(ok400 && strstr(buf_peek(&b), "hello"), "malformed request", "got %.200s", buf_peek(&b));
    close(fd);

    /* HTTP/1.0 without keep-alive: answer then close */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GET /hello HTTP/1.0\r\n\r\n");
    closed = raw_recv(fd, &b, 500);
    check(strstr(buf_peek(&b), "Connection: close") && closed, "http/1.0 close", "got %.200s",
          buf_peek(&b));
    close(fd);

    /* HEAD: headers with the length, no body */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_recv(fd, &b, 300);
    check(strstr(buf_peek(&b), "Content-Length: 5") && !strstr(buf_peek(&b), "hello"), "head",
          "got %.200s", buf_peek(&b));
    close(fd);

    /* Expect: 100-continue */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(
        fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    raw_recv(fd, &b, 300);
    int got100 = strstr(buf_peek(&b), "HTTP/1.1 100 Continue") != NULL;
    raw_sends(fd, "ok");
    raw_recv(fd, &b, 300);
    check(got100 && strstr(buf_peek(&b), "\r\n\r\nok"), "expect 100-continue", "got %.300s",
          buf_peek(&b));
    close(fd);

    /* abort: the client leaves before the reply; the handler hears of it */
    fd = raw_connect();
    raw_sends(fd, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(100000);
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* RST */
    close(fd);
    usleep(200000);
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GET /aborts HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_recv(fd, &b, 300);
    check(strstr(buf_peek(&b), "\r\n\r\n1") != NULL, "abort callback", "got %.200s", buf_peek(&b));
    close(fd);

    /* percent-decoding of the path and the query */
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GET /%71uery?v=a%20b+c HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_recv(fd, &b, 300);
    check(strstr(buf_peek(&b), "\r\n\r\na b c") != NULL, "url decoding", "got %.200s",
          buf_peek(&b));
    close(fd);

    /* max_conns open: one more is told 503 with a reason, and once they are
       gone the server takes connections again */
    int held[MAX_CONNS];
    for (int i = 0; i < MAX_CONNS; i++)
        held[i] = raw_connect();
    usleep(100000);
    buf_clear(&b);
    fd = raw_connect();
    closed = raw_recv(fd, &b, 1000);
    check(closed && strstr(buf_peek(&b), "HTTP/1.1 503 ") == buf_peek(&b) &&
              strstr(buf_peek(&b), "{\"error\":\"too many connections\"}"),
          "over max_conns: 503", "got %.200s", buf_peek(&b));
    close(fd);
    for (int i = 0; i < MAX_CONNS; i++)
        if (held[i] >= 0)
            close(held[i]);
    usleep(100000);
    buf_clear(&b);
    fd = raw_connect();
    raw_sends(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    raw_recv(fd, &b, 1000);
    check(strstr(buf_peek(&b), "HTTP/1.1 200 OK") == buf_peek(&b), "served again after max_conns",
          "got %.200s", buf_peek(&b));
    close(fd);
    buf_free(&b);
}

/* ---- lib's client (parent) ------------------------------------------------- */

typedef struct result {
    int done;
    int err;
    int status;
    buf body;
    buf streamed;
    char header[64];
} result;

static void on_done(http_call *call, int err, const http_response *r, void *arg)
{
    (void)call;
    result *res = arg;
    res->done = 1;
    res->err = err;
    if (r) {
        res->status = r->status;
        buf_append(&res->body, r->body, r->body_len);
        const char *h = http_resp_header(r, "X-Body-Len");
        snprintf(res->header, sizeof(res->header), "%s", h ? h : "");
    }
}

static int on_stream(http_call *call, const char *data, size_t len, void *arg)
{
    (void)call;
    buf_append(&((result *)arg)->streamed, data, len);
    return 0;
}

static void wait_done(el_loop *loop, result *r, int ms)
{
    uint64_t end = el_clock_ms() + (uint64_t)ms;
    while (!r->done && el_clock_ms() < end)
        el_run_once(loop, 50);
}

static void result_reset(result *r)
{
    buf_free(&r->body);
    buf_free(&r->streamed);
    memset(r, 0, sizeof(*r));
}

static void test_client(void)
{
    el_loop *loop = el_create();
    http_client *cli = http_client_create(loop);
    result r = {0};
    http_call_opts o = {.host = "127.0.0.1", .port = port, .path = "/peer"};

    /* keep-alive: two calls in a row use the same connection */
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 2000);
    char first[64];
    snprintf(first, sizeof(first), "%s", buf_peek(&r.body));
    result_reset(&r);
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 2000);
    check(r.err == 0 && r.status == 200 && strcmp(first, buf_peek(&r.body)) == 0,
          "client keep-alive", "err=%d first=%s second=%s", r.err, first, buf_peek(&r.body));
    result_reset(&r);

    /* a pooled connection closed by the server's idle timeout: retried */
    usleep(900000);
    el_run_once(loop, 10);
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 2000);
    check(r.err == 0 && r.status == 200, "client after idle close", "err=%s", strerror(r.err));
    result_reset(&r);

    /* whole body out, whole body back */
    http_call_opts e = {.host = "127.0.0.1",
                        .port = port,
                        .method = "POST",
                        .path = "/echo",
                        .body = "payload",
                        .body_len = 7,
                        .content_type = "text/plain"};
    http_call_start(cli, &e, on_done, &r);
    wait_done(loop, &r, 2000);
    check(r.err == 0 && strcmp(buf_peek(&r.body), "payload") == 0 && strcmp(r.header, "7") == 0,
          "client post", "err=%d body=%s", r.err, buf_peek(&r.body));
    result_reset(&r);

    /* chunked response reassembled */
    o.path = "/chunked";
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 2000);
    check(r.err == 0 && buf_used(&r.body) == 1000, "client chunked response", "err=%d len=%zu",
          r.err, buf_used(&r.body));
    result_reset(&r);

    /* streamed response: the body goes to on_body, not to memory */
    o.path = "/big";
    o.on_body = on_stream;
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 5000);
    check(r.err == 0 && buf_used(&r.streamed) == (2u << 20) && buf_used(&r.body) == 0,
          "client streamed response", "err=%d streamed=%zu", r.err, buf_used(&r.streamed));
    result_reset(&r);
    o.on_body = NULL;

    /* response larger than max_body */
    o.max_body = 1 << 20;
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 5000);
    check(r.err == EMSGSIZE, "client max body", "err=%s", strerror(r.err));
    result_reset(&r);
    o.max_body = 0;

    /* timeout: the server never answers */
    o.path = "/never";
    o.timeout_ms = 300;
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 3000);
    check(r.err == ETIMEDOUT, "client timeout", "err=%s", strerror(r.err));
    result_reset(&r);
    o.timeout_ms = 0;

    /* a slow answer within the timeout */
    o.path = "/slow";
    http_call_start(cli, &o, on_done, &r);
    wait_done(loop, &r, 3000);
    check(r.err == 0 && strcmp(buf_peek(&r.body), "slow") == 0, "client async reply", "err=%d",
          r.err);
    result_reset(&r);

    /* connection refused */
    int lfd = net_listen("127.0.0.1", 0, 1);
    int dead_port = net_local_port(lfd);
    close(lfd);
    http_call_opts d = {.host = "127.0.0.1", .port = dead_port, .path = "/"};
    http_call *c = http_call_start(cli, &d, on_done, &r);
    if (c)
        wait_done(loop, &r, 2000);
    check((!c && errno == ECONNREFUSED) || r.err == ECONNREFUSED, "client refused", "err=%s",
          strerror(c ? r.err : errno));
    result_reset(&r);

    /* streamed upload: 8 MiB fed in pieces, chunked, with the server pausing */
    http_call_opts u = {.host = "127.0.0.1",
                        .port = port,
                        .method = "POST",
                        .path = "/upload",
                        .body_len = HTTP_BODY_LATER};
    c = http_call_start(cli, &u, on_done, &r);
    static char piece[256 * 1024];
    memset(piece, 'u', sizeof(piece));
    for (int i = 0; c && i < 32; i++) {
        http_call_write(c, piece, sizeof(piece));
        while (http_call_pending(c) > (1 << 20) && !r.done)
            el_run_once(loop, 50);
    }
    if (c)
        http_call_end(c);
    wait_done(loop, &r, 10000);
    check(r.err == 0 && strncmp(buf_peek(&r.body), "8388608 ", 8) == 0 &&
              atoi(buf_peek(&r.body) + 8) >= 7,
          "client streamed upload", "err=%d body=%s", r.err, buf_peek(&r.body));
    result_reset(&r);

    /* the same with a length known in advance */
    u.body_len = 3 * 1024 * 1024;
    c = http_call_start(cli, &u, on_done, &r);
    for (int i = 0; c && i < 12; i++) {
        http_call_write(c, piece, sizeof(piece));
        while (http_call_pending(c) > (1 << 20) && !r.done)
            el_run_once(loop, 50);
    }
    if (c)
        http_call_end(c);
    wait_done(loop, &r, 10000);
    check(r.err == 0 && strncmp(buf_peek(&r.body), "3145728 ", 8) == 0, "client upload with length",
          "err=%d body=%s", r.err, buf_peek(&r.body));
    result_reset(&r);

    /* many concurrent calls */
    enum { N = 50 };
    static result many[N];
    for (int i = 0; i < N; i++) {
        http_call_opts q = {.host = "127.0.0.1", .port = port, .path = "/json"};
        http_call_start(cli, &q, on_done, &many[i]);
    }
    uint64_t end = el_clock_ms() + 5000;
    int ndone = 0;
    while (el_clock_ms() < end && ndone < N) {
        el_run_once(loop, 50);
        ndone = 0;
        for (int i = 0; i < N; i++)
            ndone += many[i].done && many[i].status == 200;
    }
    check(ndone == N, "client concurrency", "%d of %d done", ndone, N);
    for (int i = 0; i < N; i++)
        result_reset(&many[i]);

    http_client_free(cli);
    el_free(loop);
}

int main(void)
{
    log_init("http_test", getenv("HTTP_TEST_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
    signal(SIGPIPE, SIG_IGN);
    int pfd[2];
    if (pipe(pfd) < 0)
        die("pipe: %s", strerror(errno));
    pid_t child = fork();
    if (child == 0) {
        close(pfd[0]);
        run_server(pfd[1]);
        _exit(0);
    }
    close(pfd[1]);
    if (read(pfd[0], &port, sizeof(port)) != sizeof(port))
        die("the test server did not start");
    test_raw();
    test_client();
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
        check(0, "server survived", "server died with signal %d", WTERMSIG(status));
    else if (WIFEXITED(status))
        check(0, "server survived", "server exited with %d (sanitizer report?)",
              WEXITSTATUS(status));
    else
        check(1, "server survived", "");
    return 0;
}

// clang-format off
// fuzz-sources: lib/el.c lib/buf.c lib/net.c lib/log.c lib/http_server.c lib/http_util.c build/deps/http-parser/http_parser.c build/deps/cjson/cJSON.c
// clang-format on
/* fuzz_http.c -- libFuzzer target for lib's HTTP server: the input is what a
 * client sends on one connection (any number of pipelined requests, bodies,
 * garbage). It goes through a socketpair into the real server on the real
 * event loop, with handlers that answer at once, later, streamed and
 * chunked, until the server closes the connection. Limits are small so that
 * the 413/414/431 paths are reached with small inputs.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "el.h"
#include "http.h"
#include "log.h"

static el_loop *loop;
static http_server *srv;

static void later(el_loop *l, long long id, void *data)
{
    (void)l;
    (void)id;
    http_reply(data, 202, "text/plain", "later", 5);
}

static int stream_body(http_req *req, const char *data, size_t len, void *arg)
{
    (void)req;
    (void)arg;
    return len > 0 && data[0] == '!' ? -1 : 0;
}

static void on_headers(http_req *req)
{
    if (strncmp(req->path, "/s", 2) == 0)
        http_req_stream_body(req, stream_body, NULL);
}

static void on_request(http_req *req)
{
    char v[32];
    if (strcmp(req->path, "/a") == 0) {
        el_timer_add(loop, 0, later, req);
    } else if (strcmp(req->path, "/c") == 0) {
        http_reply_start(req, 200, "text/plain", -1);
        http_reply_write(req, req->body, req->body_len);
        http_reply_write(req, "tail", 4);
        http_reply_end(req);
    } else if (http_req_query(req, "q", v, sizeof(v)) >= 0) {
        http_reply_header(req, "X-Q", v);
        http_reply(req, 200, "text/plain", v, strlen(v));
    } else {
        const char *h = http_req_header(req, "X-Echo");
        http_reply(req, 200, "application/octet-stream", h ? h : req->body,
                   h ? strlen(h) : req->body_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!loop) {
        log_init("fuzz_http", LOG_LEVEL_OFF);
        signal(SIGPIPE, SIG_IGN); /* as every program using lib's sockets */
        loop = el_create();
        http_server_config cfg = {.on_request = on_request,
                                  .on_headers = on_headers,
                                  .max_header_bytes = 512,
                                  .max_body_bytes = 1024,
                                  .header_timeout_ms = 50,
                                  .body_timeout_ms = 50,
                                  .idle_timeout_ms = 50};
        srv = http_server_create(loop, "127.0.0.1", 0, &cfg);
        if (!srv)
            abort();
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    if (http_server_adopt(srv, sv[0], "fuzz") < 0) {
        close(sv[1]);
        return 0;
    }
    /* Two writes, split where the first byte says, to cross parse steps. */
    size_t cut = size ? data[0] % (size + 1) : 0;
    if (write(sv[1], data, cut) < 0 || (el_run_once(loop, 0), 0) ||
        write(sv[1], data + cut, size - cut) < 0) {
        /* a closed connection is fine */
    }
    shutdown(sv[1], SHUT_WR);
    char out[65536];
    for (int i = 0; i < 1000; i++) {
        el_run_once(loop, 1);
        ssize_t n = recv(sv[1], out, sizeof(out), MSG_DONTWAIT);
        if (n == 0)
            break; /* the server closed: the connection is freed */
    }
    close(sv[1]);
    for (int i = 0; i < 3; i++)
        el_run_once(loop, 0);
    return 0;
}

/* http.h -- HTTP/1.1 server and client on the event loop.
 *
 * Parsing is Debian's http-parser; this layer adds what a service needs
 * around it: keep-alive, pipelining (requests on one connection are answered
 * in order, one at a time), Content-Length and chunked bodies in both
 * directions, limits on header and body sizes, timeouts, and streaming of
 * large bodies without holding them in memory.
 *
 * Server: http_server_create() listens and calls cfg->on_request(req) once a
 * request is complete, with the body in req->body. A handler that wants the
 * body piece by piece (an upload of 64 MiB) sets cfg->on_headers and calls
 * http_req_stream_body() from it; on_request then comes at the end with no
 * body. A handler answers at once or later (after calling other services):
 * the request stays valid until its reply has ended or the connection drops
 * (http_req_on_abort). Replies are either whole (http_reply*) or streamed
 * (http_reply_start / _write / _end, with http_reply_pending and
 * http_reply_on_drain for flow control).
 *
 * Client: http_call_start() sends one request and calls done() once with the
 * response or an errno value. Connections are kept alive and reused per
 * host:port (or Unix socket path). Request bodies are whole or fed later (http_call_write/_end);
 * response bodies are buffered (bounded by max_body) or handed to on_body.
 */
#ifndef UIG_HTTP_H
#define UIG_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "el.h"

struct cJSON;

typedef struct http_header {
    const char *name;
    const char *value;
} http_header;

/* ---- server ------------------------------------------------------------ */

typedef struct http_server http_server;
typedef struct http_req http_req;

struct http_req {
    const char *method; /* "GET", "POST", ... */
    const char *url;    /* the request target as sent */
    const char *path;   /* the target up to '?', percent-decoded */
    const char *query;  /* after '?', raw; "" when none */
    const http_header *headers;
    int nheaders;
    long long content_length; /* -1 when chunked or absent */
    const char *body;         /* whole body when buffered (NUL-terminated), else "" */
    size_t body_len;
    const char *peer; /* "IP:PORT" of the client */
    void *data;       /* free for the handler */
    http_server *server;
};

typedef struct http_server_config {
    void (*on_request)(http_req *req); /* required */
    void (*on_headers)(http_req *req); /* optional: the place to stream the body */
    void *data;                        /* http_server_data() returns it */
    size_t max_header_bytes;           /* request line + headers: 16 KiB; 431 beyond */
    size_t max_body_bytes;             /* buffered bodies: 1 MiB; 413 beyond */
    int header_timeout_ms;             /* first byte to end of headers: 10 s; 408 */
    int body_timeout_ms;               /* silence while reading a body or writing a reply: 30 s */
    int idle_timeout_ms;               /* keep-alive connection with no request: 60 s */
    int max_conns;                     /* 1024; more are answered 503 and closed */
} http_server_config;

/* host may be "0.0.0.0"; port 0 picks a free port (see http_server_port).
 * host NULL: no listener of its own; the server serves the connections given
 * to http_server_adopt (a Unix socket's, say). */
http_server *http_server_create(el_loop *loop, const char *host, int port,
                                const http_server_config *cfg);
void http_server_free(http_server *srv);
/* Serves an already connected socket (made non-blocking here), e.g. one end
 * of a socketpair or an inherited fd. peer is a label for logs. The fd is
 * the server's from here on: closed on failure (-1), and answered 503 and
 * closed when max_conns are open already (0). */
int http_server_adopt(http_server *srv, int fd, const char *peer);
int http_server_port(const http_server *srv);
void *http_server_data(const http_server *srv);
el_loop *http_server_loop(const http_server *srv);

/* Case-insensitive; NULL when absent. */
const char *http_req_header(const http_req *req, const char *name);
/* Copies the percent-decoded value of query parameter key into out. Returns
 * its length, or -1 when absent or longer than outlen - 1. */
int http_req_query(const http_req *req, const char *key, char *out, size_t outlen);

/* The buffered body parsed as JSON; NULL when it is not JSON. The caller
 * frees the result with cJSON_Delete. */
struct cJSON *http_req_json(const http_req *req);

/* Streaming request bodies: call from on_headers. fn gets each piece as it
 * arrives and returns 0, or -1 to stop (the handler then replies, usually with
 * an error, and the connection closes after the reply). No size limit applies
 * but the caller's. */
typedef int http_body_proc(http_req *req, const char *data, size_t len, void *arg);
void http_req_stream_body(http_req *req, http_body_proc *fn, void *arg);
/* Stop / restart reading the socket (back-pressure for a body being passed
 * on). Bytes already read are still delivered after a pause. */
void http_req_pause(http_req *req);
void http_req_resume(http_req *req);
/* fn runs if the connection goes away before the reply has ended; req is
 * freed right after. */
void http_req_on_abort(http_req *req, void (*fn)(http_req *req, void *arg), void *arg);

/* Whole replies. Each ends the exchange: req is freed before they return.
 * Return 0, or -1 when the connection is already gone. */
int http_reply_header(http_req *req, const char *name, const char *value); /* before a reply */
int http_reply(http_req *req, int status, const char *content_type, const void *body, size_t len);
int http_reply_json(http_req *req, int status, const struct cJSON *json);
/* {"error": "<message>"} with the given status. */
int http_reply_error(http_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Streamed replies: content_length -1 sends chunked. http_reply_end frees req. */
int http_reply_start(http_req *req, int status, const char *content_type, long long content_length);
int http_reply_write(http_req *req, const void *data, size_t len);
int http_reply_end(http_req *req);
/* Bytes queued for the socket, and a callback for when they fall below 64 KiB. */
size_t http_reply_pending(const http_req *req);
void http_reply_on_drain(http_req *req, void (*fn)(http_req *req, void *arg), void *arg);

/* Closes the connection of req at once, for a streamed reply that cannot be
 * completed (a proxy whose upstream failed mid-body): the client sees the
 * reply cut short instead of a wrong one. The abort callback is not called;
 * req is freed. */
void http_req_drop(http_req *req);

const char *http_status_text(int status);

/* ---- client ------------------------------------------------------------ */

typedef struct http_client http_client;
typedef struct http_call http_call;

typedef struct http_response {
    int status;
    const http_header *headers;
    int nheaders;
    long long content_length; /* -1 when chunked or until close */
    const char *body;         /* buffered body (NUL-terminated), "" when streamed */
    size_t body_len;
} http_response;

/* err is 0 or an errno value: ECONNREFUSED and friends, ETIMEDOUT, EMSGSIZE
 * (response bigger than max_body or headers too large), EPROTO (not HTTP),
 * ECONNRESET (closed mid-response), ECANCELED (http_call_cancel). resp is
 * NULL when err != 0. The call is freed after done() returns. */
typedef void http_done_proc(http_call *call, int err, const http_response *resp, void *arg);
typedef int http_resp_body_proc(http_call *call, const char *data, size_t len, void *arg);

#define HTTP_BODY_LATER (-2) /* body_len: fed with http_call_write/_end, chunked */

typedef struct http_call_opts {
    const char *method; /* default "GET" */
    const char *host;   /* IPv4 or "localhost" */
    int port;
    const char *unix_path;      /* instead of host and port: a Unix stream socket
                                   (a local daemon's API); sent as Host: localhost */
    const char *path;           /* default "/" */
    const http_header *headers; /* extra request headers */
    int nheaders;
    const char *content_type;     /* sent when there is a body */
    const void *body;             /* whole body, body_len bytes */
    long long body_len;           /* or >= 0 with body NULL: that many bytes fed later;
                                     or HTTP_BODY_LATER: chunked, fed later */
    int timeout_ms;               /* silence on the connection: 30 s */
    size_t max_body;              /* buffered responses: 16 MiB */
    http_resp_body_proc *on_body; /* stream the response body instead */
    void (*on_response)(http_call *call, const http_response *resp, void *arg);
    /* headers arrived (before on_body) */
} http_call_opts;

http_client *http_client_create(el_loop *loop);
/* Cancels every call in flight (done gets ECANCELED) and closes connections. */
void http_client_free(http_client *cli);
/* Idle keep-alive connections per host:port (default 8) and how long they
 * are kept (default 30 s). */
void http_client_set_pool(http_client *cli, int max_idle_per_host, int idle_ms);

/* Returns the call, or NULL with errno (done is not called then). */
http_call *http_call_start(http_client *cli, const http_call_opts *opts, http_done_proc *done,
                           void *arg);
/* For bodies fed later. Return 0 or -1 when the call has already failed. */
int http_call_write(http_call *call, const void *data, size_t len);
int http_call_end(http_call *call);
size_t http_call_pending(const http_call *call);
void http_call_on_drain(http_call *call, void (*fn)(http_call *call, void *arg), void *arg);
/* Back-pressure for a streamed response. */
void http_call_pause(http_call *call);
void http_call_resume(http_call *call);
/* done() is called with ECANCELED before this returns. */
void http_call_cancel(http_call *call);

const char *http_resp_header(const http_response *resp, const char *name);

/* ---- helpers ------------------------------------------------------------ */

/* Percent-decodes src (and '+' as space when plus is set) into dst, which
 * may be src. Returns the length, or -1 on a malformed escape. */
int http_url_decode(char *dst, const char *src, size_t len, int plus);

#endif

/* main.c -- gateway: the one external HTTP entry of the application.
 *
 * Requests whose path falls under a route prefix go to a replica of the
 * route's service, found in the registry (lib/upstream: round-robin, a
 * replica whose connection fails is ejected for a while and the request
 * retried on another). Everything else is a file of the web UI (--web).
 *
 * Request bodies up to 1 MiB are read whole first, so a failed replica can
 * be retried with the same bytes; larger ones (up to --max-body) are passed
 * on as they arrive, with back-pressure both ways, to one replica. Responses
 * always stream through: the client gets the upstream's status and headers
 * as soon as they come, and the body piece by piece. Limits: --max-body on
 * request bodies (413), the HTTP layer's header limit (431) and timeouts
 * (408), --timeout on upstream silence (504), and 502/503 when no replica
 * answers.
 */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "el.h"
#include "http.h"
#include "log.h"
#include "svc.h"
#include "upstream.h"

#define MAX_ROUTES     32
#define MAX_FWD        40
#define WHOLE_BODY_MAX (1 << 20)
#define PENDING_HIGH   (1 << 20)
#define WEB_FILE_MAX   (8 << 20)

typedef struct route {
    char prefix[128];
    char service[72];
    upstream *up;
} route;

typedef struct proxy {
    http_req *req;
    route *rt;
    upstream_call *uc; /* whole-body requests */
    http_call *call;   /* the call under way (streamed, or once a response began) */
    char addr[NET_ADDR_MAX];
    int started;   /* our reply has begun */
    int streamed;  /* request body passed on as it comes */
    long long fed; /* request body bytes passed on so far */
    int too_big;   /* a streamed body went over --max-body */
    http_header fwd[MAX_FWD];
    int nfwd;
    char xff[NET_ADDR_MAX];
    const char *target;
} proxy;

static route routes[MAX_ROUTES];
static int nroutes;
static http_client *cli;
static mc_client *mc;
static const char *web_dir = "web";
static long long max_body = 64LL << 20;
static int timeout_ms = 30000, retry_ms = 5000;
static long long n_proxied, n_errors;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: gateway [--listen HOST:PORT] [--registry HOST:PORT] [--route PREFIX=SERVICE]...\n"
        "               [--web DIR] [--max-body BYTES] [--timeout MS] [--retry MS]\n"
        "The HTTP entry of the application: routes path prefixes to services found in\n"
        "the registry and serves the web UI.\n"
        "  --route PREFIX=SERVICE  send PREFIX and PREFIX/... to SERVICE (default:\n"
        "                          /task=master and /tasks=master)\n"
        "  --web DIR              files of the web UI (default ./web)\n"
        "  --max-body BYTES       largest request body (default 67108864)\n"
        "  --timeout MS           upstream silence before 504 (default 30000)\n"
        "  --retry MS             how long to try other replicas (default 5000)\n"
        "" SVC_USAGE_COMMON "  (default --listen 0.0.0.0:8080)\n");
}

static route *route_of(const char *path)
{
    route *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < nroutes; i++) {
        size_t n = strlen(routes[i].prefix);
        if (strncmp(path, routes[i].prefix, n) == 0 &&
            (path[n] == '\0' || path[n] == '/' || path[n] == '?' ||
             routes[i].prefix[n - 1] == '/') &&
            n > best_len) {
            best = &routes[i];
            best_len = n;
        }
    }
    return best;
}

/* ---- proxying --------------------------------------------------------------- */

static void proxy_free(proxy *p)
{
    free(p);
}

static void on_client_abort(http_req *req, void *arg)
{
    (void)req;
    proxy *p = arg;
    p->req = NULL;
    if (p->uc)
        upstream_call_cancel(p->uc); /* done frees p */
    else if (p->call)
        http_call_cancel(p->call);
    else
        proxy_free(p);
}

static int hop_by_hop(const char *name)
{
    static const char *const names[] = {"Connection",
                                        "Keep-Alive",
                                        "Transfer-Encoding",
                                        "Content-Length",
                                        "Host",
                                        "Expect",
                                        "TE",
                                        "Upgrade",
                                        "Proxy-Connection",
                                        "Proxy-Authorization",
                                        "Trailer",
                                        "X-Forwarded-For"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static void collect_headers(proxy *p)
{
    const http_req *req = p->req;
    for (int i = 0; i < req->nheaders && p->nfwd < MAX_FWD - 1; i++)
        if (!hop_by_hop(req->headers[i].name) &&
            strcasecmp(req->headers[i].name, "Content-Type") != 0)
            p->fwd[p->nfwd++] = req->headers[i];
    /* the client's address, without the port */
    snprintf(p->xff, sizeof(p->xff), "%s", req->peer);
    char *colon = strrchr(p->xff, ':');
    if (colon)
        *colon = '\0';
    p->fwd[p->nfwd++] = (http_header){"X-Forwarded-For", p->xff};
    /* the target as the client sent it (origin form) */
    const char *t = req->url;
    if (strncasecmp(t, "http://", 7) == 0) {
        t = strchr(t + 7, '/');
        if (!t)
            t = "/";
    }
    p->target = t;
}

static void reply_error_json(proxy *p, int status, const char *msg)
{
    http_req *req = p->req;
    http_req_on_abort(req, NULL, NULL);
    n_errors++;
    http_reply_error(req, status, "%s", msg);
}

static void on_reply_drain(http_req *req, void *arg)
{
    (void)req;
    proxy *p = arg;
    if (p->call)
        http_call_resume(p->call);
}

static void on_up_response(http_call *call, const http_response *r, void *arg)
{
    proxy *p = arg;
    p->call = call;
    if (!p->req)
        return;
    static const char *const keep[] = {"ETag", "Cache-Control", "Location", "Last-Modified",
                                       "Retry-After"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        const char *v = http_resp_header(r, keep[i]);
        if (v)
            http_reply_header(p->req, keep[i], v);
    }
    http_reply_header(p->req, "X-Upstream", p->uc ? upstream_call_addr(p->uc) : p->addr);
    const char *ct = http_resp_header(r, "Content-Type");
    long long len = r->content_length;
    if (r->status == 204 || r->status == 304)
        len = 0;
    p->started = 1;
    http_reply_start(p->req, r->status, ct, len);
    http_reply_on_drain(p->req, on_reply_drain, p);
}

static int on_up_body(http_call *call, const char *data, size_t len, void *arg)
{
    proxy *p = arg;
    if (!p->req)
        return -1;
    if (http_reply_write(p->req, data, len) < 0)
        return -1;
    if (http_reply_pending(p->req) > PENDING_HIGH)
        http_call_pause(call);
    return 0;
}

static void on_up_done(http_call *call, int err, const http_response *r, void *arg)
{
    (void)call;
    (void)r;
    proxy *p = arg;
    p->uc = NULL;
    p->call = NULL;
    if (!p->req) {
        proxy_free(p);
        return;
    }
    http_req *req = p->req;
    if (!err) {
        http_req_on_abort(req, NULL, NULL);
        n_proxied++;
        http_reply_end(req);
        proxy_free(p);
        return;
    }
    if (p->started) { /* the body broke off: so must ours */
        log_warn("%s %s: upstream failed mid-response: %s", req->method, req->path, strerror(err));
        n_errors++;
        http_req_drop(req);
        proxy_free(p);
        return;
    }
    char msg[200];
    if (p->too_big) {
        snprintf(msg, sizeof(msg), "request body larger than %lld bytes", max_body);
        reply_error_json(p, 413, msg);
        proxy_free(p);
        return;
    }
    int status = err == ETIMEDOUT ? 504 : err == ENOENT ? 503 : 502;
    if (err == ENOENT)
        snprintf(msg, sizeof(msg), "no replica of %s is registered", p->rt->service);
    else
        snprintf(msg, sizeof(msg), "%s: %s", p->rt->service, strerror(err));
    reply_error_json(p, status, msg);
    proxy_free(p);
}

/* Whole-body requests: retried over replicas by lib/upstream. */
static void proxy_whole(proxy *p)
{
    http_req *req = p->req;
    const char *ct = http_req_header(req, "Content-Type");
    int has_body = req->body_len > 0 || strcmp(req->method, "POST") == 0 ||
                   strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
    http_call_opts o = {
        .method = req->method,
        .path = p->target,
        .headers = p->fwd,
        .nheaders = p->nfwd,
        .content_type = ct,
        .body = has_body ? req->body : NULL,
        .body_len = has_body ? (long long)req->body_len : 0,
        .timeout_ms = timeout_ms,
        .on_response = on_up_response,
        .on_body = on_up_body,
    };
    p->uc = upstream_call_start(p->rt->up, &o, retry_ms, on_up_done, p);
    if (!p->uc) {
        reply_error_json(p, 500, strerror(errno));
        proxy_free(p);
    }
}

static void on_call_drain(http_call *call, void *arg)
{
    (void)call;
    proxy *p = arg;
    if (p->req)
        http_req_resume(p->req);
}

static int on_req_piece(http_req *req, const char *data, size_t len, void *arg)
{
    proxy *p = arg;
    if (!p->call)
        return -1;
    p->fed += (long long)len;
    if (p->fed > max_body) { /* chunked: no Content-Length to refuse up front */
        p->too_big = 1;
        http_call_cancel(p->call); /* its done() answers 413 and frees p */
        return -1;
    }
    if (http_call_write(p->call, data, len) < 0)
        return -1; /* the call failed: its done() answers */
    if (http_call_pending(p->call) > PENDING_HIGH)
        http_req_pause(req);
    return 0;
}

/* Large or chunked bodies: one replica, fed as the body arrives. */
static void proxy_streamed(proxy *p)
{
    http_req *req = p->req;
    const char *a = upstream_pick(p->rt->up);
    char host[NET_ADDR_MAX];
    int port;
    if (!a || net_parse_hostport(a, host, sizeof(host), &port) < 0) {
        char msg[120];
        snprintf(msg, sizeof(msg), "no replica of %s is registered", p->rt->service);
        reply_error_json(p, 503, msg);
        proxy_free(p);
        return;
    }
    snprintf(p->addr, sizeof(p->addr), "%s", a);
    http_call_opts o = {
        .method = req->method,
        .host = host,
        .port = port,
        .path = p->target,
        .headers = p->fwd,
        .nheaders = p->nfwd,
        .content_type = http_req_header(req, "Content-Type"),
        .body_len = req->content_length >= 0 ? req->content_length : HTTP_BODY_LATER,
        .timeout_ms = timeout_ms,
        .on_response = on_up_response,
        .on_body = on_up_body,
    };
    p->streamed = 1;
    p->call = http_call_start(cli, &o, on_up_done, p);
    if (!p->call) {
        upstream_failed(p->rt->up, p->addr);
        reply_error_json(p, 502, strerror(errno));
        proxy_free(p);
        return;
    }
    http_call_on_drain(p->call, on_call_drain, p);
    http_req_stream_body(req, on_req_piece, p);
}

static proxy *proxy_new(http_req *req, route *rt)
{
    proxy *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->req = req;
    p->rt = rt;
    req->data = p;
    http_req_on_abort(req, on_client_abort, p);
    collect_headers(p);
    return p;
}

static void on_headers(http_req *req)
{
    route *rt = route_of(req->path);
    if (!rt)
        return;
    if (req->content_length > max_body) {
        http_reply_error(req, 413, "request body larger than %lld bytes", max_body);
        return;
    }
    if (req->content_length >= 0 && req->content_length <= WHOLE_BODY_MAX)
        return; /* read whole, then proxy_whole */
    proxy_streamed(proxy_new(req, rt));
}

/* ---- the web UI ------------------------------------------------------------- */

static const char *mime_of(const char *path)
{
    static const char *const types[][2] = {{".html", "text/html; charset=utf-8"},
                                           {".css", "text/css; charset=utf-8"},
                                           {".js", "text/javascript; charset=utf-8"},
                                           {".json", "application/json"},
                                           {".png", "image/png"},
                                           {".svg", "image/svg+xml"},
                                           {".ico", "image/x-icon"},
                                           {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* Paths made of [A-Za-z0-9._/-] whose segments do not start with '.'. */
static int web_path_ok(const char *p)
{
    if (*p != '/')
        return 0;
    for (const char *s = p; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == '/';
        if (!ok || (c == '/' && (s[1] == '.' || s[1] == '/')))
            return 0;
    }
    return strlen(p) < 200;
}

static void serve_web(http_req *req)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_reply_error(req, 405, "the web UI is read-only");
        return;
    }
    const char *rel = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
    if (!web_path_ok(rel)) {
        http_reply_error(req, 404, "not found");
        return;
    }
    char file[1024];
    snprintf(file, sizeof(file), "%s%s", web_dir, rel);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_FILE_MAX) {
        if (fd >= 0)
            close(fd);
        http_reply_error(req, 404, "not found");
        return;
    }
    char *data = malloc((size_t)st.st_size + 1);
    if (!data)
        abort();
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    http_reply_header(req, "Cache-Control", "no-cache");
    http_reply(req, 200, mime_of(rel), data, got);
    free(data);
}

/* ---- requests ----------------------------------------------------------------- */

static void gateway_health(http_req *req)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddNumberToObject(o, "proxied", (double)n_proxied);
    cJSON_AddNumberToObject(o, "errors", (double)n_errors);
    cJSON *arr = cJSON_AddArrayToObject(o, "routes");
    for (int i = 0; i < nroutes; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "prefix", routes[i].prefix);
        cJSON_AddStringToObject(r, "service", routes[i].service);
        cJSON_AddNumberToObject(r, "replicas", upstream_count(routes[i].up));
        cJSON_AddItemToArray(arr, r);
    }
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void on_request(http_req *req)
{
    proxy *p = req->data;
    if (p) { /* streamed: the body has been passed on; end it */
        if (p->call)
            http_call_end(p->call); /* on failure the call's done() replies */
        return;
    }
    if (strcmp(req->path, "/gateway/health") == 0) {
        gateway_health(req);
        return;
    }
    route *rt = route_of(req->path);
    if (!rt) {
        serve_web(req);
        return;
    }
    proxy_whole(proxy_new(req, rt));
}

static void add_route(const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || spec[0] != '/' || (size_t)(eq - spec) >= sizeof(routes[0].prefix) ||
        strlen(eq + 1) == 0 || strlen(eq + 1) >= sizeof(routes[0].service) || nroutes >= MAX_ROUTES)
        die("--route: expected /PREFIX=SERVICE, got '%s'", spec);
    route *r = &routes[nroutes++];
    memcpy(r->prefix, spec, (size_t)(eq - spec));
    r->prefix[eq - spec] = '\0';
    snprintf(r->service, sizeof(r->service), "%s", eq + 1);
}

int main(int argc, char **argv)
{
    svc_opts o;
    svc_opts_init(&o, "gateway", "0.0.0.0:8080");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (svc_parse_flag(&o, argc, argv, &i))
            continue;
        if (i + 1 >= argc)
            die("unknown option %s (see --help)", a);
        const char *v = argv[++i];
        char *end;
        if (strcmp(a, "--route") == 0) {
            add_route(v);
        } else if (strcmp(a, "--web") == 0) {
            web_dir = v;
        } else if (strcmp(a, "--max-body") == 0) {
            max_body = strtoll(v, &end, 10);
            if (*end || max_body < 0)
                die("--max-body: expected bytes, got '%s'", v);
        } else if (strcmp(a, "--timeout") == 0) {
            long t = strtol(v, &end, 10);
            if (*end || t < 1 || t > 3600000)
                die("--timeout: expected milliseconds between 1 and 3600000, got '%s'", v);
            timeout_ms = (int)t;
        } else if (strcmp(a, "--retry") == 0) {
            long t = strtol(v, &end, 10);
            if (*end || t < 1 || t > 3600000)
                die("--retry: expected milliseconds between 1 and 3600000, got '%s'", v);
            retry_ms = (int)t;
        } else {
            die("unknown option %s (see --help)", a);
        }
    }
    if (nroutes == 0) {
        add_route("/task=master");
        add_route("/tasks=master");
    }
    signal(SIGPIPE, SIG_IGN);
    el_loop *loop = el_create();
    if (!loop)
        die("event loop: %s", strerror(errno));
    http_server_config cfg = {
        .on_request = on_request,
        .on_headers = on_headers,
        .max_body_bytes = WHOLE_BODY_MAX,
        .max_conns = 4096,
    };
    http_server *srv = http_server_create(loop, o.listen_host, o.listen_port, &cfg);
    if (!srv)
        die("cannot listen on %s:%d: %s", o.listen_host, o.listen_port, strerror(errno));
    mc = svc_register(loop, &o, http_server_port(srv), NULL);
    if (!mc)
        die("the gateway finds services through the registry: --registry is needed");
    cli = http_client_create(loop);
    if (!cli)
        die("out of memory");
    http_client_set_pool(cli, 64, 30000);
    for (int i = 0; i < nroutes; i++) {
        routes[i].up = NULL;
        for (int k = 0; k < i; k++) /* one upstream per service */
            if (strcmp(routes[k].service, routes[i].service) == 0)
                routes[i].up = routes[k].up;
        if (!routes[i].up && !(routes[i].up = upstream_create(cli, mc, routes[i].service)))
            die("--route: bad service name '%s'", routes[i].service);
    }
    log_info("listening on %s:%d (advertised as %s), web UI from %s", o.listen_host,
             http_server_port(srv), o.advertise, web_dir);
    el_run(loop);
    return 0;
}

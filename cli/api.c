/*
 * api.c — uigniterctl's client of uigniterd's REST API (see api.h).
 *
 * One event loop and one lib HTTP client for the whole process, made on first
 * use. A command that needs one answer calls api_do, which runs the loop until
 * that answer is in; a command that wants several at once (stopping many VMs)
 * starts them all and waits for each; a command that follows a stream (logs,
 * an attached run) gives a sink that sees the body as it arrives, while other
 * requests (a stop on Ctrl-C, caught through a signalfd on the same loop) run
 * beside it. Nothing here prints but api_report and the stdout helpers, so
 * each command decides what its output is.
 */
#include "api.h"
#include "cli.h"

#include <cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "buf.h"
#include "el.h"
#include "http.h"
#include "net.h"

#define ERROR_BODY_MAX (64 * 1024) /* of an error reply to a streamed request */

static struct {
    char spec[256]; /* as given, for messages */
    char host[NET_ADDR_MAX];
    int port;
    char unix_path[NET_UNIX_PATH_MAX + 1]; /* set instead of host:port */
    el_loop *loop;
    http_client *client;
    void (*on_signal)(int, void *);
    void *signal_arg;
} api;

/* ---- where the daemon is ---------------------------------------------------------- */

int api_set_host(const char *spec)
{
    const char *origin = "--host";
    if (!spec || !*spec) {
        spec = getenv("UIGNITER_HOST");
        origin = "UIGNITER_HOST";
        if (!spec || !*spec)
            spec = API_DEFAULT_HOST;
    }
    if (strlen(spec) >= sizeof api.spec) {
        cli_error(CLI_USAGE, "%s: address too long", origin);
        return -1;
    }
    snprintf(api.spec, sizeof api.spec, "%s", spec);
    const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 : spec[0] == '/' ? spec : NULL;
    if (path) {
        if (!*path) {
            cli_error(CLI_USAGE, "%s: '%s' names no socket path", origin, spec);
            return -1;
        }
        if (strlen(path) > NET_UNIX_PATH_MAX) {
            cli_error(CLI_USAGE, "%s: a Unix socket path is at most %d bytes", origin,
                      NET_UNIX_PATH_MAX);
            return -1;
        }
        snprintf(api.unix_path, sizeof api.unix_path, "%s", path);
        return 0;
    }
    api.unix_path[0] = '\0';
    if (net_parse_hostport(spec, api.host, sizeof api.host, &api.port) < 0 || api.port == 0) {
        cli_error(CLI_USAGE,
                  "%s: bad daemon address '%s' (want HOST:PORT, a /socket/path or unix:PATH)",
                  origin, spec);
        return -1;
    }
    return 0;
}

const char *api_host(void)
{
    if (!api.spec[0])
        api_set_host(cli_opts.host);
    return api.spec;
}

static void api_init(void)
{
    if (api.loop)
        return;
    if (!api.spec[0] && api_set_host(cli_opts.host) < 0)
        exit(CLI_USAGE);
    api.loop = el_create();
    api.client = api.loop ? http_client_create(api.loop) : NULL;
    if (!api.client) {
        cli_error(CLI_FAIL, "cannot set up an event loop: %s", strerror(errno));
        exit(CLI_FAIL);
    }
}

/* ---- building requests ------------------------------------------------------------- */

int api_path(api_req *r, const char *prefix, const char *component, const char *suffix)
{
    static const char hex[] = "0123456789ABCDEF";
    buf b = BUF_INIT;
    if (prefix)
        buf_puts(&b, prefix);
    for (const unsigned char *s = (const unsigned char *)component; s && *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
            strchr("._~-", *s))
            buf_append(&b, s, 1);
        else
            buf_printf(&b, "%%%c%c", hex[*s >> 4], hex[*s & 15]);
    }
    if (suffix)
        buf_puts(&b, suffix);
    int fits = buf_used(&b) < sizeof r->path;
    if (fits)
        memcpy(r->path, buf_peek(&b), buf_used(&b) + 1);
    buf_free(&b);
    if (!fits) {
        cli_error(CLI_USAGE, "request path too long");
        return -1;
    }
    return 0;
}

void api_json_body(api_req *r, const cJSON *json)
{
    free(r->owned_body);
    r->owned_body = cJSON_PrintUnformatted(json);
    if (!r->owned_body) {
        cli_error(CLI_FAIL, "out of memory");
        exit(CLI_FAIL);
    }
    r->body = r->owned_body;
    r->body_len = strlen(r->owned_body);
    r->content_type = "application/json";
}

/* ---- running them ------------------------------------------------------------------ */

static void keep_body(api_req *r, const char *data, size_t len)
{
    char *p = realloc(r->resp, r->resp_len + len + 1);
    if (!p) {
        cli_error(CLI_FAIL, "out of memory");
        exit(CLI_FAIL);
    }
    memcpy(p + r->resp_len, data, len);
    r->resp = p;
    r->resp_len += len;
    r->resp[r->resp_len] = '\0';
}

static void on_response(http_call *call, const http_response *resp, void *arg)
{
    (void)call;
    api_req *r = arg;
    r->status = resp->status;
}

static int on_body(http_call *call, const char *data, size_t len, void *arg)
{
    (void)call;
    api_req *r = arg;
    if (r->status / 100 == 2)
        return r->sink(data, len, r->sink_arg);
    if (r->resp_len + len > ERROR_BODY_MAX)
        return -1;
    keep_body(r, data, len);
    return 0;
}

static void on_done(http_call *call, int err, const http_response *resp, void *arg)
{
    (void)call;
    api_req *r = arg;
    r->call = NULL;
    r->done = 1;
    r->err = err;
    if (err)
        return;
    r->status = resp->status;
    if (resp->body_len)
        keep_body(r, resp->body, resp->body_len);
    if (r->resp_len)
        r->json = cJSON_ParseWithLength(r->resp, r->resp_len);
}

void api_start(api_req *r)
{
    api_init();
    r->done = 0;
    r->err = 0;
    r->status = 0;
    http_call_opts o = {
        .method = r->method ? r->method : "GET",
        .path = r->path[0] ? r->path : "/",
        .content_type = r->content_type ? r->content_type : "application/json",
        .body = r->body,
        .body_len = r->body ? (long long)r->body_len : 0,
        .timeout_ms = r->timeout_ms,
        .on_body = r->sink ? on_body : NULL,
        .on_response = on_response,
        .max_body = 64 * 1024 * 1024,
    };
    if (api.unix_path[0]) {
        o.unix_path = api.unix_path;
    } else {
        o.host = api.host;
        o.port = api.port;
    }
    http_call *c = http_call_start(api.client, &o, on_done, r);
    if (!c) {
        r->done = 1;
        r->err = errno ? errno : EINVAL;
    } else if (!r->done) {
        r->call = c;
    }
}

void api_wait(api_req *r)
{
    while (!r->done)
        el_run_once(api.loop, -1);
}

int api_ok(const api_req *r)
{
    return r->done && !r->err && r->status / 100 == 2;
}

int api_do(api_req *r)
{
    api_start(r);
    api_wait(r);
    if (api_ok(r))
        return 0;
    api_report(r);
    return -1;
}

static int unreachable(int err)
{
    switch (err) {
    case ECONNREFUSED:
    case ENOENT:
    case ENOTDIR:
    case EACCES:
    case EPERM:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
    case ENOTSOCK:
    case ENAMETOOLONG:
    case EAGAIN:
    case ECONNABORTED:
    case EPROTOTYPE:
        return 1;
    default:
        return 0;
    }
}

int api_report(const api_req *r)
{
    const char *at = api_host();
    if (r->err) {
        if (unreachable(r->err))
            return cli_error(CLI_FAIL,
                             "cannot reach uigniterd at %s: %s (is the daemon running? --host or "
                             "UIGNITER_HOST)",
                             at, strerror(r->err));
        if (r->err == ETIMEDOUT)
            return cli_error(CLI_FAIL, "uigniterd at %s did not answer within %d s", at,
                             (r->timeout_ms > 0 ? r->timeout_ms : 30000) / 1000);
        if (r->err == ECONNRESET || r->err == EPIPE)
            return cli_error(CLI_FAIL,
                             "uigniterd at %s closed the connection before the answer "
                             "was complete",
                             at);
        if (r->err == EPROTO)
            return cli_error(CLI_FAIL, "%s does not answer in HTTP (is it uigniterd?)", at);
        if (r->err == EMSGSIZE)
            return cli_error(CLI_FAIL, "the answer of uigniterd at %s is too large", at);
        return cli_error(CLI_FAIL, "uigniterd at %s: %s", at, strerror(r->err));
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");
    if (cJSON_IsString(e) && e->valuestring[0])
        return cli_error(CLI_FAIL, "%s (HTTP %d)", e->valuestring, r->status);
    return cli_error(CLI_FAIL, "uigniterd at %s answered HTTP %d %s", at, r->status,
                     http_status_text(r->status));
}

int api_for_each(const char *method, const char *prefix, char **names, int n, const char *suffix,
                 int timeout_ms)
{
    api_req *reqs = calloc((size_t)(n > 0 ? n : 1), sizeof *reqs);
    if (!reqs)
        return cli_error(CLI_FAIL, "out of memory");
    int rc = CLI_OK, last_err = 0;
    for (int i = 0; i < n; i++) {
        reqs[i].method = method;
        reqs[i].timeout_ms = timeout_ms;
        if (api_path(&reqs[i], prefix, names[i], suffix) < 0) {
            reqs[i].done = -1; /* not sent */
            rc = CLI_FAIL;
            continue;
        }
        api_start(&reqs[i]);
    }
    for (int i = 0; i < n; i++) {
        if (reqs[i].done < 0)
            continue;
        api_wait(&reqs[i]);
        if (api_ok(&reqs[i])) {
            printf("%s\n", names[i]);
            fflush(stdout);
        } else if (!reqs[i].err || reqs[i].err != last_err) { /* one line per unreachable daemon */
            rc = api_report(&reqs[i]);
            last_err = reqs[i].err;
        } else {
            rc = CLI_FAIL;
        }
        api_release(&reqs[i]);
    }
    free(reqs);
    return rc;
}

void api_release(api_req *r)
{
    if (r->call)
        http_call_cancel(r->call); /* sets r->call to NULL through on_done */
    free(r->owned_body);
    r->owned_body = NULL;
    r->body = NULL;
    r->body_len = 0;
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
    cJSON_Delete(r->json);
    r->json = NULL;
    r->done = 0;
}

/* ---- signals ------------------------------------------------------------------------ */

static void on_signalfd(el_loop *loop, int fd, void *data, int mask)
{
    (void)loop;
    (void)data;
    (void)mask;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
        if (api.on_signal)
            api.on_signal((int)si.ssi_signo, api.signal_arg);
}

void api_on_signal(void (*fn)(int signo, void *arg), void *arg)
{
    api_init();
    api.on_signal = fn;
    api.signal_arg = arg;
    sigset_t set;
    sigemptyset(&set);
    static const int catch[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof catch / sizeof catch[0]; i++) {
        struct sigaction old;
        /* One ignored from the start (nohup, a script's background job) stays so. */
        if (sigaction(catch[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaddset(&set, catch[i]);
    }
    int fd = sigprocmask(SIG_BLOCK, &set, NULL) < 0
                 ? -1
                 : signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0 || el_file_add(api.loop, fd, EL_READABLE, on_signalfd, NULL) < 0) {
        cli_error(CLI_FAIL, "cannot catch signals: %s", strerror(errno));
        exit(CLI_FAIL);
    }
}

/* ---- output -------------------------------------------------------------------------- */

int api_write_stdout(const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) { /* a non-blocking stdout we inherited */
            struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
            poll(&p, 1, -1);
        } else {
            return -1;
        }
    }
    return 0;
}

static void print_compact(const cJSON *j, FILE *out)
{
    char *s = cJSON_PrintUnformatted(j);
    fputs(s ? s : "null", out);
    free(s);
}

static int is_container(const cJSON *j)
{
    return cJSON_IsArray(j) || cJSON_IsObject(j);
}

/* Two spaces a level; an array of scalars stays on one line (argv, env, ports). */
static void print_pretty(const cJSON *j, int depth, FILE *out)
{
    if (!is_container(j)) {
        print_compact(j, out);
        return;
    }
    int obj = cJSON_IsObject(j), flat = !obj;
    for (const cJSON *c = j->child; c && flat; c = c->next)
        flat = !is_container(c);
    if (!j->child || flat) {
        fputc(obj ? '{' : '[', out);
        for (const cJSON *c = j->child; c; c = c->next) {
            print_compact(c, out);
            if (c->next)
                fputs(", ", out);
        }
        fputc(obj ? '}' : ']', out);
        return;
    }
    fputc(obj ? '{' : '[', out);
    for (const cJSON *c = j->child; c; c = c->next) {
        fprintf(out, "\n%*s", 2 * (depth + 1), "");
        if (obj) {
            cJSON *key = cJSON_CreateString(c->string ? c->string : "");
            print_compact(key, out);
            cJSON_Delete(key);
            fputs(": ", out);
        }
        print_pretty(c, depth + 1, out);
        if (c->next)
            fputc(',', out);
    }
    fprintf(out, "\n%*s%c", 2 * depth, "", obj ? '}' : ']');
}

void api_print_json(const cJSON *json)
{
    print_pretty(json, 0, stdout);
    putchar('\n');
}

void api_print_raw(const api_req *r)
{
    fwrite(r->resp ? r->resp : "", 1, r->resp_len, stdout);
    if (r->resp_len == 0 || r->resp[r->resp_len - 1] != '\n')
        putchar('\n');
    fflush(stdout);
}

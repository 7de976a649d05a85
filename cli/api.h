/*
 * api.h — the client side of uigniterd's REST API (docs/api.md) for the
 * uigniterctl commands: where the daemon is, one request at a time or several
 * at once, streamed bodies, and the one way every command reports a failed
 * exchange.
 *
 * Requests run on lib's HTTP client and event loop (lib/http.h), so the CLI
 * speaks HTTP with exactly the code the services use; the CLI only adds a
 * blocking face to it (api_do runs the loop until the reply is in) and the
 * daemon's addressing (TCP HOST:PORT or a Unix socket path).
 */
#ifndef UIGNITER_CLI_API_H
#define UIGNITER_CLI_API_H

#include <stddef.h>

struct cJSON;
struct http_call;

#define API_DEFAULT_HOST "127.0.0.1:6666"
#define API_PATH_MAX     2048

/* Where the daemon is: "HOST:PORT", a Unix socket path starting with '/', or
 * "unix:PATH". NULL means UIGNITER_HOST, then API_DEFAULT_HOST. Returns 0, or
 * -1 after printing why the address is unusable (a usage error). Without a
 * call, the first request uses cli_opts.host this way (exit 2 when bad). */
int api_set_host(const char *spec);
/* The address as the user gave it, for messages. */
const char *api_host(void);

/* Streamed response bodies: return 0 to go on, -1 to stop (the request then
 * ends with err ECANCELED). */
typedef int api_sink_proc(const char *data, size_t len, void *arg);

typedef struct api_req {
    /* what to send */
    const char *method; /* default "GET" */
    char path[API_PATH_MAX];
    const void *body; /* sent as is, body_len bytes */
    size_t body_len;
    const char *content_type; /* default application/json when there is a body */
    int timeout_ms;           /* silence on the connection; default 30 s */
    api_sink_proc *sink;      /* a 2xx body goes here as it arrives instead of being kept */
    void *sink_arg;

    /* what came back, once done is set */
    int done;
    int err;    /* 0, or the errno value of a failed exchange (no status then) */
    int status; /* HTTP status */
    char *resp; /* the body kept (NUL-terminated; error bodies even when streaming) */
    size_t resp_len;
    struct cJSON *json; /* resp parsed, when it is JSON */

    /* private */
    char *owned_body;
    struct http_call *call;
} api_req;

/*
 * Sets r->path to prefix, then the component percent-encoded (anything but
 * [A-Za-z0-9._~-]), then suffix; component and suffix may be NULL. Returns 0,
 * or -1 when it does not fit (reported as a usage error).
 */
int api_path(api_req *r, const char *prefix, const char *component, const char *suffix);
/* Sends json (unformatted) as the body; the request owns the text. */
void api_json_body(api_req *r, const struct cJSON *json);

/* Starts r; the reply comes while api_wait (or another request's wait) runs
 * the loop. A request that cannot even start is done at once with err set. */
void api_start(api_req *r);
/* Runs the loop until r is done. */
void api_wait(api_req *r);
/* Start and wait; returns 0 for a 2xx reply, otherwise reports the failure
 * (api_report) and returns -1. */
int api_do(api_req *r);
/* Whether r ended with a 2xx reply. */
int api_ok(const api_req *r);
/* One line on stderr about a request that did not end with a 2xx reply:
 * "cannot reach uigniterd at ADDR: ..." or "<the daemon's error> (HTTP N)".
 * Returns CLI_FAIL. */
int api_report(const api_req *r);
/*
 * METHOD prefix+NAME+suffix for every NAME of names at once (stop, rm, rmi);
 * prints each NAME that succeeded on stdout, in the order given, and reports
 * each failure. Returns CLI_OK when all succeeded, else CLI_FAIL.
 */
int api_for_each(const char *method, const char *prefix, char **names, int n, const char *suffix,
                 int timeout_ms);
/* Frees what r holds (it may be reused afterwards). */
void api_release(api_req *r);

/* Catches SIGINT, SIGTERM and SIGHUP from now on and calls fn on the loop for
 * each one instead of dying: the place to stop a VM the user gave up on. A
 * signal that was ignored when we started (nohup, a script's background job)
 * stays ignored. */
void api_on_signal(void (*fn)(int signo, void *arg), void *arg);

/* Writes all of data to fd 1 (streamed logs); 0, or -1 when stdout is gone. */
int api_write_stdout(const char *data, size_t len);
/* Prints JSON indented by two spaces a level, arrays of scalars on one line. */
void api_print_json(const struct cJSON *json);
/* Prints a reply body as the daemon sent it, with a final newline (--json). */
void api_print_raw(const api_req *r);

#endif

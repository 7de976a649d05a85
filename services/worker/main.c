/* main.c -- worker: the pull loop of the image pipeline.
 *
 *   GET master /task/next            -> 204: nothing to do, ask again later
 *   GET master /task/{id}/download   -> the input image
 *   filter_image()                   -> grayscale, blur, Sobel, PNG (filter.c)
 *   POST master /task/{id}/finish    with the PNG
 *   (an image that cannot be decoded: POST master /task/{id}/fail)
 *
 * Pull-based: a worker asks for work only when it is idle, so adding workers
 * adds throughput and a slow or dead worker holds no queue. A worker killed
 * mid-task loses nothing: taskdb's lease on the task runs out and another
 * worker gets it. Filtering runs on the event loop (it is the only work
 * there is); a small HTTP server answers /health with what the worker is
 * doing, and the worker registers as "worker" like every service.
 */
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el.h"
#include "filter.h"
#include "http.h"
#include "log.h"
#include "svc.h"
#include "upstream.h"

enum { W_IDLE, W_LEASING, W_DOWNLOADING, W_DELAYING, W_UPLOADING };
static const char *const state_names[] = {"idle", "leasing", "downloading", "filtering",
                                          "uploading"};

static el_loop *loop;
static upstream *master;
static int state = W_IDLE;
static unsigned long long cur_id;
static unsigned char *result;
static size_t result_len;
static long max_pixels = FILTER_MAX_PIXELS;
static int poll_max_ms = 500, poll_ms = 10, delay_ms = 0;
static long long n_done, n_failed, n_errors;
static char path[128];

static void usage(FILE *f)
{
    fprintf(f,
            "usage: worker [--listen HOST:PORT] [--registry HOST:PORT] [--master ADDRS]\n"
            "              [--max-pixels N] [--poll-ms MS] [--delay-ms MS]\n"
            "Pulls image tasks from master, filters them, uploads the results.\n"
            "  --master ADDRS         fixed master replicas IP:PORT[,...] instead of the registry\n"
            "  --max-pixels N         largest image accepted, width * height (default 67108864)\n"
            "  --poll-ms MS           longest wait between asks when idle (default 500)\n"
            "  --delay-ms MS          wait this long before uploading a result (fault tests)\n"
            "" SVC_USAGE_COMMON "  (default --listen 0.0.0.0:8003)\n");
}

static void ask(void);

static void on_poll_timer(el_loop *l, long long id, void *arg)
{
    (void)l;
    (void)id;
    (void)arg;
    ask();
}

/* Back to idle; ask again after ms (0: at once). */
static void idle_then_ask(int ms)
{
    state = W_IDLE;
    cur_id = 0;
    free(result);
    result = NULL;
    el_timer_add(loop, ms, on_poll_timer, NULL);
}

static void call_master(const char *method, const char *p, const void *body, size_t len,
                        http_done_proc *done)
{
    http_call_opts o = {
        .method = method,
        .path = p,
        .body = body ? body : (strcmp(method, "POST") == 0 ? "" : NULL),
        .body_len = (long long)len,
        .content_type = body ? "image/png" : NULL,
        .timeout_ms = 30000,
        .max_body = 1ULL << 30,
    };
    if (!upstream_call_start(master, &o, 3600 * 1000, done, NULL)) {
        log_error("cannot call master: %s", strerror(errno));
        idle_then_ask(1000);
    }
}

static void on_finished(http_call *c, int err, const http_response *r, void *arg)
{
    (void)c;
    (void)arg;
    if (err || (r->status != 200 && r->status != 409)) {
        n_errors++;
        log_warn("task %llu: finishing failed (%s); the lease will run out", cur_id,
                 err ? strerror(err) : "bad status");
    } else if (r->status == 409) {
        log_info("task %llu: finished elsewhere meanwhile", cur_id);
    } else {
        n_done++;
        log_debug("task %llu: done, %zu bytes", cur_id, result_len);
    }
    poll_ms = 10;
    idle_then_ask(0);
}

static void upload_result(void)
{
    state = W_UPLOADING;
    snprintf(path, sizeof(path), "/task/%llu/finish", cur_id);
    call_master("POST", path, result, result_len, on_finished);
}

static void on_delay(el_loop *l, long long id, void *arg)
{
    (void)l;
    (void)id;
    (void)arg;
    upload_result();
}

static void on_failed(http_call *c, int err, const http_response *r, void *arg)
{
    (void)c;
    (void)arg;
    if (err || r->status != 200)
        n_errors++;
    n_failed++;
    idle_then_ask(0);
}

static void on_download(http_call *c, int err, const http_response *r, void *arg)
{
    (void)c;
    (void)arg;
    if (err || r->status != 200) {
        n_errors++;
        log_warn("task %llu: download failed (%s)", cur_id, err ? strerror(err) : "bad status");
        idle_then_ask(200); /* the lease runs out and the task comes back */
        return;
    }
    char why[200];
    state = W_DELAYING;
    if (filter_image((const unsigned char *)r->body, r->body_len, max_pixels, &result, &result_len,
                     why, sizeof(why)) < 0) {
        log_warn("task %llu: %s; failing it", cur_id, why);
        snprintf(path, sizeof(path), "/task/%llu/fail", cur_id);
        call_master("POST", path, NULL, 0, on_failed);
        return;
    }
    if (delay_ms > 0)
        el_timer_add(loop, delay_ms, on_delay, NULL);
    else
        upload_result();
}

static void on_next(http_call *c, int err, const http_response *r, void *arg)
{
    (void)c;
    (void)arg;
    if (err || (r->status != 200 && r->status != 204)) {
        if (err != ENOENT)
            log_warn("asking master for work: %s", err ? strerror(err) : "bad status");
        idle_then_ask(poll_max_ms);
        return;
    }
    if (r->status == 204) {
        int ms = poll_ms;
        poll_ms = poll_ms * 2 > poll_max_ms ? poll_max_ms : poll_ms * 2;
        idle_then_ask(ms);
        return;
    }
    cJSON *t = cJSON_ParseWithLength(r->body, r->body_len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1) {
        cJSON_Delete(t);
        log_warn("master answered /task/next without an id");
        idle_then_ask(poll_max_ms);
        return;
    }
    cur_id = (unsigned long long)id->valuedouble;
    cJSON_Delete(t);
    state = W_DOWNLOADING;
    snprintf(path, sizeof(path), "/task/%llu/download", cur_id);
    call_master("GET", path, NULL, 0, on_download);
}

static void ask(void)
{
    state = W_LEASING;
    call_master("GET", "/task/next", NULL, 0, on_next);
}

static void on_request(http_req *req)
{
    if (strcmp(req->path, "/health") != 0) {
        http_reply_error(req, 404, "not found");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "state", state_names[state]);
    cJSON_AddNumberToObject(o, "task", (double)cur_id);
    cJSON_AddNumberToObject(o, "done", (double)n_done);
    cJSON_AddNumberToObject(o, "failed", (double)n_failed);
    cJSON_AddNumberToObject(o, "errors", (double)n_errors);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static long parse_num(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi)
        die("%s: expected a number between %ld and %ld, got '%s'", flag, lo, hi, v);
    return n;
}

int main(int argc, char **argv)
{
    svc_opts o;
    svc_opts_init(&o, "worker", "0.0.0.0:8003");
    const char *master_addrs = NULL;
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
        if (strcmp(a, "--master") == 0)
            master_addrs = v;
        else if (strcmp(a, "--max-pixels") == 0)
            max_pixels = parse_num(a, v, 1, 1L << 30);
        else if (strcmp(a, "--poll-ms") == 0)
            poll_max_ms = (int)parse_num(a, v, 1, 60000);
        else if (strcmp(a, "--delay-ms") == 0)
            delay_ms = (int)parse_num(a, v, 0, 3600000);
        else
            die("unknown option %s (see --help)", a);
    }
    signal(SIGPIPE, SIG_IGN);
    loop = el_create();
    if (!loop)
        die("event loop: %s", strerror(errno));
    http_server_config cfg = {.on_request = on_request, .max_body_bytes = 4096};
    http_server *srv = http_server_create(loop, o.listen_host, o.listen_port, &cfg);
    if (!srv)
        die("cannot listen on %s:%d: %s", o.listen_host, o.listen_port, strerror(errno));
    mc_client *mc = svc_register(loop, &o, http_server_port(srv), NULL);
    if (!mc && !master_addrs)
        die("without a registry, --master is needed");
    http_client *cli = http_client_create(loop);
    if (!cli)
        die("out of memory");
    master = master_addrs ? upstream_create_static(cli, loop, "master", master_addrs)
                          : upstream_create(cli, mc, "master");
    if (!master)
        die("--master: expected IP:PORT[,IP:PORT...]");
    log_info("listening on %s:%d (advertised as %s)", o.listen_host, http_server_port(srv),
             o.advertise);
    ask();
    el_run(loop);
    return 0;
}

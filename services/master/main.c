/* main.c -- master, the router of the original design: the task API that
 * users and workers call, in front of taskdb (the queue) and storage (the
 * images). It holds no state of its own, so any number of replicas can run.
 *
 *   POST /task                 image as multipart/form-data (curl -F image=@x.png)
 *                              or as the raw body -> taskdb task + input blob, ready
 *   GET  /task/next            lease the oldest ready task (for workers)
 *   GET  /task/{id}/download   the input image
 *   POST /task/{id}/finish     the result image as the body
 *   POST /task/{id}/fail       the input cannot be processed (final)
 *   GET  /task/{id}/result     the result image
 *   GET  /task/{id}/ready      {"ready": true|false, "state": ...}
 *   GET  /task/{id}            the task as taskdb knows it
 *   GET  /tasks                taskdb's list (state, limit)
 *
 * Each request is a job: a chain of calls to taskdb and storage, found by
 * name in the registry (lib/upstream: round-robin over replicas, retries on
 * another replica or after a restart). Uploads are parsed as they stream in
 * (lib/multipart) and the image kept in memory, bounded by --max-image, so a
 * storage or taskdb restart in the middle of a request costs a retry, not
 * the upload.
 */
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "el.h"
#include "http.h"
#include "log.h"
#include "multipart.h"
#include "svc.h"
#include "upstream.h"

typedef struct job job;
typedef void step_proc(job *j, int err, const http_response *r);

struct job {
    http_req *req;
    upstream_call *uc;
    step_proc *next;
    unsigned long long id;
    buf body; /* the image (upload, result) or a request body */
    char ctype[128];
    char name[MULTIPART_NAME_MAX];
    int multipart; /* the upload is multipart/form-data */
    multipart mp;
    int part_state; /* 0: no image part yet, 1: in it, 2: had it */
    int in_image;
    char path[256];
    char *json;               /* a request body to taskdb */
    char tried[NET_ADDR_MAX]; /* the replica the last upstream call went to */
    http_call *probe_call;    /* looking for a blob on the other storage replicas */
    int probe;
};

static upstream *taskdb, *storage;
static http_client *cli;
static long long max_image = 32LL << 20;
static int retry_ms = 15000;
static const char *task_type = "image";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: master [--listen HOST:PORT] [--registry HOST:PORT] [--max-image BYTES]\n"
            "              [--retry MS] [--taskdb ADDRS] [--storage ADDRS] [--advertise IP:PORT]\n"
            "The task API of the image pipeline, in front of taskdb and storage.\n"
            "  --max-image BYTES      largest upload or result (default 33554432)\n"
            "  --retry MS             how long a call to taskdb or storage is retried (default "
            "15000)\n"
            "  --taskdb ADDRS         fixed replicas IP:PORT[,...] instead of the registry\n"
            "  --storage ADDRS        fixed replicas IP:PORT[,...] instead of the registry\n"
            "" SVC_USAGE_COMMON "  (default --listen 0.0.0.0:8000)\n");
}

/* ---- jobs ------------------------------------------------------------------ */

static void job_free(job *j)
{
    buf_free(&j->body);
    free(j->json);
    free(j);
}

static void on_job_abort(http_req *req, void *arg)
{
    (void)req;
    job *j = arg;
    j->req = NULL;
    if (j->uc)
        upstream_call_cancel(j->uc); /* its callback frees j */
    else if (j->probe_call)
        http_call_cancel(j->probe_call); /* likewise */
    else
        job_free(j);
}

static job *job_new(http_req *req)
{
    job *j = calloc(1, sizeof(*j));
    if (!j)
        abort();
    j->req = req;
    req->data = j;
    http_req_on_abort(req, on_job_abort, j);
    return j;
}

/* Each of these ends the job. */
static void job_reply(job *j, int status, const char *ctype, const void *body, size_t len)
{
    http_req_on_abort(j->req, NULL, NULL);
    http_reply(j->req, status, ctype, body, len);
    job_free(j);
}

static void job_json(job *j, int status, cJSON *o)
{
    http_req_on_abort(j->req, NULL, NULL);
    http_reply_json(j->req, status, o);
    cJSON_Delete(o);
    job_free(j);
}

__attribute__((format(printf, 3, 4))) static void job_error(job *j, int status, const char *fmt,
                                                            ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    job_json(j, status, o);
}

static void on_call_done(http_call *call, int err, const http_response *r, void *arg)
{
    (void)call;
    job *j = arg;
    snprintf(j->tried, sizeof(j->tried), "%s", upstream_call_addr(j->uc));
    j->uc = NULL;
    if (!j->req) { /* the client went away */
        job_free(j);
        return;
    }
    j->next(j, err, r);
}

/* Calls a service; next runs with the outcome. body must live in j. */
static void job_call(job *j, upstream *u, const char *method, const char *path, const char *ctype,
                     const void *body, size_t len, step_proc *next)
{
    http_call_opts o = {
        .method = method,
        .path = path,
        .content_type = ctype,
        .body = body,
        .body_len = (long long)len,
        .timeout_ms = 30000,
        .max_body = (size_t)max_image + 4096,
    };
    if (!body && strcmp(method, "GET") != 0)
        o.body = "";
    j->next = next;
    j->uc = upstream_call_start(u, &o, retry_ms, on_call_done, j);
    if (!j->uc)
        job_error(j, 500, "cannot call %s: %s", upstream_name(u), strerror(errno));
}

/* Turns a failed or unexpected upstream answer into the reply. Returns 1 when
 * it replied (the job is over). */
static int upstream_trouble(job *j, upstream *u, int err, const http_response *r, int ok1, int ok2)
{
    if (err) {
        job_error(j, 503, "%s unavailable: %s", upstream_name(u),
                  err == ENOENT ? "no replica registered" : strerror(err));
        return 1;
    }
    if (r->status == ok1 || r->status == ok2)
        return 0;
    if (r->status == 404) {
        job_error(j, 404, "no task %llu", j->id);
        return 1;
    }
    if (r->status == 409 || r->status == 400 || r->status == 413) {
        /* the service's own words are the best explanation */
        http_req_on_abort(j->req, NULL, NULL);
        http_reply(j->req, r->status, "application/json", r->body, r->body_len);
        job_free(j);
        return 1;
    }
    job_error(j, 502, "%s answered %d", upstream_name(u), r->status);
    return 1;
}

static const char *task_path(job *j, const char *suffix)
{
    snprintf(j->path, sizeof(j->path), "/task/%llu%s", j->id, suffix);
    return j->path;
}

static const char *blob_path(job *j, const char *which)
{
    snprintf(j->path, sizeof(j->path), "/blob/task-%llu-%s", j->id, which);
    return j->path;
}

/* The taskdb task in r, or NULL. */
static cJSON *task_of(const http_response *r)
{
    cJSON *t = cJSON_ParseWithLength(r->body, r->body_len);
    if (t && !cJSON_IsObject(t)) {
        cJSON_Delete(t);
        t = NULL;
    }
    return t;
}

static const char *task_state(const cJSON *t)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, "state");
    return cJSON_IsString(s) ? s->valuestring : "";
}

/* ---- POST /task -------------------------------------------------------------- */

static int image_kind_ok(const char *p, size_t n)
{
    return (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) ||
           (n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0);
}

static const char *image_ctype(const char *p, size_t n)
{
    return n >= 8 && memcmp(p, "\x89PNG", 4) == 0 ? "image/png" : "image/jpeg";
}

/* Adds to the image; -1 (nothing replied yet) past --max-image. */
static int append_limited(job *j, const char *data, size_t len)
{
    if ((long long)(buf_used(&j->body) + len) > max_image)
        return -1;
    buf_append(&j->body, data, len);
    return 0;
}

static int mp_on_part(void *arg, const multipart_part *p)
{
    job *j = arg;
    j->in_image = 0;
    if (j->part_state == 0 && (strcmp(p->name, "image") == 0 || p->has_filename)) {
        j->in_image = 1;
        j->part_state = 1;
        snprintf(j->name, sizeof(j->name), "%s", p->filename);
    }
    return 0;
}

static int mp_on_data(void *arg, const char *data, size_t len)
{
    job *j = arg;
    if (!j->in_image)
        return 0;
    return append_limited(j, data, len);
}

static int mp_on_part_end(void *arg)
{
    job *j = arg;
    if (j->in_image)
        j->part_state = 2;
    j->in_image = 0;
    return 0;
}

static const multipart_callbacks mp_callbacks = {mp_on_part, mp_on_data, mp_on_part_end};

/* Upload bodies and result bodies stream in here. */
static int on_body_piece(http_req *req, const char *data, size_t len, void *arg)
{
    (void)req;
    job *j = arg;
    if (!j->multipart) {
        if (append_limited(j, data, len) == 0)
            return 0;
        job_error(j, 413, "image larger than %lld bytes", max_image);
        return -1;
    }
    if (multipart_feed(&j->mp, data, len) < 0) {
        if (errno == ECANCELED) /* only append_limited stops the parse */
            job_error(j, 413, "image larger than %lld bytes", max_image);
        else
            job_error(j, errno == EMSGSIZE ? 413 : 400, "bad multipart body: %s",
                      multipart_why(&j->mp));
        return -1;
    }
    return 0;
}

static void upload_ready_done(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 200, 200))
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddStringToObject(o, "state", "ready");
    log_debug("task %llu: %zu bytes, ready", j->id, buf_used(&j->body));
    job_json(j, 201, o);
}

static void upload_stored(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, storage, err, r, 201, 200))
        return;
    job_call(j, taskdb, "POST", task_path(j, "/ready"), NULL, NULL, 0, upload_ready_done);
}

static void upload_created(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 201, 201))
        return;
    cJSON *t = task_of(r);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1) {
        cJSON_Delete(t);
        job_error(j, 502, "taskdb answered without an id");
        return;
    }
    j->id = (unsigned long long)id->valuedouble;
    cJSON_Delete(t);
    job_call(j, storage, "PUT", blob_path(j, "in"), j->ctype, buf_peek(&j->body),
             buf_used(&j->body), upload_stored);
}

static void handle_upload(job *j)
{
    if (j->multipart) {
        if (multipart_finish(&j->mp) < 0) {
            job_error(j, 400, "bad multipart body: %s", multipart_why(&j->mp));
            return;
        }
        if (j->part_state == 0) {
            job_error(j, 400, "no image in the form (send it as image=@FILE)");
            return;
        }
    }
    const char *p = buf_peek(&j->body);
    size_t n = buf_used(&j->body);
    if (n == 0) {
        job_error(j, 400, "empty image");
        return;
    }
    if (!image_kind_ok(p, n)) {
        job_error(j, 415, "not a PNG or JPEG image");
        return;
    }
    snprintf(j->ctype, sizeof(j->ctype), "%s", image_ctype(p, n));
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "name", j->name);
    cJSON_AddNumberToObject(data, "size", (double)n);
    cJSON_AddStringToObject(data, "content_type", j->ctype);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", task_type);
    cJSON_AddItemToObject(o, "data", data);
    j->json = cJSON_PrintUnformatted(o); /* must live as long as the call */
    cJSON_Delete(o);
    job_call(j, taskdb, "POST", "/task", "application/json", j->json, strlen(j->json),
             upload_created);
}

/* ---- worker side --------------------------------------------------------------- */

static void next_done(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 200, 204))
        return;
    if (r->status == 204) {
        job_reply(j, 204, NULL, "", 0);
        return;
    }
    job_reply(j, 200, "application/json", r->body, r->body_len);
}

static void blob_probe(job *j);

static void blob_reply(job *j, const http_response *r)
{
    const char *ct = http_resp_header(r, "Content-Type");
    const char *etag = http_resp_header(r, "ETag");
    if (etag)
        http_reply_header(j->req, "ETag", etag);
    job_reply(j, 200, ct ? ct : "application/octet-stream", r->body, r->body_len);
}

static void on_probe_done(http_call *c, int err, const http_response *r, void *arg)
{
    (void)c;
    job *j = arg;
    j->probe_call = NULL;
    if (!j->req) {
        job_free(j);
        return;
    }
    if (!err && r->status == 200) {
        blob_reply(j, r);
        return;
    }
    j->probe++;
    blob_probe(j);
}

/* Storage replicas do not share their disks: each blob is on the replica
 * that took its PUT. A blob missing from one replica is looked for on the
 * others, one after the other. */
static void blob_probe(job *j)
{
    for (; j->probe < upstream_count(storage); j->probe++) {
        const char *a = upstream_addr(storage, j->probe);
        char host[NET_ADDR_MAX];
        int port;
        if (!a || strcmp(a, j->tried) == 0 || net_parse_hostport(a, host, sizeof(host), &port) < 0)
            continue;
        http_call_opts o = {.method = "GET",
                            .host = host,
                            .port = port,
                            .path = j->path,
                            .timeout_ms = 30000,
                            .max_body = (size_t)max_image + 4096};
        j->probe_call = http_call_start(cli, &o, on_probe_done, j);
        if (j->probe_call)
            return;
    }
    job_error(j, 404, "no image for task %llu", j->id);
}

static void blob_done(job *j, int err, const http_response *r)
{
    if (!err && r->status == 404 && upstream_count(storage) > 1) {
        j->probe = 0;
        blob_probe(j);
        return;
    }
    if (upstream_trouble(j, storage, err, r, 200, 200))
        return;
    blob_reply(j, r);
}

static void finish_done(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 200, 200))
        return;
    job_reply(j, 200, "application/json", r->body, r->body_len);
}

static void finish_stored(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, storage, err, r, 201, 200))
        return;
    job_call(j, taskdb, "POST", task_path(j, "/finish"), NULL, NULL, 0, finish_done);
}

static void finish_checked(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 200, 200))
        return;
    /* leased; or ready again after its lease ran out (the worker was slow but
     * finished); or done already (another worker finished it too). A task
     * never leased has no business getting a result. */
    cJSON *t = task_of(r);
    const char *st = task_state(t);
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(t, "attempts");
    int leased_once = cJSON_IsNumber(att) && att->valuedouble >= 1;
    int ok = leased_once &&
             (strcmp(st, "leased") == 0 || strcmp(st, "ready") == 0 || strcmp(st, "done") == 0);
    char state[16];
    snprintf(state, sizeof(state), "%s", st);
    cJSON_Delete(t);
    if (!ok) {
        job_error(j, 409, "task %llu is %s%s", j->id, state, leased_once ? "" : ", not leased");
        return;
    }
    job_call(j, storage, "PUT", blob_path(j, "out"), "image/png", buf_peek(&j->body),
             buf_used(&j->body), finish_stored);
}

static void handle_finish(job *j)
{
    if (buf_used(&j->body) == 0) {
        job_error(j, 400, "the result image is the body");
        return;
    }
    /* Check the state first so that a result for a task that cannot finish
     * is not stored at all. */
    job_call(j, taskdb, "GET", task_path(j, ""), NULL, NULL, 0, finish_checked);
}

/* ---- queries ------------------------------------------------------------------ */

static void result_checked(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 200, 200))
        return;
    cJSON *t = task_of(r);
    int done = strcmp(task_state(t), "done") == 0;
    char state[16];
    snprintf(state, sizeof(state), "%s", task_state(t));
    cJSON_Delete(t);
    if (!done) {
        job_error(j, 409, "task %llu is %s: no result yet", j->id, state);
        return;
    }
    job_call(j, storage, "GET", blob_path(j, "out"), NULL, NULL, 0, blob_done);
}

static void ready_done(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 200, 200))
        return;
    cJSON *t = task_of(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddBoolToObject(o, "ready", strcmp(task_state(t), "done") == 0);
    cJSON_AddStringToObject(o, "state", task_state(t));
    cJSON_Delete(t);
    job_json(j, 200, o);
}

static void passthrough_done(job *j, int err, const http_response *r)
{
    if (upstream_trouble(j, taskdb, err, r, 200, 200))
        return;
    job_reply(j, 200, "application/json", r->body, r->body_len);
}

/* ---- routing --------------------------------------------------------------------- */

/* "/task/{id}[/action]": the id and the action ("" when none). */
static int parse_task_path(const char *path, unsigned long long *id, const char **action)
{
    if (strncmp(path, "/task/", 6) != 0)
        return -1;
    const char *p = path + 6;
    if (*p < '1' || *p > '9')
        return -1;
    unsigned long long v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (~0ULL - 9) / 10)
            return -1;
        v = v * 10 + (unsigned long long)(*p - '0');
    }
    if (*p && *p != '/')
        return -1;
    *id = v;
    *action = *p ? p + 1 : "";
    return 0;
}

static int is_post(const http_req *req)
{
    return strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
}

static void on_headers(http_req *req)
{
    unsigned long long id;
    const char *action;
    int upload = is_post(req) && strcmp(req->path, "/task") == 0;
    int finish = is_post(req) && parse_task_path(req->path, &id, &action) == 0 &&
                 strcmp(action, "finish") == 0;
    if (!upload && !finish)
        return;
    job *j = job_new(req);
    if (req->content_length > max_image + (upload ? 64 * 1024 : 0)) {
        job_error(j, 413, "image larger than %lld bytes", max_image);
        return;
    }
    const char *ct = http_req_header(req, "Content-Type");
    if (upload && ct && strncasecmp(ct, "multipart/", 10) == 0) {
        char b[MULTIPART_BOUNDARY_MAX + 1];
        if (multipart_boundary(ct, b, sizeof(b)) < 0 ||
            multipart_init(&j->mp, b, &mp_callbacks, j) < 0) {
            job_error(j, 400, "multipart body without a valid boundary");
            return;
        }
        j->multipart = 1;
    }
    http_req_stream_body(req, on_body_piece, j);
}

static void on_request(http_req *req)
{
    const char *m = req->method;
    int get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    job *j = req->data; /* set for streamed bodies */
    if (strcmp(req->path, "/health") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        cJSON_AddNumberToObject(o, "taskdb", upstream_count(taskdb));
        cJSON_AddNumberToObject(o, "storage", upstream_count(storage));
        http_reply_json(req, 200, o);
        cJSON_Delete(o);
        return;
    }
    if (strcmp(req->path, "/task") == 0) {
        if (j)
            handle_upload(j);
        else
            http_reply_error(req, 405, "use POST /task with the image");
        return;
    }
    if (!j)
        j = job_new(req);
    if (strcmp(req->path, "/task/next") == 0) {
        if (!get && !is_post(req)) {
            job_error(j, 405, "use GET /task/next");
            return;
        }
        snprintf(j->path, sizeof(j->path), "/task/next?type=%s", task_type);
        job_call(j, taskdb, "GET", j->path, NULL, NULL, 0, next_done);
        return;
    }
    if (strcmp(req->path, "/tasks") == 0) {
        if (!get) {
            job_error(j, 405, "use GET /tasks");
            return;
        }
        char state[16] = "", limit[16] = "";
        http_req_query(req, "state", state, sizeof(state));
        http_req_query(req, "limit", limit, sizeof(limit));
        snprintf(j->path, sizeof(j->path), "/tasks?type=%s%s%s%s%s", task_type,
                 state[0] ? "&state=" : "", state, limit[0] ? "&limit=" : "", limit);
        if (strpbrk(j->path, " \r\n")) {
            job_error(j, 400, "bad query");
            return;
        }
        job_call(j, taskdb, "GET", j->path, NULL, NULL, 0, passthrough_done);
        return;
    }
    const char *action;
    if (parse_task_path(req->path, &j->id, &action) < 0) {
        job_error(j, 404, "not found");
        return;
    }
    if (strcmp(action, "") == 0 && get) {
        job_call(j, taskdb, "GET", task_path(j, ""), NULL, NULL, 0, passthrough_done);
    } else if (strcmp(action, "download") == 0 && get) {
        job_call(j, storage, "GET", blob_path(j, "in"), NULL, NULL, 0, blob_done);
    } else if (strcmp(action, "result") == 0 && get) {
        job_call(j, taskdb, "GET", task_path(j, ""), NULL, NULL, 0, result_checked);
    } else if (strcmp(action, "ready") == 0 && get) {
        job_call(j, taskdb, "GET", task_path(j, ""), NULL, NULL, 0, ready_done);
    } else if (strcmp(action, "finish") == 0 && is_post(req)) {
        handle_finish(j);
    } else if (strcmp(action, "fail") == 0 && is_post(req)) {
        job_call(j, taskdb, "POST", task_path(j, "/fail?final=1"), NULL, NULL, 0, passthrough_done);
    } else if (strcmp(action, "") == 0 || strcmp(action, "download") == 0 ||
               strcmp(action, "result") == 0 || strcmp(action, "ready") == 0 ||
               strcmp(action, "finish") == 0 || strcmp(action, "fail") == 0) {
        job_error(j, 405, "method %s not allowed here", m);
    } else {
        job_error(j, 404, "not found");
    }
}

int main(int argc, char **argv)
{
    svc_opts o;
    svc_opts_init(&o, "master", "0.0.0.0:8000");
    const char *taskdb_addrs = NULL, *storage_addrs = NULL;
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
        if (strcmp(a, "--max-image") == 0) {
            max_image = strtoll(v, &end, 10);
            if (*end || max_image < 1024 || max_image > (1LL << 30))
                die("--max-image: expected bytes between 1024 and 1073741824, got '%s'", v);
        } else if (strcmp(a, "--retry") == 0) {
            long r = strtol(v, &end, 10);
            if (*end || r < 1 || r > 600000)
                die("--retry: expected milliseconds between 1 and 600000, got '%s'", v);
            retry_ms = (int)r;
        } else if (strcmp(a, "--taskdb") == 0) {
            taskdb_addrs = v;
        } else if (strcmp(a, "--storage") == 0) {
            storage_addrs = v;
        } else {
            die("unknown option %s (see --help)", a);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    el_loop *loop = el_create();
    if (!loop)
        die("event loop: %s", strerror(errno));
    http_server_config cfg = {
        .on_request = on_request,
        .on_headers = on_headers,
        .max_body_bytes = 64 * 1024,
    };
    http_server *srv = http_server_create(loop, o.listen_host, o.listen_port, &cfg);
    if (!srv)
        die("cannot listen on %s:%d: %s", o.listen_host, o.listen_port, strerror(errno));
    mc_client *mc = svc_register(loop, &o, http_server_port(srv), NULL);
    if (!mc && (!taskdb_addrs || !storage_addrs))
        die("without a registry, --taskdb and --storage are needed");
    cli = http_client_create(loop);
    if (!cli)
        die("out of memory");
    http_client_set_pool(cli, 32, 30000);
    taskdb = taskdb_addrs ? upstream_create_static(cli, loop, "taskdb", taskdb_addrs)
                          : upstream_create(cli, mc, "taskdb");
    storage = storage_addrs ? upstream_create_static(cli, loop, "storage", storage_addrs)
                            : upstream_create(cli, mc, "storage");
    if (!taskdb || !storage)
        die("--taskdb/--storage: expected IP:PORT[,IP:PORT...]");
    /* taskdb replicas keep separate queues: one at a time, the next on failure */
    upstream_set_sticky(taskdb, 1);
    log_info("listening on %s:%d (advertised as %s)", o.listen_host, http_server_port(srv),
             o.advertise);
    el_run(loop);
    return 0;
}

/* main.c -- taskdb's HTTP API, flags and durability cycle.
 *
 * Every handler changes the in-memory state (tasks.c), which appends log
 * records, and queues its reply instead of sending it. At the end of the loop
 * iteration one hook writes the records, fdatasync()s once for all of them
 * and only then sends the replies: no 2xx leaves before its change is on
 * disk, and a burst of requests costs one sync. If the log cannot be
 * written the process exits: memory would be ahead of the disk, and a
 * restart rebuilds the truth from the log.
 */
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "el.h"
#include "http.h"
#include "log.h"
#include "svc.h"
#include "taskdb.h"

typedef struct pending_reply {
    http_req *req;
    int status;
    char *body; /* JSON text, or NULL for 204 */
    struct pending_reply *next;
} pending_reply;

/* GET /health?wait_ms=MS&ready=R&leased=L held until the counts differ from
 * the caller's (an autoscaler's long poll) or MS have passed. */
typedef struct health_waiter {
    http_req *req;
    uint64_t ready, leased;
    uint64_t deadline; /* el_now() ms */
    struct health_waiter *next;
} health_waiter;

static taskdb db;
static el_loop *loop;
static pending_reply *replies_head, **replies_tail = &replies_head;
static health_waiter *waiters;

static void usage(FILE *f)
{
    fprintf(
        f, "usage: taskdb [--listen HOST:PORT] [--registry HOST:PORT|none] [--data DIR]\n"
           "              [--lease SECONDS] [--max-attempts N] [--advertise IP:PORT] [--ttl S]\n"
           "The task scheduler: a durable queue of tasks with leases, over HTTP.\n"
           "  --data DIR             where the log lives (default ./taskdb-data)\n"
           "  --lease SECONDS        how long GET /task/next leases a task (default 20)\n"
           "  --max-attempts N       leases before a task fails for good (default 3)\n"
           "  --compact              rewrite the log as a snapshot when starting\n" SVC_USAGE_COMMON
           "  (default --listen 0.0.0.0:8001)\n");
}

static int64_t mono_to_unix(uint64_t mono)
{
    struct timespec r, m;
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_MONOTONIC, &m);
    int64_t now_unix = (int64_t)r.tv_sec * 1000 + r.tv_nsec / 1000000;
    int64_t now_mono = (int64_t)m.tv_sec * 1000 + m.tv_nsec / 1000000;
    return now_unix + ((int64_t)mono - now_mono);
}

static cJSON *task_json(const task *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)t->id);
    cJSON_AddStringToObject(o, "type", t->type);
    cJSON_AddStringToObject(o, "state", task_state_name(t->state));
    cJSON_AddNumberToObject(o, "attempts", t->attempts);
    cJSON_AddNumberToObject(o, "max_attempts", db.max_attempts);
    if (t->state == TASK_LEASED)
        cJSON_AddNumberToObject(o, "lease_deadline", (double)mono_to_unix(t->lease_deadline));
    cJSON_AddStringToObject(o, "data", t->data);
    cJSON_AddNumberToObject(o, "created", (double)t->created);
    cJSON_AddNumberToObject(o, "updated", (double)t->updated);
    return o;
}

/* Queues a reply until the log is synced. Takes ownership of json. */
static void reply_later(http_req *req, int status, cJSON *json)
{
    pending_reply *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->req = req;
    p->status = status;
    if (json) {
        p->body = cJSON_PrintUnformatted(json);
        cJSON_Delete(json);
    }
    *replies_tail = p;
    replies_tail = &p->next;
}

static void reply_error(http_req *req, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    reply_later(req, status, o);
}

static cJSON *health_json(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddNumberToObject(o, "tasks", (double)db.ntasks);
    for (int s = 0; s <= TASK_FAILED; s++)
        cJSON_AddNumberToObject(o, task_state_name(s), (double)db.counts[s]);
    return o;
}

/* Answers the held health requests whose counts changed, or whose time is up. */
static void wake_waiters(uint64_t now)
{
    for (health_waiter **pp = &waiters; *pp;) {
        health_waiter *w = *pp;
        if (db.counts[TASK_READY] == w->ready && db.counts[TASK_LEASED] == w->leased &&
            now < w->deadline) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        reply_later(w->req, 200, health_json());
        free(w);
    }
}

/* The group commit: see the comment at the top. */
static void arm_tick(el_loop *l);

static void before_sleep(el_loop *l, void *arg)
{
    (void)arg;
    if (waiters)
        wake_waiters(el_now(l));
    arm_tick(l);
    if (!replies_head && !buf_used(&db.log.pending))
        return;
    if (buf_used(&db.log.pending) && wal_sync(&db.log) < 0) {
        log_error("writing %s: %s; exiting so that a restart recovers from the log", db.log.path,
                  strerror(errno));
        exit(1);
    }
    pending_reply *p = replies_head;
    replies_head = NULL;
    replies_tail = &replies_head;
    while (p) {
        pending_reply *next = p->next;
        if (p->req) {
            if (p->body)
                http_reply(p->req, p->status, "application/json", p->body, strlen(p->body));
            else
                http_reply(p->req, p->status, NULL, "", 0);
        }
        free(p->body);
        free(p);
        p = next;
    }
    taskdb_maybe_compact(&db, 0);
}

/* A client that hangs up before its reply: forget the request. */
static void on_abort(http_req *req, void *arg)
{
    (void)arg;
    for (pending_reply *p = replies_head; p; p = p->next)
        if (p->req == req)
            p->req = NULL;
    for (health_waiter **pp = &waiters; *pp; pp = &(*pp)->next)
        if ((*pp)->req == req) {
            health_waiter *w = *pp;
            *pp = w->next;
            free(w);
            break;
        }
}

static int parse_id(const char *s, uint64_t *id)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0 || s[0] == '-' || s[0] == '+')
        return -1;
    *id = v;
    return 0;
}

static void handle_create(http_req *req)
{
    cJSON *in = http_req_json(req);
    if (req->body_len && (!in || !cJSON_IsObject(in))) {
        cJSON_Delete(in);
        reply_error(req, 400, "body must be a JSON object");
        return;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(in, "type");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data");
    const cJSON *ready = cJSON_GetObjectItemCaseSensitive(in, "ready");
    const char *tname = "default";
    if (type) {
        if (!cJSON_IsString(type) || !task_type_valid(type->valuestring)) {
            cJSON_Delete(in);
            reply_error(req, 400, "type must be 1-64 characters of [A-Za-z0-9_.-]");
            return;
        }
        tname = type->valuestring;
    }
    char *dtext = NULL;
    if (data && !cJSON_IsNull(data))
        dtext = cJSON_IsString(data) ? strdup(data->valuestring) : cJSON_PrintUnformatted(data);
    if (dtext && strlen(dtext) > TASK_DATA_MAX) {
        free(dtext);
        cJSON_Delete(in);
        reply_error(req, 413, "data is limited to 4096 bytes");
        return;
    }
    task *t = taskdb_create(&db, tname, dtext ? dtext : "", dtext ? strlen(dtext) : 0,
                            cJSON_IsTrue(ready));
    free(dtext);
    cJSON_Delete(in);
    reply_later(req, 201, task_json(t));
}

static void handle_next(http_req *req)
{
    char type[TASK_TYPE_MAX + 1];
    int has_type = http_req_query(req, "type", type, sizeof(type)) > 0;
    if (has_type && !task_type_valid(type)) {
        reply_error(req, 400, "bad type");
        return;
    }
    task *t = taskdb_next(&db, has_type ? type : NULL, el_now(loop));
    if (!t) {
        reply_later(req, 204, NULL);
        return;
    }
    reply_later(req, 200, task_json(t));
}

static void handle_list(http_req *req)
{
    char state[16], type[TASK_TYPE_MAX + 1], lim[24];
    int st = -1;
    if (http_req_query(req, "state", state, sizeof(state)) >= 0 &&
        (st = task_state_parse(state)) < 0) {
        reply_error(req, 400, "state must be created, ready, leased, done or failed");
        return;
    }
    int has_type = http_req_query(req, "type", type, sizeof(type)) > 0;
    long limit = 1000;
    if (http_req_query(req, "limit", lim, sizeof(lim)) > 0) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (*end || limit < 1 || limit > 100000) {
            reply_error(req, 400, "limit must be between 1 and 100000");
            return;
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "tasks");
    long n = 0;
    for (uint64_t id = 1; id <= db.ntasks && n < limit; id++) {
        task *t = taskdb_get(&db, id);
        if (!t || (st >= 0 && t->state != st) || (has_type && strcmp(t->type, type) != 0))
            continue;
        cJSON_AddItemToArray(arr, task_json(t));
        n++;
    }
    cJSON_AddNumberToObject(o, "count", (double)n);
    reply_later(req, 200, o);
}

static int query_count(http_req *req, const char *key, uint64_t max, uint64_t *out)
{
    char v[24];
    if (http_req_query(req, key, v, sizeof(v)) <= 0)
        return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || v[0] == '-' || x > max)
        return -1;
    *out = x;
    return 1;
}

/* GET /health, or with wait_ms a long poll: held while the ready and leased
 * counts are the given ones, for at most wait_ms. */
static void handle_health(http_req *req)
{
    uint64_t wait_ms = 0, ready = 0, leased = 0;
    int has_wait = query_count(req, "wait_ms", 600000, &wait_ms);
    int has_ready = query_count(req, "ready", UINT64_MAX, &ready);
    int has_leased = query_count(req, "leased", UINT64_MAX, &leased);
    if (has_wait < 0 || has_ready < 0 || has_leased < 0) {
        reply_error(req, 400, "wait_ms (0 to 600000), ready and leased must be whole numbers");
        return;
    }
    if (wait_ms && db.counts[TASK_READY] == ready && db.counts[TASK_LEASED] == leased) {
        health_waiter *w = calloc(1, sizeof(*w));
        if (!w)
            abort();
        w->req = req;
        w->ready = ready;
        w->leased = leased;
        w->deadline = el_now(loop) + wait_ms;
        w->next = waiters;
        waiters = w;
        return;
    }
    reply_later(req, 200, health_json());
}

static void on_request(http_req *req)
{
    http_req_on_abort(req, on_abort, NULL);
    const char *m = req->method, *path = req->path;
    int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    if (strcmp(path, "/task") == 0) {
        if (post)
            handle_create(req);
        else
            reply_error(req, 405, "use POST /task");
        return;
    }
    if (strcmp(path, "/task/next") == 0) {
        if (get || post)
            handle_next(req);
        else
            reply_error(req, 405, "use GET /task/next");
        return;
    }
    if (strcmp(path, "/tasks") == 0) {
        if (get)
            handle_list(req);
        else
            reply_error(req, 405, "use GET /tasks");
        return;
    }
    if (strcmp(path, "/health") == 0) {
        handle_health(req);
        return;
    }
    if (strncmp(path, "/task/", 6) == 0) {
        char idtext[32];
        const char *rest = path + 6;
        size_t n = strcspn(rest, "/");
        if (n >= sizeof(idtext)) {
            reply_error(req, 404, "no such task");
            return;
        }
        memcpy(idtext, rest, n);
        idtext[n] = '\0';
        const char *action = rest[n] == '/' ? rest + n + 1 : NULL;
        uint64_t id;
        if (parse_id(idtext, &id) < 0) {
            reply_error(req, 404, "no such task");
            return;
        }
        task *t = taskdb_get(&db, id);
        if (!t) {
            reply_error(req, 404, "no such task");
            return;
        }
        if (!action) {
            if (get)
                reply_later(req, 200, task_json(t));
            else
                reply_error(req, 405, "use GET /task/{id}");
            return;
        }
        if (!post) {
            reply_error(req, 405, "use POST /task/{id}/ready|finish|fail");
            return;
        }
        int rc;
        if (strcmp(action, "ready") == 0) {
            rc = taskdb_ready(&db, t);
        } else if (strcmp(action, "finish") == 0) {
            rc = taskdb_finish(&db, t);
        } else if (strcmp(action, "fail") == 0) {
            char fin[8] = "";
            http_req_query(req, "final", fin, sizeof(fin));
            rc = taskdb_fail(&db, t, strcmp(fin, "1") == 0 || strcmp(fin, "true") == 0);
        } else {
            reply_error(req, 404, "unknown action");
            return;
        }
        if (rc < 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "task %llu is %s", (unsigned long long)t->id,
                     task_state_name(t->state));
            reply_error(req, 409, msg);
            return;
        }
        reply_later(req, 200, task_json(t));
        return;
    }
    reply_error(req, 404, "not found");
}

/* One timer, armed for the earliest lease end or long-poll deadline and for
 * nothing when there is neither, so an idle taskdb does not wake at all. */
static long long tick_id = -1;
static uint64_t tick_at;

static void on_tick(el_loop *l, long long id, void *arg)
{
    (void)id;
    (void)arg;
    tick_id = -1;
    taskdb_expire(&db, el_now(l));
    if (waiters)
        wake_waiters(el_now(l));
}

static void arm_tick(el_loop *l)
{
    uint64_t next = UINT64_MAX;
    if (db.leased.head)
        next = db.leased.head->lease_deadline;
    for (health_waiter *w = waiters; w; w = w->next)
        if (w->deadline < next)
            next = w->deadline;
    if (tick_id >= 0 && tick_at == next)
        return;
    if (tick_id >= 0)
        el_timer_del(l, tick_id);
    tick_id = -1;
    if (next == UINT64_MAX)
        return;
    uint64_t now = el_now(l);
    tick_id = el_timer_add(l, next > now ? (long long)(next - now) : 0, on_tick, NULL);
    tick_at = next;
}

int main(int argc, char **argv)
{
    svc_opts o;
    svc_opts_init(&o, "taskdb", "0.0.0.0:8001");
    const char *dir = "taskdb-data";
    long lease_s = 20, max_attempts = 3;
    int compact = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--compact") == 0) {
            compact = 1;
            continue;
        }
        if (svc_parse_flag(&o, argc, argv, &i))
            continue;
        if (i + 1 >= argc)
            die("unknown option %s (see --help)", a);
        const char *v = argv[++i];
        char *end;
        if (strcmp(a, "--data") == 0) {
            dir = v;
        } else if (strcmp(a, "--lease") == 0) {
            lease_s = strtol(v, &end, 10);
            if (*end || lease_s < 1 || lease_s > 86400)
                die("--lease: expected seconds between 1 and 86400, got '%s'", v);
        } else if (strcmp(a, "--max-attempts") == 0) {
            max_attempts = strtol(v, &end, 10);
            if (*end || max_attempts < 1 || max_attempts > 1000)
                die("--max-attempts: expected 1 to 1000, got '%s'", v);
        } else {
            die("unknown option %s (see --help)", a);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (taskdb_open(&db, dir, (uint32_t)max_attempts, (int)lease_s * 1000) < 0)
        die("cannot open the log in %s: %s", dir, strerror(errno));
    if (compact && taskdb_maybe_compact(&db, 1) < 0)
        die("cannot compact the log in %s: %s", dir, strerror(errno));
    loop = el_create();
    if (!loop)
        die("event loop: %s", strerror(errno));
    http_server_config cfg = {.on_request = on_request, .max_body_bytes = 64 * 1024};
    http_server *srv = http_server_create(loop, o.listen_host, o.listen_port, &cfg);
    if (!srv)
        die("cannot listen on %s:%d: %s", o.listen_host, o.listen_port, strerror(errno));
    el_hook_add(loop, before_sleep, NULL);
    svc_register(loop, &o, http_server_port(srv), NULL);
    log_info("listening on %s:%d (advertised as %s), lease %ld s, %ld attempts", o.listen_host,
             http_server_port(srv), o.advertise, lease_s, max_attempts);
    el_run(loop);
    return 0;
}

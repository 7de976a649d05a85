/* api.c -- the REST API's routes (docs/api.md): one function per route, a
 * dispatcher that tells 404 from 405, and the JSON of a VM.
 *
 * Replies that depend on a VM's future (POST /vm/run, stop, forced DELETE)
 * are parked on the VM and sent by vm.c when the event happens; the HTTP
 * layer keeps the request alive until then, and tells us if the client goes
 * away first.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "runreq.h"

void api_reply_vm(http_req *req, int status, const vm *v)
{
    cJSON *o = vm_to_json(v, false);
    http_reply_json(req, status, o);
    cJSON_Delete(o);
}

/* ?KEY, ?KEY=1, ?KEY=true: on; absent, ?KEY=0, ?KEY=false: off. */
bool api_query_flag(http_req *req, const char *key)
{
    char v[16];
    return http_req_query(req, key, v, sizeof v) >= 0 && strcmp(v, "0") != 0 &&
           strcmp(v, "false") != 0;
}
#define query_flag api_query_flag

static long query_long(http_req *req, const char *key, long dflt, long min, long max, bool *bad)
{
    /* As long as a request line can be, so that a long value is refused, not ignored. */
    static char v[16384];
    char *end;
    if (http_req_query(req, key, v, sizeof v) < 0)
        return dflt;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < min || x > max) {
        *bad = true;
        return dflt;
    }
    return x;
}

/* ---- /vm ----------------------------------------------------------------- */

static void run_vm(http_req *req)
{
    uint64_t t0 = now_mono_ns();
    if (shutting_down) {
        http_reply_error(req, 503, "the daemon is shutting down");
        return;
    }
    run_req r;
    char err[512];
    int status;
    if (run_req_parse(req->body, req->body_len, &r, err, sizeof err) < 0) {
        run_req_free(&r);
        http_reply_error(req, 400, "%s", err);
        return;
    }
    vm *v = vm_create(&r, err, sizeof err, &status);
    bool wait = r.wait || query_flag(req, "wait");
    run_req_free(&r);
    if (!v) {
        http_reply_error(req, status, "%s", err);
        return;
    }
    v->t_request_ns = t0;
    vm_set_run_reply(v, req, wait);
    if (vm_launch(v, err, sizeof err, &status) < 0) {
        http_req_on_abort(req, NULL, NULL);
        v->run_reply = NULL;
        log_warn("vm %s: cannot start: %s", v->id, err);
        vm_remove(v);
        http_reply_error(req, status, "%s", err);
        return;
    }
    log_info("vm %s%s%s: %s started (%s, %s)", v->id, v->name[0] ? " " : "", v->name, v->image,
             v->pool_hit ? "pool" : "cold", v->tap);
}

static void list_vms(http_req *req)
{
    bool all = query_flag(req, "all");
    cJSON *a = cJSON_CreateArray();
    for (vm *v = vm_list; v; v = v->next)
        if (all || vm_live(v))
            cJSON_AddItemToArray(a, vm_to_json(v, false));
    http_reply_json(req, 200, a);
    cJSON_Delete(a);
}

static void stop_vm(http_req *req, vm *v)
{
    bool bad = false;
    long t = query_long(req, "timeout", cfg.stop_timeout_s, 0, 3600, &bad);
    if (bad) {
        http_reply_error(req, 400, "timeout: want seconds from 0 to 3600");
        return;
    }
    if (!vm_live(v)) {
        api_reply_vm(req, 200, v);
        return;
    }
    vm_add_waiter(v, req, false);
    vm_stop(v, (int)t);
}

static void delete_vm(http_req *req, vm *v)
{
    if (!vm_live(v)) {
        vm_remove(v);
        http_reply(req, 204, NULL, NULL, 0);
        return;
    }
    if (!query_flag(req, "force")) {
        http_reply_error(req, 409, "VM %s is %s: stop it first, or DELETE with ?force=1", v->id,
                         vm_state_name(v->state));
        return;
    }
    vm_add_waiter(v, req, true);
    vm_stop(v, 0);
    if (!vm_live(v))
        vm_remove(v); /* it was between restarts: ended at once, waiter answered */
}

static void logs_vm(http_req *req, vm *v)
{
    bool bad = false;
    long tail = query_long(req, "tail", -1, 0, 100000000, &bad);
    if (bad) {
        http_reply_error(req, 400, "tail: want a number of lines");
        return;
    }
    console_reply(v->con, req, tail, query_flag(req, "follow") && vm_live(v));
}

static void vm_route(http_req *req, const char *rest)
{
    char key[64];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *sub = slash ? slash : "";
    if (n == 0 || n >= sizeof key) {
        http_reply_error(req, 404, "no such VM");
        return;
    }
    memcpy(key, rest, n);
    key[n] = 0;
    const char *m = req->method;
    bool known = !*sub || !strcmp(sub, "/stop") || !strcmp(sub, "/logs");
    if (!known) {
        http_reply_error(req, 404, "no route %s %s", m, req->path);
        return;
    }
    if ((!*sub && strcmp(m, "GET") && strcmp(m, "DELETE")) ||
        (!strcmp(sub, "/stop") && strcmp(m, "POST")) || (!strcmp(sub, "/logs") && strcmp(m, "GET"))) {
        http_reply_error(req, 405, "%s is not allowed on %s", m, req->path);
        return;
    }
    bool ambiguous;
    vm *v = vm_find(key, &ambiguous);
    if (!v) {
        if (ambiguous)
            http_reply_error(req, 400, "'%s' names several VMs: give more of the id", key);
        else
            http_reply_error(req, 404, "no VM '%s'", key);
        return;
    }
    if (!*sub && !strcmp(m, "GET"))
        api_reply_vm(req, 200, v);
    else if (!*sub)
        delete_vm(req, v);
    else if (!strcmp(sub, "/stop"))
        stop_vm(req, v);
    else
        logs_vm(req, v);
}

/* ---- the daemon ---------------------------------------------------------- */

static void healthz(http_req *req)
{
    int mem[MAX_POOL_CLASSES], ready[MAX_POOL_CLASSES], target[MAX_POOL_CLASSES];
    int n = pool_classes(mem, ready, target, MAX_POOL_CLASSES), total = 0;
    for (int i = 0; i < n; i++)
        total += ready[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", shutting_down ? "stopping" : "ok");
    cJSON_AddStringToObject(o, "version", UIGD_VERSION);
    cJSON_AddNumberToObject(o, "vms", vm_count_live());
    cJSON_AddNumberToObject(o, "pool_ready", total);
    cJSON_AddStringToObject(o, "bridge", cfg.bridge);
    cJSON_AddStringToObject(o, "subnet", cfg.subnet);
    http_reply_json(req, shutting_down ? 503 : 200, o);
    cJSON_Delete(o);
}

static bool is_upload(const http_req *req)
{
    return (!strcmp(req->method, "POST") && !strcmp(req->path, "/images")) ||
           (!strcmp(req->method, "PUT") && !strncmp(req->path, "/images/", 8));
}

void api_on_headers(http_req *req)
{
    if (is_upload(req))
        images_on_headers(req);
}

void api_on_request(http_req *req)
{
    stats.api_requests++;
    const char *p = req->path, *m = req->method;
    if (is_upload(req)) {
        images_upload_done(req);
    } else if (!strcmp(p, "/vm/run")) {
        if (strcmp(m, "POST"))
            http_reply_error(req, 405, "use POST /vm/run");
        else
            run_vm(req);
    } else if (!strcmp(p, "/vm") || !strcmp(p, "/vm/")) {
        if (strcmp(m, "GET"))
            http_reply_error(req, 405, "use GET /vm, or POST /vm/run to start one");
        else
            list_vms(req);
    } else if (!strncmp(p, "/vm/", 4)) {
        vm_route(req, p + 4);
    } else if (!strcmp(p, "/images")) {
        if (strcmp(m, "GET"))
            http_reply_error(req, 405, "use GET /images, or POST /images?name=NAME to upload");
        else
            images_list(req);
    } else if (!strncmp(p, "/images/", 8)) {
        const char *name = p + 8;
        if (!strcmp(m, "GET"))
            images_get(req, name);
        else if (!strcmp(m, "DELETE"))
            images_delete(req, name);
        else
            http_reply_error(req, 405, "%s is not allowed on %s", m, p);
    } else if (!strcmp(p, "/deployments") || !strncmp(p, "/deployments/", 13)) {
        deploy_route(req);
    } else if (!strcmp(p, "/healthz")) {
        if (strcmp(m, "GET") && strcmp(m, "HEAD"))
            http_reply_error(req, 405, "use GET /healthz");
        else
            healthz(req);
    } else if (!strcmp(p, "/metrics")) {
        if (strcmp(m, "GET"))
            http_reply_error(req, 405, "use GET /metrics");
        else
            metrics_reply(req);
    } else {
        http_reply_error(req, 404, "no route %s %s (see docs/api.md)", m, p);
    }
}

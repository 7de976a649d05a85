/* deploy.c -- deployments: services declared once, kept at their replica
 * counts by the daemon (docs/deploy.md).
 *
 * A deployment is a parsed file (deployspec.c) saved as
 * STATE_DIR/deployments/NAME.json. Its VMs are ordinary VMs named
 * DEPLOY.SERVICE.N whose records say which deployment, service, replica and
 * version of the service they are; so they survive a daemon restart like any
 * other VM, and the deployment finds them again by those fields.
 *
 * One function, reconcile(), compares what is declared with what runs and
 * acts: it removes ended replicas and starts their replacements (with a
 * back-off when they keep ending), stops replicas of an older version of the
 * service or beyond its count, and starts a service only once every service it
 * waits for has a ready replica: one whose program accepts TCP connections on
 * the service's port (a non-blocking connect from the daemon), or that runs,
 * when the service has no port. reconcile() runs when something changed (a
 * deployment applied or removed, a VM started, became ready or ended) and when
 * a back-off or a probe retry is due; nothing runs while all is as declared.
 */
#include <arpa/inet.h>
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "deployspec.h"
#include "log.h"
#include "runreq.h"

#define PROBE_RETRY_MS   20
#define PROBE_TIMEOUT_MS 1000
#define SVC_BACKOFF_MIN  100
#define SVC_BACKOFF_MAX  30000
#define SVC_STEADY_S     10 /* a replica that ran this long resets the back-off */

typedef struct svc_state {
    int backoff_ms;
    uint64_t next_try_ns;
    char error[256];   /* why the last start failed, "" when it did not */
    char last_end[256]; /* the last replica that ended */
    unsigned long long replaced;
    /* autoscale */
    int desired;            /* the replica count now wanted */
    bool as_started;        /* desired has been set */
    http_call *watch;       /* the long poll of the queue's GET /health */
    bool q_known;
    uint64_t q_ready, q_leased;
    uint64_t low_since_ns;   /* less work than desired since then; 0: not */
    int low_max;             /* the most replicas the work asked for since then */
    uint64_t watch_retry_ns; /* no watch before then */
    unsigned long long ups, downs;
    char last_decision[192];
} svc_state;

typedef struct deployment {
    ds_spec spec;
    char *text; /* as applied, saved to disk */
    double created_at, updated_at;
    svc_state st[DS_SERVICES_MAX];
    bool removing;
    http_req *del_req; /* DELETE waiting for the last VM to end */
    struct deployment *next;
} deployment;

static deployment *deployments;
static http_client *client; /* the autoscalers' long polls */
static long long tick_timer;
static uint64_t tick_at; /* CLOCK_MONOTONIC ns of the pending tick; 0: none */
static unsigned long long replaced_total;

static void reconcile(void);
static void watch_cancel(svc_state *st);

static void on_tick(el_loop *l, long long id, void *data)
{
    (void)l;
    (void)id;
    (void)data;
    tick_timer = 0;
    tick_at = 0;
    reconcile();
}

/* Runs reconcile() within ms, unless it is due sooner already. */
static void schedule(long long ms)
{
    if (!deployments)
        return;
    uint64_t at = now_mono_ns() + (uint64_t)ms * 1000000;
    if (tick_timer && tick_at <= at)
        return;
    if (tick_timer)
        el_timer_del(loop, tick_timer);
    tick_timer = el_timer_add(loop, ms, on_tick, NULL);
    tick_at = at;
}

static deployment *find(const char *name)
{
    for (deployment *d = deployments; d; d = d->next)
        if (!strcmp(d->spec.name, name))
            return d;
    return NULL;
}

static bool of(const vm *v, const deployment *d, int svc)
{
    return v->deploy[0] && !strcmp(v->deploy, d->spec.name) &&
           (svc < 0 || !strcmp(v->service, d->spec.svc[svc].name));
}

/* How many replicas the service is to have now. */
static int want(const deployment *d, int svc)
{
    return d->spec.svc[svc].autoscale ? d->st[svc].desired : d->spec.svc[svc].replicas;
}

/* A replica of the declared version of its service, not on its way out. */
static bool current(const vm *v, const deployment *d, int svc)
{
    return of(v, d, svc) && vm_live(v) && !v->stopped && v->spec_hash == d->spec.svc[svc].hash &&
           v->replica >= 1 && v->replica <= want(d, svc);
}

static int ready_count(const deployment *d, int svc)
{
    int n = 0;
    for (vm *v = vm_list; v; v = v->next)
        n += current(v, d, svc) && v->ready;
    return n;
}

/* ---- readiness probes ------------------------------------------------------ */

static void probe_close(vm *v)
{
    if (v->probe_fd < 0)
        return;
    el_file_del(loop, v->probe_fd, EL_WRITABLE);
    close(v->probe_fd);
    v->probe_fd = -1;
}

static void on_probe(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)mask;
    vm *v = data;
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
        e = errno;
    probe_close(v);
    if (e == 0) {
        v->ready = true;
        log_info("vm %s %s: ready (%.1f ms after its request)", v->id, v->name,
                 (double)(now_mono_ns() - v->t_request_ns) / 1e6);
        schedule(0);
    } else {
        v->probe_next_ns = now_mono_ns() + PROBE_RETRY_MS * 1000000ull;
        schedule(PROBE_RETRY_MS);
    }
}

/* Starts, times out or retries the probe of a running replica not yet ready. */
static void probe(vm *v, int port)
{
    uint64_t now = now_mono_ns();
    if (v->ready || v->state != VM_RUNNING)
        return;
    if (!port) {
        v->ready = true;
        schedule(0);
        return;
    }
    if (v->probe_fd >= 0) {
        if (now - v->probe_t0 >= PROBE_TIMEOUT_MS * 1000000ull) {
            probe_close(v);
            v->probe_next_ns = now;
        } else {
            schedule((long long)((v->probe_t0 + PROBE_TIMEOUT_MS * 1000000ull - now) / 1000000) + 1);
            return;
        }
    }
    if (v->probe_next_ns > now) {
        schedule((long long)((v->probe_next_ns - now) / 1000000) + 1);
        return;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        v->probe_next_ns = now + PROBE_RETRY_MS * 1000000ull;
        schedule(PROBE_RETRY_MS);
        return;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(v->ip)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(fd);
        v->probe_next_ns = now + PROBE_RETRY_MS * 1000000ull;
        schedule(PROBE_RETRY_MS);
        return;
    }
    v->probe_fd = fd;
    v->probe_t0 = now;
    el_file_add(loop, fd, EL_WRITABLE, on_probe, v);
    schedule(PROBE_TIMEOUT_MS + 1);
}

void deploy_vm_event(vm *v)
{
    if (!v->deploy[0])
        return;
    if (!vm_live(v) || v->state != VM_RUNNING) {
        probe_close(v);
        v->ready = false;
        v->probe_next_ns = 0;
        /* A long poll on it would wait for its timeout: ask another now. */
        deployment *d = find(v->deploy);
        int q = d ? ds_find(&d->spec, v->service, strlen(v->service)) : -1;
        for (int i = 0; q >= 0 && i < d->spec.nsvc; i++)
            if (d->spec.svc[i].autoscale && d->spec.svc[i].as_queue == q)
                watch_cancel(&d->st[i]);
    }
    schedule(0);
}

void deploy_vm_removed(vm *v)
{
    probe_close(v);
    if (v->deploy[0])
        schedule(0);
}

/* ---- starting a replica ------------------------------------------------------ */

typedef struct lookup_ctx {
    const deployment *d;
} lookup_ctx;

static int lookup(void *ctx, int svc, const char *what, char *out, size_t outlen)
{
    const deployment *d = ((lookup_ctx *)ctx)->d;
    const ds_service *s = &d->spec.svc[svc];
    if (!strcmp(what, "port")) {
        snprintf(out, outlen, "%d", s->port);
        return 0;
    }
    size_t len = 0;
    out[0] = 0;
    /* In replica order, so that every replica of a dependent sees one list. */
    for (int r = 1; r <= want(d, svc); r++)
        for (vm *v = vm_list; v; v = v->next) {
            if (!current(v, d, svc) || !v->ready || v->replica != r)
                continue;
            char ip[16];
            netmgr_ip_str(v->ip, ip);
            if (!strcmp(what, "ip")) {
                snprintf(out, outlen, "%s", ip);
                return 0;
            }
            int n = snprintf(out + len, outlen - len, "%s%s:%d", len ? "," : "", ip, s->port);
            if (n < 0 || (size_t)n >= outlen - len)
                return len ? 0 : -1;
            len += (size_t)n;
            break;
        }
    return len ? 0 : -1;
}

static int expand_in_place(const deployment *d, cJSON *item, char *err, size_t errlen)
{
    lookup_ctx c = {d};
    char *s = ds_expand(&d->spec, item->valuestring, lookup, &c, RR_ARGENV_BYTES, err, errlen);
    if (!s)
        return -1;
    cJSON_SetValuestring(item, s);
    free(s);
    return 0;
}

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/')
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0750) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", p, strerror(errno));
            return -1;
        }
        if (!c)
            return 0;
        *s = c;
    }
}

/* The request of replica r of service i: references expanded, named volumes
 * turned into their directories (created as needed), the VM's name. */
static char *replica_request(const deployment *d, int i, int r, char *err, size_t errlen)
{
    const ds_service *s = &d->spec.svc[i];
    cJSON *run = cJSON_Parse(s->run), *e;
    if (!run)
        abort();
    cJSON *args = cJSON_GetObjectItemCaseSensitive(run, "args");
    cJSON_ArrayForEach(e, args)
        if (cJSON_IsString(e) && expand_in_place(d, e, err, errlen) < 0)
            goto fail;
    cJSON *cmd = cJSON_GetObjectItemCaseSensitive(run, "cmdline");
    if (cJSON_IsString(cmd) && expand_in_place(d, cmd, err, errlen) < 0)
        goto fail;
    cJSON *env = cJSON_GetObjectItemCaseSensitive(run, "env");
    cJSON_ArrayForEach(e, env)
        if (cJSON_IsString(e) && expand_in_place(d, e, err, errlen) < 0)
            goto fail;
    cJSON *vols = cJSON_GetObjectItemCaseSensitive(run, "volumes");
    cJSON_ArrayForEach(e, vols)
    {
        size_t n = cJSON_IsString(e) ? ds_volume_named(e->valuestring) : 0;
        if (!n)
            continue;
        char dir[PATH_MAX], spec[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/volumes/%s/%.*s.%d", cfg.state_dir, d->spec.name, (int)n,
                 e->valuestring, r);
        if (mkdir_p(dir, err, errlen) < 0)
            goto fail;
        snprintf(spec, sizeof spec, "%s%s", dir, e->valuestring + n);
        cJSON_SetValuestring(e, spec);
    }
    char name[RR_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s.%s.%d", d->spec.name, s->name, r);
    cJSON_AddStringToObject(run, "name", name);
    char *text = cJSON_PrintUnformatted(run);
    cJSON_Delete(run);
    if (!text)
        abort();
    return text;
fail:
    cJSON_Delete(run);
    return NULL;
}

static int start_replica(deployment *d, int i, int r, char *err, size_t errlen)
{
    uint64_t t0 = now_mono_ns();
    char *text = replica_request(d, i, r, err, errlen);
    if (!text)
        return -1;
    run_req req;
    int status;
    int rc = run_req_parse(text, strlen(text), &req, err, errlen);
    free(text);
    vm *v = rc == 0 ? vm_create(&req, err, errlen, &status) : NULL;
    run_req_free(&req);
    if (!v)
        return -1;
    snprintf(v->deploy, sizeof v->deploy, "%s", d->spec.name);
    snprintf(v->service, sizeof v->service, "%s", d->spec.svc[i].name);
    v->replica = r;
    v->spec_hash = d->spec.svc[i].hash;
    v->t_request_ns = t0;
    if (vm_launch(v, err, errlen, &status) < 0) {
        vm_remove(v);
        return -1;
    }
    log_info("vm %s %s: started for deployment %s (%s)", v->id, v->name, d->spec.name,
             v->pool_hit ? "pool" : "cold");
    return 0;
}

static void back_off(svc_state *st)
{
    st->backoff_ms = st->backoff_ms ? st->backoff_ms * 2 : SVC_BACKOFF_MIN;
    if (st->backoff_ms > SVC_BACKOFF_MAX)
        st->backoff_ms = SVC_BACKOFF_MAX;
    st->next_try_ns = now_mono_ns() + (uint64_t)st->backoff_ms * 1000000;
}

/* ---- autoscaling ------------------------------------------------------------------------ */

/* What a long poll's answer is for: looked up again by name when it comes, so
 * that a deployment updated or removed meanwhile is never touched through a
 * stale pointer. */
typedef struct watch_ref {
    char deploy[DS_NAME_MAX + 1];
    char service[DS_NAME_MAX + 1];
} watch_ref;

static void watch_cancel(svc_state *st)
{
    http_call *c = st->watch;
    st->watch = NULL; /* first: the done callback then finds it is not wanted */
    if (c)
        http_call_cancel(c);
}

static bool json_count(const cJSON *o, const char *key, uint64_t *out)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) || !(x->valuedouble < 1e15))
        return false;
    *out = (uint64_t)x->valuedouble;
    return true;
}

static void on_watch(http_call *call, int err, const http_response *resp, void *arg)
{
    watch_ref *ref = arg;
    deployment *d = NULL;
    for (deployment *x = deployments; x; x = x->next)
        if (!strcmp(x->spec.name, ref->deploy))
            d = x;
    int i = d ? ds_find(&d->spec, ref->service, strlen(ref->service)) : -1;
    free(ref);
    if (i < 0 || d->st[i].watch != call)
        return; /* cancelled, or the deployment changed */
    svc_state *st = &d->st[i];
    st->watch = NULL;
    cJSON *j = err || resp->status != 200 ? NULL : cJSON_ParseWithLength(resp->body, resp->body_len);
    uint64_t ready, leased;
    if (!j || !json_count(j, "ready", &ready) || !json_count(j, "leased", &leased)) {
        cJSON_Delete(j);
        log_warn("deployment %s: service %s: the queue's /health: %s", d->spec.name,
                 d->spec.svc[i].name, err ? strerror(err) : "not the answer of a taskdb");
        st->watch_retry_ns = now_mono_ns() + 500 * 1000000ull;
        schedule(500);
        return;
    }
    cJSON_Delete(j);
    st->q_ready = ready;
    st->q_leased = leased;
    st->q_known = true;
    schedule(0);
}

/* Keeps one long poll open on a ready replica of the queue's service: it
 * answers as soon as the ready or leased count differs from the last seen. */
static void watch(deployment *d, int i)
{
    const ds_service *s = &d->spec.svc[i];
    svc_state *st = &d->st[i];
    uint64_t now = now_mono_ns();
    if (st->watch || shutting_down)
        return;
    if (st->watch_retry_ns > now) {
        schedule((long long)((st->watch_retry_ns - now) / 1000000) + 1);
        return;
    }
    const vm *q = NULL;
    for (vm *v = vm_list; v && !q; v = v->next)
        if (current(v, d, s->as_queue) && v->ready)
            q = v;
    if (!q)
        return; /* looked at again when one becomes ready */
    if (!client) {
        client = http_client_create(loop);
        if (!client)
            abort();
    }
    char host[16], path[128];
    netmgr_ip_str(q->ip, host);
    if (st->q_known)
        snprintf(path, sizeof path, "/health?wait_ms=20000&ready=%llu&leased=%llu",
                 (unsigned long long)st->q_ready, (unsigned long long)st->q_leased);
    else
        snprintf(path, sizeof path, "/health");
    watch_ref *ref = calloc(1, sizeof *ref);
    if (!ref)
        abort();
    snprintf(ref->deploy, sizeof ref->deploy, "%s", d->spec.name);
    snprintf(ref->service, sizeof ref->service, "%s", s->name);
    http_call_opts o = {.host = host,
                        .port = d->spec.svc[s->as_queue].port,
                        .path = path,
                        .timeout_ms = 30000,
                        .max_body = 64 * 1024};
    st->watch = http_call_start(client, &o, on_watch, ref);
    if (!st->watch) {
        free(ref);
        st->watch_retry_ns = now + 500 * 1000000ull;
        schedule(500);
    }
}

static void decide(deployment *d, int i, int to, const char *why)
{
    svc_state *st = &d->st[i];
    char t[32];
    fmt_time(now_real(), t);
    snprintf(st->last_decision, sizeof st->last_decision,
             "%s: %d -> %d replicas (%s; queue: %llu ready, %llu leased)", t, st->desired, to, why,
             (unsigned long long)st->q_ready, (unsigned long long)st->q_leased);
    log_info("deployment %s: service %s: autoscale %d -> %d (%s; queue: %llu ready, %llu leased)",
             d->spec.name, d->spec.svc[i].name, st->desired, to, why,
             (unsigned long long)st->q_ready, (unsigned long long)st->q_leased);
    if (to > st->desired)
        st->ups++;
    else
        st->downs++;
    st->desired = to;
}

/* The replica count from the queue: up at once, down after idle_s. */
static void autoscale(deployment *d, int i)
{
    const ds_service *s = &d->spec.svc[i];
    svc_state *st = &d->st[i];
    if (!st->as_started) {
        st->desired = s->as_min;
        st->as_started = true;
    }
    if (st->desired < s->as_min || st->desired > s->as_max) /* the file changed */
        decide(d, i, st->desired < s->as_min ? s->as_min : s->as_max, "new bounds");
    watch(d, i);
    if (!st->q_known)
        return;
    uint64_t work = st->q_ready + st->q_leased;
    uint64_t need = (work + (uint64_t)s->as_per - 1) / (uint64_t)s->as_per;
    int target = need < (uint64_t)s->as_min ? s->as_min
                 : need > (uint64_t)s->as_max ? s->as_max
                                              : (int)need;
    uint64_t now = now_mono_ns();
    if (target > st->desired) {
        decide(d, i, target, "more work");
        st->low_since_ns = 0;
    } else if (target < st->desired) {
        /* Down to the most that the work asked for over the last idle_s, so
         * that a queue kept short by busy replicas does not lose them all. */
        uint64_t idle = (uint64_t)s->as_idle_s * 1000000000ull;
        if (!st->low_since_ns) {
            st->low_since_ns = now;
            st->low_max = target;
        } else if (target > st->low_max) {
            st->low_max = target;
        }
        if (now - st->low_since_ns >= idle) {
            int to = st->low_max;
            st->low_since_ns = 0;
            if (to < st->desired) {
                char why[64];
                snprintf(why, sizeof why, "at most %d wanted for %d s", to, s->as_idle_s);
                decide(d, i, to, why);
            }
            if (target < st->desired) { /* a new window from here */
                st->low_since_ns = now;
                st->low_max = target;
                schedule((long long)(idle / 1000000) + 1);
            }
        } else {
            schedule((long long)((st->low_since_ns + idle - now) / 1000000) + 1);
        }
    } else {
        st->low_since_ns = 0;
    }
}

/* ---- the reconciler ------------------------------------------------------------ */

static void describe_end(const vm *v, char *out, size_t outlen)
{
    char t[32];
    fmt_time(v->finished_at, t);
    if (v->exit_code >= 0)
        snprintf(out, outlen, "%s (replica %d) %s at %s with status %d%s%s", v->id, v->replica,
                 v->state == VM_CRASHED ? "crashed" : "exited", t, v->exit_code,
                 v->error[0] ? ": " : "", v->error);
    else
        snprintf(out, outlen, "%s (replica %d) ended at %s, status unknown", v->id, v->replica, t);
}

static void free_deployment(deployment *d)
{
    for (int i = 0; i < DS_SERVICES_MAX; i++)
        watch_cancel(&d->st[i]);
    ds_free(&d->spec);
    free(d->text);
    free(d);
}

static void deployment_path(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/deployments/%s.json", cfg.state_dir, name);
}

static void on_del_abort(http_req *req, void *arg)
{
    (void)req;
    ((deployment *)arg)->del_req = NULL;
}

/* A deployment being removed: stop its VMs; once none is left, forget it. */
static bool reconcile_removal(deployment *d)
{
    bool any = false;
    for (int i = 0; i < d->spec.nsvc; i++)
        watch_cancel(&d->st[i]);
    for (vm *v = vm_list, *next; v; v = next) {
        next = v->next;
        if (!of(v, d, -1))
            continue;
        if (!vm_live(v)) {
            if (!v->waiters) {
                vm_remove(v);
                continue;
            }
        } else if (!v->stopped) {
            v->auto_remove = true;
            vm_stop(v, cfg.stop_timeout_s);
        }
        any = true;
    }
    if (any)
        return false;
    char path[PATH_MAX + 64];
    deployment_path(d->spec.name, path, sizeof path);
    if (unlink(path) < 0 && errno != ENOENT)
        log_warn("deployment %s: cannot remove %s: %s", d->spec.name, path, strerror(errno));
    log_info("deployment %s removed", d->spec.name);
    if (d->del_req) {
        http_req_on_abort(d->del_req, NULL, NULL);
        http_reply(d->del_req, 204, NULL, NULL, 0);
    }
    return true;
}

static void reconcile_service(deployment *d, int i)
{
    const ds_service *s = &d->spec.svc[i];
    svc_state *st = &d->st[i];
    vm *slot[DS_REPLICAS_MAX + 1] = {0};
    bool held[DS_REPLICAS_MAX + 1] = {0}; /* the name is still a stopping VM's */
    int live = 0, n = want(d, i);
    for (vm *v = vm_list, *next; v; v = next) {
        next = v->next;
        if (!of(v, d, i))
            continue;
        bool wanted = v->spec_hash == s->hash && v->replica >= 1 && v->replica <= n;
        if (!vm_live(v)) {
            if (v->waiters)
                continue;
            if (wanted && !v->stopped) {
                /* It ended by itself: replace it, slower if it keeps ending. */
                describe_end(v, st->last_end, sizeof st->last_end);
                log_info("deployment %s: service %s: %s; replacing it", d->spec.name, s->name,
                         st->last_end);
                st->replaced++;
                replaced_total++;
                if (v->finished_at - v->started_at >= SVC_STEADY_S)
                    st->backoff_ms = 0;
                back_off(st);
                if (st->backoff_ms == SVC_BACKOFF_MIN)
                    st->next_try_ns = now_mono_ns(); /* the first one at once */
            }
            vm_remove(v);
            continue;
        }
        if (v->stopped) {
            if (v->replica >= 1 && v->replica <= DS_REPLICAS_MAX)
                held[v->replica] = true; /* started again once it has ended */
            continue;
        }
        if (!wanted || slot[v->replica]) {
            log_info("deployment %s: service %s: stopping %s %s (%s)", d->spec.name, s->name,
                     v->id, v->name, !wanted && v->spec_hash != s->hash ? "older version"
                                                                         : "beyond the count");
            v->auto_remove = true;
            vm_stop(v, cfg.stop_timeout_s);
            continue;
        }
        slot[v->replica] = v;
        live++;
        probe(v, s->port);
    }
    if (live >= n || shutting_down)
        return;
    for (int k = 0; k < s->ndeps; k++)
        if (!ready_count(d, s->deps[k])) {
            char why[sizeof st->error];
            snprintf(why, sizeof why, "waiting for %s", d->spec.svc[s->deps[k]].name);
            memcpy(st->error, why, sizeof why);
            return; /* woken when the dependency's replica becomes ready */
        }
    uint64_t now = now_mono_ns();
    if (st->next_try_ns > now) {
        schedule((long long)((st->next_try_ns - now) / 1000000) + 1);
        return;
    }
    for (int r = 1; r <= n; r++) {
        if (slot[r] || held[r])
            continue;
        char err[512];
        if (start_replica(d, i, r, err, sizeof err) < 0) {
            snprintf(st->error, sizeof st->error, "replica %d: %s", r, err);
            log_warn("deployment %s: service %s: cannot start replica %d: %s", d->spec.name,
                     s->name, r, err);
            back_off(st);
            schedule(st->backoff_ms);
            return;
        }
    }
    st->error[0] = 0;
}

static void reconcile(void)
{
    if (shutting_down)
        return;
    for (deployment **pp = &deployments; *pp;) {
        deployment *d = *pp;
        if (d->removing) {
            if (reconcile_removal(d)) {
                *pp = d->next;
                free_deployment(d);
                continue;
            }
        } else {
            for (int i = 0; i < d->spec.nsvc; i++) {
                if (d->spec.svc[i].autoscale)
                    autoscale(d, i);
                reconcile_service(d, i);
            }
        }
        pp = &d->next;
    }
}

/* ---- status ---------------------------------------------------------------------- */

static cJSON *status_json(const deployment *d)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(o, "name", d->spec.name);
    fmt_time(d->created_at, t);
    cJSON_AddStringToObject(o, "created_at", t);
    fmt_time(d->updated_at, t);
    cJSON_AddStringToObject(o, "updated_at", t);
    bool all_ready = true;
    cJSON *svcs = cJSON_AddArrayToObject(o, "services");
    for (int i = 0; i < d->spec.nsvc; i++) {
        const ds_service *s = &d->spec.svc[i];
        const svc_state *st = &d->st[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToArray(svcs, j);
        cJSON_AddStringToObject(j, "name", s->name);
        cJSON_AddStringToObject(j, "image", s->image);
        if (s->port)
            cJSON_AddNumberToObject(j, "port", s->port);
        else
            cJSON_AddNullToObject(j, "port");
        cJSON_AddNumberToObject(j, "replicas", want(d, i));
        int running = 0, ready = 0;
        char vm_error[320] = "";
        cJSON *vms = cJSON_CreateArray();
        for (vm *v = vm_list; v; v = v->next) {
            if (!of(v, d, i))
                continue;
            bool cur = current(v, d, i);
            if (cur && !v->ready && v->error[0] && !vm_error[0])
                snprintf(vm_error, sizeof vm_error, "replica %d %s: %s", v->replica,
                         vm_state_name(v->state), v->error);
            running += cur && v->state == VM_RUNNING;
            ready += cur && v->ready;
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "id", v->id);
            cJSON_AddStringToObject(x, "name", v->name);
            cJSON_AddNumberToObject(x, "replica", v->replica);
            cJSON_AddStringToObject(x, "state", v->stopped && vm_live(v) ? "stopping"
                                                                          : vm_state_name(v->state));
            char ip[16];
            netmgr_ip_str(v->ip, ip);
            if (v->ip)
                cJSON_AddStringToObject(x, "ip_address", ip);
            else
                cJSON_AddNullToObject(x, "ip_address");
            cJSON_AddBoolToObject(x, "ready", cur && v->ready);
            cJSON_AddBoolToObject(x, "current", cur);
            cJSON_AddNumberToObject(x, "restarts", v->restarts);
            cJSON_AddItemToArray(vms, x);
        }
        cJSON_AddNumberToObject(j, "running", running);
        cJSON_AddNumberToObject(j, "ready", ready);
        all_ready &= ready == want(d, i);
        cJSON_AddNumberToObject(j, "replaced", (double)st->replaced);
        cJSON *deps = cJSON_AddArrayToObject(j, "depends_on");
        for (int k = 0; k < s->ndeps; k++)
            cJSON_AddItemToArray(deps, cJSON_CreateString(d->spec.svc[s->deps[k]].name));
        if (st->error[0] && ready < want(d, i))
            cJSON_AddStringToObject(j, "error", st->error);
        else if (vm_error[0])
            cJSON_AddStringToObject(j, "error", vm_error);
        else
            cJSON_AddNullToObject(j, "error");
        if (st->last_end[0])
            cJSON_AddStringToObject(j, "last_end", st->last_end);
        else
            cJSON_AddNullToObject(j, "last_end");
        if (s->autoscale) {
            cJSON *a = cJSON_AddObjectToObject(j, "autoscale");
            cJSON_AddStringToObject(a, "queue", d->spec.svc[s->as_queue].name);
            cJSON_AddNumberToObject(a, "min", s->as_min);
            cJSON_AddNumberToObject(a, "max", s->as_max);
            cJSON_AddNumberToObject(a, "per_replica", s->as_per);
            cJSON_AddNumberToObject(a, "idle_s", s->as_idle_s);
            if (st->q_known) {
                cJSON_AddNumberToObject(a, "queue_ready", (double)st->q_ready);
                cJSON_AddNumberToObject(a, "queue_leased", (double)st->q_leased);
            } else {
                cJSON_AddNullToObject(a, "queue_ready");
                cJSON_AddNullToObject(a, "queue_leased");
            }
            cJSON_AddNumberToObject(a, "scale_ups", (double)st->ups);
            cJSON_AddNumberToObject(a, "scale_downs", (double)st->downs);
            if (st->last_decision[0])
                cJSON_AddStringToObject(a, "last_decision", st->last_decision);
            else
                cJSON_AddNullToObject(a, "last_decision");
        } else {
            cJSON_AddNullToObject(j, "autoscale");
        }
        cJSON_AddItemToObject(j, "vms", vms);
    }
    cJSON_AddStringToObject(o, "state", d->removing ? "removing" : all_ready ? "ready" : "starting");
    return o;
}

void deploy_metrics(buf *b)
{
    buf_puts(b, "# HELP uigniter_deployment_replicas Replicas of each deployed service: "
                "declared, running, ready.\n# TYPE uigniter_deployment_replicas gauge\n");
    for (deployment *d = deployments; d; d = d->next)
        for (int i = 0; i < d->spec.nsvc; i++) {
            int running = 0, ready = 0;
            for (vm *v = vm_list; v; v = v->next)
                if (current(v, d, i)) {
                    running += v->state == VM_RUNNING;
                    ready += v->ready;
                }
            const char *dn = d->spec.name, *sn = d->spec.svc[i].name;
            buf_printf(b,
                       "uigniter_deployment_replicas{deployment=\"%s\",service=\"%s\",kind=\"declared\"} %d\n"
                       "uigniter_deployment_replicas{deployment=\"%s\",service=\"%s\",kind=\"running\"} %d\n"
                       "uigniter_deployment_replicas{deployment=\"%s\",service=\"%s\",kind=\"ready\"} %d\n",
                       dn, sn, want(d, i), dn, sn, running, dn, sn, ready);
        }
    buf_puts(b, "# HELP uigniter_autoscale_decisions_total Replica count changes of autoscaled "
                "services.\n# TYPE uigniter_autoscale_decisions_total counter\n");
    for (deployment *d = deployments; d; d = d->next)
        for (int i = 0; i < d->spec.nsvc; i++)
            if (d->spec.svc[i].autoscale)
                buf_printf(b,
                           "uigniter_autoscale_decisions_total{deployment=\"%s\",service=\"%s\",direction=\"up\"} %llu\n"
                           "uigniter_autoscale_decisions_total{deployment=\"%s\",service=\"%s\",direction=\"down\"} %llu\n",
                           d->spec.name, d->spec.svc[i].name, d->st[i].ups, d->spec.name,
                           d->spec.svc[i].name, d->st[i].downs);
    buf_puts(b, "# HELP uigniter_autoscale_queue Tasks in the queue an autoscaled service "
                "follows.\n# TYPE uigniter_autoscale_queue gauge\n");
    for (deployment *d = deployments; d; d = d->next)
        for (int i = 0; i < d->spec.nsvc; i++)
            if (d->spec.svc[i].autoscale && d->st[i].q_known)
                buf_printf(b,
                           "uigniter_autoscale_queue{deployment=\"%s\",service=\"%s\",kind=\"ready\"} %llu\n"
                           "uigniter_autoscale_queue{deployment=\"%s\",service=\"%s\",kind=\"leased\"} %llu\n",
                           d->spec.name, d->spec.svc[i].name,
                           (unsigned long long)d->st[i].q_ready, d->spec.name,
                           d->spec.svc[i].name, (unsigned long long)d->st[i].q_leased);
    buf_printf(b, "# HELP uigniter_deployment_replaced_total Deployed replicas that ended by "
                  "themselves and were replaced.\n# TYPE uigniter_deployment_replaced_total "
                  "counter\nuigniter_deployment_replaced_total %llu\n",
               replaced_total);
}

/* ---- applying, loading, removing ---------------------------------------------------- */

static int save_text(const char *name, const char *text, char *err, size_t errlen)
{
    char path[PATH_MAX + 64], why[PATH_MAX + 128];
    deployment_path(name, path, sizeof path);
    if (write_file_atomic(path, text, true, why, sizeof why) < 0) {
        snprintf(err, errlen, "cannot save the deployment: %s", why);
        return -1;
    }
    return 0;
}

/* Installs a parsed spec as deployment name: new, or replacing an older one
 * (a service's back-off and counters carry over while its name does). */
static deployment *install(ds_spec *spec, const char *text, deployment *old)
{
    deployment *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    d->spec = *spec;
    d->text = strdup(text);
    if (!d->text)
        abort();
    d->created_at = d->updated_at = now_real();
    if (old) {
        d->created_at = old->created_at;
        for (int i = 0; i < d->spec.nsvc; i++) {
            int j = ds_find(&old->spec, d->spec.svc[i].name, strlen(d->spec.svc[i].name));
            if (j >= 0) {
                d->st[i] = old->st[j];
                d->st[i].watch = NULL; /* old's is cancelled with it */
                d->st[i].q_known = false;
            }
        }
        for (deployment **pp = &deployments; *pp; pp = &(*pp)->next)
            if (*pp == old) {
                *pp = d;
                d->next = old->next;
                break;
            }
        free_deployment(old);
    } else {
        deployment **pp = &deployments;
        while (*pp)
            pp = &(*pp)->next;
        *pp = d; /* oldest first, like GET /vm */
    }
    return d;
}

static void apply(http_req *req, const char *name)
{
    if (shutting_down) {
        http_reply_error(req, 503, "the daemon is shutting down");
        return;
    }
    ds_spec spec;
    char err[512];
    if (ds_parse(req->body, req->body_len, name, &spec, err, sizeof err) < 0) {
        ds_free(&spec);
        http_reply_error(req, 400, "%s", err);
        return;
    }
    deployment *old = find(spec.name);
    if (old && old->removing) {
        ds_free(&spec);
        http_reply_error(req, 409, "deployment %s is being removed", spec.name);
        return;
    }
    for (int i = 0; i < spec.nsvc; i++) {
        char img[PATH_MAX + RR_IMAGE_MAX + 16];
        if (!image_path(spec.svc[i].image, img, sizeof img)) {
            http_reply_error(req, 404, "services.%s: no image '%s' (GET /images lists them)",
                             spec.svc[i].name, spec.svc[i].image);
            ds_free(&spec);
            return;
        }
    }
    char *text = strndup(req->body, req->body_len);
    if (!text)
        abort();
    if (save_text(spec.name, text, err, sizeof err) < 0) {
        free(text);
        ds_free(&spec);
        http_reply_error(req, 500, "%s", err);
        return;
    }
    deployment *d = install(&spec, text, old);
    free(text);
    log_info("deployment %s %s: %d services", d->spec.name, old ? "updated" : "created",
             d->spec.nsvc);
    reconcile();
    cJSON *o = status_json(d);
    http_reply_json(req, old ? 200 : 201, o);
    cJSON_Delete(o);
}

void deploy_load(void)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/deployments", cfg.state_dir);
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        log_warn("cannot create %s: %s", dir, strerror(errno));
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
            continue;
        char name[DS_NAME_MAX + 1], path[PATH_MAX + 64], err[512];
        if (n - 5 > DS_NAME_MAX)
            continue;
        snprintf(name, sizeof name, "%.*s", (int)(n - 5), e->d_name);
        deployment_path(name, path, sizeof path);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        buf b = BUF_INIT;
        for (;;) {
            char *p = buf_reserve(&b, 4096);
            size_t got = fread(p, 1, 4096, f);
            if (!got)
                break;
            buf_commit(&b, got);
        }
        fclose(f);
        buf_append(&b, "", 1);
        ds_spec spec;
        if (ds_parse(buf_peek(&b), buf_used(&b) - 1, name, &spec, err, sizeof err) < 0) {
            log_warn("deployment %s: ignoring %s: %s", name, path, err);
            ds_free(&spec);
        } else {
            install(&spec, buf_peek(&b), NULL);
            log_info("deployment %s: loaded, %d services", name, spec.nsvc);
        }
        buf_free(&b);
    }
    closedir(dh);
    schedule(0);
}

static void list(http_req *req)
{
    cJSON *a = cJSON_CreateArray();
    for (deployment *d = deployments; d; d = d->next)
        cJSON_AddItemToArray(a, status_json(d));
    http_reply_json(req, 200, a);
    cJSON_Delete(a);
}

static void remove_deployment(http_req *req, deployment *d)
{
    if (d->del_req) {
        http_reply_error(req, 409, "deployment %s is being removed by another request",
                         d->spec.name);
        return;
    }
    if (!d->removing)
        log_info("deployment %s: removing", d->spec.name);
    d->removing = true;
    d->del_req = req;
    http_req_on_abort(req, on_del_abort, d);
    schedule(0);
}

void deploy_route(http_req *req)
{
    const char *p = req->path, *m = req->method;
    if (!strcmp(p, "/deployments") || !strcmp(p, "/deployments/")) {
        if (!strcmp(m, "GET"))
            list(req);
        else if (!strcmp(m, "POST"))
            apply(req, NULL);
        else
            http_reply_error(req, 405, "use GET /deployments, or POST or PUT /deployments/NAME");
        return;
    }
    const char *name = p + strlen("/deployments/");
    if (strlen(name) > DS_NAME_MAX || !name_ok(name, DS_NAME_MAX) || strchr(name, '.')) {
        http_reply_error(req, 404, "no deployment '%.64s'", name);
        return;
    }
    if (!strcmp(m, "PUT")) {
        apply(req, name);
        return;
    }
    deployment *d = find(name);
    if (strcmp(m, "GET") && strcmp(m, "DELETE")) {
        http_reply_error(req, 405, "%s is not allowed on %s", m, p);
        return;
    }
    if (!d) {
        http_reply_error(req, 404, "no deployment '%s'", name);
        return;
    }
    if (!strcmp(m, "GET")) {
        cJSON *o = status_json(d);
        http_reply_json(req, 200, o);
        cJSON_Delete(o);
    } else {
        remove_deployment(req, d);
    }
}

/* upstream.c -- replicas of a named service, ejection and retried calls
 * (see upstream.h). */
#include "upstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "registry.h"

#define HEALTH_MAX   (2 * REG_MAX_REPLICAS)
#define EJECT_MS     1000
#define EJECT_MAX_MS 10000
#define WAIT_MIN_MS  50
#define WAIT_MAX_MS  1000

typedef struct health {
    char addr[NET_ADDR_MAX];
    int fails;          /* in a row */
    uint64_t until;     /* ejected until (el_now ms); 0: healthy */
    uint64_t last_fail; /* for picking a probe */
} health;

struct upstream {
    http_client *cli;
    el_loop *loop;
    char name[72];
    reg_watch *watch; /* NULL for a static list */
    int nstatic;
    char statics[REG_MAX_REPLICAS][NET_ADDR_MAX];
    unsigned rr;
    int sticky;
    health health[HEALTH_MAX];
    int nhealth;
    char picked[NET_ADDR_MAX];
};

struct upstream_call {
    upstream *u;
    http_call_opts o;
    char method[16];
    char *path;
    http_done_proc *done;
    void *arg;
    http_call *call;
    long long timer;
    uint64_t deadline;
    int waits;
    int responded;
    int last_err;
    char addr[NET_ADDR_MAX];
};

static upstream *upstream_new(http_client *cli, const char *name)
{
    upstream *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->cli = cli;
    snprintf(u->name, sizeof(u->name), "%s", name);
    return u;
}

upstream *upstream_create(http_client *cli, mc_client *mc, const char *name)
{
    upstream *u = upstream_new(cli, name);
    if (!u)
        return NULL;
    u->loop = mc_client_loop(mc);
    u->watch = reg_watch_create(mc, name, 1000);
    if (!u->watch) {
        int e = errno;
        free(u);
        errno = e;
        return NULL;
    }
    return u;
}

upstream *upstream_create_static(http_client *cli, el_loop *loop, const char *name,
                                 const char *addrs)
{
    upstream *u = upstream_new(cli, name);
    if (!u)
        return NULL;
    u->loop = loop;
    const char *p = addrs;
    while (*p && u->nstatic < REG_MAX_REPLICAS) {
        size_t n = strcspn(p, ", ");
        char host[NET_ADDR_MAX];
        int port;
        if (n > 0 && n < NET_ADDR_MAX) {
            memcpy(u->statics[u->nstatic], p, n);
            u->statics[u->nstatic][n] = '\0';
            if (net_parse_hostport(u->statics[u->nstatic], host, sizeof(host), &port) == 0 && port)
                u->nstatic++;
        }
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    if (u->nstatic == 0) {
        free(u);
        errno = EINVAL;
        return NULL;
    }
    return u;
}

void upstream_free(upstream *u)
{
    if (!u)
        return;
    reg_watch_free(u->watch);
    free(u);
}

const char *upstream_name(const upstream *u)
{
    return u->name;
}

int upstream_count(const upstream *u)
{
    return u->watch ? reg_watch_count(u->watch) : u->nstatic;
}

static const char *replica(const upstream *u, int i)
{
    return u->watch ? reg_watch_addr(u->watch, i) : u->statics[i];
}

void upstream_set_sticky(upstream *u, int on)
{
    u->sticky = on;
}

const char *upstream_addr(const upstream *u, int i)
{
    return i >= 0 && i < upstream_count(u) ? replica(u, i) : NULL;
}

static health *health_of(upstream *u, const char *addr, int create)
{
    for (int i = 0; i < u->nhealth; i++)
        if (strcmp(u->health[i].addr, addr) == 0)
            return &u->health[i];
    if (!create)
        return NULL;
    health *h;
    if (u->nhealth < HEALTH_MAX) {
        h = &u->health[u->nhealth++];
    } else { /* forget the entry that failed longest ago */
        h = &u->health[0];
        for (int i = 1; i < u->nhealth; i++)
            if (u->health[i].last_fail < h->last_fail)
                h = &u->health[i];
    }
    memset(h, 0, sizeof(*h));
    snprintf(h->addr, sizeof(h->addr), "%s", addr);
    return h;
}

static uint64_t now_ms(upstream *u)
{
    return el_now(u->loop);
}

const char *upstream_pick(upstream *u)
{
    int n = upstream_count(u);
    if (n == 0)
        return NULL;
    uint64_t now = now_ms(u);
    const char *probe = NULL;
    uint64_t probe_fail = UINT64_MAX;
    for (int k = 0; k < n; k++) {
        const char *a = replica(u, u->sticky ? k : (int)(u->rr++ % (unsigned)n));
        health *h = health_of(u, a, 0);
        if (!h || h->until <= now) {
            snprintf(u->picked, sizeof(u->picked), "%s", a);
            return u->picked;
        }
        if (h->last_fail < probe_fail) {
            probe_fail = h->last_fail;
            probe = a;
        }
    }
    snprintf(u->picked, sizeof(u->picked), "%s", probe);
    return u->picked;
}

void upstream_failed(upstream *u, const char *addr)
{
    health *h = health_of(u, addr, 1);
    uint64_t now = now_ms(u);
    h->fails++;
    long ms = (long)EJECT_MS * h->fails;
    if (ms > EJECT_MAX_MS)
        ms = EJECT_MAX_MS;
    h->until = now + (uint64_t)ms;
    h->last_fail = now;
    if (h->fails == 1)
        log_warn("%s replica %s failed; ejected for %ld ms", u->name, addr, ms);
    if (u->watch)
        reg_watch_refresh(u->watch);
}

void upstream_succeeded(upstream *u, const char *addr)
{
    health *h = health_of(u, addr, 0);
    if (h && h->fails) {
        if (h->fails > 1 || h->until)
            log_info("%s replica %s is back", u->name, addr);
        h->fails = 0;
        h->until = 0;
    }
}

static int any_healthy(upstream *u)
{
    uint64_t now = now_ms(u);
    for (int i = 0, n = upstream_count(u); i < n; i++) {
        health *h = health_of(u, replica(u, i), 0);
        if (!h || h->until <= now)
            return 1;
    }
    return 0;
}

/* ---- calls ------------------------------------------------------------- */

static void attempt(upstream_call *uc);

static int transport_error(int err)
{
    return err == ECONNREFUSED || err == ECONNRESET || err == EPIPE || err == ETIMEDOUT ||
           err == EHOSTUNREACH || err == ENETUNREACH || err == ECONNABORTED || err == EPROTO ||
           err == ENOENT;
}

static void call_end(upstream_call *uc, http_call *call, int err, const http_response *r)
{
    uc->done(call, err, r, uc->arg);
    free(uc->path);
    free(uc);
}

static void on_timer(el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    upstream_call *uc = data;
    uc->timer = 0;
    attempt(uc);
}

/* After a failed attempt (or none possible): try again soon, or give up. */
static void retry_later(upstream_call *uc, int err, int immediately)
{
    upstream *u = uc->u;
    uc->last_err = err;
    if (now_ms(u) >= uc->deadline) {
        call_end(uc, NULL, err, NULL);
        return;
    }
    int ms = 0;
    if (!immediately) {
        ms = WAIT_MIN_MS << (uc->waits < 5 ? uc->waits : 5);
        if (ms > WAIT_MAX_MS)
            ms = WAIT_MAX_MS;
        uc->waits++;
    }
    uc->timer = el_timer_add(u->loop, ms, on_timer, uc);
}

static void on_response(http_call *call, const http_response *r, void *arg)
{
    upstream_call *uc = arg;
    uc->responded = 1;
    if (uc->o.on_response)
        uc->o.on_response(call, r, uc->arg);
}

static int on_body(http_call *call, const char *data, size_t len, void *arg)
{
    upstream_call *uc = arg;
    return uc->o.on_body(call, data, len, uc->arg);
}

static void on_done(http_call *call, int err, const http_response *r, void *arg)
{
    upstream_call *uc = arg;
    uc->call = NULL;
    if (!err) {
        upstream_succeeded(uc->u, uc->addr);
        call_end(uc, call, 0, r);
        return;
    }
    if (err == ECANCELED || !transport_error(err) || uc->responded) {
        if (transport_error(err))
            upstream_failed(uc->u, uc->addr);
        call_end(uc, call, err, NULL);
        return;
    }
    log_debug("%s %s on %s: %s; retrying", uc->method, uc->path, uc->addr, strerror(err));
    upstream_failed(uc->u, uc->addr);
    /* Another healthy replica right away; otherwise wait a little. */
    retry_later(uc, err, any_healthy(uc->u));
}

static void attempt(upstream_call *uc)
{
    upstream *u = uc->u;
    const char *a = upstream_pick(u);
    if (!a) {
        retry_later(uc, uc->last_err ? uc->last_err : ENOENT, 0);
        return;
    }
    snprintf(uc->addr, sizeof(uc->addr), "%s", a);
    char host[NET_ADDR_MAX];
    int port;
    if (net_parse_hostport(uc->addr, host, sizeof(host), &port) < 0 || port == 0) {
        upstream_failed(u, uc->addr);
        retry_later(uc, EINVAL, 0);
        return;
    }
    http_call_opts o = uc->o;
    o.host = host;
    o.port = port;
    o.method = uc->method;
    o.path = uc->path;
    o.on_response = on_response;
    o.on_body = uc->o.on_body ? on_body : NULL;
    uc->responded = 0;
    uc->call = http_call_start(u->cli, &o, on_done, uc);
    if (!uc->call) {
        int err = errno;
        if (!transport_error(err) && err != EINPROGRESS) {
            call_end(uc, NULL, err, NULL);
            return;
        }
        upstream_failed(u, uc->addr);
        retry_later(uc, err, 0);
    }
}

upstream_call *upstream_call_start(upstream *u, const http_call_opts *o, int retry_ms,
                                   http_done_proc *done, void *arg)
{
    const char *method = o->method ? o->method : "GET";
    if (!done || strlen(method) >= 16) {
        errno = EINVAL;
        return NULL;
    }
    upstream_call *uc = calloc(1, sizeof(*uc));
    if (!uc)
        return NULL;
    uc->path = strdup(o->path ? o->path : "/");
    if (!uc->path) {
        free(uc);
        return NULL;
    }
    uc->u = u;
    uc->o = *o;
    snprintf(uc->method, sizeof(uc->method), "%s", method);
    uc->done = done;
    uc->arg = arg;
    uc->deadline = now_ms(u) + (uint64_t)(retry_ms > 0 ? retry_ms : 10000);
    /* Never call done before this returns: the first attempt starts from the loop. */
    uc->timer = el_timer_add(u->loop, 0, on_timer, uc);
    return uc;
}

void upstream_call_cancel(upstream_call *uc)
{
    if (uc->call) {
        http_call_cancel(uc->call); /* on_done ends uc */
        return;
    }
    if (uc->timer)
        el_timer_del(uc->u->loop, uc->timer);
    call_end(uc, NULL, ECANCELED, NULL);
}

const char *upstream_call_addr(const upstream_call *uc)
{
    return uc->addr;
}

/* registry.c -- register, look up and watch services (see registry.h).
 *
 * Each operation is a short chain of memcached requests driven by their
 * callbacks; a small state struct carries it from one step to the next. The
 * list update is the classic optimistic loop: gets, edit, cas; on EXISTS or
 * NOT_STORED someone else won the race and we start over (a few times).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "registry.h"

#define LIST_MAX  4096
#define CAS_TRIES 8

static int name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(name[i] == '-' || name[i] == '_' || name[i] == '.' ||
              (name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= 'A' && name[i] <= 'Z')))
            return 0;
    return 1;
}

static int addr_valid(const char *addr)
{
    char host[NET_ADDR_MAX];
    int port;
    return strlen(addr) < NET_ADDR_MAX && !strchr(addr, ' ') &&
           net_parse_hostport(addr, host, sizeof(host), &port) == 0 && port > 0;
}

/* Splits a space-separated list into at most max entries of out (copied). */
static int split_list(const char *data, size_t len, char out[][NET_ADDR_MAX], int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len && n < max) {
        while (i < len && data[i] == ' ')
            i++;
        size_t start = i;
        while (i < len && data[i] != ' ')
            i++;
        size_t l = i - start;
        if (l > 0 && l < NET_ADDR_MAX) {
            memcpy(out[n], data + start, l);
            out[n][l] = '\0';
            n++;
        }
    }
    return n;
}

/* ---- registration --------------------------------------------------------- */

struct reg_entry {
    mc_client *mc;
    el_loop *loop;
    char name[72];
    char addr[NET_ADDR_MAX];
    char hb_key[160];
    char list_key[80];
    int ttl;
    int registered;
    int busy;     /* a refresh chain is in flight */
    int stopping; /* unregistered while busy: free when the chain ends */
    int tries;
    long long timer;
};

static void reg_refresh(reg_entry *e);

static void reg_on_timer(el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    reg_refresh(data);
}

static void reg_chain_done(reg_entry *e, int ok)
{
    e->busy = 0;
    if (e->stopping) {
        free(e);
        return;
    }
    if (ok && !e->registered) {
        e->registered = 1;
        log_info("registered %s as %s (ttl %d s)", e->addr, e->name, e->ttl);
    }
    /* Refresh well before the TTL runs out; retry sooner after a failure. */
    int ms = ok ? e->ttl * 1000 / 3 : 500;
    e->timer = el_timer_add(e->loop, ms, reg_on_timer, e);
}

static void on_list_store(mc_client *mc, int err, const mc_reply *r, void *arg);

static void on_list_gets(mc_client *mc, int err, const mc_reply *r, void *arg)
{
    reg_entry *e = arg;
    if (!mc || e->stopping) {
        reg_chain_done(e, 0);
        return;
    }
    if (err || r->status != MC_VALUES) {
        reg_chain_done(e, 0);
        return;
    }
    if (r->nvalues == 0) {
        if (mc_add(mc, e->list_key, e->addr, strlen(e->addr), 0, 0, on_list_store, e) < 0)
            reg_chain_done(e, 0);
        return;
    }
    const mc_value *v = &r->values[0];
    static char members[REG_MAX_REPLICAS][NET_ADDR_MAX];
    int n = split_list(v->data, v->len, members, REG_MAX_REPLICAS);
    for (int i = 0; i < n; i++)
        if (strcmp(members[i], e->addr) == 0) {
            reg_chain_done(e, 1); /* already listed */
            return;
        }
    if (n == REG_MAX_REPLICAS || v->len + strlen(e->addr) + 1 > LIST_MAX) {
        log_warn("replica list %s is full", e->list_key);
        reg_chain_done(e, 0);
        return;
    }
    char list[LIST_MAX + NET_ADDR_MAX + 2];
    int len =
        snprintf(list, sizeof(list), "%.*s%s%s", (int)v->len, v->data, v->len ? " " : "", e->addr);
    if (mc_cas(mc, e->list_key, list, (size_t)len, 0, 0, v->cas, on_list_store, e) < 0)
        reg_chain_done(e, 0);
}

static void on_list_store(mc_client *mc, int err, const mc_reply *r, void *arg)
{
    reg_entry *e = arg;
    if (!mc || e->stopping || err) {
        reg_chain_done(e, 0);
        return;
    }
    if (r->status == MC_STORED) {
        reg_chain_done(e, 1);
        return;
    }
    if ((r->status == MC_EXISTS || r->status == MC_NOT_STORED || r->status == MC_NOT_FOUND) &&
        ++e->tries < CAS_TRIES) {
        const char *k = e->list_key;
        if (mc_get(mc, &k, 1, 1, on_list_gets, e) == 0)
            return;
    }
    reg_chain_done(e, 0);
}

static void on_heartbeat(mc_client *mc, int err, const mc_reply *r, void *arg)
{
    reg_entry *e = arg;
    if (!mc || e->stopping || err || r->status != MC_STORED) {
        if (err && err != ECANCELED)
            log_debug("registry %s: %s", mc ? mc_client_addr(mc) : "-", strerror(err));
        reg_chain_done(e, 0);
        return;
    }
    e->tries = 0;
    const char *k = e->list_key;
    if (mc_get(mc, &k, 1, 1, on_list_gets, e) < 0)
        reg_chain_done(e, 0);
}

static void reg_refresh(reg_entry *e)
{
    e->timer = 0;
    if (e->busy)
        return;
    e->busy = 1;
    if (mc_set(e->mc, e->hb_key, e->addr, strlen(e->addr), 0, e->ttl, on_heartbeat, e) < 0)
        reg_chain_done(e, 0);
}

reg_entry *reg_register(mc_client *mc, const char *name, const char *addr, int ttl_s)
{
    if (!name_valid(name) || !addr_valid(addr) || ttl_s < 1 || ttl_s > 86400) {
        errno = EINVAL;
        return NULL;
    }
    reg_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->mc = mc;
    e->loop = mc_client_loop(mc);
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    snprintf(e->hb_key, sizeof(e->hb_key), "svc:%s:%s", name, addr);
    snprintf(e->list_key, sizeof(e->list_key), "svc:%s", name);
    e->ttl = ttl_s;
    reg_refresh(e);
    return e;
}

int reg_registered(const reg_entry *e)
{
    return e->registered;
}

static void on_unregistered(mc_client *mc, int err, const mc_reply *r, void *arg)
{
    (void)mc;
    (void)err;
    (void)r;
    (void)arg;
}

void reg_unregister(reg_entry *e)
{
    if (!e)
        return;
    if (e->timer)
        el_timer_del(e->loop, e->timer);
    mc_delete(e->mc, e->hb_key, on_unregistered, NULL);
    if (e->busy) {
        e->stopping = 1; /* freed when the chain in flight ends */
        return;
    }
    free(e);
}

/* ---- lookup ----------------------------------------------------------------- */

typedef struct lookup {
    mc_client *mc;
    char list_key[80];
    char name[72];
    reg_lookup_proc *cb;
    void *arg;
    uint64_t cas;
    int n;
    char members[REG_MAX_REPLICAS][NET_ADDR_MAX];
} lookup;

static void lookup_finish(lookup *l, int err, const char *const *addrs, int n)
{
    l->cb(err, addrs, n, l->arg);
    free(l);
}

static void on_prune(mc_client *mc, int err, const mc_reply *r, void *arg)
{
    (void)mc;
    (void)err;
    (void)r;
    (void)arg; /* best effort: a lost race means someone else edited the list */
}

static void on_heartbeats(mc_client *mc, int err, const mc_reply *r, void *arg)
{
    lookup *l = arg;
    if (err || !mc || r->status != MC_VALUES) {
        lookup_finish(l, err ? err : EPROTO, NULL, 0);
        return;
    }
    const char *alive[REG_MAX_REPLICAS];
    int n = 0;
    size_t plen = strlen(l->list_key) + 1; /* "svc:name:" */
    for (int i = 0; i < l->n; i++) {
        for (int j = 0; j < r->nvalues; j++) {
            const mc_value *v = &r->values[j];
            if (v->nkey == plen + strlen(l->members[i]) &&
                memcmp(v->key + plen, l->members[i], v->nkey - plen) == 0) {
                alive[n++] = l->members[i];
                break;
            }
        }
    }
    if (n < l->n && l->cas) {
        /* Drop the dead from the list so it does not grow forever. */
        char list[LIST_MAX + 1];
        size_t len = 0;
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? " " : "", alive[i]);
        mc_cas(mc, l->list_key, list, len, 0, 0, l->cas, on_prune, NULL);
    }
    lookup_finish(l, 0, alive, n);
}

static void on_lookup_list(mc_client *mc, int err, const mc_reply *r, void *arg)
{
    lookup *l = arg;
    if (err || !mc || r->status != MC_VALUES) {
        lookup_finish(l, err ? err : EPROTO, NULL, 0);
        return;
    }
    if (r->nvalues == 0) {
        lookup_finish(l, 0, NULL, 0);
        return;
    }
    l->cas = r->values[0].cas;
    l->n = split_list(r->values[0].data, r->values[0].len, l->members, REG_MAX_REPLICAS);
    if (l->n == 0) {
        lookup_finish(l, 0, NULL, 0);
        return;
    }
    static char keys[REG_MAX_REPLICAS][160];
    const char *kp[REG_MAX_REPLICAS];
    for (int i = 0; i < l->n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "%s:%s", l->list_key, l->members[i]);
        kp[i] = keys[i];
    }
    if (mc_get(mc, kp, l->n, 0, on_heartbeats, l) < 0)
        lookup_finish(l, errno, NULL, 0);
}

int reg_lookup(mc_client *mc, const char *name, reg_lookup_proc *cb, void *arg)
{
    if (!name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    lookup *l = calloc(1, sizeof(*l));
    if (!l)
        return -1;
    l->mc = mc;
    l->cb = cb;
    l->arg = arg;
    snprintf(l->name, sizeof(l->name), "%s", name);
    snprintf(l->list_key, sizeof(l->list_key), "svc:%s", name);
    const char *k = l->list_key;
    if (mc_get(mc, &k, 1, 1, on_lookup_list, l) < 0) {
        free(l);
        return -1;
    }
    return 0;
}

/* ---- watch ------------------------------------------------------------------ */

struct reg_watch {
    mc_client *mc;
    el_loop *loop;
    char name[72];
    int interval_ms;
    int n;
    unsigned next;
    int busy;
    int stopping;
    long long timer;
    char addrs[REG_MAX_REPLICAS][NET_ADDR_MAX];
};

static void watch_tick(void *data);

static void watch_on_timer(el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    watch_tick(data);
}

static void watch_schedule(reg_watch *w, int ms)
{
    w->timer = el_timer_add(w->loop, ms, watch_on_timer, w);
}

static void on_watch(int err, const char *const *addrs, int n, void *arg)
{
    reg_watch *w = arg;
    w->busy = 0;
    if (w->stopping) {
        free(w);
        return;
    }
    if (!err) {
        if (n != w->n)
            log_info("%s: %d replica%s", w->name, n, n == 1 ? "" : "s");
        for (int i = 0; i < n; i++)
            snprintf(w->addrs[i], NET_ADDR_MAX, "%s", addrs[i]);
        w->n = n;
    }
    /* On a registry error keep the last known list: better stale than none. */
    if (!w->timer)
        watch_schedule(w, w->interval_ms);
}

static void watch_tick(void *data)
{
    reg_watch *w = data;
    w->timer = 0;
    if (w->busy)
        return;
    w->busy = 1;
    if (reg_lookup(w->mc, w->name, on_watch, w) < 0) {
        w->busy = 0;
        watch_schedule(w, w->interval_ms);
    }
}

reg_watch *reg_watch_create(mc_client *mc, const char *name, int interval_ms)
{
    if (!name_valid(name)) {
        errno = EINVAL;
        return NULL;
    }
    reg_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->mc = mc;
    w->loop = mc_client_loop(mc);
    snprintf(w->name, sizeof(w->name), "%s", name);
    w->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    watch_tick(w);
    return w;
}

void reg_watch_free(reg_watch *w)
{
    if (!w)
        return;
    if (w->timer)
        el_timer_del(w->loop, w->timer);
    if (w->busy) {
        w->stopping = 1;
        return;
    }
    free(w);
}

int reg_watch_count(const reg_watch *w)
{
    return w->n;
}

const char *reg_watch_addr(const reg_watch *w, int i)
{
    return i >= 0 && i < w->n ? w->addrs[i] : NULL;
}

const char *reg_watch_next(reg_watch *w)
{
    if (w->n == 0)
        return NULL;
    return w->addrs[w->next++ % (unsigned)w->n];
}

void reg_watch_refresh(reg_watch *w)
{
    if (w->timer) {
        el_timer_del(w->loop, w->timer);
        w->timer = 0;
    }
    watch_tick(w);
}

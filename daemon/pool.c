/* pool.c -- the warm pool: prepared uvmm processes, per memory class, that
 * already hold their KVM VM, guest memory, loaded kernel and a tap with its
 * address and MAC, waiting on their control socket for a program.
 *
 * The report's design, in C: two queues (ready, to destroy) and one worker
 * that does all the slow work, creating and destroying, so that the API only
 * ever takes from the front of a ready queue under a mutex: constant time,
 * safe from any thread. The worker sleeps on a condition variable and wakes
 * when something was taken or handed back, or once a second to retry a class
 * whose creation failed (with a back-off, so a host without /dev/kvm is not
 * hammered).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

typedef struct pool_class {
    int mem_mib;
    int target;
    pool_vm **ready; /* ring of target slots */
    int head, count;
    uint64_t retry_at_ms;
    int backoff_ms;
} pool_class;

typedef struct dead_vm {
    pool_vm *v;
    struct dead_vm *next;
} dead_vm;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pool_class classes[MAX_POOL_CLASSES];
static int nclasses;
static dead_vm *to_destroy;
static bool running;
static pthread_t thread;
static netmgr *nm;
static unsigned long long failures;

static uint64_t mono_ms(void)
{
    return now_mono_ns() / 1000000;
}

static pool_vm *create_vm(int mem_mib)
{
    pool_vm *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->mem_mib = mem_mib;
    char err[256];
    if (netmgr_ip_alloc(nm, &v->ip) < 0) {
        log_warn("pool: no address left for a prepared VM");
        free(v);
        return NULL;
    }
    netmgr_mac(v->ip, v->mac);
    int tap = netmgr_tap_create(nm, v->tap, err, sizeof err);
    if (tap < 0) {
        log_warn("pool: %s", err);
        netmgr_ip_release(nm, v->ip);
        free(v);
        return NULL;
    }
    spawn_opts o = {.mem_mib = mem_mib, .tap_fd = tap, .ip = v->ip, .mac = v->mac, .out_fd = -1};
    int rc = uvmm_spawn(&o, &v->proc, err, sizeof err);
    close(tap); /* uvmm holds it now: the tap lives as long as that VM */
    if (rc < 0) {
        log_warn("pool: %s", err);
        netmgr_ip_release(nm, v->ip);
        free(v);
        return NULL;
    }
    if (uvmm_wait_ready(&v->proc, 30000) < 0) {
        int code, sig;
        log_warn("pool: a prepared %d MiB VM did not become ready: %s", mem_mib,
                 strerror(errno));
        kill(v->proc.pid, SIGKILL);
        struct pollfd pf = {.fd = v->proc.pidfd, .events = POLLIN};
        poll(&pf, 1, 5000);
        uvmm_reap(&v->proc, &code, &sig);
        uvmm_close(&v->proc);
        netmgr_ip_release(nm, v->ip);
        free(v);
        return NULL;
    }
    return v;
}

/* EOF on its control socket tells a prepared uvmm it is not needed: it exits 0. */
static void destroy_vm(pool_vm *v)
{
    int code, sig;
    if (v->proc.ctl >= 0) {
        close(v->proc.ctl);
        v->proc.ctl = -1;
    }
    struct pollfd pf = {.fd = v->proc.pidfd, .events = POLLIN};
    if (poll(&pf, 1, 2000) <= 0) {
        kill(v->proc.pid, SIGKILL);
        poll(&pf, 1, 5000);
    }
    uvmm_reap(&v->proc, &code, &sig);
    uvmm_close(&v->proc);
    netmgr_ip_release(nm, v->ip);
    free(v);
}

static bool alive(const pool_vm *v)
{
    struct pollfd pf = {.fd = v->proc.pidfd, .events = POLLIN};
    return poll(&pf, 1, 0) == 0;
}

static void *pool_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&mu);
    while (running) {
        if (to_destroy) {
            dead_vm *d = to_destroy;
            to_destroy = d->next;
            pthread_mutex_unlock(&mu);
            destroy_vm(d->v);
            free(d);
            pthread_mutex_lock(&mu);
            continue;
        }
        pool_class *c = NULL;
        uint64_t now = mono_ms();
        for (int i = 0; i < nclasses; i++)
            if (classes[i].count < classes[i].target && classes[i].retry_at_ms <= now) {
                c = &classes[i];
                break;
            }
        if (c) {
            int mem = c->mem_mib;
            pthread_mutex_unlock(&mu);
            pool_vm *v = create_vm(mem);
            pthread_mutex_lock(&mu);
            if (!v) {
                failures++;
                c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 500;
                if (c->backoff_ms > 30000)
                    c->backoff_ms = 30000;
                c->retry_at_ms = mono_ms() + c->backoff_ms;
            } else if (!running || c->count == c->target) {
                pthread_mutex_unlock(&mu);
                destroy_vm(v);
                pthread_mutex_lock(&mu);
            } else {
                c->backoff_ms = 0;
                c->ready[(c->head + c->count) % c->target] = v;
                c->count++;
            }
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&wake, &mu, &ts);
    }
    /* Shutting down: every prepared VM goes. */
    for (int i = 0; i < nclasses; i++) {
        pool_class *c = &classes[i];
        while (c->count) {
            pool_vm *v = c->ready[c->head];
            c->head = (c->head + 1) % c->target;
            c->count--;
            pthread_mutex_unlock(&mu);
            destroy_vm(v);
            pthread_mutex_lock(&mu);
        }
    }
    while (to_destroy) {
        dead_vm *d = to_destroy;
        to_destroy = d->next;
        pthread_mutex_unlock(&mu);
        destroy_vm(d->v);
        free(d);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int pool_start(netmgr *m)
{
    nm = m;
    nclasses = 0;
    for (int i = 0; i < cfg.npool; i++) {
        if (cfg.pool_size[i] <= 0)
            continue;
        pool_class *c = &classes[nclasses++];
        c->mem_mib = cfg.pool_mem[i];
        c->target = cfg.pool_size[i];
        c->ready = calloc(c->target, sizeof *c->ready);
        if (!c->ready)
            return -1;
    }
    running = true;
    if (nclasses == 0)
        return 0;
    int e = pthread_create(&thread, NULL, pool_main, NULL);
    if (e) {
        running = false;
        errno = e;
        return -1;
    }
    return 0;
}

static void queue_destroy(pool_vm *v)
{
    dead_vm *d = malloc(sizeof *d);
    if (!d)
        abort();
    d->v = v;
    d->next = to_destroy;
    to_destroy = d;
}

pool_vm *pool_take(int mem_mib, int *reason)
{
    pthread_mutex_lock(&mu);
    pool_class *c = NULL;
    for (int i = 0; i < nclasses; i++)
        if (classes[i].mem_mib == mem_mib)
            c = &classes[i];
    pool_vm *v = NULL;
    *reason = c ? POOL_MISS_EMPTY : POOL_MISS_NO_CLASS;
    while (c && c->count) {
        pool_vm *x = c->ready[c->head];
        c->head = (c->head + 1) % c->target;
        c->count--;
        if (alive(x)) {
            v = x;
            break;
        }
        queue_destroy(x); /* died while waiting (killed from outside) */
    }
    if (c)
        pthread_cond_signal(&wake);
    pthread_mutex_unlock(&mu);
    return v;
}

void pool_discard(pool_vm *v)
{
    pthread_mutex_lock(&mu);
    queue_destroy(v);
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&mu);
}

void pool_stop(void)
{
    pthread_mutex_lock(&mu);
    bool had_thread = running && nclasses > 0;
    running = false;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&mu);
    if (had_thread)
        pthread_join(thread, NULL);
}

int pool_classes(int *mem, int *ready, int *target, int max)
{
    pthread_mutex_lock(&mu);
    int n = 0;
    for (int i = 0; i < nclasses && n < max; i++, n++) {
        mem[n] = classes[i].mem_mib;
        ready[n] = classes[i].count;
        target[n] = classes[i].target;
    }
    pthread_mutex_unlock(&mu);
    return n;
}

unsigned long long pool_create_failures(void)
{
    pthread_mutex_lock(&mu);
    unsigned long long f = failures;
    pthread_mutex_unlock(&mu);
    return f;
}

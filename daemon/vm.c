/* vm.c -- VM records and their lifecycle: start (from the pool or cold),
 * supervision, restart policies, stop, removal, core placement.
 *
 * A VM is a record that outlives its uvmm processes: it keeps its id, name,
 * address, published ports and console across restarts. Each process is
 * watched through two fds on the event loop: its control socket ("ready",
 * then "started" once the program's first instruction runs) and its pidfd,
 * readable the moment it exits, so an exit is noticed at once and reaped by
 * exactly this pid (never "any child", which would steal the pool's).
 *
 *   starting --started--> running --exit--> exited | crashed
 *       \                    \--exit, policy says again--> restarting --back-off--> starting
 *        \--exit before start--> (same decision)
 */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "net.h"
#include "runreq.h"

#define BACKOFF_MIN_MS    100
#define BACKOFF_MAX_MS    30000
#define BACKOFF_RESET_S   10.0
#define CPU_SAMPLE_MS     2000

vm *vm_list, *vm_list_tail;

static void on_ctl(el_loop *l, int fd, void *data, int mask);
static void on_pidfd(el_loop *l, int fd, void *data, int mask);

const char *vm_state_name(vm_state s)
{
    static const char *const names[] = {"starting", "running", "restarting", "exited",
                                        "crashed"};
    return names[s];
}

const char *restart_name(restart_policy r)
{
    static const char *const names[] = {"no", "on-failure", "always"};
    return names[r];
}

bool vm_live(const vm *v)
{
    return v->state == VM_STARTING || v->state == VM_RUNNING || v->state == VM_RESTARTING;
}

int vm_count_live(void)
{
    int n = 0;
    for (vm *v = vm_list; v; v = v->next)
        n += vm_live(v);
    return n;
}

vm *vm_find_name(const char *name)
{
    for (vm *v = vm_list; v; v = v->next)
        if (v->name[0] && strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

vm *vm_find(const char *key, bool *ambiguous)
{
    *ambiguous = false;
    for (vm *v = vm_list; v; v = v->next)
        if (strcmp(v->id, key) == 0)
            return v;
    vm *byname = vm_find_name(key);
    if (byname)
        return byname;
    size_t n = strlen(key);
    if (n < 4 || n > VM_ID_LEN)
        return NULL;
    vm *found = NULL;
    for (vm *v = vm_list; v; v = v->next)
        if (strncmp(v->id, key, n) == 0) {
            if (found) {
                *ambiguous = true;
                return NULL;
            }
            found = v;
        }
    return found;
}

static char **strv_dup(char *const *v, int n)
{
    char **d = calloc((size_t)n + 1, sizeof *d);
    if (!d)
        abort();
    for (int i = 0; i < n; i++)
        if (!(d[i] = strdup(v[i])))
            abort();
    return d;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static void new_id(char out[VM_ID_LEN + 1])
{
    bool amb;
    do {
        unsigned char r[VM_ID_LEN / 2];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            abort();
        for (size_t i = 0; i < sizeof r; i++)
            sprintf(out + 2 * i, "%02x", r[i]);
    } while (vm_find(out, &amb) || amb);
}

void vm_list_add(vm *v)
{
    v->prev = vm_list_tail;
    v->next = NULL;
    if (vm_list_tail)
        vm_list_tail->next = v;
    else
        vm_list = v;
    vm_list_tail = v;
}

static void list_del(vm *v)
{
    if (v->prev)
        v->prev->next = v->next;
    else
        vm_list = v->next;
    if (v->next)
        v->next->prev = v->prev;
    else
        vm_list_tail = v->prev;
}

void vm_free_record(vm *v)
{
    strv_free(v->args);
    strv_free(v->env);
    strv_free(v->volumes);
    free(v);
}

vm *vm_new_record(void)
{
    vm *v = calloc(1, sizeof *v);
    if (!v)
        abort();
    v->proc.pidfd = v->proc.ctl = -1;
    v->probe_fd = -1;
    v->exit_code = -1;
    v->cpu = -1;
    v->start_ms = v->boot_ms = -1;
    return v;
}

vm *vm_create(const run_req *r, char *err, size_t errlen, int *status)
{
    char img[PATH_MAX + RR_IMAGE_MAX + 16];
    *status = 400;
    if (r->name[0] && vm_find_name(r->name)) {
        *status = 409;
        snprintf(err, errlen, "the name '%s' is in use by VM %s", r->name,
                 vm_find_name(r->name)->id);
        return NULL;
    }
    if (!image_path(r->image, img, sizeof img)) {
        *status = 404;
        snprintf(err, errlen, "no image '%s' (GET /images lists them; POST /images adds one)",
                 r->image);
        return NULL;
    }
    for (int i = 0; i < r->nvolumes; i++) {
        char host[PATH_MAX];
        snprintf(host, sizeof host, "%.*s", (int)(strchr(r->volumes[i], ':') - r->volumes[i]),
                 r->volumes[i]);
        struct stat st;
        if (stat(host, &st) < 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "volumes[%d]: %s is not a directory on the host", i, host);
            return NULL;
        }
    }
    for (int i = 0; i < r->nports; i++)
        for (vm *o = vm_list; o; o = o->next)
            for (int k = 0; vm_live(o) && k < o->nports; k++)
                if (port_spec_clash(&o->ports[k], &r->ports[i])) {
                    *status = 409;
                    snprintf(err, errlen, "host port %s:%d is published by VM %s already",
                             o->ports[k].host_addr, r->ports[i].host_port, o->id);
                    return NULL;
                }
    if (vm_count_live() >= cfg.max_vms) {
        *status = 429;
        snprintf(err, errlen, "%d VMs run already (--max-vms)", cfg.max_vms);
        return NULL;
    }

    vm *v = vm_new_record();
    new_id(v->id);
    snprintf(v->name, sizeof v->name, "%s", r->name);
    snprintf(v->image, sizeof v->image, "%s", r->image);
    v->args = strv_dup(r->args, r->nargs);
    v->nargs = r->nargs;
    v->args_given = r->args_given;
    v->env = strv_dup(r->env, r->nenv);
    v->nenv = r->nenv;
    v->volumes = strv_dup(r->volumes, r->nvolumes);
    v->nvolumes = r->nvolumes;
    v->mem_mib = r->mem_mib ? r->mem_mib : cfg.default_mem;
    v->restart = (restart_policy)r->restart;
    v->auto_remove = r->auto_remove;
    memcpy(v->ports, r->ports, sizeof v->ports);
    v->nports = r->nports;
    v->created_at = now_real();
    v->state = VM_STARTING;

    char dir[PATH_MAX];
    vm_dir(v->id, dir, sizeof dir);
    if (mkdir(dir, 0750) < 0) {
        *status = 500;
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        vm_free_record(v);
        return NULL;
    }
    v->con = console_open(dir, false, err, errlen);
    if (!v->con) {
        *status = 500;
        state_remove_dir(v->id);
        vm_free_record(v);
        return NULL;
    }
    vm_list_add(v);
    return v;
}

/* ---- core placement ------------------------------------------------------ */

static int cpus[CPU_SETSIZE], ncpus;

static void cpus_init(void)
{
    if (ncpus)
        return;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set))
                cpus[ncpus++] = c;
    if (!ncpus)
        cpus[ncpus++] = 0;
}

/* The core with the least load: the CPU its VMs used recently, plus half a
 * percent per VM, so that idle VMs spread evenly too. */
static int pick_cpu(const vm *self)
{
    cpus_init();
    int best = cpus[0];
    double best_load = 1e18;
    for (int i = 0; i < ncpus; i++) {
        double load = 0;
        for (vm *v = vm_list; v; v = v->next)
            if (v != self && v->proc.pid && v->cpu == cpus[i])
                load += v->cpu_pct + 0.5;
        if (load < best_load) {
            best_load = load;
            best = cpus[i];
        }
    }
    return best;
}

static void place(vm *v)
{
    int c = pick_cpu(v);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c, &set);
    if (sched_setaffinity(v->proc.pid, sizeof set, &set) == 0)
        v->cpu = c;
    else
        log_warn("vm %s: cannot pin to cpu %d: %s", v->id, c, strerror(errno));
}

int vm_cpu_vms(int *cpu, int *count, int max)
{
    cpus_init();
    int n = ncpus < max ? ncpus : max;
    for (int i = 0; i < n; i++) {
        cpu[i] = cpus[i];
        count[i] = 0;
        for (vm *v = vm_list; v; v = v->next)
            count[i] += v->proc.pid && v->cpu == cpus[i];
    }
    return n;
}

static uint64_t proc_cpu_ticks(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    if (n <= 0)
        return 0;
    line[n] = 0;
    char *p = strrchr(line, ')');
    if (!p)
        return 0;
    /* utime and stime are fields 14 and 15; p is just before field 3. */
    for (int f = 3; f < 14 && p; f++)
        p = strchr(p + 1, ' ');
    if (!p)
        return 0;
    char *end;
    unsigned long long ut = strtoull(p + 1, &end, 10);
    unsigned long long st = strtoull(end, NULL, 10);
    return ut + st;
}

void vm_sample_cpu(void)
{
    static long hz;
    if (!hz)
        hz = sysconf(_SC_CLK_TCK);
    uint64_t now = now_mono_ns() / 1000000;
    for (vm *v = vm_list; v; v = v->next) {
        if (!v->proc.pid) {
            v->cpu_pct = 0;
            continue;
        }
        uint64_t t = proc_cpu_ticks(v->proc.pid);
        if (v->cpu_sample_ms && now > v->cpu_sample_ms && t >= v->cpu_ticks)
            v->cpu_pct = (double)(t - v->cpu_ticks) * 100.0 * 1000.0 /
                         ((double)hz * (double)(now - v->cpu_sample_ms));
        v->cpu_ticks = t;
        v->cpu_sample_ms = now;
    }
}

int vm_rss_kib(const vm *v)
{
    if (!v->proc.pid)
        return 0;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)v->proc.pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    if (n <= 0)
        return 0;
    line[n] = 0;
    unsigned long size, resident;
    if (sscanf(line, "%lu %lu", &size, &resident) != 2)
        return 0;
    return (int)(resident * (unsigned long)sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- start --------------------------------------------------------------- */

static double ms_since(uint64_t t0)
{
    return (double)(now_mono_ns() - t0) / 1e6;
}

static void reply_run(vm *v, int status)
{
    http_req *req = v->run_reply;
    if (!req)
        return;
    v->run_reply = NULL;
    http_req_on_abort(req, NULL, NULL);
    api_reply_vm(req, status, v);
}

static void on_run_reply_abort(http_req *req, void *arg)
{
    (void)req;
    ((vm *)arg)->run_reply = NULL;
}

void vm_set_run_reply(vm *v, http_req *req, bool wait)
{
    v->run_reply = req;
    v->run_wait = wait;
    http_req_on_abort(req, on_run_reply_abort, v);
}

/* The program is handed over: the time that matters to the caller. */
static int handed(vm *v)
{
    v->start_ms = ms_since(v->t_request_ns);
    metrics_observe_start(v->start_ms / 1000.0);
    if (v->run_reply && !v->run_wait)
        reply_run(v, 201);
    return 0;
}

static int send_request(vm *v)
{
    char img[PATH_MAX + RR_IMAGE_MAX + 16];
    if (!image_path(v->image, img, sizeof img)) {
        errno = ENOENT;
        return -1;
    }
    int w = console_writer(v->con);
    if (w < 0)
        return -1;
    int rc = uvmm_send_request(&v->proc, img, v->args, v->nargs, v->args_given, v->env, v->nenv,
                               w);
    int e = errno;
    close(w);
    errno = e;
    return rc;
}

static void watch(vm *v)
{
    net_set_nonblock(v->proc.ctl, 1);
    el_file_add(loop, v->proc.ctl, EL_READABLE, on_ctl, v);
    el_file_add(loop, v->proc.pidfd, EL_READABLE, on_pidfd, v);
}

static void unwatch(vm *v)
{
    if (v->proc.ctl >= 0)
        el_file_del(loop, v->proc.ctl, EL_READABLE | EL_WRITABLE);
    if (v->proc.pidfd >= 0)
        el_file_del(loop, v->proc.pidfd, EL_READABLE | EL_WRITABLE);
}

static int open_proxies(vm *v, char *err, size_t errlen, int *status)
{
    char ip[16];
    netmgr_ip_str(v->ip, ip);
    for (int i = 0; i < v->nports; i++) {
        if (v->proxies[i])
            continue;
        v->proxies[i] = proxy_open(loop, &v->ports[i], ip, err, errlen);
        if (!v->proxies[i]) {
            *status = errno == EADDRINUSE ? 409 : 500;
            return -1;
        }
    }
    return 0;
}

static void close_proxies(vm *v)
{
    for (int i = 0; i < v->nports; i++)
        if (v->proxies[i]) {
            proxy_close(v->proxies[i]);
            v->proxies[i] = NULL;
        }
}

static void release_ip(vm *v)
{
    if (v->ip_held) {
        netmgr_ip_release(net, v->ip);
        v->ip_held = false;
    }
}

int vm_launch(vm *v, char *err, size_t errlen, int *status)
{
    *status = 503;
    char img[PATH_MAX + RR_IMAGE_MAX + 16];
    if (!image_path(v->image, img, sizeof img)) {
        /* Checked before a prepared VM is taken: a missing image is not a
           dead prepared VM, and must not drain the pool. */
        *status = 404;
        snprintf(err, errlen, "no image '%s' (removed?)", v->image);
        return -1;
    }
    v->ctllen = 0;
    v->pool_hit = false;
    v->started_at = now_real();
    v->finished_at = 0;
    v->exit_code = -1;
    v->signal = 0;
    v->error[0] = 0;
    v->stop_asked = false;
    v->start_ms = v->boot_ms = -1;
    int reason = v->nvolumes ? POOL_MISS_VOLUMES : v->ip_held ? POOL_MISS_RESTART : -1;
    pool_vm *pv = reason < 0 ? pool_take(v->mem_mib, &reason) : NULL;
    while (pv) {
        v->proc = pv->proc;
        v->ip = pv->ip;
        memcpy(v->mac, pv->mac, sizeof v->mac);
        snprintf(v->tap, sizeof v->tap, "%s", pv->tap);
        v->ip_held = true;
        if (send_request(v) == 0) {
            free(pv);
            v->pool_hit = true;
            break;
        }
        /* It died while waiting: give it back and try the next one. */
        v->ip_held = false;
        pool_discard(pv);
        v->proc.pid = 0;
        v->proc.ctl = v->proc.pidfd = -1;
        pv = pool_take(v->mem_mib, &reason);
    }
    if (v->pool_hit) {
        stats.pool_hits++;
    } else {
        stats.pool_misses[reason]++;
        if (!v->ip_held) {
            if (netmgr_ip_alloc(net, &v->ip) < 0) {
                *status = 429;
                snprintf(err, errlen, "no address left in %s", cfg.subnet);
                return -1;
            }
            v->ip_held = true;
            netmgr_mac(v->ip, v->mac);
        }
        int tap = netmgr_tap_create(net, v->tap, err, errlen);
        if (tap < 0)
            return -1;
        int w = console_writer(v->con);
        spawn_opts o = {.mem_mib = v->mem_mib,
                        .tap_fd = tap,
                        .ip = v->ip,
                        .mac = v->mac,
                        .volumes = v->volumes,
                        .nvolumes = v->nvolumes,
                        .out_fd = w};
        int rc = w < 0 ? -1 : uvmm_spawn(&o, &v->proc, err, errlen);
        if (w < 0)
            snprintf(err, errlen, "console: %s", strerror(errno));
        close(tap);
        if (w >= 0)
            close(w);
        if (rc < 0)
            return -1;
    }
    if (open_proxies(v, err, errlen, status) < 0) {
        /* Nothing ran yet: end the process here and now, so that the caller
           finds the record without one. */
        siginfo_t si;
        pidfd_send_signal(v->proc.pidfd, SIGKILL, NULL, 0);
        waitid(P_PIDFD, v->proc.pidfd, &si, WEXITED);
        uvmm_close(&v->proc);
        close_proxies(v);
        return -1;
    }
    v->starttime = proc_starttime(v->proc.pid);
    v->state = VM_STARTING;
    v->cpu_ticks = 0;
    v->cpu_sample_ms = 0;
    v->cpu_pct = 0;
    place(v);
    watch(v);
    stats.starts++;
    if (v->pool_hit)
        handed(v);
    state_save(v);
    return 0;
}

static void close_ctl(vm *v)
{
    if (v->proc.ctl < 0)
        return;
    el_file_del(loop, v->proc.ctl, EL_READABLE | EL_WRITABLE);
    close(v->proc.ctl);
    v->proc.ctl = -1;
}

static void on_line(vm *v, const char *line)
{
    if (strcmp(line, "ready") == 0 && !v->pool_hit && v->start_ms < 0) {
        if (send_request(v) < 0) {
            snprintf(v->error, sizeof v->error, "cannot hand the program to uvmm: %s",
                     strerror(errno));
            pidfd_send_signal(v->proc.pidfd, SIGKILL, NULL, 0);
            return;
        }
        handed(v);
    } else if (strcmp(line, "started") == 0 && v->state == VM_STARTING) {
        v->state = VM_RUNNING;
        v->boot_ms = ms_since(v->t_request_ns);
        metrics_observe_boot(v->boot_ms / 1000.0);
        close_ctl(v);
        if (v->run_reply)
            reply_run(v, 201);
        state_save(v);
        deploy_vm_event(v);
    }
}

static void on_ctl(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)mask;
    vm *v = data;
    for (;;) {
        ssize_t n = read(fd, v->ctlbuf + v->ctllen, sizeof v->ctlbuf - 1 - v->ctllen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            close_ctl(v); /* uvmm is ending; its pidfd says how */
            return;
        }
        v->ctllen += n;
        v->ctlbuf[v->ctllen] = 0;
        char *nl;
        while (v->proc.ctl >= 0 && (nl = memchr(v->ctlbuf, '\n', v->ctllen))) {
            *nl = 0;
            on_line(v, v->ctlbuf);
            size_t used = nl + 1 - v->ctlbuf;
            memmove(v->ctlbuf, nl + 1, v->ctllen - used);
            v->ctllen -= used;
        }
        if (v->proc.ctl < 0)
            return;
        if (v->ctllen == (int)sizeof v->ctlbuf - 1) {
            v->ctllen = 0; /* not our protocol: ignore the noise */
        }
    }
}

static void on_pidfd(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)fd;
    (void)mask;
    vm *v = data;
    int code = -1, sig = 0;
    if (v->adopted) {
        vm_on_exit(v, -1, 0, false);
        return;
    }
    if (uvmm_reap(&v->proc, &code, &sig) < 0)
        return; /* spurious */
    vm_on_exit(v, code, sig, true);
}

/* ---- exit, restart, stop ------------------------------------------------- */

static void answer_waiters(vm *v)
{
    while (v->waiters) {
        stop_waiter *w = v->waiters;
        v->waiters = w->next;
        http_req_on_abort(w->req, NULL, NULL);
        if (w->delete_after) {
            http_reply(w->req, 204, NULL, NULL, 0);
        } else {
            api_reply_vm(w->req, 200, v);
        }
        free(w);
    }
}

static void restart_cb(el_loop *l, long long id, void *data);

/* The last "uvmm: ..." line of the console: why a VM crashed. */
static void crash_reason(vm *v)
{
    char path[PATH_MAX + 32], tail[4096];
    vm_dir(v->id, path, sizeof path - 16);
    strcat(path, "/console.log");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    ssize_t n = 0;
    if (fstat(fd, &st) == 0) {
        off_t off = st.st_size > (off_t)sizeof tail - 1 ? st.st_size - (off_t)sizeof tail + 1 : 0;
        n = pread(fd, tail, sizeof tail - 1, off);
    }
    close(fd);
    if (n <= 0)
        return;
    tail[n] = 0;
    char *best = NULL;
    for (char *p = tail; (p = strstr(p, "uvmm: ")); p++)
        if (p == tail || p[-1] == '\n')
            best = p;
    if (!best)
        return;
    char *end = strchr(best, '\n');
    if (end)
        *end = 0;
    snprintf(v->error, sizeof v->error, "%s", best);
}

static void finish(vm *v)
{
    release_ip(v);
    close_proxies(v);
    console_end_followers(v->con);
    if (v->run_reply)
        reply_run(v, v->start_ms < 0 ? 503 : 201);
    answer_waiters(v);
}

void vm_on_exit(vm *v, int code, int sig, bool known)
{
    bool delete_after = false;
    for (stop_waiter *w = v->waiters; w; w = w->next)
        delete_after |= w->delete_after;
    unwatch(v);
    uvmm_close(&v->proc);
    if (v->kill_timer) {
        el_timer_del(loop, v->kill_timer);
        v->kill_timer = 0;
    }
    console_drain(v->con);
    v->finished_at = now_real();
    v->exit_code = known ? code : -1;
    v->signal = sig ? sig : (known && code > 128 && code < 128 + 65) ? code - 128 : 0;
    bool crashed = known && !v->stop_asked && (code == 125 || code > 128);
    if (crashed)
        crash_reason(v);
    stats.exits++;
    if (crashed)
        stats.crashes++;
    bool failed = !known || code != 0;
    double ran = v->finished_at - v->started_at;
    bool again = !v->stopped && !shutting_down &&
                 (v->restart == RESTART_ALWAYS || (v->restart == RESTART_ON_FAILURE && failed));
    log_info("vm %s%s%s: %s%s (status %d%s)", v->id, v->name[0] ? " " : "", v->name,
             v->start_ms < 0 ? "ended before its program was handed over" : "ended",
             again ? ", restarting" : "", v->exit_code, known ? "" : ", unknown");
    if (again) {
        /* Back-off: 100 ms doubling to 30 s; a VM that ran 10 s starts over. */
        if (ran >= BACKOFF_RESET_S || v->backoff_ms == 0)
            v->backoff_ms = BACKOFF_MIN_MS;
        else if ((v->backoff_ms *= 2) > BACKOFF_MAX_MS)
            v->backoff_ms = BACKOFF_MAX_MS;
        v->state = VM_RESTARTING;
        v->backoff_timer = el_timer_add(loop, v->backoff_ms, restart_cb, v);
        if (v->run_reply)
            reply_run(v, v->start_ms < 0 ? 503 : 201);
        state_save(v);
        deploy_vm_event(v);
        return;
    }
    v->state = crashed ? VM_CRASHED : VM_EXITED;
    finish(v);
    state_save(v);
    deploy_vm_event(v);
    if ((v->auto_remove || delete_after) && !v->waiters)
        vm_remove(v);
    else
        vm_prune_exited();
}

static void restart_cb(el_loop *l, long long id, void *data)
{
    (void)l;
    (void)id;
    vm *v = data;
    v->backoff_timer = 0;
    v->restarts++;
    stats.restarts++;
    v->t_request_ns = now_mono_ns();
    char err[256];
    int status;
    if (vm_launch(v, err, sizeof err, &status) < 0) {
        log_warn("vm %s: restart failed: %s", v->id, err);
        snprintf(v->error, sizeof v->error, "restart failed: %s", err);
        if ((v->backoff_ms *= 2) > BACKOFF_MAX_MS)
            v->backoff_ms = BACKOFF_MAX_MS;
        v->state = VM_RESTARTING;
        v->backoff_timer = el_timer_add(loop, v->backoff_ms, restart_cb, v);
        state_save(v);
    }
}

void vm_schedule_restart(vm *v)
{
    v->state = VM_RESTARTING;
    if (v->backoff_ms < BACKOFF_MIN_MS)
        v->backoff_ms = BACKOFF_MIN_MS;
    v->backoff_timer = el_timer_add(loop, v->backoff_ms, restart_cb, v);
    state_save(v);
}

static void kill_cb(el_loop *l, long long id, void *data)
{
    (void)l;
    (void)id;
    vm *v = data;
    v->kill_timer = 0;
    if (v->proc.pidfd >= 0) {
        log_info("vm %s: no end after SIGTERM, sending SIGKILL", v->id);
        pidfd_send_signal(v->proc.pidfd, SIGKILL, NULL, 0);
    }
}

void vm_stop(vm *v, int timeout_s)
{
    if (!vm_live(v))
        return;
    if (!v->stopped)
        stats.stops++;
    v->stopped = true;
    if (v->state == VM_RESTARTING) {
        if (v->backoff_timer)
            el_timer_del(loop, v->backoff_timer);
        v->backoff_timer = 0;
        if (v->proc.pid == 0) {
            v->state = VM_EXITED;
            v->finished_at = now_real();
            finish(v);
            state_save(v);
            deploy_vm_event(v);
            return;
        }
    }
    if (v->proc.pidfd < 0)
        return;
    if (v->stop_asked) {
        /* A stop is under way: a later, more urgent one (DELETE ?force=1, a
           shorter timeout) brings the SIGKILL forward; it never delays it. */
        if (timeout_s == 0) {
            if (v->kill_timer)
                el_timer_del(loop, v->kill_timer);
            v->kill_timer = 0;
            pidfd_send_signal(v->proc.pidfd, SIGKILL, NULL, 0);
        }
        return;
    }
    v->stop_asked = true;
    pidfd_send_signal(v->proc.pidfd, timeout_s == 0 ? SIGKILL : SIGTERM, NULL, 0);
    if (timeout_s > 0)
        v->kill_timer = el_timer_add(loop, (long long)timeout_s * 1000, kill_cb, v);
    state_save(v);
}

static void on_waiter_abort(http_req *req, void *arg)
{
    vm *v = arg;
    for (stop_waiter **pp = &v->waiters; *pp; pp = &(*pp)->next)
        if ((*pp)->req == req) {
            stop_waiter *w = *pp;
            *pp = w->next;
            free(w);
            return;
        }
}

void vm_add_waiter(vm *v, http_req *req, bool delete_after)
{
    stop_waiter *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->req = req;
    w->delete_after = delete_after;
    w->next = v->waiters;
    v->waiters = w;
    http_req_on_abort(req, on_waiter_abort, v);
}

void vm_remove(vm *v)
{
    if (v->backoff_timer)
        el_timer_del(loop, v->backoff_timer);
    if (v->kill_timer)
        el_timer_del(loop, v->kill_timer);
    if (v->run_reply)
        reply_run(v, 201);
    answer_waiters(v);
    close_proxies(v);
    release_ip(v);
    list_del(v);
    deploy_vm_removed(v);
    console_free(v->con);
    state_remove_dir(v->id);
    log_info("vm %s removed", v->id);
    vm_free_record(v);
}

void vm_prune_exited(void)
{
    int ended = 0;
    for (vm *v = vm_list; v; v = v->next)
        ended += !vm_live(v);
    for (vm *v = vm_list, *next; v && ended > cfg.max_exited; v = next) {
        next = v->next;
        if (!vm_live(v) && !v->waiters) {
            vm_remove(v);
            ended--;
        }
    }
}

int vm_adopt(vm *v)
{
    v->proc.pidfd = pidfd_open(v->proc.pid, 0);
    if (v->proc.pidfd < 0)
        return -1;
    fcntl(v->proc.pidfd, F_SETFD, FD_CLOEXEC);
    v->proc.ctl = -1;
    v->adopted = true;
    if (v->state == VM_STARTING || v->state == VM_RESTARTING)
        v->state = VM_RUNNING;
    el_file_add(loop, v->proc.pidfd, EL_READABLE, on_pidfd, v);
    char err[256];
    int status;
    if (open_proxies(v, err, sizeof err, &status) < 0)
        log_warn("vm %s: cannot publish its ports again: %s", v->id, err);
    return 0;
}

void vm_stop_all(void)
{
    for (vm *v = vm_list; v; v = v->next)
        vm_stop(v, cfg.stop_timeout_s);
    for (;;) {
        bool any = false;
        for (vm *v = vm_list; v; v = v->next)
            any |= v->proc.pid != 0;
        if (!any)
            break;
        el_run_once(loop, 100);
    }
}

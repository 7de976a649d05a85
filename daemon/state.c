/* state.c -- VM records on disk, and recovery after a daemon that died.
 *
 * Each VM has a directory STATE/vms/ID holding state.json (rewritten through
 * a temporary file and rename on every change, so it is always whole), its
 * console FIFO and its logs. A daemon starting on a state directory reads
 * every record and decides for each: a uvmm that still lives and is provably
 * the recorded one (same pid, same start time, this state directory in its
 * environment) is adopted; a VM that should be running but is not is treated
 * as having ended with an unknown status, so its restart policy applies. Then
 * uvmm processes of this directory that no record claims are killed and taps
 * with our prefix that no adopted VM holds are deleted.
 */
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "runreq.h"

void vm_dir(const char *id, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/vms/%s", cfg.state_dir, id);
}

static cJSON *strv_json(char *const *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

static void add_time(cJSON *o, const char *key, double t)
{
    if (t <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char s[32];
    fmt_time(t, s);
    cJSON_AddStringToObject(o, key, s);
}

static void add_num_or_null(cJSON *o, const char *key, double x, bool present)
{
    if (present)
        cJSON_AddNumberToObject(o, key, x);
    else
        cJSON_AddNullToObject(o, key);
}

static const char *sig_name(int sig, char out[16])
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(out, 16, "SIG%s", abbrev);
    else
        snprintf(out, 16, "SIG%d", sig);
    return out;
}

cJSON *vm_to_json(const vm *v, bool for_disk)
{
    cJSON *o = cJSON_CreateObject();
    char s[32];
    cJSON_AddStringToObject(o, "id", v->id);
    if (v->name[0])
        cJSON_AddStringToObject(o, "name", v->name);
    else
        cJSON_AddNullToObject(o, "name");
    cJSON_AddStringToObject(o, "image", v->image);
    cJSON_AddItemToObject(o, "args", strv_json(v->args, v->nargs));
    cJSON_AddBoolToObject(o, "args_given", v->args_given);
    cJSON_AddItemToObject(o, "env", strv_json(v->env, v->nenv));
    cJSON_AddNumberToObject(o, "mem_mib", v->mem_mib);
    cJSON_AddStringToObject(o, "state", vm_state_name(v->state));
    add_num_or_null(o, "exit_code", v->exit_code, v->exit_code >= 0 && !vm_live(v));
    if (v->signal && !vm_live(v))
        cJSON_AddStringToObject(o, "signal", sig_name(v->signal, s));
    else
        cJSON_AddNullToObject(o, "signal");
    if (v->error[0])
        cJSON_AddStringToObject(o, "error", v->error);
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddBoolToObject(o, "stopped", v->stopped);
    char ip[16], mac[18];
    if (v->ip) {
        netmgr_ip_str(v->ip, ip);
        netmgr_mac_str(v->mac, mac);
        cJSON_AddStringToObject(o, "ip_address", ip);
        cJSON_AddStringToObject(o, "mac", mac);
    } else {
        cJSON_AddNullToObject(o, "ip_address");
        cJSON_AddNullToObject(o, "mac");
    }
    if (v->tap[0])
        cJSON_AddStringToObject(o, "tap", v->tap);
    else
        cJSON_AddNullToObject(o, "tap");
    add_num_or_null(o, "pid", v->proc.pid, v->proc.pid > 0);
    add_num_or_null(o, "cpu", v->cpu, v->cpu >= 0);
    cJSON_AddBoolToObject(o, "pool_hit", v->pool_hit);
    cJSON_AddStringToObject(o, "restart", restart_name(v->restart));
    cJSON_AddNumberToObject(o, "restarts", v->restarts);
    cJSON_AddBoolToObject(o, "auto_remove", v->auto_remove);
    add_time(o, "created_at", v->created_at);
    add_time(o, "started_at", v->started_at);
    add_time(o, "finished_at", vm_live(v) ? 0 : v->finished_at);
    double up = v->proc.pid && v->started_at > 0 ? now_real() - v->started_at : 0;
    add_num_or_null(o, "uptime_s", (double)(long long)(up * 1000) / 1000, v->proc.pid > 0);
    add_num_or_null(o, "start_ms", (double)(long long)(v->start_ms * 1000) / 1000,
                    v->start_ms >= 0);
    add_num_or_null(o, "boot_ms", (double)(long long)(v->boot_ms * 1000) / 1000,
                    v->boot_ms >= 0);
    cJSON *ports = cJSON_AddArrayToObject(o, "ports");
    for (int i = 0; i < v->nports; i++) {
        char p[40];
        port_spec_str(&v->ports[i], p, sizeof p);
        cJSON_AddItemToArray(ports, cJSON_CreateString(p));
    }
    cJSON_AddItemToObject(o, "volumes", strv_json(v->volumes, v->nvolumes));
    if (v->deploy[0]) {
        cJSON *d = cJSON_AddObjectToObject(o, "deployment");
        cJSON_AddStringToObject(d, "name", v->deploy);
        cJSON_AddStringToObject(d, "service", v->service);
        cJSON_AddNumberToObject(d, "replica", v->replica);
        if (for_disk) {
            snprintf(s, sizeof s, "%016llx", (unsigned long long)v->spec_hash);
            cJSON_AddStringToObject(d, "version", s);
        } else {
            cJSON_AddBoolToObject(d, "ready", v->ready);
        }
    } else {
        cJSON_AddNullToObject(o, "deployment");
    }
    if (for_disk) {
        cJSON_AddNumberToObject(o, "created_at_s", v->created_at);
        cJSON_AddNumberToObject(o, "started_at_s", v->started_at);
        cJSON_AddNumberToObject(o, "finished_at_s", v->finished_at);
        cJSON_AddNumberToObject(o, "exit_code_raw", v->exit_code);
        cJSON_AddNumberToObject(o, "signal_raw", v->signal);
        cJSON_AddNumberToObject(o, "starttime", (double)v->starttime);
        cJSON_AddNumberToObject(o, "backoff_ms", v->backoff_ms);
        cJSON_AddBoolToObject(o, "stop_asked", v->stop_asked);
        cJSON_AddNumberToObject(o, "ip_raw", v->ip);
        cJSON_AddNumberToObject(o, "start_ms_raw", v->start_ms);
        cJSON_AddNumberToObject(o, "boot_ms_raw", v->boot_ms);
    } else {
        add_num_or_null(o, "rss_kib", vm_rss_kib(v), v->proc.pid > 0);
        cJSON_AddNumberToObject(o, "cpu_percent", (double)(long long)(v->cpu_pct * 100) / 100);
    }
    return o;
}

int write_file_atomic(const char *path, const char *text, bool sync, char *err, size_t errlen)
{
    char tmp[PATH_MAX + 80];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int e = off < len ? (errno ? errno : EIO) : 0;
    if (!e && sync && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

void state_save(vm *v)
{
    char path[PATH_MAX + 32], err[PATH_MAX + 128];
    vm_dir(v->id, path, sizeof path - 16);
    strcat(path, "/state.json");
    cJSON *o = vm_to_json(v, true);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    if (write_file_atomic(path, text, false, err, sizeof err) < 0)
        log_warn("vm %s: cannot save its state: %s", v->id, err);
    free(text);
}

void state_remove_dir(const char *id)
{
    char dir[PATH_MAX];
    vm_dir(id, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    if (rmdir(dir) < 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s", dir, strerror(errno));
}

/* ---- recovery ------------------------------------------------------------ */

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(x) ? x->valuedouble : dflt;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static bool boolean(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static char **strv_from(const cJSON *o, const char *key, int *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    int count = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    char **v = calloc((size_t)count + 1, sizeof *v);
    if (!v)
        abort();
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (cJSON_IsString(e) && i < count)
            v[i++] = strdup(e->valuestring);
    }
    *n = i;
    return v;
}

static vm_state state_from(const char *s)
{
    for (int i = VM_STARTING; i <= VM_CRASHED; i++)
        if (strcmp(s, vm_state_name(i)) == 0)
            return i;
    return VM_EXITED;
}

static vm *load_record(const char *id)
{
    char path[PATH_MAX + 32];
    vm_dir(id, path, sizeof path - 16);
    strcat(path, "/state.json");
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    buf b = BUF_INIT;
    for (;;) {
        char *p = buf_reserve(&b, 4096);
        size_t n = fread(p, 1, 4096, f);
        if (n == 0)
            break;
        buf_commit(&b, n);
    }
    fclose(f);
    cJSON *o = cJSON_ParseWithLength(buf_peek(&b), buf_used(&b));
    buf_free(&b);
    if (!o || strcmp(str(o, "id"), id) != 0) {
        cJSON_Delete(o);
        log_warn("ignoring the unreadable record %s", path);
        return NULL;
    }
    vm *v = vm_new_record();
    snprintf(v->id, sizeof v->id, "%s", id);
    snprintf(v->name, sizeof v->name, "%s", str(o, "name"));
    snprintf(v->image, sizeof v->image, "%s", str(o, "image"));
    v->args = strv_from(o, "args", &v->nargs);
    v->args_given = boolean(o, "args_given");
    v->env = strv_from(o, "env", &v->nenv);
    v->volumes = strv_from(o, "volumes", &v->nvolumes);
    v->mem_mib = (int)num(o, "mem_mib", cfg.default_mem);
    const char *r = str(o, "restart");
    v->restart = !strcmp(r, "always") ? RESTART_ALWAYS
                 : !strcmp(r, "on-failure") ? RESTART_ON_FAILURE
                                            : RESTART_NO;
    v->auto_remove = boolean(o, "auto_remove");
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(o, "ports"), *p;
    cJSON_ArrayForEach(p, ports)
    {
        char err[128];
        if (cJSON_IsString(p) && v->nports < RR_PORTS_MAX &&
            port_spec_parse(p->valuestring, &v->ports[v->nports], err, sizeof err) == 0)
            v->nports++;
    }
    v->state = state_from(str(o, "state"));
    v->exit_code = (int)num(o, "exit_code_raw", -1);
    v->signal = (int)num(o, "signal_raw", 0);
    snprintf(v->error, sizeof v->error, "%s", str(o, "error"));
    v->stopped = boolean(o, "stopped");
    v->stop_asked = boolean(o, "stop_asked");
    v->ip = (uint32_t)num(o, "ip_raw", 0);
    if (v->ip)
        netmgr_mac(v->ip, v->mac);
    snprintf(v->tap, sizeof v->tap, "%s", str(o, "tap"));
    v->proc.pid = (pid_t)num(o, "pid", 0);
    v->starttime = (unsigned long long)num(o, "starttime", 0);
    v->cpu = (int)num(o, "cpu", -1);
    v->pool_hit = boolean(o, "pool_hit");
    v->restarts = (int)num(o, "restarts", 0);
    v->backoff_ms = (int)num(o, "backoff_ms", 0);
    v->created_at = num(o, "created_at_s", 0);
    v->started_at = num(o, "started_at_s", 0);
    v->finished_at = num(o, "finished_at_s", 0);
    v->start_ms = num(o, "start_ms_raw", -1);
    v->boot_ms = num(o, "boot_ms_raw", -1);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "deployment");
    if (cJSON_IsObject(d) && name_ok(str(d, "name"), DS_NAME_MAX) &&
        name_ok(str(d, "service"), DS_NAME_MAX)) {
        snprintf(v->deploy, sizeof v->deploy, "%s", str(d, "name"));
        snprintf(v->service, sizeof v->service, "%s", str(d, "service"));
        v->replica = (int)num(d, "replica", 0);
        v->spec_hash = strtoull(str(d, "version"), NULL, 16);
    }
    cJSON_Delete(o);
    return v;
}

/* The process is a uvmm of this daemon: called uvmm, and its environment is
 * exactly the one the daemon gives it (our state directory, nothing else), so
 * that a shell that happens to export the variable is never taken for one. The
 * start time, when given, must be the recorded one too. */
static bool is_our_uvmm(pid_t pid, unsigned long long starttime)
{
    if (pid <= 0 || !starttime || proc_starttime(pid) != starttime)
        return false;
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool named = fgets(comm, sizeof comm, f) && strcmp(comm, "uvmm\n") == 0;
    fclose(f);
    if (!named)
        return false;
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char env[8192];
    ssize_t n = read(fd, env, sizeof env - 1);
    close(fd);
    if (n <= 0)
        return false;
    env[n] = 0;
    char want[PATH_MAX + 32];
    int wl = snprintf(want, sizeof want, "UIGNITER_STATE_DIR=%s", cfg.state_dir);
    return n == wl + 1 && env[wl] == 0 && memcmp(env, want, (size_t)wl) == 0;
}

static void insert_sorted(vm *v)
{
    /* Oldest first, as they were created. */
    vm *at = vm_list;
    while (at && at->created_at <= v->created_at)
        at = at->next;
    if (!at) {
        vm_list_add(v);
        return;
    }
    v->next = at;
    v->prev = at->prev;
    if (at->prev)
        at->prev->next = v;
    else
        vm_list = v;
    at->prev = v;
}

static void kill_orphans(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == getpid())
            continue;
        unsigned long long st = proc_starttime((pid_t)pid);
        if (!is_our_uvmm((pid_t)pid, st))
            continue;
        bool adopted = false;
        for (vm *v = vm_list; v && !adopted; v = v->next)
            adopted = v->adopted && v->proc.pid == pid;
        if (!adopted) {
            log_info("killing uvmm %ld: no record of this state directory owns it", pid);
            kill((pid_t)pid, SIGKILL);
        }
    }
    closedir(d);
}

static void delete_orphan_taps(netmgr *nm)
{
    static char names[4096][IFNAMSIZ];
    int n = netmgr_tap_list(nm, names, 4096);
    for (int i = 0; i < n; i++) {
        bool held = false;
        for (vm *v = vm_list; v && !held; v = v->next)
            held = v->adopted && v->proc.pid && strcmp(v->tap, names[i]) == 0;
        if (!held) {
            log_info("deleting the orphaned tap %s", names[i]);
            netmgr_tap_delete(nm, names[i]);
        }
    }
}

void state_recover(netmgr *nm)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/vms", cfg.state_dir);
    DIR *d = opendir(dir);
    int adopted = 0, ended = 0, loaded = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strlen(e->d_name) != VM_ID_LEN)
                continue;
            vm *v = load_record(e->d_name);
            if (!v)
                continue;
            char vdir[PATH_MAX], err[256];
            vm_dir(v->id, vdir, sizeof vdir);
            v->con = console_open(vdir, true, err, sizeof err);
            if (!v->con) {
                log_warn("vm %s: %s; record dropped", v->id, err);
                vm_free_record(v);
                continue;
            }
            insert_sorted(v);
            loaded++;
        }
        closedir(d);
    }
    for (vm *v = vm_list, *next; v; v = next) {
        next = v->next;
        if (!vm_live(v)) {
            v->proc.pid = 0;
            continue;
        }
        if (v->proc.pid && is_our_uvmm(v->proc.pid, v->starttime) && vm_adopt(v) == 0) {
            if (v->ip && netmgr_ip_reserve(nm, v->ip) == 0)
                v->ip_held = true;
            log_info("vm %s: adopted (pid %d)", v->id, (int)v->proc.pid);
            adopted++;
            state_save(v);
            continue;
        }
        /* It should run and does not: it ended while no daemon watched. */
        v->proc.pid = 0;
        if (v->ip && netmgr_ip_reserve(nm, v->ip) == 0)
            v->ip_held = true;
        ended++;
        if (v->state == VM_RESTARTING && !v->stopped)
            vm_schedule_restart(v);
        else
            vm_on_exit(v, -1, 0, false);
    }
    kill_orphans();
    delete_orphan_taps(nm);
    if (loaded)
        log_info("recovered %d records: %d VMs adopted, %d had ended", loaded, adopted, ended);
}

/* main.c -- uigniterd: options, start-up, the event loop, shutdown.
 *
 * Start-up order matters: the state directory is locked first (one daemon
 * per directory), the network manager opens the bridge, recovery adopts or
 * reaps what an earlier daemon left (before the pool makes new taps, so that
 * nothing new is mistaken for an orphan), then the pool's thread starts and
 * the API listens. Without --foreground the process detaches only once all of
 * that worked, so `uigniterd && uigniterctl ...` never races it, and a failed
 * start is a non-zero exit with the reason on stderr.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "net.h"
#include "proxy.h"

daemon_config cfg;
el_loop *loop;
netmgr *net;
bool shutting_down;

static http_server *api;
static int unix_fd = -1;
static int sig_fd = -1;
static int ready_pipe = -1; /* to the parent that waits for us to serve */

double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void fmt_time(double t, char out[32])
{
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    int ms = (int)((t - (double)s) * 1000);
    if (ms > 999)
        ms = 999;
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: uigniterd [--state-dir DIR] [--listen ADDR:PORT|none] [--socket PATH|none]\n"
            "                 [--bridge NAME] [--subnet CIDR] [--pool N] [--foreground] [OPTION...]\n"
            "The Uigniter daemon: a warm pool of microVMs, their network, supervision and\n"
            "the REST API (docs/api.md).\n"
            "  --state-dir DIR     images, VM records and logs (default /var/lib/uigniter)\n"
            "  --listen ADDR:PORT  the API over TCP (default 127.0.0.1:6666; none: off)\n"
            "  --socket PATH       the API over a Unix socket (default STATE/uigniterd.sock)\n"
            "  --bridge NAME       the VMs' bridge (default uigniter0)\n"
            "  --subnet CIDR       the VMs' addresses (default 10.87.0.0/16)\n"
            "  --tap-prefix P      names of the daemon's taps (default uigt)\n"
            "  --pool N            prepared VMs per memory class (default 4; 0: no pool)\n"
            "  --pool-mem LIST     memory classes in MiB, e.g. 64,128:8,256 (default 128)\n"
            "  --mem MIB           guest memory when a request names none (default 128)\n"
            "  --max-vms N         VMs at once (default 4096)\n"
            "  --max-exited N      ended VM records kept (default 1000)\n"
            "  --log-size BYTES    console log kept per VM (default 1048576)\n"
            "  --max-image BYTES   largest image upload (default 268435456)\n"
            "  --stop-timeout S    SIGTERM to SIGKILL (default 10)\n"
            "  --uvmm PATH         the monitor (default: uvmm next to uigniterd)\n"
            "  --kernel PATH       the library OS (default: uk.elf one directory up)\n"
            "  --dns ADDR          name server for every VM\n"
            "  --publish-netns F   published ports listen in the network namespace F\n"
            "                      (e.g. /proc/1/ns/net) instead of the daemon's own\n"
            "  --log-level LEVEL   debug, info, warn, error (default info)\n"
            "  --foreground        do not detach\n");
}

static const char *optval(int argc, char **argv, int *i)
{
    const char *a = argv[*i], *eq = strchr(a, '=');
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc)
        die("%s needs a value (see --help)", a);
    return argv[++*i];
}

static bool opt_is(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == 0 || a[n] == '=');
}

static long long parse_num(const char *opt, const char *s, long long min, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        die("%s %s: want a number from %lld to %lld", opt, s, min, max);
    return v;
}

static void copy_opt(char *dst, size_t len, const char *opt, const char *v)
{
    if (strlen(v) >= len)
        die("%s: too long (at most %zu bytes)", opt, len - 1);
    memcpy(dst, v, strlen(v) + 1);
}

static void parse_pool_mem(const char *s, int dflt_size)
{
    cfg.npool = 0;
    char copy[256];
    copy_opt(copy, sizeof copy, "--pool-mem", s);
    for (char *save, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (cfg.npool == MAX_POOL_CLASSES)
            die("--pool-mem: at most %d classes", MAX_POOL_CLASSES);
        char *colon = strchr(tok, ':');
        if (colon)
            *colon = 0;
        int mem = (int)parse_num("--pool-mem", tok, RR_MEM_MIN, RR_MEM_MAX);
        int size = colon ? (int)parse_num("--pool-mem", colon + 1, 0, 4096) : -1;
        for (int i = 0; i < cfg.npool; i++)
            if (cfg.pool_mem[i] == mem)
                die("--pool-mem: class %d given twice", mem);
        cfg.pool_mem[cfg.npool] = mem;
        cfg.pool_size[cfg.npool] = size < 0 ? dflt_size : size;
        cfg.npool++;
    }
}

static void defaults_from_exe(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        die("cannot find my own binary: %s", strerror(errno));
    exe[n] = 0;
    char *bin = dirname(exe); /* .../build/bin */
    if (!cfg.uvmm[0])
        snprintf(cfg.uvmm, sizeof cfg.uvmm, "%.*s/uvmm", PATH_MAX - 8, bin);
    if (!cfg.kernel[0]) {
        char *top = dirname(bin);
        snprintf(cfg.kernel, sizeof cfg.kernel, "%.*s/uk.elf", PATH_MAX - 8, top);
    }
}

static void parse_args(int argc, char **argv)
{
    snprintf(cfg.state_dir, sizeof cfg.state_dir, "/var/lib/uigniter");
    snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:6666");
    snprintf(cfg.bridge, sizeof cfg.bridge, "uigniter0");
    snprintf(cfg.subnet, sizeof cfg.subnet, "10.87.0.0/16");
    snprintf(cfg.tap_prefix, sizeof cfg.tap_prefix, "uigt");
    cfg.default_mem = 128;
    cfg.max_vms = 4096;
    cfg.max_exited = 1000;
    cfg.log_size = 1 << 20;
    cfg.max_image = 256LL << 20;
    cfg.stop_timeout_s = 10;
    const char *socket_opt = NULL, *pool_mem = "128";
    int pool_n = 4, level = LOG_LEVEL_INFO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("uigniterd %s\n", UIGD_VERSION);
            exit(0);
        } else if (!strcmp(a, "--foreground") || !strcmp(a, "-f")) {
            cfg.foreground = true;
        } else if (opt_is(a, "--state-dir")) {
            copy_opt(cfg.state_dir, sizeof cfg.state_dir - 64, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--listen")) {
            const char *v = optval(argc, argv, &i);
            copy_opt(cfg.listen, sizeof cfg.listen, a, strcmp(v, "none") ? v : "");
        } else if (opt_is(a, "--socket")) {
            socket_opt = optval(argc, argv, &i);
        } else if (opt_is(a, "--bridge")) {
            copy_opt(cfg.bridge, sizeof cfg.bridge, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--subnet")) {
            copy_opt(cfg.subnet, sizeof cfg.subnet, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--tap-prefix")) {
            copy_opt(cfg.tap_prefix, sizeof cfg.tap_prefix - 5, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--pool")) {
            pool_n = (int)parse_num(a, optval(argc, argv, &i), 0, 4096);
        } else if (opt_is(a, "--pool-mem")) {
            pool_mem = optval(argc, argv, &i);
        } else if (opt_is(a, "--mem")) {
            cfg.default_mem = (int)parse_num(a, optval(argc, argv, &i), RR_MEM_MIN, RR_MEM_MAX);
        } else if (opt_is(a, "--max-vms")) {
            cfg.max_vms = (int)parse_num(a, optval(argc, argv, &i), 1, 1000000);
        } else if (opt_is(a, "--max-exited")) {
            cfg.max_exited = (int)parse_num(a, optval(argc, argv, &i), 0, 1000000);
        } else if (opt_is(a, "--log-size")) {
            cfg.log_size = parse_num(a, optval(argc, argv, &i), 4096, 1LL << 40);
        } else if (opt_is(a, "--max-image")) {
            cfg.max_image = parse_num(a, optval(argc, argv, &i), 4096, 1LL << 40);
        } else if (opt_is(a, "--stop-timeout")) {
            cfg.stop_timeout_s = (int)parse_num(a, optval(argc, argv, &i), 0, 3600);
        } else if (opt_is(a, "--uvmm")) {
            copy_opt(cfg.uvmm, sizeof cfg.uvmm, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--kernel")) {
            copy_opt(cfg.kernel, sizeof cfg.kernel, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--dns")) {
            copy_opt(cfg.dns, sizeof cfg.dns, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--publish-netns")) {
            copy_opt(cfg.publish_netns, sizeof cfg.publish_netns, a, optval(argc, argv, &i));
        } else if (opt_is(a, "--log-level")) {
            const char *v = optval(argc, argv, &i);
            if ((level = log_level_parse(v)) < 0)
                die("--log-level %s: want debug, info, warn or error", v);
        } else {
            die("unknown option %s (see --help)", a);
        }
    }
    parse_pool_mem(pool_mem, pool_n);
    log_init("uigniterd", level);
    if (cfg.state_dir[0] != '/') {
        char cwd[PATH_MAX], rel[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            die("getcwd: %s", strerror(errno));
        snprintf(rel, sizeof rel, "%s", cfg.state_dir);
        if (snprintf(cfg.state_dir, sizeof cfg.state_dir - 64, "%s/%s", cwd, rel) >=
            (int)sizeof cfg.state_dir - 64)
            die("--state-dir: too long");
    }
    size_t sl = strlen(cfg.state_dir);
    while (sl > 1 && cfg.state_dir[sl - 1] == '/')
        cfg.state_dir[--sl] = 0;
    if (!socket_opt)
        snprintf(cfg.socket_path, sizeof cfg.socket_path, "%.*s/uigniterd.sock",
                 (int)sizeof cfg.socket_path - 20, cfg.state_dir);
    else if (strcmp(socket_opt, "none") != 0)
        copy_opt(cfg.socket_path, sizeof cfg.socket_path, "--socket", socket_opt);
    if (cfg.dns[0]) {
        struct in_addr x;
        if (inet_pton(AF_INET, cfg.dns, &x) != 1)
            die("--dns %s: want an IPv4 address", cfg.dns);
    }
    defaults_from_exe();
    if (access(cfg.uvmm, X_OK) < 0)
        die("%s: %s (--uvmm)", cfg.uvmm, strerror(errno));
    if (access(cfg.kernel, R_OK) < 0)
        die("%s: %s (--kernel)", cfg.kernel, strerror(errno));
}

/* Fails the start: to the waiting parent too. */
static void fail_start(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail_start(const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ready_pipe >= 0) {
        ssize_t r = write(ready_pipe, msg, strlen(msg));
        (void)r;
    }
    die("%s", msg);
}

static void make_dirs(void)
{
    char p[PATH_MAX + 16];
    const char *subs[] = {"", "/images", "/vms"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", cfg.state_dir, subs[i]);
        if (mkdir(p, 0750) < 0 && errno != EEXIST)
            fail_start("cannot create %s: %s", p, strerror(errno));
    }
    snprintf(p, sizeof p, "%s/uigniterd.lock", cfg.state_dir);
    int lock = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (lock < 0)
        fail_start("cannot open %s: %s", p, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB) < 0)
        fail_start("another uigniterd uses %s (%s is locked)", cfg.state_dir, p);
    /* The lock fd stays open for the process's life; the pid goes next to it. */
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(lock, 0) < 0 || pwrite(lock, pid, n, 0) != n)
        log_warn("cannot write my pid to %s", p);
    /* Leftovers of an upload cut short by a crash. */
    snprintf(p, sizeof p, "%s/images", cfg.state_dir);
    DIR *d = opendir(p);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (!strncmp(e->d_name, ".upload-", 8) || !strncmp(e->d_name, ".packed-", 8))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
}

/* The daemon holds a few fds per VM and one per API connection: as root it
 * takes at least FD_WANT (within fs.nr_open), as anyone else its hard limit. */
#define FD_WANT 65536
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < FD_WANT) {
        rlim_t want = FD_WANT;
        FILE *f = fopen("/proc/sys/fs/nr_open", "re");
        unsigned long nr_open;
        if (f && fscanf(f, "%lu", &nr_open) == 1 && nr_open < want)
            want = nr_open;
        if (f)
            fclose(f);
        struct rlimit more = {want, want};
        if (want > rl.rlim_max && setrlimit(RLIMIT_NOFILE, &more) == 0)
            return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void on_unix_accept(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)data;
    (void)mask;
    for (int i = 0; i < 64; i++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE)
                log_warn("accept on %s: %s", cfg.socket_path, strerror(errno));
            return;
        }
        http_server_adopt(api, c, "unix"); /* closes c itself when it cannot */
    }
}

static void listen_unix(void)
{
    if (!cfg.socket_path[0])
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", cfg.socket_path);
    unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (unix_fd < 0)
        fail_start("socket: %s", strerror(errno));
    unlink(cfg.socket_path); /* ours: the state directory's lock is held */
    if (bind(unix_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(unix_fd, 511) < 0)
        fail_start("cannot listen on %s: %s", cfg.socket_path, strerror(errno));
    chmod(cfg.socket_path, 0660);
    el_file_add(loop, unix_fd, EL_READABLE, on_unix_accept, NULL);
}

static void on_signal(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)data;
    (void)mask;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (!shutting_down) {
            log_info("signal %d: shutting down", (int)si.ssi_signo);
            shutting_down = true;
            el_stop(loop);
        } else {
            log_info("signal %d again: ending every VM now", (int)si.ssi_signo);
            for (vm *v = vm_list; v; v = v->next)
                vm_stop(v, 0);
        }
    }
}

static void on_tick(el_loop *l, long long id, void *data)
{
    (void)id;
    (void)data;
    vm_sample_cpu();
    el_timer_add(l, 2000, on_tick, NULL);
}

/* Without --foreground: the parent waits on a pipe until the child serves
 * (and exits 0) or fails (and exits 1 with the child's reason). */
static void detach(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid > 0) {
        close(p[1]);
        char msg[600];
        ssize_t n = read(p[0], msg, sizeof msg - 1);
        if (n == 2 && !memcmp(msg, "ok", 2))
            _exit(0);
        _exit(1); /* the child said why on stderr */
    }
    close(p[0]);
    ready_pipe = p[1];
    setsid();
}

static void detach_done(void)
{
    if (ready_pipe < 0)
        return;
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/uigniterd.log", cfg.state_dir);
    int log = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0)
        dup2(null, 0);
    if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
        close(log);
    }
    if (null >= 0)
        close(null);
    ssize_t r = write(ready_pipe, "ok", 2);
    (void)r;
    close(ready_pipe);
    ready_pipe = -1;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (!cfg.foreground)
        detach();
    raise_fd_limit();
    make_dirs();

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    loop = el_create();
    if (!loop)
        fail_start("cannot create the event loop: %s", strerror(errno));
    sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    el_file_add(loop, sig_fd, EL_READABLE, on_signal, NULL);

    char err[512];
    if (cfg.publish_netns[0] && proxy_listen_netns(cfg.publish_netns, err, sizeof err) < 0)
        fail_start("--publish-netns: %s", err);
    netmgr_config nc = {.bridge = cfg.bridge, .subnet = cfg.subnet, .tap_prefix = cfg.tap_prefix};
    net = netmgr_open(&nc, err, sizeof err);
    if (!net)
        fail_start("network: %s", err);

    struct rlimit rl;
    int max_conns = 16384;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (long long)rl.rlim_cur / 2 < max_conns)
        max_conns = (int)(rl.rlim_cur / 2);
    http_server_config hc = {.on_request = api_on_request,
                             .on_headers = api_on_headers,
                             .max_body_bytes = 1 << 20,
                             .max_conns = max_conns};
    if (cfg.listen[0]) {
        char host[NET_ADDR_MAX];
        int port;
        if (net_parse_hostport(cfg.listen, host, sizeof host, &port) < 0)
            fail_start("--listen %s: want ADDR:PORT", cfg.listen);
        api = http_server_create(loop, host, port, &hc);
        if (!api)
            fail_start("cannot listen on %s: %s", cfg.listen, strerror(errno));
    } else {
        api = http_server_create(loop, NULL, 0, &hc);
    }
    if (!api)
        fail_start("cannot create the API server: %s", strerror(errno));
    listen_unix();

    state_recover(net);
    if (pool_start(net) < 0)
        fail_start("cannot start the pool: %s", strerror(errno));
    deploy_load();
    el_timer_add(loop, 2000, on_tick, NULL);
    log_info("serving on %s%s%s; bridge %s, subnet %s, state %s", cfg.listen[0] ? cfg.listen : "",
             cfg.listen[0] && cfg.socket_path[0] ? " and " : "", cfg.socket_path, cfg.bridge,
             cfg.subnet, cfg.state_dir);
    detach_done();

    el_run(loop);

    /* Graceful shutdown: the pool first (no new VMs), then every VM. */
    pool_stop();
    vm_stop_all();
    static char names[4096][IFNAMSIZ];
    int n = netmgr_tap_list(net, names, 4096);
    for (int i = 0; i < n; i++)
        netmgr_tap_delete(net, names[i]);
    for (vm *v = vm_list; v; v = v->next)
        state_save(v);
    http_server_free(api);
    if (unix_fd >= 0) {
        close(unix_fd);
        unlink(cfg.socket_path);
    }
    netmgr_close(net);
    log_info("stopped");
    return 0;
}

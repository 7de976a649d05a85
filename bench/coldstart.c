/* coldstart.c -- the timing driver of bench/coldstart.
 *
 *   coldstart vm SOCK N CONC [--image NAME] [--port P] [--body B] [--timeout S]
 *                            [--ids FILE] [--until-fail]
 *       Starts N VMs of IMAGE (default httpd) with `--port P` (default 80) through
 *       uigniterd's API on the Unix socket SOCK, at most CONC at a time (1: one
 *       after the other; N: all at once). Each one is timed from the moment its
 *       POST /vm/run is sent to the end of the first complete 200 answer to
 *       GET / from ip_address:P (B bytes of body, default 1024). The VMs are left
 *       running; their ids go to FILE. --until-fail stops launching at the first
 *       start that fails (for the largest number of VMs held).
 *   coldstart native HTTPD N CONC BASEPORT [--body B] [--timeout S]
 *       The anchor: the same timing for HTTPD --port BASEPORT+i started as a host
 *       process (posix_spawn) and probed on 127.0.0.1 the same way; their median
 *       RSS and PSS, then SIGTERM to each and wait.
 *   coldstart delete SOCK FILE
 *       DELETE /vm/ID?force=1 for every id in FILE (8 at a time).
 *   coldstart pool SOCK N TIMEOUT_S
 *       Waits until GET /healthz says pool_ready >= N.
 *   coldstart cpu SECONDS DAEMON_PID PID...
 *       Host CPU over SECONDS of the daemon and the PIDs: utime + stime deltas
 *       from /proc/PID/stat (and, finer, the sum over threads of
 *       /proc/PID/task/T/schedstat), as % of one core.
 *   coldstart rss PID...
 *       VmRSS (/proc/PID/status) and Pss (/proc/PID/smaps_rollup) of each PID:
 *       median, sum, min, max.
 *
 * The probe: a fresh non-blocking socket connects every RETRY_US (1 ms) while
 * attempts are refused at once (nothing listens yet). An attempt left
 * unanswered (a guest whose network is not up yet, or a slow one) stays open
 * for ATTEMPT_US, so a late SYN-ACK still counts, and while any is open the
 * next attempt waits twice as long as the last, up to BACKOFF_MAX_US: a SYN
 * lost early is not left to TCP's 1 s retransmit, and a slow guest is not
 * flooded with SYNs it cannot answer in time. A connected socket sends GET / with
 * Connection: close and reads the whole answer; anything but a complete 200 goes
 * back to probing. Everything runs on one thread and one epoll set, so the
 * driver never takes more than one core from what it measures; its own CPU time
 * is printed.
 *
 * Output, for the bench script: "result OK FAIL AVG P50 P99 MAX MIN WALL HITS
 * DRIVER_CPU" (times in µs), "fail I REASON" lines, and for native "rss ..."
 * as the rss command prints it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RETRY_US     1000  /* a fresh connect this often while probing */
#define WINDOW       64    /* unanswered connects kept open per instance, at most */
#define ATTEMPT_US   1000000ULL /* how long one unanswered connect is kept */
#define BACKOFF_MAX_US 50000ULL /* the longest wait between connects */
#define GET_TIMEOUT  10000000ULL /* µs for a connected probe to answer */
#define API_TIMEOUT  120000000ULL
/* epoll tags: instance index << 32 | kind << 24 | fd */
#define K_PROBE      0
#define K_API        1
#define K_GET        2

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "coldstart: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    struct rlimit want = {65536, rl.rlim_max > 65536 ? rl.rlim_max : 65536};
    if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- HTTP answers ---------------------------------------------------------- */

/* The status of a complete answer in b[0..n), or 0 while incomplete, -1 when it
 * is not HTTP. *body and *blen give the body. A body without Content-Length
 * runs to EOF (eof says whether that came). */
static int http_parse(const char *b, size_t n, bool eof, const char **body, size_t *blen)
{
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end)
        return eof || n > 65536 ? -1 : 0;
    if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0)
        return -1;
    int status = atoi(b + 9);
    size_t hlen = (size_t)(end + 4 - b);
    long long clen = -1;
    for (const char *p = b; p < end; p++) {
        if (p[0] == '\n' && !strncasecmp(p + 1, "Content-Length:", 15)) {
            clen = atoll(p + 16);
            break;
        }
    }
    if (clen < 0) {
        if (!eof)
            return 0;
        clen = (long long)(n - hlen);
    }
    if (n - hlen < (size_t)clen)
        return eof ? -1 : 0;
    *body = b + hlen;
    *blen = (size_t)clen;
    return status;
}

/* A JSON string field of a flat answer: "key": "value". */
static bool json_str(const char *j, size_t n, const char *key, char *out, size_t outlen)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = memmem(j, n, pat, strlen(pat));
    if (!p)
        return false;
    p += strlen(pat);
    const char *e = j + n;
    while (p < e && (*p == ' ' || *p == ':'))
        p++;
    if (p >= e || *p != '"')
        return false;
    p++;
    size_t i = 0;
    while (p < e && *p != '"' && i + 1 < outlen)
        out[i++] = *p++;
    out[i] = 0;
    return p < e && *p == '"';
}

static const char *json_raw(const char *j, size_t n, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = memmem(j, n, pat, strlen(pat));
    if (!p)
        return NULL;
    p += strlen(pat);
    while (p < j + n && (*p == ' ' || *p == ':'))
        p++;
    return p < j + n ? p : NULL;
}

/* A blocking request over the Unix socket: the status, the body in *out
 * (malloc'ed, NUL-terminated), or -1. */
static int api_call(const char *sock, const char *method, const char *path, const char *body,
                    char **out, size_t *outlen)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    struct timeval tv = {120, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: uigniterd\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    if (write(fd, req, n) != n) {
        close(fd);
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            b = realloc(b, cap *= 2);
        if (!b)
            die("out of memory");
        ssize_t r = read(fd, b + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += r;
    }
    close(fd);
    b[len] = 0;
    const char *bd;
    size_t bl;
    int st = http_parse(b, len, true, &bd, &bl);
    if (st <= 0) {
        free(b);
        return -1;
    }
    if (out) {
        memmove(b, bd, bl);
        b[bl] = 0;
        *out = b;
        if (outlen)
            *outlen = bl;
    } else {
        free(b);
    }
    return st;
}

/* ---- the timed starts ------------------------------------------------------ */

enum { S_WAIT, S_API, S_PROBE, S_GET, S_DONE, S_FAIL };

typedef struct inst {
    int state;
    uint64_t t0, t1, deadline;
    /* the API request */
    int api_fd;
    char *rbuf;
    size_t rlen, rcap, woff;
    uint64_t api_retry;
    char id[64], ip[48];
    bool pool_hit;
    /* a native process */
    pid_t pid;
    /* the probe */
    struct sockaddr_in addr;
    int pend[WINDOW];        /* open attempts, -1 for a free slot */
    uint64_t pend_t[WINDOW]; /* when each was made */
    int npend;
    uint64_t next_try, backoff;
    int get_fd;
    size_t gwoff;
    uint64_t get_deadline;
    long attempts;
    int last_errno;     /* of the last attempt that failed, for the report */
    char last_get[80];  /* why the last connected attempt did not count */
    char err[200];
} inst;

typedef struct run {
    bool native;
    const char *sock, *image, *httpd;
    int n, conc, port, baseport;
    long body;
    bool until_fail, stop;
    uint64_t timeout_us;
    int ep;
    inst *in;
    char req[512];
    size_t reqlen;
} run;

static uint64_t tag(int idx, int kind, int fd)
{
    return ((uint64_t)idx << 32) | ((uint64_t)kind << 24) | (uint64_t)fd;
}

static void ep_add(run *R, int fd, uint32_t ev, int idx, int kind)
{
    struct epoll_event e = {.events = ev, .data.u64 = tag(idx, kind, fd)};
    if (epoll_ctl(R->ep, EPOLL_CTL_ADD, fd, &e) < 0)
        die("epoll_ctl: %s", strerror(errno));
}

static void ep_mod(run *R, int fd, uint32_t ev, int idx, int kind)
{
    struct epoll_event e = {.events = ev, .data.u64 = tag(idx, kind, fd)};
    if (epoll_ctl(R->ep, EPOLL_CTL_MOD, fd, &e) < 0)
        die("epoll_ctl: %s", strerror(errno));
}

static void close_pend(inst *x)
{
    for (int i = 0; i < WINDOW; i++)
        if (x->pend[i] >= 0) {
            close(x->pend[i]);
            x->pend[i] = -1;
        }
    x->npend = 0;
}

/* Closes the attempt in slot k. */
static void pend_drop(inst *x, int k)
{
    close(x->pend[k]);
    x->pend[k] = -1;
    x->npend--;
}

static void finish(run *R, int i, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void finish(run *R, int i, bool ok, const char *fmt, ...)
{
    inst *x = &R->in[i];
    x->t1 = now_us();
    close_pend(x);
    if (x->get_fd >= 0)
        close(x->get_fd);
    if (x->api_fd >= 0)
        close(x->api_fd);
    x->get_fd = x->api_fd = -1;
    free(x->rbuf);
    x->rbuf = NULL;
    x->rlen = x->rcap = 0;
    x->state = ok ? S_DONE : S_FAIL;
    if (!ok) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err, sizeof x->err, fmt, ap);
        va_end(ap);
        for (char *p = x->err; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        if (R->until_fail)
            R->stop = true;
    }
}

static void start_probe(run *R, int i)
{
    inst *x = &R->in[i];
    (void)R;
    x->state = S_PROBE;
    x->next_try = now_us();
    x->backoff = RETRY_US;
}

static void api_send(run *R, int i)
{
    inst *x = &R->in[i];
    while (x->woff < R->reqlen) {
        ssize_t w = write(x->api_fd, R->req + x->woff, R->reqlen - x->woff);
        if (w < 0) {
            if (errno == EAGAIN)
                return;
            finish(R, i, false, "writing POST /vm/run: %s", strerror(errno));
            return;
        }
        x->woff += w;
    }
    ep_mod(R, x->api_fd, EPOLLIN, i, K_API);
}

static void api_connect(run *R, int i)
{
    inst *x = &R->in[i];
    x->api_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (x->api_fd < 0) {
        finish(R, i, false, "socket: %s", strerror(errno));
        return;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", R->sock);
    if (connect(x->api_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(x->api_fd);
        x->api_fd = -1;
        if (e == EAGAIN) { /* the daemon's backlog is full: again in a moment */
            x->api_retry = now_us() + RETRY_US;
            return;
        }
        finish(R, i, false, "connect %s: %s", R->sock, strerror(e));
        return;
    }
    x->api_retry = 0;
    x->woff = 0;
    ep_add(R, x->api_fd, EPOLLIN | EPOLLOUT, i, K_API);
    api_send(R, i);
}

/* Appends what the non-blocking FD has to x->rbuf; *eof says whether the peer
 * closed. -1 (errno set) on a read error. */
static int read_avail(inst *x, int fd, bool *eof)
{
    *eof = false;
    for (;;) {
        if (x->rlen + 1 >= x->rcap) {
            x->rcap = x->rcap ? 2 * x->rcap : 8192;
            if (!(x->rbuf = realloc(x->rbuf, x->rcap)))
                die("out of memory");
        }
        ssize_t r = read(fd, x->rbuf + x->rlen, x->rcap - x->rlen - 1);
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r < 0)
            return -1;
        if (r == 0) {
            *eof = true;
            return 0;
        }
        x->rlen += r;
    }
}

static void api_read(run *R, int i)
{
    inst *x = &R->in[i];
    bool eof;
    if (read_avail(x, x->api_fd, &eof) < 0) {
        finish(R, i, false, "reading the answer to POST /vm/run: %s", strerror(errno));
        return;
    }
    const char *body;
    size_t blen;
    int st = http_parse(x->rbuf, x->rlen, eof, &body, &blen);
    if (st == 0)
        return;
    if (st < 0) {
        finish(R, i, false, "POST /vm/run: no HTTP answer");
        return;
    }
    json_str(body, blen, "id", x->id, sizeof x->id);
    if (st != 201) {
        finish(R, i, false, "POST /vm/run: %d %.*s", st, (int)(blen > 150 ? 150 : blen), body);
        return;
    }
    const char *ph = json_raw(body, blen, "pool_hit");
    x->pool_hit = ph && !strncmp(ph, "true", 4);
    struct in_addr a;
    if (!json_str(body, blen, "ip_address", x->ip, sizeof x->ip) || inet_pton(AF_INET, x->ip, &a) != 1) {
        finish(R, i, false, "POST /vm/run: 201 without an ip_address");
        return;
    }
    close(x->api_fd);
    x->api_fd = -1;
    free(x->rbuf);
    x->rbuf = NULL;
    x->rlen = x->rcap = 0;
    x->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(R->port), .sin_addr = a};
    start_probe(R, i);
}

static void native_spawn(run *R, int i)
{
    inst *x = &R->in[i];
    char port[16];
    snprintf(port, sizeof port, "%d", R->baseport + i);
    char *argv[] = {(char *)R->httpd, "--port", port, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int e = posix_spawn(&x->pid, R->httpd, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        x->pid = 0;
        finish(R, i, false, "posix_spawn %s: %s", R->httpd, strerror(e));
        return;
    }
    x->addr = (struct sockaddr_in){.sin_family = AF_INET,
                                   .sin_port = htons(R->baseport + i),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    snprintf(x->ip, sizeof x->ip, "127.0.0.1");
    start_probe(R, i);
}

static void launch(run *R, int i)
{
    inst *x = &R->in[i];
    x->t0 = now_us();
    x->deadline = x->t0 + R->timeout_us;
    if (R->native) {
        native_spawn(R, i);
    } else {
        x->state = S_API;
        api_connect(R, i);
    }
}

static void get_start(run *R, int i, int fd)
{
    inst *x = &R->in[i];
    /* This socket won: the other attempts go. */
    for (int k = 0; k < WINDOW; k++)
        if (x->pend[k] == fd) {
            x->pend[k] = -1;
            x->npend--;
        }
    close_pend(x);
    x->state = S_GET;
    x->get_fd = fd;
    x->gwoff = 0;
    x->rlen = 0;
    x->get_deadline = now_us() + GET_TIMEOUT;
    static const char get[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    ssize_t w = write(fd, get, sizeof get - 1);
    if (w != (ssize_t)sizeof get - 1) { /* a fresh socket takes 50 bytes or fails */
        close(fd);
        x->get_fd = -1;
        start_probe(R, i);
        return;
    }
    ep_mod(R, fd, EPOLLIN, i, K_GET);
}

static void get_fail(run *R, int i, const char *why)
{
    inst *x = &R->in[i];
    snprintf(x->last_get, sizeof x->last_get, "%s", why);
    close(x->get_fd);
    x->get_fd = -1;
    start_probe(R, i);
}

static void get_read(run *R, int i)
{
    inst *x = &R->in[i];
    bool eof;
    if (read_avail(x, x->get_fd, &eof) < 0) {
        get_fail(R, i, strerror(errno));
        return;
    }
    const char *body;
    size_t blen;
    int st = http_parse(x->rbuf, x->rlen, eof, &body, &blen);
    if (st == 0)
        return;
    if (st == 200 && (R->body < 0 || (long)blen == R->body)) {
        finish(R, i, true, " ");
        return;
    }
    char why[80];
    snprintf(why, sizeof why, "status %d, %zu bytes of body", st, st > 0 ? blen : 0);
    get_fail(R, i, why);
}

static void probe_try(run *R, int i, uint64_t now)
{
    inst *x = &R->in[i];
    /* Attempts unanswered for ATTEMPT_US give up; the oldest gives way when
       all WINDOW slots are taken. */
    int free_k = -1, oldest = -1;
    for (int k = 0; k < WINDOW; k++) {
        if (x->pend[k] >= 0 && now - x->pend_t[k] >= ATTEMPT_US)
            pend_drop(x, k);
        if (x->pend[k] < 0) {
            if (free_k < 0)
                free_k = k;
        } else if (oldest < 0 || x->pend_t[k] < x->pend_t[oldest]) {
            oldest = k;
        }
    }
    if (free_k < 0) {
        pend_drop(x, oldest);
        free_k = oldest;
    }
    x->attempts++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        finish(R, i, false, "socket: %s", strerror(errno));
        return;
    }
    int r = connect(fd, (struct sockaddr *)&x->addr, sizeof x->addr);
    if (r == 0) {
        ep_add(R, fd, EPOLLIN, i, K_GET);
        get_start(R, i, fd);
        return;
    }
    if (errno != EINPROGRESS) { /* refused at once (loopback), unreachable: again soon */
        x->last_errno = errno;
        close(fd);
        x->next_try = now + (x->npend ? x->backoff : RETRY_US);
        return;
    }
    x->pend[free_k] = fd;
    x->pend_t[free_k] = now;
    x->npend++;
    ep_add(R, fd, EPOLLOUT, i, K_PROBE);
    /* Attempts are open: the next one waits longer than the last did. */
    x->next_try = now + x->backoff;
    x->backoff = x->backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : x->backoff * 2;
}

static void probe_event(run *R, int i, int fd, uint32_t events)
{
    inst *x = &R->in[i];
    int slot = -1;
    for (int k = 0; k < WINDOW; k++)
        if (x->pend[k] == fd)
            slot = k;
    if (slot < 0)
        return; /* closed earlier in this round */
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
        e = errno;
    if (e == 0 && (events & EPOLLOUT) && !(events & (EPOLLERR | EPOLLHUP))) {
        get_start(R, i, fd);
        return;
    }
    if (e == 0)
        return; /* not decided yet */
    x->last_errno = e;
    /* Refused (not listening yet) or unreachable: this attempt is over, and
       the guest answers, so the next one goes at once. */
    pend_drop(x, slot);
    x->backoff = RETRY_US;
    uint64_t soon = now_us() + RETRY_US;
    if (x->next_try > soon)
        x->next_try = soon;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *s, int n, double p)
{
    int k = (int)ceil(p / 100.0 * n) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return s[k];
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void rss_report(const char *tag, const pid_t *pids, int n);

/* What the daemon knows of a VM that did not answer, for the driver's stderr:
   its record and the end of its console. */
static void vm_diag(const char *sock, const char *id)
{
    char path[128], *out = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "/vm/%s", id);
    int st = api_call(sock, "GET", path, NULL, &out, &len);
    fprintf(stderr, "vm %s: GET %s: %d %s\n", id, path, st, out ? out : "");
    free(out);
    out = NULL;
    snprintf(path, sizeof path, "/vm/%s/logs", id);
    st = api_call(sock, "GET", path, NULL, &out, &len);
    fprintf(stderr, "vm %s: GET %s: %d, the last of %zu bytes:\n%s\n", id, path, st, len,
            out ? out + (len > 2048 ? len - 2048 : 0) : "");
    free(out);
}

static int run_starts(run *R, const char *idsfile)
{
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    R->ep = epoll_create1(EPOLL_CLOEXEC);
    R->in = calloc(R->n, sizeof *R->in);
    if (R->ep < 0 || !R->in)
        die("epoll or memory: %s", strerror(errno));
    for (int i = 0; i < R->n; i++) {
        inst *x = &R->in[i];
        x->api_fd = x->get_fd = -1;
        for (int k = 0; k < WINDOW; k++)
            x->pend[k] = -1;
    }
    if (!R->native) {
        char body[256];
        int bl = snprintf(body, sizeof body, "{\"image\":\"%s\",\"args\":[\"--port\",\"%d\"]}",
                          R->image, R->port);
        R->reqlen = snprintf(R->req, sizeof R->req,
                             "POST /vm/run HTTP/1.1\r\nHost: uigniterd\r\nConnection: close\r\n"
                             "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                             bl, body);
    }
    int *active = calloc(R->n, sizeof *active), nactive = 0, next = 0;
    double cpu0 = cpu_s();
    uint64_t wall0 = now_us();
    struct epoll_event evs[512];
    for (;;) {
        /* Launch up to CONC; natively each spawn is followed by a look at the
           events, so that a long series of spawns does not delay the probes of
           the processes already started. */
        bool launched = false;
        while (!R->stop && next < R->n && nactive < R->conc) {
            active[nactive++] = next;
            launch(R, next++);
            launched = true;
            if (R->native)
                break;
        }
        if (nactive == 0 && (next == R->n || R->stop))
            break;
        uint64_t now = now_us(), due = now + 100000;
        for (int k = 0; k < nactive; k++) {
            inst *x = &R->in[active[k]];
            if (x->state == S_PROBE && x->next_try < due)
                due = x->next_try;
            if (x->state == S_API && x->api_fd < 0 && x->api_retry && x->api_retry < due)
                due = x->api_retry;
            if (x->deadline < due)
                due = x->deadline;
        }
        if (launched && R->native && next < R->n && nactive < R->conc)
            due = now;
        struct timespec ts = {0, 0};
        if (due > now) {
            ts.tv_sec = (due - now) / 1000000;
            ts.tv_nsec = (long)((due - now) % 1000000) * 1000;
        }
        int ne = epoll_pwait2(R->ep, evs, 512, &ts, NULL);
        if (ne < 0 && errno == ENOSYS) {
            int ms = due > now ? (int)((due - now + 999) / 1000) : 0;
            ne = epoll_wait(R->ep, evs, 512, ms);
        }
        if (ne < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int k = 0; k < ne; k++) {
            uint64_t t = evs[k].data.u64;
            int i = (int)(t >> 32), kind = (int)((t >> 24) & 0xff), fd = (int)(t & 0xffffff);
            inst *x = &R->in[i];
            if (kind == K_API && x->state == S_API && x->api_fd == fd) {
                if (evs[k].events & EPOLLOUT && x->woff < R->reqlen)
                    api_send(R, i);
                if (x->state == S_API && x->api_fd >= 0 && (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    api_read(R, i);
            } else if (kind == K_GET && x->state == S_GET && x->get_fd == fd) {
                get_read(R, i);
            } else if (kind == K_PROBE && x->state == S_PROBE) {
                probe_event(R, i, fd, evs[k].events);
            }
        }
        now = now_us();
        for (int k = 0; k < nactive; k++) {
            int i = active[k];
            inst *x = &R->in[i];
            if (x->state == S_API && x->api_fd < 0 && x->api_retry && x->api_retry <= now)
                api_connect(R, i);
            if (x->state == S_PROBE && x->next_try <= now)
                probe_try(R, i, now);
            if (x->state == S_GET && x->get_deadline <= now)
                get_fail(R, i, "no answer to GET / in time");
            if ((x->state == S_API || x->state == S_PROBE || x->state == S_GET) && x->deadline <= now)
                finish(R, i, false, "%s: no answer after %.0f s (%ld connects to %s:%d, the last error: %s; the last GET: %s)",
                       x->state == S_API ? "POST /vm/run" : "probe", R->timeout_us / 1e6,
                       x->attempts, x->ip, ntohs(x->addr.sin_port),
                       x->last_errno ? strerror(x->last_errno) : "none",
                       x->last_get[0] ? x->last_get : "none");
        }
        for (int k = 0; k < nactive;) {
            int st = R->in[active[k]].state;
            if (st == S_DONE || st == S_FAIL)
                active[k] = active[--nactive];
            else
                k++;
        }
    }
    uint64_t wall = now_us() - wall0;
    double cpu = cpu_s() - cpu0;

    uint64_t *t = calloc(R->n, sizeof *t);
    int ok = 0, failed = 0, hits = 0;
    double sum = 0;
    long attempts = 0;
    for (int i = 0; i < next; i++) {
        inst *x = &R->in[i];
        if (x->state == S_DONE) {
            t[ok++] = x->t1 - x->t0;
            sum += (double)(x->t1 - x->t0);
            hits += x->pool_hit;
            attempts += x->attempts;
        } else {
            failed++;
            printf("fail %d %s\n", i, x->err);
            if (!R->native && x->id[0])
                vm_diag(R->sock, x->id);
        }
    }
    /* Every sample, in start order, for the distribution plot. */
    for (int i = 0; i < next; i++)
        if (R->in[i].state == S_DONE)
            printf("sample %llu\n", (unsigned long long)(R->in[i].t1 - R->in[i].t0));
    qsort(t, ok, sizeof *t, cmp_u64);
    if (ok)
        printf("result %d %d %.0f %llu %llu %llu %llu %llu %d %.0f %.1f\n", ok, failed, sum / ok,
               (unsigned long long)pct(t, ok, 50), (unsigned long long)pct(t, ok, 99),
               (unsigned long long)t[ok - 1], (unsigned long long)t[0], (unsigned long long)wall,
               hits, cpu * 1e6, (double)attempts / ok);
    else
        printf("result 0 %d 0 0 0 0 0 %llu 0 %.0f 0\n", failed, (unsigned long long)wall, cpu * 1e6);
    if (idsfile) {
        FILE *f = fopen(idsfile, "w");
        if (!f)
            die("%s: %s", idsfile, strerror(errno));
        for (int i = 0; i < next; i++)
            if (R->in[i].id[0])
                fprintf(f, "%s %s\n", R->in[i].id, R->in[i].ip);
        fclose(f);
    }
    if (R->native) {
        pid_t *pids = calloc(R->n, sizeof *pids);
        int np = 0;
        for (int i = 0; i < next; i++)
            if (R->in[i].pid > 0)
                pids[np++] = R->in[i].pid;
        rss_report("rss", pids, np);
        for (int i = 0; i < np; i++)
            kill(pids[i], SIGTERM);
        for (int i = 0; i < np; i++)
            while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
                ;
        free(pids);
    }
    fflush(stdout);
    free(t);
    free(active);
    return ok > 0 || R->n == 0 ? 0 : 1;
}

/* ---- delete, pool ---------------------------------------------------------- */

typedef struct del_job {
    const char *sock;
    char (*ids)[64];
    int n, next, failed;
    pthread_mutex_t mu;
} del_job;

static void *del_worker(void *arg)
{
    del_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next < j->n ? j->next++ : -1;
        pthread_mutex_unlock(&j->mu);
        if (i < 0)
            return NULL;
        char path[128];
        snprintf(path, sizeof path, "/vm/%s?force=1", j->ids[i]);
        int st = api_call(j->sock, "DELETE", path, NULL, NULL, NULL);
        if (st != 204 && st != 404) {
            pthread_mutex_lock(&j->mu);
            j->failed++;
            fprintf(stderr, "coldstart: DELETE /vm/%s: %d\n", j->ids[i], st);
            pthread_mutex_unlock(&j->mu);
        }
    }
}

static int cmd_delete(const char *sock, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0; /* nothing was started */
    del_job j = {.sock = sock};
    pthread_mutex_init(&j.mu, NULL);
    int cap = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char id[64];
        if (sscanf(line, "%63s", id) != 1)
            continue;
        if (j.n == cap && !(j.ids = realloc(j.ids, (cap = cap ? 2 * cap : 256) * sizeof *j.ids)))
            die("out of memory");
        snprintf(j.ids[j.n++], 64, "%s", id);
    }
    fclose(f);
    pthread_t th[8];
    int nt = j.n < 8 ? j.n : 8;
    for (int i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, del_worker, &j);
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    printf("deleted %d of %d\n", j.n - j.failed, j.n);
    free(j.ids);
    return j.failed ? 1 : 0;
}

static int cmd_pool(const char *sock, int want, int timeout_s)
{
    uint64_t end = now_us() + (uint64_t)timeout_s * 1000000u;
    int last = -1;
    for (;;) {
        char *b = NULL;
        size_t bl = 0;
        int st = api_call(sock, "GET", "/healthz", NULL, &b, &bl);
        int ready = -1;
        if (st == 200) {
            const char *p = json_raw(b, bl, "pool_ready");
            if (p)
                ready = atoi(p);
        }
        free(b);
        if (ready >= want) {
            printf("pool_ready %d\n", ready);
            return 0;
        }
        if (now_us() > end) {
            printf("pool_ready %d\n", ready);
            fprintf(stderr, "coldstart: pool_ready %d after %d s, want %d\n", ready, timeout_s, want);
            return 1;
        }
        if (ready != last && ready >= 0 && ready % 25 == 0)
            fprintf(stderr, "  pool_ready %d/%d\n", ready, want);
        last = ready;
        usleep(200000);
    }
}

/* ---- cpu, rss -------------------------------------------------------------- */

static bool read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    return true;
}

/* utime + stime (clock ticks) of the whole process, from /proc/PID/stat. */
static long long stat_ticks(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!read_file(path, line, sizeof line))
        return -1;
    char *p = strrchr(line, ')');
    for (int f = 3; f < 14 && p; f++) /* p ends just before field 3 */
        p = strchr(p + 1, ' ');
    if (!p)
        return -1;
    char *end;
    long long ut = strtoll(p + 1, &end, 10);
    return ut + strtoll(end, NULL, 10);
}

/* CPU time in ns of every thread of PID, from /proc/PID/task/T/schedstat. */
static long long sched_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long long sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320], line[256];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        if (read_file(p, line, sizeof line))
            sum += strtoll(line, NULL, 10);
    }
    closedir(d);
    return sum;
}

static int cmd_cpu(double secs, int npids, char **pidv)
{
    pid_t *pids = calloc(npids, sizeof *pids);
    long long *t0 = calloc(npids, sizeof *t0), *s0 = calloc(npids, sizeof *s0);
    for (int i = 0; i < npids; i++) {
        pids[i] = atoi(pidv[i]);
        t0[i] = stat_ticks(pids[i]);
        s0[i] = sched_ns(pids[i]);
    }
    uint64_t w0 = now_us();
    struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    double wall = (now_us() - w0) / 1e6;
    long hz = sysconf(_SC_CLK_TCK);
    long long dt_all = 0, ds_all = 0, dt_d = 0, ds_d = 0;
    int gone = 0;
    for (int i = 0; i < npids; i++) {
        long long t = stat_ticks(pids[i]), s = sched_ns(pids[i]);
        if (t < 0 || t0[i] < 0 || s < 0 || s0[i] < 0) {
            gone++;
            continue;
        }
        dt_all += t - t0[i];
        ds_all += s - s0[i];
        if (i == 0) {
            dt_d = t - t0[i];
            ds_d = s - s0[i];
        }
    }
    /* cpu PIDS GONE WALL_S STAT_%ALL STAT_%DAEMON SCHED_%ALL SCHED_%DAEMON */
    printf("cpu %d %d %.3f %.4f %.4f %.4f %.4f\n", npids, gone, wall,
           (double)dt_all / hz / wall * 100, (double)dt_d / hz / wall * 100,
           (double)ds_all / 1e9 / wall * 100, (double)ds_d / 1e9 / wall * 100);
    return 0;
}

static long kib_field(const char *path, const char *key)
{
    char buf[8192];
    if (!read_file(path, buf, sizeof buf))
        return -1;
    size_t kl = strlen(key);
    for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, key, kl))
            return atol(p + kl);
    return -1;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static void rss_report(const char *tag, const pid_t *pids, int n)
{
    long *rss = calloc(n + 1, sizeof *rss), *pss = calloc(n + 1, sizeof *pss);
    int k = 0;
    long srss = 0, spss = 0;
    for (int i = 0; i < n; i++) {
        char p[64], q[64];
        snprintf(p, sizeof p, "/proc/%d/status", (int)pids[i]);
        snprintf(q, sizeof q, "/proc/%d/smaps_rollup", (int)pids[i]);
        long r = kib_field(p, "VmRSS:"), s = kib_field(q, "Pss:");
        if (r < 0 || s < 0)
            continue;
        rss[k] = r;
        pss[k] = s;
        srss += r;
        spss += s;
        k++;
    }
    qsort(rss, k, sizeof *rss, cmp_long);
    qsort(pss, k, sizeof *pss, cmp_long);
    /* TAG N MEDIAN_RSS MEDIAN_PSS SUM_RSS SUM_PSS MIN_RSS MAX_RSS (KiB) */
    if (k)
        printf("%s %d %ld %ld %ld %ld %ld %ld\n", tag, k, rss[(k - 1) / 2], pss[(k - 1) / 2], srss,
               spss, rss[0], rss[k - 1]);
    else
        printf("%s 0 0 0 0 0 0 0\n", tag);
    free(rss);
    free(pss);
}

static int cmd_rss(int n, char **pidv)
{
    pid_t *pids = calloc(n + 1, sizeof *pids);
    for (int i = 0; i < n; i++)
        pids[i] = atoi(pidv[i]);
    rss_report("rss", pids, n);
    free(pids);
    return 0;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
            "usage: coldstart vm SOCK N CONC [--image NAME] [--port P] [--body B] [--timeout S]\n"
            "                    [--ids FILE] [--until-fail]\n"
            "       coldstart native HTTPD N CONC BASEPORT [--body B] [--timeout S]\n"
            "       coldstart delete SOCK FILE\n"
            "       coldstart pool SOCK N TIMEOUT_S\n"
            "       coldstart cpu SECONDS DAEMON_PID [PID...]\n"
            "       coldstart rss PID...\n");
    exit(2);
}

static int num(const char *s, int min)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > 10000000)
        usage();
    return (int)v;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "vm") || !strcmp(cmd, "native")) {
        bool native = !strcmp(cmd, "native");
        if (argc < (native ? 6 : 5))
            usage();
        run R = {.native = native, .image = "httpd", .port = 80, .body = 1024,
                 .timeout_us = 120000000ULL};
        const char *ids = NULL;
        int a = 2;
        if (native)
            R.httpd = argv[a++];
        else
            R.sock = argv[a++];
        R.n = num(argv[a++], 0);
        R.conc = num(argv[a++], 1);
        if (native)
            R.baseport = num(argv[a++], 1);
        for (; a < argc; a++) {
            if (!strcmp(argv[a], "--until-fail"))
                R.until_fail = true;
            else if (a + 1 >= argc)
                usage();
            else if (!strcmp(argv[a], "--image"))
                R.image = argv[++a];
            else if (!strcmp(argv[a], "--port"))
                R.port = num(argv[++a], 1);
            else if (!strcmp(argv[a], "--body"))
                R.body = num(argv[++a], -1);
            else if (!strcmp(argv[a], "--timeout"))
                R.timeout_us = (uint64_t)num(argv[++a], 1) * 1000000u;
            else if (!strcmp(argv[a], "--ids"))
                ids = argv[++a];
            else
                usage();
        }
        if (native && R.baseport + R.n > 65535)
            die("ports %d..%d do not fit", R.baseport, R.baseport + R.n - 1);
        return run_starts(&R, ids);
    }
    if (!strcmp(cmd, "delete") && argc == 4)
        return cmd_delete(argv[2], argv[3]);
    if (!strcmp(cmd, "pool") && argc == 5)
        return cmd_pool(argv[2], num(argv[3], 0), num(argv[4], 1));
    if (!strcmp(cmd, "cpu") && argc >= 4)
        return cmd_cpu(atof(argv[2]), argc - 3, argv + 3);
    if (!strcmp(cmd, "rss") && argc >= 2)
        return cmd_rss(argc - 2, argv + 2);
    usage();
}

/* dtool.c -- load and abuse for uigniterd, for tests/daemon/run.sh and bench/coldstart.
 *
 *   dtool cycles [-j P] SOCK N IMAGE [ARG...]
 *       N times: POST /vm/run {image, args} (wait for running), POST /vm/ID/stop,
 *       DELETE /vm/ID, over the Unix socket SOCK; with -j, P clients at once share
 *       the N cycles (so pool hand-outs, cold starts and refills overlap). Prints
 *       "cycles: N ok" or each client's first failure. Exit 0 when every step of
 *       every cycle answered as it should.
 *   dtool conns ADDR PORT N
 *       Opens N TCP connections to the API at once, each with half a request sent,
 *       checks that a further connection still gets GET /healthz answered, then
 *       finishes the N requests and counts "200" answers. Exit 0 when all N did.
 *   dtool slow ADDR PORT SECONDS
 *       Sends a request one byte every second and reports what the daemon does
 *       before SECONDS pass: "closed after S s" (status line, if any, included).
 *   dtool raw ADDR PORT
 *       Sends stdin as is on one connection and prints the whole answer
 *       (for malformed requests that curl will not send).
 *
 * Plain blocking sockets and HTTP/1.1 with Connection: close: the point is to be
 * independent of the daemon's own HTTP code.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dtool: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static int connect_tcp(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        die("bad address %s", addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        die("socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect %s: %s", path, strerror(errno));
    return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write: %s", w < 0 ? strerror(errno) : "short");
        p += w;
        n -= (size_t)w;
    }
}

/* Reads until EOF; returns the answer (malloc'd, NUL-terminated). */
static char *read_all(int fd, size_t *lenp)
{
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    if (!b)
        die("out of memory");
    for (;;) {
        if (len + 1 == cap && !(b = realloc(b, cap *= 2)))
            die("out of memory");
        ssize_t r = read(fd, b + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == ECONNRESET)
            break;
        if (r < 0)
            die("read: %s", strerror(errno));
        if (r == 0)
            break;
        len += (size_t)r;
    }
    b[len] = 0;
    if (lenp)
        *lenp = len;
    return b;
}

static int status_of(const char *resp)
{
    int st = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
        return 0;
    return st;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* One request over the Unix socket; returns the status, the answer in *out. */
static int unix_call(const char *sock, const char *method, const char *path, const char *body,
                     char **out)
{
    int fd = connect_unix(sock);
    char head[1024];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: uigniterd\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, blen);
    write_all(fd, head, (size_t)n);
    if (blen)
        write_all(fd, body, blen);
    char *r = read_all(fd, NULL);
    close(fd);
    *out = r;
    return status_of(r);
}

/* The value of "key": "VALUE" in a flat JSON answer (good enough for ids). */
static int json_str(const char *json, const char *key, char *out, size_t outlen)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < outlen)
        out[i++] = *p++;
    out[i] = 0;
    return 0;
}

/* One client's share of the cycles: 0 when all went as they should. */
static int cycles_run(const char *sock, long n, const char *body)
{
    for (long i = 0; i < n; i++) {
        char *r, id[80], path[160];
        int st = unix_call(sock, "POST", "/vm/run", body, &r);
        if (st != 201 || json_str(body_of(r), "id", id, sizeof id) < 0) {
            printf("cycle %ld: POST /vm/run answered %d: %.300s\n", i, st, body_of(r));
            return 1;
        }
        free(r);
        snprintf(path, sizeof path, "/vm/%s/stop?timeout=5", id);
        if ((st = unix_call(sock, "POST", path, NULL, &r)) != 200) {
            printf("cycle %ld: POST %s answered %d: %.300s\n", i, path, st, body_of(r));
            return 1;
        }
        free(r);
        snprintf(path, sizeof path, "/vm/%s", id);
        if ((st = unix_call(sock, "DELETE", path, NULL, &r)) != 204) {
            printf("cycle %ld: DELETE %s answered %d: %.300s\n", i, path, st, body_of(r));
            return 1;
        }
        free(r);
    }
    return 0;
}

static int cmd_cycles(int argc, char **argv)
{
    long par = 1;
    if (argc > 2 && !strcmp(argv[1], "-j")) {
        par = atol(argv[2]);
        argc -= 2;
        argv += 2;
    }
    if (argc < 4 || par < 1 || par > 256)
        die("usage: dtool cycles [-j P] SOCK N IMAGE [ARG...]");
    const char *sock = argv[1];
    long n = atol(argv[2]);
    char body[2048];
    size_t o = (size_t)snprintf(body, sizeof body, "{\"image\":\"%s\",\"args\":[", argv[3]);
    for (int i = 4; i < argc; i++)
        o += (size_t)snprintf(body + o, sizeof body - o, "%s\"%s\"", i > 4 ? "," : "", argv[i]);
    snprintf(body + o, sizeof body - o, "]}");
    fflush(stdout);
    int bad = 0;
    for (long c = 0; c < par; c++) {
        long share = n / par + (c < n % par);
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            int rc = cycles_run(sock, share, body);
            fflush(stdout);
            _exit(rc);
        }
    }
    for (long c = 0; c < par; c++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
    }
    if (bad)
        return 1;
    printf("cycles: %ld ok\n", n);
    return 0;
}

static int cmd_conns(int argc, char **argv)
{
    if (argc != 4)
        die("usage: dtool conns ADDR PORT N");
    const char *addr = argv[1];
    int port = atoi(argv[2]), n = atoi(argv[3]);
    struct rlimit rl = {.rlim_cur = (rlim_t)n + 64, .rlim_max = (rlim_t)n + 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("RLIMIT_NOFILE %d: %s", n + 64, strerror(errno));
    int *fds = calloc((size_t)n, sizeof *fds);
    if (!fds)
        die("out of memory");
    static const char half[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    static const char rest[] = "Connection: close\r\n\r\n";
    for (int i = 0; i < n; i++) {
        fds[i] = connect_tcp(addr, port);
        if (fds[i] < 0) {
            printf("connection %d of %d: %s\n", i + 1, n, strerror(errno));
            return 1;
        }
        write_all(fds[i], half, sizeof half - 1);
    }
    /* All N are open and waiting: someone else must still be served. */
    int fd = connect_tcp(addr, port);
    if (fd < 0) {
        printf("with %d open: connect: %s\n", n, strerror(errno));
        return 1;
    }
    write_all(fd, half, sizeof half - 1);
    write_all(fd, rest, sizeof rest - 1);
    char *r = read_all(fd, NULL);
    close(fd);
    if (status_of(r) != 200) {
        printf("with %d open: GET /healthz answered %.100s\n", n, r);
        return 1;
    }
    free(r);
    for (int i = 0; i < n; i++)
        write_all(fds[i], rest, sizeof rest - 1);
    int good = 0;
    for (int i = 0; i < n; i++) {
        r = read_all(fds[i], NULL);
        good += status_of(r) == 200;
        free(r);
        close(fds[i]);
    }
    printf("conns: %d of %d answered 200\n", good, n);
    free(fds);
    return good == n ? 0 : 1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmd_slow(int argc, char **argv)
{
    if (argc != 4)
        die("usage: dtool slow ADDR PORT SECONDS");
    int fd = connect_tcp(argv[1], atoi(argv[2]));
    if (fd < 0)
        die("connect: %s", strerror(errno));
    int secs = atoi(argv[3]);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    double t0 = now_s();
    for (size_t i = 0; i < sizeof req - 1 && now_s() - t0 < secs; i++) {
        if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) > 0)
            break;
    }
    char buf[512] = "";
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t r = 0;
    int left_ms = (int)((secs - (now_s() - t0)) * 1000);
    if (poll(&p, 1, left_ms > 0 ? left_ms : 0) > 0)
        r = read(fd, buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    char *eol = strstr(buf, "\r\n");
    if (eol)
        *eol = 0;
    if (r > 0 || (r == 0 && p.revents))
        printf("closed after %.0f s: %s\n", now_s() - t0, buf[0] ? buf : "(no answer)");
    else
        printf("still open after %.0f s\n", now_s() - t0);
    close(fd);
    return 0;
}

static int cmd_raw(int argc, char **argv)
{
    if (argc != 3)
        die("usage: dtool raw ADDR PORT < REQUEST");
    int fd = connect_tcp(argv[1], atoi(argv[2]));
    if (fd < 0)
        die("connect: %s", strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0)
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    shutdown(fd, SHUT_WR);
    size_t len;
    char *r = read_all(fd, &len);
    fwrite(r, 1, len, stdout);
    free(r);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: dtool cycles|conns|slow|raw ...");
    if (!strcmp(argv[1], "cycles"))
        return cmd_cycles(argc - 1, argv + 1);
    if (!strcmp(argv[1], "conns"))
        return cmd_conns(argc - 1, argv + 1);
    if (!strcmp(argv[1], "slow"))
        return cmd_slow(argc - 1, argv + 1);
    if (!strcmp(argv[1], "raw"))
        return cmd_raw(argc - 1, argv + 1);
    die("unknown command %s", argv[1]);
}

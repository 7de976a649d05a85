/*
 * httpd — a small single-threaded epoll HTTP/1.1 server: keep-alive, pipelining,
 * GET and HEAD, static files under a root directory. Runs the same natively and as
 * a unikernel; the network tests and bench/net use it.
 *
 *   httpd [--port P] [--root DIR] [--body N]
 *
 * GET /            N bytes of 'x' (default 1024): the benchmark's response
 * GET /bytes/K     K bytes of 'x'
 * GET /PATH        the file DIR/PATH (no "..")
 * Prints "httpd: listening on port P" once it accepts connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define INBUF 16384

struct conn {
    int fd;
    char in[INBUF];
    size_t inlen;
    char *out;
    size_t outlen, outoff, outcap;
    int close_after;
};

static const char *root = "/www";
static char *body;
static size_t body_len = 1024;
static int ep;

static void out_add(struct conn *c, const void *p, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + n)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o) {
            c->close_after = 1;
            return;
        }
        c->out = o;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

static void respond(struct conn *c, int status, const char *reason, const char *data, size_t len,
                    int head)
{
    char h[256];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nServer: uigniter-httpd\r\nContent-Length: %zu\r\n"
                     "Content-Type: application/octet-stream\r\n%s\r\n",
                     status, reason, len, c->close_after ? "Connection: close\r\n" : "");
    out_add(c, h, n);
    if (!head && len)
        out_add(c, data, len);
}

static void serve_file(struct conn *c, const char *path, int head)
{
    if (strstr(path, "..")) {
        respond(c, 403, "Forbidden", "forbidden\n", 10, head);
        return;
    }
    char full[1024];
    snprintf(full, sizeof full, "%s%s", root, path);
    int fd = open(full, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        respond(c, 404, "Not Found", "not found\n", 10, head);
        return;
    }
    char *data = malloc(st.st_size ? st.st_size : 1);
    size_t got = 0;
    while (data && got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, st.st_size - got);
        if (r <= 0)
            break;
        got += r;
    }
    close(fd);
    if (!data || got != (size_t)st.st_size)
        respond(c, 500, "Internal Server Error", "read error\n", 11, head);
    else
        respond(c, 200, "OK", data, got, head);
    free(data);
}

/* Handles every complete request in the buffer; -1 on a malformed one. */
static int handle(struct conn *c)
{
    for (;;) {
        char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
        if (!end)
            return c->inlen == INBUF ? -1 : 0;
        size_t hlen = end + 4 - c->in;
        *end = 0;
        char method[8], path[512], version[16];
        if (sscanf(c->in, "%7s %511s %15s", method, path, version) != 3)
            return -1;
        int head = !strcmp(method, "HEAD");
        c->close_after = strcmp(version, "HTTP/1.1") != 0;
        for (char *line = strstr(c->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
            if (!strncasecmp(line + 2, "Connection:", 11)) {
                const char *v = line + 13;
                while (*v == ' ')
                    v++;
                if (!strncasecmp(v, "close", 5))
                    c->close_after = 1;
                else if (!strncasecmp(v, "keep-alive", 10))
                    c->close_after = 0;
            }
        }
        if (strcmp(method, "GET") && !head)
            respond(c, 405, "Method Not Allowed", "GET or HEAD\n", 12, 0);
        else if (!strcmp(path, "/"))
            respond(c, 200, "OK", body, body_len, head);
        else if (!strncmp(path, "/bytes/", 7)) {
            size_t k = strtoul(path + 7, NULL, 10);
            if (k > (64u << 20)) {
                respond(c, 413, "Too Large", "at most 64 MiB\n", 15, head);
            } else {
                char *d = malloc(k ? k : 1);
                if (d) {
                    memset(d, 'x', k);
                    respond(c, 200, "OK", d, k, head);
                    free(d);
                }
            }
        } else
            serve_file(c, path, head);
        memmove(c->in, c->in + hlen, c->inlen - hlen);
        c->inlen -= hlen;
        if (c->close_after)
            return 0;
    }
}

static void drop(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Reads, answers and writes what it can; returns 1 when the connection is done. */
static int pump(struct conn *c)
{
    for (;;) {
        while (c->outoff < c->outlen) {
            ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
            if (w < 0)
                return errno == EAGAIN ? 0 : 1;
            c->outoff += w;
        }
        c->outoff = c->outlen = 0;
        if (c->close_after)
            return 1;
        ssize_t r = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
        if (r == 0)
            return 1;
        if (r < 0)
            return errno == EAGAIN ? 0 : 1;
        c->inlen += r;
        if (handle(c) < 0) {
            c->close_after = 1;
            respond(c, 400, "Bad Request", "bad request\n", 12, 0);
        }
    }
}

int main(int argc, char **argv)
{
    int port = 80;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--root"))
            root = argv[i + 1];
        else if (!strcmp(argv[i], "--body"))
            body_len = strtoul(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: httpd [--port P] [--root DIR] [--body N]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    body = malloc(body_len ? body_len : 1);
    memset(body, 'x', body_len);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0) {
        perror("httpd");
        return 1;
    }
    ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
    printf("httpd: listening on port %d\n", port);
    fflush(stdout);
    for (;;) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                    if (pump(c))
                        drop(c);
                }
            } else if (pump(c)) {
                drop(c);
            }
        }
    }
}

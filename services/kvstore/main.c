/* main.c -- kvstore's process: flags, the listening socket, connections.
 *
 * Each connection reads what the socket has, runs every complete command
 * (proto.c) and writes all replies with one write(2). When a client does not
 * read its replies, the connection stops reading until they drain, so memory
 * per connection stays bounded. The store clock is read when commands arrive;
 * a timer once a second runs a delayed flush_all and lets the crawler free
 * expired items a few thousand buckets at a time (an idle registry wakes once
 * a second, as memcached's clock does).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "el.h"
#include "kvstore.h"
#include "log.h"
#include "net.h"

#define READ_CHUNK (64 * 1024)
#define OUT_HIGH   (4 * 1024 * 1024)

typedef struct client {
    int fd;
    buf in, out;
    kv_conn proto;
} client;

#define CRAWL_MS 1000
#define CRAWL_BUCKETS 2560

static kv_store store;
static el_loop *loop;

static void usage(FILE *f)
{
    fprintf(f, "usage: kvstore [--listen HOST:PORT] [--registry HOST:PORT] [--memory MIB]\n"
               "               [--max-item BYTES] [--log-level LEVEL]\n"
               "A key-value store speaking the memcached text protocol; the service registry.\n"
               "  --listen HOST:PORT    where to listen (default 0.0.0.0:11211)\n"
               "  --registry HOST:PORT  accepted for symmetry with the other services; unused\n"
               "  --memory MIB          memory for items before LRU eviction (default 64)\n"
               "  --max-item BYTES      largest value (default 1048576)\n"
               "  --log-level LEVEL     debug, info, warn, error (default info)\n");
}

static void client_free(client *c)
{
    el_file_del(loop, c->fd, EL_READABLE | EL_WRITABLE);
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
    store.stats.curr_connections--;
}

static void client_on_event(el_loop *l, int fd, void *data, int mask);

/* Writes what is queued; returns -1 when the client is gone (and freed). */
static int client_flush(client *c)
{
    while (buf_used(&c->out) > 0) {
        ssize_t n = write(c->fd, buf_peek(&c->out), buf_used(&c->out));
        if (n > 0) {
            store.stats.bytes_written += (uint64_t)n;
            buf_consume(&c->out, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            client_free(c);
            return -1;
        }
    }
    if (buf_used(&c->out) == 0 && c->proto.close) {
        client_free(c);
        return -1;
    }
    int want = buf_used(&c->out) ? EL_WRITABLE : 0;
    if (buf_used(&c->out) < OUT_HIGH && !c->proto.close)
        want |= EL_READABLE;
    int have = el_file_mask(loop, c->fd);
    if (have & ~want)
        el_file_del(loop, c->fd, have & ~want);
    if (want & ~have)
        el_file_add(loop, c->fd, want & ~have, client_on_event, c);
    return 0;
}

static void client_read(client *c)
{
    char *dst = buf_reserve(&c->in, READ_CHUNK);
    ssize_t n = read(c->fd, dst, READ_CHUNK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        client_free(c);
        return;
    }
    if (n < 0)
        return;
    buf_commit(&c->in, (size_t)n);
    store.stats.bytes_read += (uint64_t)n;
    kv_store_tick(&store); /* the commands see the time they arrived at */
    size_t used = kv_execute(&store, &c->proto, buf_peek(&c->in), buf_used(&c->in), &c->out);
    buf_consume(&c->in, used);
    client_flush(c);
}

static void client_on_event(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)fd;
    client *c = data;
    if (mask & EL_WRITABLE) {
        if (client_flush(c) < 0)
            return;
        if (!(el_file_mask(loop, fd) & EL_READABLE))
            return;
    }
    if (mask & EL_READABLE)
        client_read(c);
}

static void on_accept(el_loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)data;
    (void)mask;
    for (int i = 0; i < 64; i++) {
        int cfd = net_accept(fd, NULL, 0, NULL);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                log_warn("accept: %s", strerror(errno));
            return;
        }
        net_set_nodelay(cfd, 1);
        client *c = calloc(1, sizeof(*c));
        if (!c || el_file_add(loop, cfd, EL_READABLE, client_on_event, c) < 0) {
            free(c);
            close(cfd);
            continue;
        }
        c->fd = cfd;
        store.stats.curr_connections++;
        store.stats.total_connections++;
    }
}

static void on_tick(el_loop *l, long long id, void *data)
{
    (void)id;
    (void)data;
    kv_store_tick(&store);
    kv_crawl(&store, CRAWL_BUCKETS);
    el_timer_add(l, CRAWL_MS, on_tick, NULL);
}

int main(int argc, char **argv)
{
    const char *listen_addr = "0.0.0.0:11211";
    long memory_mib = 64, max_item = 1024 * 1024;
    int level = LOG_LEVEL_INFO;
    log_init("kvstore", level);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v)
            die("%s needs a value (see --help)", a);
        i++;
        char *end;
        if (strcmp(a, "--listen") == 0) {
            listen_addr = v;
        } else if (strcmp(a, "--registry") == 0) {
            /* the registry itself */
        } else if (strcmp(a, "--memory") == 0) {
            memory_mib = strtol(v, &end, 10);
            if (*end || memory_mib <= 0 || memory_mib > 1024 * 1024)
                die("--memory: not a size in MiB: %s", v);
        } else if (strcmp(a, "--max-item") == 0) {
            max_item = strtol(v, &end, 10);
            if (*end || max_item <= 0 || max_item > 256L * 1024 * 1024)
                die("--max-item: not a size in bytes: %s", v);
        } else if (strcmp(a, "--log-level") == 0) {
            if ((level = log_level_parse(v)) < 0)
                die("--log-level: unknown level %s", v);
            log_init("kvstore", level);
        } else {
            die("unknown option %s (see --help)", a);
        }
    }
    char host[NET_ADDR_MAX];
    int port;
    if (net_parse_hostport(listen_addr, host, sizeof(host), &port) < 0)
        die("--listen: expected HOST:PORT, got %s", listen_addr);
    signal(SIGPIPE, SIG_IGN);
    if (kv_store_init(&store, (size_t)memory_mib << 20, (size_t)max_item) < 0)
        die("out of memory");
    loop = el_create();
    if (!loop)
        die("event loop: %s", strerror(errno));
    int lfd = net_listen(host, port, 1024);
    if (lfd < 0)
        die("cannot listen on %s: %s", listen_addr, strerror(errno));
    el_file_add(loop, lfd, EL_READABLE, on_accept, NULL);
    el_timer_add(loop, CRAWL_MS, on_tick, NULL);
    log_info("listening on %s:%d, %ld MiB", host, net_local_port(lfd), memory_mib);
    el_run(loop);
    return 0;
}

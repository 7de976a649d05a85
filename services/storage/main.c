/* main.c -- storage's HTTP API and flags: PUT/GET/HEAD/DELETE /blob/{key}.
 *
 * Bodies stream in both directions, so a 64 MiB blob never sits in memory:
 * an upload is written to its temporary file piece by piece as it arrives
 * (sha256 computed on the way) and committed when the request ends; a
 * download is read with pread in 64 KiB pieces whenever the socket has room
 * (http_reply_on_drain). Disk writes block the loop for the time of one
 * write(2) or fsync(2), which is the price of having no threads.
 */
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "el.h"
#include "http.h"
#include "log.h"
#include "storage.h"
#include "svc.h"

#define READ_PIECE    (64 * 1024)
#define PENDING_LIMIT (256 * 1024)

static blob_store store;
static long long max_blob = 256LL << 20;

typedef struct upload {
    blob_writer w;
    int failed;
} upload;

typedef struct download {
    int fd;
    long long off, end;
} download;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: storage [--listen HOST:PORT] [--registry HOST:PORT|none] [--data DIR]\n"
            "               [--max-blob BYTES] [--advertise IP:PORT] [--ttl S]\n"
            "The blob store: PUT, GET, HEAD and DELETE /blob/{key}, durable on disk.\n"
            "  --data DIR             where blobs live (default ./storage-data)\n"
            "  --max-blob BYTES       largest blob accepted (default 268435456)\n" SVC_USAGE_COMMON
            "  (default --listen 0.0.0.0:8002)\n");
}

/* The key of a /blob/{key} path, or NULL. */
static const char *blob_key(const http_req *req)
{
    if (strncmp(req->path, "/blob/", 6) != 0)
        return NULL;
    return req->path + 6;
}

/* ---- PUT ------------------------------------------------------------------ */

static void upload_free(upload *u)
{
    blob_write_abort(&u->w);
    free(u);
}

static void on_upload_abort(http_req *req, void *arg)
{
    (void)req;
    upload_free(arg);
}

static int on_upload_piece(http_req *req, const char *data, size_t len, void *arg)
{
    upload *u = arg;
    if (u->failed)
        return -1;
    if (u->w.size + (long long)len > max_blob) {
        u->failed = 1;
        http_req_on_abort(req, NULL, NULL);
        upload_free(u);
        http_reply_error(req, 413, "blob larger than %lld bytes", max_blob);
        return -1;
    }
    if (blob_write(&u->w, data, len) < 0) {
        int e = errno;
        u->failed = 1;
        http_req_on_abort(req, NULL, NULL);
        upload_free(u);
        log_error("writing a blob: %s", strerror(e));
        http_reply_error(req, e == ENOSPC ? 507 : 500, "cannot write the blob: %s", strerror(e));
        return -1;
    }
    return 0;
}

static void on_headers(http_req *req)
{
    if (strcmp(req->method, "PUT") != 0)
        return;
    const char *key = blob_key(req);
    if (!key || !blob_key_valid(key)) {
        http_reply_error(req, 400,
                         "keys are 1-200 characters of [A-Za-z0-9._-], not starting with '.'");
        return;
    }
    if (req->content_length > max_blob) {
        http_reply_error(req, 413, "blob larger than %lld bytes", max_blob);
        return;
    }
    const char *ct = http_req_header(req, "Content-Type");
    if (!ct)
        ct = "application/octet-stream";
    if (!blob_ctype_valid(ct)) {
        http_reply_error(req, 400, "bad Content-Type");
        return;
    }
    upload *u = calloc(1, sizeof(*u));
    if (!u) {
        http_reply_error(req, 503, "out of memory");
        return;
    }
    if (blob_write_begin(&store, &u->w, key, ct) < 0) {
        int e = errno;
        free(u);
        log_error("creating a temporary file in %s/tmp: %s", store.dir, strerror(e));
        http_reply_error(req, e == ENOSPC ? 507 : 500, "cannot store: %s", strerror(e));
        return;
    }
    req->data = u;
    http_req_on_abort(req, on_upload_abort, u);
    http_req_stream_body(req, on_upload_piece, u);
}

static void finish_put(http_req *req)
{
    upload *u = req->data;
    http_req_on_abort(req, NULL, NULL);
    req->data = NULL;
    if (blob_write_commit(&store, &u->w) < 0) {
        int e = errno;
        log_error("committing blob %s: %s", u->w.key, strerror(e));
        free(u);
        http_reply_error(req, e == ENOSPC ? 507 : 500, "cannot store: %s", strerror(e));
        return;
    }
    char etag[SHA256_HEX + 2];
    snprintf(etag, sizeof(etag), "\"%s\"", u->w.sha_hex);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", u->w.key);
    cJSON_AddNumberToObject(o, "size", (double)u->w.size);
    cJSON_AddStringToObject(o, "sha256", u->w.sha_hex);
    free(u);
    http_reply_header(req, "ETag", etag);
    http_reply_json(req, 201, o);
    cJSON_Delete(o);
}

/* ---- GET ------------------------------------------------------------------ */

static void download_free(download *d)
{
    close(d->fd);
    free(d);
}

static void on_download_abort(http_req *req, void *arg)
{
    (void)req;
    download_free(arg);
}

static void pump_download(http_req *req, void *arg)
{
    download *d = arg;
    char piece[READ_PIECE];
    while (d->off < d->end && http_reply_pending(req) < PENDING_LIMIT) {
        size_t want = d->end - d->off < READ_PIECE ? (size_t)(d->end - d->off) : READ_PIECE;
        ssize_t n = pread(d->fd, piece, want, d->off);
        if (n <= 0) {
            /* The file cannot be read to its size: cut the reply short so that
             * the client sees a truncated body rather than a wrong one. */
            log_error("reading a blob: %s", n < 0 ? strerror(errno) : "unexpected end");
            http_req_on_abort(req, NULL, NULL);
            download_free(d);
            http_reply_end(req); /* Content-Length unmet: the client notices */
            return;
        }
        d->off += n;
        if (http_reply_write(req, piece, (size_t)n) < 0)
            return; /* connection gone: the abort callback frees d */
    }
    if (d->off >= d->end) {
        http_req_on_abort(req, NULL, NULL);
        download_free(d);
        http_reply_end(req);
    }
}

static void handle_get(http_req *req, const char *key)
{
    blob_info info;
    int fd = blob_open(&store, key, &info);
    if (fd < 0) {
        if (errno == ENOENT)
            http_reply_error(req, 404, "no blob %s", key);
        else
            http_reply_error(req, 500, "cannot read blob %s: %s", key, strerror(errno));
        return;
    }
    char etag[SHA256_HEX + 2];
    snprintf(etag, sizeof(etag), "\"%s\"", info.sha);
    const char *inm = http_req_header(req, "If-None-Match");
    http_reply_header(req, "ETag", etag);
    if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, info.sha) == 0 || strcmp(inm, "*") == 0)) {
        close(fd);
        http_reply(req, 304, NULL, "", 0);
        return;
    }
    http_reply_start(req, 200, info.ctype[0] ? info.ctype : "application/octet-stream", info.size);
    if (strcmp(req->method, "HEAD") == 0 || info.size == 0) {
        close(fd);
        http_reply_end(req);
        return;
    }
    download *d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    d->fd = fd;
    d->off = BLOB_HDR_LEN;
    d->end = BLOB_HDR_LEN + info.size;
    http_req_on_abort(req, on_download_abort, d);
    http_reply_on_drain(req, pump_download, d);
    pump_download(req, d);
}

/* ---- routing ------------------------------------------------------------- */

static void on_request(http_req *req)
{
    const char *m = req->method;
    if (strcmp(req->path, "/health") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        cJSON_AddNumberToObject(o, "blobs", (double)blob_store_count(&store));
        http_reply_json(req, 200, o);
        cJSON_Delete(o);
        return;
    }
    const char *key = blob_key(req);
    if (!key) {
        http_reply_error(req, 404, "not found");
        return;
    }
    if (strcmp(m, "PUT") == 0) {
        finish_put(req); /* on_headers validated the key and took the body */
        return;
    }
    if (!blob_key_valid(key)) {
        http_reply_error(req, 400,
                         "keys are 1-200 characters of [A-Za-z0-9._-], not starting with '.'");
        return;
    }
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        handle_get(req, key);
    } else if (strcmp(m, "DELETE") == 0) {
        if (blob_delete(&store, key) < 0) {
            if (errno == ENOENT)
                http_reply_error(req, 404, "no blob %s", key);
            else
                http_reply_error(req, 500, "cannot delete blob %s: %s", key, strerror(errno));
            return;
        }
        http_reply(req, 204, NULL, "", 0);
    } else {
        http_reply_error(req, 405, "use GET, HEAD, PUT or DELETE on /blob/{key}");
    }
}

int main(int argc, char **argv)
{
    svc_opts o;
    svc_opts_init(&o, "storage", "0.0.0.0:8002");
    const char *dir = "storage-data";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (svc_parse_flag(&o, argc, argv, &i))
            continue;
        if (i + 1 >= argc)
            die("unknown option %s (see --help)", a);
        const char *v = argv[++i];
        char *end;
        if (strcmp(a, "--data") == 0) {
            dir = v;
        } else if (strcmp(a, "--max-blob") == 0) {
            max_blob = strtoll(v, &end, 10);
            if (*end || max_blob < 1)
                die("--max-blob: expected a positive number of bytes, got '%s'", v);
        } else {
            die("unknown option %s (see --help)", a);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (blob_store_open(&store, dir) < 0)
        die("cannot open the blob directory %s: %s", dir, strerror(errno));
    el_loop *loop = el_create();
    if (!loop)
        die("event loop: %s", strerror(errno));
    http_server_config cfg = {
        .on_request = on_request,
        .on_headers = on_headers,
        .max_body_bytes = 64 * 1024,
        .body_timeout_ms = 60000,
    };
    http_server *srv = http_server_create(loop, o.listen_host, o.listen_port, &cfg);
    if (!srv)
        die("cannot listen on %s:%d: %s", o.listen_host, o.listen_port, strerror(errno));
    svc_register(loop, &o, http_server_port(srv), NULL);
    log_info("listening on %s:%d (advertised as %s), blobs in %s", o.listen_host,
             http_server_port(srv), o.advertise, dir);
    el_run(loop);
    return 0;
}

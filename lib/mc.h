/* mc.h -- a memcached text-protocol client on the event loop.
 *
 * Requests are queued on one connection per mc_client and pipelined; each
 * gets its callback exactly once, in order, with the parsed reply or an errno
 * value. The connection is opened on the first request and again after a
 * failure, so a registry that restarts is simply found again. Works against
 * kvstore and against Debian's memcached alike (only the text protocol).
 *
 * mc_parse_reply() is the parser on its own: no I/O, for the fuzzer and for
 * callers with their own sockets.
 */
#ifndef UIG_MC_H
#define UIG_MC_H

#include <stddef.h>
#include <stdint.h>

#include "el.h"

enum mc_status {
    MC_OK, /* OK (flush_all, verbosity) */
    MC_STORED,
    MC_NOT_STORED, /* add on an existing key, replace/append/prepend on a missing one */
    MC_EXISTS,     /* cas: the item changed since gets */
    MC_NOT_FOUND,
    MC_DELETED,
    MC_TOUCHED,
    MC_VALUES,  /* get/gets: see values/nvalues (possibly none) */
    MC_NUMBER,  /* incr/decr: see number */
    MC_VERSION, /* see line */
    MC_ERROR,   /* ERROR, CLIENT_ERROR or SERVER_ERROR: see line */
};

typedef struct mc_value {
    const char *key;
    size_t nkey;
    const char *data; /* not NUL-terminated */
    size_t len;
    uint32_t flags;
    uint64_t cas; /* 0 unless asked with gets */
} mc_value;

typedef struct mc_reply {
    int status;
    const mc_value *values;
    int nvalues;
    uint64_t number;
    const char *line; /* the status line without "\r\n" (NUL-terminated) */
} mc_reply;

/* What a request expects back, for the parser. */
enum mc_kind { MC_KIND_STATUS, MC_KIND_VALUES, MC_KIND_NUMBER };

/* Parses one reply at the start of in[0..len). Returns the bytes it spans,
 * 0 when incomplete, -1 when it is not a reply of that kind. Values point
 * into in; *vals is (re)allocated as needed and owned by the caller. */
long mc_parse_reply(const char *in, size_t len, int kind, mc_reply *r, mc_value **vals,
                    int *valcap);

typedef struct mc_client mc_client;

/* err is 0 or an errno value (ECONNREFUSED, ETIMEDOUT, ECONNRESET, EPROTO,
 * ECANCELED); r is NULL when err != 0 and valid only during the call. */
typedef void mc_reply_proc(mc_client *mc, int err, const mc_reply *r, void *arg);

mc_client *mc_client_create(el_loop *loop, const char *host, int port);
/* Fails every pending request with ECANCELED. */
void mc_client_free(mc_client *mc);
/* How long a request may wait for its reply (default 2000 ms). */
void mc_client_set_timeout(mc_client *mc, int ms);
const char *mc_client_addr(const mc_client *mc);
el_loop *mc_client_loop(const mc_client *mc);

/* Each returns 0, or -1 with errno (EINVAL for a bad key) without calling
 * back. Keys are 1..250 bytes with no spaces or control characters. */
int mc_get(mc_client *mc, const char *const *keys, int nkeys, int with_cas, mc_reply_proc *cb,
           void *arg);
int mc_set(mc_client *mc, const char *key, const void *data, size_t len, uint32_t flags,
           int64_t exptime, mc_reply_proc *cb, void *arg);
int mc_add(mc_client *mc, const char *key, const void *data, size_t len, uint32_t flags,
           int64_t exptime, mc_reply_proc *cb, void *arg);
int mc_cas(mc_client *mc, const char *key, const void *data, size_t len, uint32_t flags,
           int64_t exptime, uint64_t cas, mc_reply_proc *cb, void *arg);
int mc_delete(mc_client *mc, const char *key, mc_reply_proc *cb, void *arg);
int mc_touch(mc_client *mc, const char *key, int64_t exptime, mc_reply_proc *cb, void *arg);
int mc_incr(mc_client *mc, const char *key, uint64_t delta, mc_reply_proc *cb, void *arg);

int mc_key_valid(const char *key);

#endif

/* upstream.h -- calling a service by its registry name.
 *
 * An upstream is the set of replicas of one service, kept fresh from the
 * registry (reg_watch). Calls go to the replicas in turn (round-robin); a
 * replica whose connection fails is ejected for a while (1 s, growing with
 * each failure in a row up to 10 s) and the call is retried on another one.
 * When every replica is ejected the call waits a little and probes the one
 * ejected longest ago, so a service that restarts on the same address is
 * found again, until the call's retry budget runs out.
 *
 * Only transport failures are retried (refused, reset, timed out, no
 * replica), never an HTTP status, and never once a streamed response has
 * begun. A retried POST may reach the service twice when the first attempt
 * died after the service acted but before it answered: callers use it for
 * requests that are idempotent or whose duplicates are harmless.
 */
#ifndef UIG_UPSTREAM_H
#define UIG_UPSTREAM_H

#include "http.h"
#include "mc.h"

typedef struct upstream upstream;
typedef struct upstream_call upstream_call;

/* Replicas of name from the registry behind mc. Returns NULL with errno. */
upstream *upstream_create(http_client *cli, mc_client *mc, const char *name);
/* A fixed list "IP:PORT[,IP:PORT...]" instead of the registry (tools, tests). */
upstream *upstream_create_static(http_client *cli, el_loop *loop, const char *name,
                                 const char *addrs);
void upstream_free(upstream *u);
const char *upstream_name(const upstream *u);
/* Replicas known right now. */
int upstream_count(const upstream *u);

/* Sticky: every call goes to the first healthy replica in the registry's
 * order (the same for every client), the others only when it fails. For a
 * service whose replicas do not share state (taskdb): failover instead of
 * spreading. Off by default. */
void upstream_set_sticky(upstream *u, int on);
/* Replica i of upstream_count(u), "IP:PORT". */
const char *upstream_addr(const upstream *u, int i);

/* The next replica to use ("IP:PORT", valid until the next call into u),
 * NULL when none is known. Skips ejected replicas unless all are. */
const char *upstream_pick(upstream *u);
void upstream_failed(upstream *u, const char *addr);
void upstream_succeeded(upstream *u, const char *addr);

/* Like http_call_start without host and port. o->body and o->headers must
 * stay valid until done runs; method and path are copied. retry_ms is the
 * time budget for attempts (0: 10 s). done runs once, with the last
 * attempt's result; ENOENT when no replica was ever known. */
upstream_call *upstream_call_start(upstream *u, const http_call_opts *o, int retry_ms,
                                   http_done_proc *done, void *arg);
/* done runs with ECANCELED before this returns. */
void upstream_call_cancel(upstream_call *uc);
/* The replica the current attempt went to ("" before the first). */
const char *upstream_call_addr(const upstream_call *uc);

#endif

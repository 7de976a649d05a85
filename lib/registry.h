/* registry.h -- service discovery through a memcached-protocol server.
 *
 * Layout in the key-value store (all plain memcached operations, so kvstore
 * and Debian's memcached serve equally):
 *   svc:<name>:<addr>   value <addr>, expiring after the TTL: the heartbeat.
 *                       An instance that dies disappears when it runs out.
 *   svc:<name>          value "<addr> <addr> ...": the replica list, never
 *                       expiring, changed only with gets + cas (or add when
 *                       missing) so concurrent registrations do not lose
 *                       each other. Stale entries are pruned by readers.
 * memcached cannot list its keys, hence the list; the heartbeats make it
 * safe to trust.
 */
#ifndef UIG_REGISTRY_H
#define UIG_REGISTRY_H

#include "el.h"
#include "mc.h"

#define REG_MAX_REPLICAS 64

typedef struct reg_entry reg_entry;

/* Registers addr ("IP:PORT") under name and refreshes it every ttl/3 seconds
 * for as long as the loop runs; registry outages are retried quietly.
 * Returns NULL with errno (EINVAL: bad name, addr or ttl). */
reg_entry *reg_register(mc_client *mc, const char *name, const char *addr, int ttl_s);
/* Stops refreshing and removes the heartbeat (best effort, asynchronous). */
void reg_unregister(reg_entry *e);
/* 1 once the heartbeat and the list entry have been written at least once. */
int reg_registered(const reg_entry *e);

/* Looks up the live replicas of name. addrs are valid during the call only.
 * err is 0 or an errno value from the registry client. */
typedef void reg_lookup_proc(int err, const char *const *addrs, int n, void *arg);
int reg_lookup(mc_client *mc, const char *name, reg_lookup_proc *cb, void *arg);

/* A replica list kept fresh in the background, for clients that call a
 * service often: reg_watch_next() picks replicas round-robin. */
typedef struct reg_watch reg_watch;
reg_watch *reg_watch_create(mc_client *mc, const char *name, int interval_ms);
void reg_watch_free(reg_watch *w);
int reg_watch_count(const reg_watch *w);
const char *reg_watch_addr(const reg_watch *w, int i);
/* NULL when no replica is known. */
const char *reg_watch_next(reg_watch *w);
/* Forces a refresh now (after a connection to a replica failed, say). */
void reg_watch_refresh(reg_watch *w);

#endif

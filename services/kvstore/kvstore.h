/* kvstore.h -- the registry: an in-memory key-value store that speaks the
 * memcached text protocol, so that Debian's memcached can take its place.
 *
 * store.c keeps the items (hash table, LRU list, memory limit, expiry),
 * proto.c turns protocol bytes into store operations and replies, main.c owns
 * sockets and the event loop. proto.c does no I/O, which is what lets the
 * fuzzer drive it directly.
 */
#ifndef KVSTORE_H
#define KVSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define KV_KEY_MAX 250

typedef struct kv_item {
    struct kv_item *hnext;       /* hash chain */
    struct kv_item *prev, *next; /* LRU list, most recent first */
    uint64_t cas;
    uint64_t exptime; /* ms on the store clock; 0: never */
    uint64_t stored;  /* ms on the store clock, for delayed flush_all */
    uint32_t hash;
    uint32_t flags;
    uint32_t nbytes; /* value length, without the trailing \r\n */
    uint16_t nkey;
    char data[]; /* key, then value, then "\r\n" */
} kv_item;

static inline char *kv_item_key(kv_item *it)
{
    return it->data;
}
static inline char *kv_item_value(kv_item *it)
{
    return it->data + it->nkey;
}

typedef struct kv_stats {
    uint64_t cmd_get, cmd_set, cmd_touch, cmd_flush;
    uint64_t get_hits, get_misses, get_expired;
    uint64_t delete_hits, delete_misses, incr_hits, incr_misses, decr_hits, decr_misses;
    uint64_t cas_hits, cas_misses, cas_badval, touch_hits, touch_misses;
    uint64_t total_items, evictions, expired_unfetched, reclaimed;
    uint64_t curr_connections, total_connections, bytes_read, bytes_written;
} kv_stats;

typedef struct kv_store {
    kv_item **table;
    uint32_t mask; /* table size - 1 */
    uint64_t count;
    kv_item *lru_head, *lru_tail;
    size_t mem_used, mem_limit, item_max;
    uint64_t next_cas;
    uint64_t now;            /* ms, monotonic, set by the caller before each batch */
    int64_t realtime_offset; /* unix ms = now + offset, for absolute exptimes */
    uint64_t flush_at;       /* pending delayed flush_all, 0 when none */
    uint64_t started;        /* ms, for "uptime" */
    uint32_t crawl_pos;
    int verbosity;
    kv_stats stats;
} kv_store;

/* ---- store.c ---- */
int kv_store_init(kv_store *st, size_t mem_limit, size_t item_max);
void kv_store_free(kv_store *st);
/* Sets st->now from CLOCK_MONOTONIC (and applies a due delayed flush). */
void kv_store_tick(kv_store *st);
/* A live item or NULL; expired items found on the way are freed. */
kv_item *kv_find(kv_store *st, const char *key, size_t nkey);
/* Moves a looked-up item to the front of the LRU. */
void kv_touch_lru(kv_store *st, kv_item *it);
/* Allocates an unlinked item, evicting from the LRU tail to stay within the
 * memory limit. NULL when it cannot fit. */
kv_item *kv_alloc(kv_store *st, const char *key, size_t nkey, uint32_t flags, uint64_t exptime,
                  size_t nbytes);
void kv_free_item(kv_store *st, kv_item *it);
/* Links it into the table, replacing (and freeing) an item with the same key. */
void kv_link(kv_store *st, kv_item *it);
void kv_unlink(kv_store *st, kv_item *it);
/* Converts a protocol exptime (relative seconds up to 30 days, else unix time;
 * negative: already expired) to the store clock. 0 stays 0. */
uint64_t kv_exptime(kv_store *st, int64_t exptime);
void kv_flush(kv_store *st, uint64_t before);
/* Frees up to n buckets' worth of expired items; called from a timer. */
void kv_crawl(kv_store *st, uint32_t n);

/* ---- proto.c ---- */
typedef struct kv_conn {
    size_t swallow; /* bytes of a refused value still to skip */
    int close;      /* set by "quit" or a fatal protocol error */
} kv_conn;

/* Executes every complete command in in[0..len) and appends the replies to
 * out. Returns the number of bytes consumed; the rest is an incomplete
 * command to retry with more bytes. */
size_t kv_execute(kv_store *st, kv_conn *c, const char *in, size_t len, buf *out);

#endif

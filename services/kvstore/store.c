/* store.c -- the items of kvstore: a chained hash table that doubles when it
 * gets full, an LRU list for eviction under the memory limit, and lazy expiry
 * (an expired item is freed when it is looked up, or by the crawler that
 * walks a few buckets at every tick). Times are milliseconds of
 * CLOCK_MONOTONIC, so a clock step does not expire the registry. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvstore.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a: keys are short, and this is simple enough to read at a glance. */
static uint32_t hash_key(const char *key, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

static size_t item_size(size_t nkey, size_t nbytes)
{
    return sizeof(kv_item) + nkey + nbytes + 2;
}

int kv_store_init(kv_store *st, size_t mem_limit, size_t item_max)
{
    memset(st, 0, sizeof(*st));
    st->mask = 1024 - 1;
    st->table = calloc((size_t)st->mask + 1, sizeof(*st->table));
    if (!st->table)
        return -1;
    st->mem_limit = mem_limit;
    st->item_max = item_max;
    st->next_cas = 1;
    st->now = mono_ms();
    st->started = st->now;
    st->realtime_offset = real_ms() - (int64_t)st->now;
    return 0;
}

void kv_store_free(kv_store *st)
{
    kv_item *it = st->lru_head;
    while (it) {
        kv_item *next = it->next;
        free(it);
        it = next;
    }
    free(st->table);
    st->table = NULL;
}

void kv_store_tick(kv_store *st)
{
    st->now = mono_ms();
    if (st->flush_at && st->now >= st->flush_at) {
        uint64_t at = st->flush_at;
        st->flush_at = 0;
        kv_flush(st, at);
    }
}

static void lru_remove(kv_store *st, kv_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        st->lru_head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        st->lru_tail = it->prev;
    it->prev = it->next = NULL;
}

static void lru_push(kv_store *st, kv_item *it)
{
    it->prev = NULL;
    it->next = st->lru_head;
    if (st->lru_head)
        st->lru_head->prev = it;
    st->lru_head = it;
    if (!st->lru_tail)
        st->lru_tail = it;
}

void kv_touch_lru(kv_store *st, kv_item *it)
{
    if (st->lru_head != it) {
        lru_remove(st, it);
        lru_push(st, it);
    }
}

static int is_expired(kv_store *st, kv_item *it)
{
    return it->exptime && it->exptime <= st->now;
}

void kv_unlink(kv_store *st, kv_item *it)
{
    kv_item **pp = &st->table[it->hash & st->mask];
    while (*pp && *pp != it)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = it->hnext;
    lru_remove(st, it);
    st->count--;
    kv_free_item(st, it);
}

kv_item *kv_find(kv_store *st, const char *key, size_t nkey)
{
    uint32_t h = hash_key(key, nkey);
    kv_item **pp = &st->table[h & st->mask];
    for (kv_item *it = *pp; it; pp = &it->hnext, it = *pp) {
        if (it->hash != h || it->nkey != nkey || memcmp(it->data, key, nkey) != 0)
            continue;
        if (is_expired(st, it)) {
            st->stats.reclaimed++;
            kv_unlink(st, it);
            return NULL;
        }
        return it;
    }
    return NULL;
}

static void grow_table(kv_store *st)
{
    uint32_t nsize = (st->mask + 1) * 2;
    kv_item **nt = calloc(nsize, sizeof(*nt));
    if (!nt)
        return; /* keep the longer chains; still correct */
    for (uint32_t i = 0; i <= st->mask; i++) {
        kv_item *it = st->table[i];
        while (it) {
            kv_item *next = it->hnext;
            it->hnext = nt[it->hash & (nsize - 1)];
            nt[it->hash & (nsize - 1)] = it;
            it = next;
        }
    }
    free(st->table);
    st->table = nt;
    st->mask = nsize - 1;
    st->crawl_pos = 0;
}

kv_item *kv_alloc(kv_store *st, const char *key, size_t nkey, uint32_t flags, uint64_t exptime,
                  size_t nbytes)
{
    size_t size = item_size(nkey, nbytes);
    if (nbytes > st->item_max || size > st->mem_limit)
        return NULL;
    /* Evict from the cold end; expired items go first because they are free. */
    while (st->mem_used + size > st->mem_limit && st->lru_tail) {
        kv_item *victim = st->lru_tail;
        if (is_expired(st, victim))
            st->stats.reclaimed++;
        else
            st->stats.evictions++;
        kv_unlink(st, victim);
    }
    kv_item *it = malloc(size);
    if (!it)
        return NULL;
    memset(it, 0, sizeof(*it));
    it->hash = hash_key(key, nkey);
    it->flags = flags;
    it->exptime = exptime;
    it->nbytes = (uint32_t)nbytes;
    it->nkey = (uint16_t)nkey;
    memcpy(it->data, key, nkey);
    memcpy(it->data + nkey + nbytes, "\r\n", 2);
    st->mem_used += size;
    return it;
}

void kv_free_item(kv_store *st, kv_item *it)
{
    st->mem_used -= item_size(it->nkey, it->nbytes);
    free(it);
}

void kv_link(kv_store *st, kv_item *it)
{
    kv_item **pp = &st->table[it->hash & st->mask];
    for (kv_item *old = *pp; old; pp = &old->hnext, old = *pp) {
        if (old->hash == it->hash && old->nkey == it->nkey &&
            memcmp(old->data, it->data, it->nkey) == 0) {
            *pp = old->hnext;
            lru_remove(st, old);
            st->count--;
            kv_free_item(st, old);
            break;
        }
    }
    it->cas = st->next_cas++;
    it->stored = st->now;
    uint32_t b = it->hash & st->mask;
    it->hnext = st->table[b];
    st->table[b] = it;
    lru_push(st, it);
    st->count++;
    st->stats.total_items++;
    if (st->count > (uint64_t)st->mask + 1 + ((uint64_t)st->mask + 1) / 2)
        grow_table(st);
}

uint64_t kv_exptime(kv_store *st, int64_t exptime)
{
    if (exptime == 0)
        return 0;
    if (exptime < 0)
        return 1; /* in the past: expired at once */
    if (exptime <= 60 * 60 * 24 * 30)
        return st->now + (uint64_t)exptime * 1000;
    /* An absolute Unix time. Times beyond what milliseconds in 64 bits can hold
       are as good as never; clamp them rather than overflow. */
    if (exptime > INT64_MAX / 2000)
        exptime = INT64_MAX / 2000;
    int64_t rel = exptime * 1000 - ((int64_t)st->now + st->realtime_offset);
    if (rel <= 0)
        return 1;
    return st->now + (uint64_t)rel;
}

void kv_flush(kv_store *st, uint64_t before)
{
    kv_item *it = st->lru_head;
    while (it) {
        kv_item *next = it->next;
        if (it->stored <= before)
            kv_unlink(st, it);
        it = next;
    }
}

void kv_crawl(kv_store *st, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = st->crawl_pos++ & st->mask;
        kv_item *it = st->table[b];
        while (it) {
            kv_item *next = it->hnext;
            if (is_expired(st, it)) {
                st->stats.reclaimed++;
                kv_unlink(st, it);
            }
            it = next;
        }
    }
}

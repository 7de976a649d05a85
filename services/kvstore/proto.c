/* proto.c -- the memcached text protocol on top of store.c.
 *
 * kv_execute() walks the input one command at a time. A command is a line
 * ending in "\n" ("\r\n" from well-behaved clients), and for storage commands
 * the data block after it; nothing is consumed until all of it is there, so
 * the caller can simply append more bytes and call again. Replies go to one
 * output buffer that the caller writes in one go, which is what makes a
 * batch of pipelined commands cost one read and one write.
 *
 * Errors follow memcached: "ERROR" for an unknown command, "CLIENT_ERROR ..."
 * for a malformed one, "SERVER_ERROR ..." when the store cannot comply. A
 * line too long to be a command closes the connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvstore.h"

#define MAX_TOKENS     8
#define LINE_MAX_PLAIN 2048         /* longest line of a non-get command */
#define LINE_MAX_GET   (256 * 1024) /* get/gets with many keys */
#define KV_VERSION     "1.6.0-uigniter"

typedef struct tok {
    const char *s;
    size_t n;
} tok;

static void out_str(buf *out, const char *s)
{
    buf_puts(out, s);
}

static char *utoa(char *end, uint64_t v)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}

/* "VALUE key flags bytes [cas]\r\n" + value + "\r\n", without printf. */
static void out_value(buf *out, kv_item *it, int with_cas)
{
    char *d = buf_reserve(out, 6 + it->nkey + 3 * 22 + it->nbytes + 4);
    char *p = d;
    memcpy(p, "VALUE ", 6);
    p += 6;
    memcpy(p, kv_item_key(it), it->nkey);
    p += it->nkey;
    char tmp[24], *e = tmp + sizeof(tmp), *s;
    *p++ = ' ';
    s = utoa(e, it->flags);
    memcpy(p, s, (size_t)(e - s));
    p += e - s;
    *p++ = ' ';
    s = utoa(e, it->nbytes);
    memcpy(p, s, (size_t)(e - s));
    p += e - s;
    if (with_cas) {
        *p++ = ' ';
        s = utoa(e, it->cas);
        memcpy(p, s, (size_t)(e - s));
        p += e - s;
    }
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, kv_item_value(it), it->nbytes + 2);
    p += it->nbytes + 2;
    buf_commit(out, (size_t)(p - d));
}

static int tok_eq(const tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->n == n && memcmp(t->s, s, n) == 0;
}

static int parse_u64(const tok *t, uint64_t *v)
{
    if (t->n == 0 || t->n > 20)
        return -1;
    uint64_t r = 0;
    for (size_t i = 0; i < t->n; i++) {
        unsigned d = (unsigned)(t->s[i] - '0');
        if (d > 9)
            return -1;
        if (r > (UINT64_MAX - d) / 10)
            return -1;
        r = r * 10 + d;
    }
    *v = r;
    return 0;
}

static int parse_u32(const tok *t, uint32_t *v)
{
    uint64_t r;
    if (parse_u64(t, &r) < 0 || r > UINT32_MAX)
        return -1;
    *v = (uint32_t)r;
    return 0;
}

static int parse_i64(const tok *t, int64_t *v)
{
    if (t->n > 0 && t->s[0] == '-') {
        tok rest = {t->s + 1, t->n - 1};
        uint64_t r;
        if (parse_u64(&rest, &r) < 0 || r > (uint64_t)INT64_MAX)
            return -1;
        *v = -(int64_t)r;
        return 0;
    }
    uint64_t r;
    if (parse_u64(t, &r) < 0 || r > (uint64_t)INT64_MAX)
        return -1;
    *v = (int64_t)r;
    return 0;
}

static size_t tokenize(const char *line, size_t len, tok *t, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && line[i] == ' ')
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && line[i] != ' ')
            i++;
        t[n].s = line + start;
        t[n].n = i - start;
        n++;
    }
    return n;
}

static int valid_key(const tok *t)
{
    if (t->n == 0 || t->n > KV_KEY_MAX)
        return 0;
    for (size_t i = 0; i < t->n; i++)
        if ((unsigned char)t->s[i] <= ' ' || t->s[i] == 0x7f)
            return 0;
    return 1;
}

#define BAD_FORMAT "CLIENT_ERROR bad command line format\r\n"

/* get/gets/gat/gats: keys may be many, so they are walked, not tokenized. */
static void cmd_get(kv_store *st, const char *p, const char *end, int with_cas, int touch,
                    int64_t exptime, buf *out)
{
    size_t mark = buf_used(out);
    int nkeys = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *k = p;
        while (p < end && *p != ' ')
            p++;
        tok key = {k, (size_t)(p - k)};
        if (!valid_key(&key)) {
            buf_truncate(out, mark); /* drop the values already queued */
            out_str(out, BAD_FORMAT);
            return;
        }
        nkeys++;
        st->stats.cmd_get++;
        if (touch)
            st->stats.cmd_touch++;
        kv_item *it = kv_find(st, key.s, key.n);
        if (!it) {
            st->stats.get_misses++;
            if (touch)
                st->stats.touch_misses++;
            continue;
        }
        st->stats.get_hits++;
        if (touch) {
            st->stats.touch_hits++;
            it->exptime = kv_exptime(st, exptime);
        }
        kv_touch_lru(st, it);
        out_value(out, it, with_cas);
    }
    if (nkeys == 0) {
        out_str(out, "ERROR\r\n");
        return;
    }
    out_str(out, "END\r\n");
}

enum { SET, ADD, REPLACE, APPEND, PREPEND, CAS };

/* The line is complete; data (nbytes + 2) may not be. Returns the bytes
 * consumed from data, or -1 when more input is needed. */
static long cmd_store(kv_store *st, kv_conn *c, int op, tok *t, size_t nt, const char *data,
                      size_t avail, buf *out)
{
    uint32_t flags;
    int64_t exptime, nbytes_s;
    uint64_t casv = 0;
    size_t need = op == CAS ? 6 : 5;
    if (nt < need || nt > need + 1 || !valid_key(&t[1]) || parse_u32(&t[2], &flags) < 0 ||
        parse_i64(&t[3], &exptime) < 0 || parse_i64(&t[4], &nbytes_s) < 0 || nbytes_s < 0 ||
        nbytes_s > INT32_MAX || (op == CAS && parse_u64(&t[5], &casv) < 0) ||
        (nt == need + 1 && !tok_eq(&t[need], "noreply"))) {
        out_str(out, BAD_FORMAT);
        /* The data block cannot be found without a length: skip nothing more. */
        return 0;
    }
    int noreply = nt == need + 1;
    size_t nbytes = (size_t)nbytes_s;
    st->stats.cmd_set++;
    if (nbytes > st->item_max) {
        /* Too big: refuse, then skip the data block as it arrives. */
        out_str(out, "SERVER_ERROR object too large for cache\r\n");
        c->swallow = nbytes + 2;
        return 0;
    }
    if (avail < nbytes + 2)
        return -1;
    if (data[nbytes] != '\r' || data[nbytes + 1] != '\n') {
        out_str(out, "CLIENT_ERROR bad data chunk\r\n");
        return (long)(nbytes + 2);
    }
    const char *reply = "STORED\r\n";
    kv_item *old = kv_find(st, t[1].s, t[1].n);
    if ((op == ADD && old) || ((op == REPLACE || op == APPEND || op == PREPEND) && !old)) {
        if (op == ADD && old)
            kv_touch_lru(st, old);
        reply = "NOT_STORED\r\n";
        goto done;
    }
    if (op == CAS) {
        if (!old) {
            st->stats.cas_misses++;
            reply = "NOT_FOUND\r\n";
            goto done;
        }
        if (old->cas != casv) {
            st->stats.cas_badval++;
            reply = "EXISTS\r\n";
            goto done;
        }
        st->stats.cas_hits++;
    }
    kv_item *it;
    if (op == APPEND || op == PREPEND) {
        kv_touch_lru(st, old); /* evicted last, if at all */
        it = kv_alloc(st, t[1].s, t[1].n, old->flags, old->exptime, old->nbytes + nbytes);
        if (it && kv_find(st, t[1].s, t[1].n) != old) {
            kv_free_item(st, it); /* the old value was evicted to make room */
            it = NULL;
        }
        if (it) {
            char *v = kv_item_value(it);
            if (op == APPEND) {
                memcpy(v, kv_item_value(old), old->nbytes);
                memcpy(v + old->nbytes, data, nbytes);
            } else {
                memcpy(v, data, nbytes);
                memcpy(v + nbytes, kv_item_value(old), old->nbytes);
            }
        }
    } else {
        it = kv_alloc(st, t[1].s, t[1].n, flags, kv_exptime(st, exptime), nbytes);
        if (it)
            memcpy(kv_item_value(it), data, nbytes);
    }
    if (!it) {
        reply = "SERVER_ERROR out of memory storing object\r\n";
        goto done;
    }
    kv_link(st, it);
done:
    if (!noreply)
        out_str(out, reply);
    return (long)(nbytes + 2);
}

static void cmd_arith(kv_store *st, int incr, tok *t, size_t nt, buf *out)
{
    uint64_t delta;
    int noreply = nt == 4 && tok_eq(&t[3], "noreply");
    if ((nt != 3 && !noreply) || !valid_key(&t[1])) {
        out_str(out, BAD_FORMAT);
        return;
    }
    if (parse_u64(&t[2], &delta) < 0) {
        out_str(out, "CLIENT_ERROR invalid numeric delta argument\r\n");
        return;
    }
    kv_item *it = kv_find(st, t[1].s, t[1].n);
    if (!it) {
        if (incr)
            st->stats.incr_misses++;
        else
            st->stats.decr_misses++;
        if (!noreply)
            out_str(out, "NOT_FOUND\r\n");
        return;
    }
    tok v = {kv_item_value(it), it->nbytes};
    /* memcached tolerates trailing spaces left by an earlier decr */
    while (v.n > 0 && v.s[v.n - 1] == ' ')
        v.n--;
    uint64_t cur;
    if (parse_u64(&v, &cur) < 0) {
        out_str(out, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
        return;
    }
    if (incr) {
        cur += delta; /* wraps at 2^64, as memcached does */
        st->stats.incr_hits++;
    } else {
        cur = delta > cur ? 0 : cur - delta;
        st->stats.decr_hits++;
    }
    char tmp[24];
    char *s = utoa(tmp + sizeof(tmp), cur);
    size_t n = (size_t)(tmp + sizeof(tmp) - s);
    kv_touch_lru(st, it);
    kv_item *nit = kv_alloc(st, t[1].s, t[1].n, it->flags, it->exptime, n);
    if (!nit || kv_find(st, t[1].s, t[1].n) != it) {
        if (nit)
            kv_free_item(st, nit);
        out_str(out, "SERVER_ERROR out of memory\r\n");
        return;
    }
    memcpy(kv_item_value(nit), s, n);
    kv_link(st, nit);
    if (!noreply) {
        buf_append(out, s, n);
        out_str(out, "\r\n");
    }
}

static void cmd_stats(kv_store *st, tok *t, size_t nt, buf *out)
{
    if (nt > 1) {
        if (nt == 2 && tok_eq(&t[1], "reset")) {
            uint64_t cur = st->stats.curr_connections;
            memset(&st->stats, 0, sizeof(st->stats));
            st->stats.curr_connections = cur;
            out_str(out, "RESET\r\n");
        } else if (nt == 2 &&
                   (tok_eq(&t[1], "slabs") || tok_eq(&t[1], "items") || tok_eq(&t[1], "settings") ||
                    tok_eq(&t[1], "conns") || tok_eq(&t[1], "sizes"))) {
            out_str(out, "END\r\n"); /* nothing of the kind to report */
        } else {
            out_str(out, "ERROR\r\n"); /* as memcached, also for "stats noreply" */
        }
        return;
    }
    kv_stats *s = &st->stats;
    uint64_t unix_now = (uint64_t)((int64_t)st->now + st->realtime_offset) / 1000;
    buf_printf(out, "STAT pid %d\r\n", (int)getpid());
    buf_printf(out, "STAT uptime %" PRIu64 "\r\n", (st->now - st->started) / 1000);
    buf_printf(out, "STAT time %" PRIu64 "\r\n", unix_now);
    buf_printf(out, "STAT version %s\r\n", KV_VERSION);
    buf_printf(out, "STAT pointer_size %d\r\n", (int)(8 * sizeof(void *)));
    buf_printf(out, "STAT curr_connections %" PRIu64 "\r\n", s->curr_connections);
    buf_printf(out, "STAT total_connections %" PRIu64 "\r\n", s->total_connections);
#define STAT(name) buf_printf(out, "STAT " #name " %" PRIu64 "\r\n", (uint64_t)s->name)
    STAT(cmd_get);
    STAT(cmd_set);
    STAT(cmd_flush);
    STAT(cmd_touch);
    STAT(get_hits);
    STAT(get_misses);
    STAT(get_expired);
    STAT(delete_misses);
    STAT(delete_hits);
    STAT(incr_misses);
    STAT(incr_hits);
    STAT(decr_misses);
    STAT(decr_hits);
    STAT(cas_misses);
    STAT(cas_hits);
    STAT(cas_badval);
    STAT(touch_hits);
    STAT(touch_misses);
    STAT(bytes_read);
    STAT(bytes_written);
#undef STAT
    buf_printf(out, "STAT limit_maxbytes %zu\r\n", st->mem_limit);
    buf_printf(out, "STAT threads 1\r\n");
    buf_printf(out, "STAT bytes %zu\r\n", st->mem_used);
    buf_printf(out, "STAT curr_items %" PRIu64 "\r\n", st->count);
    buf_printf(out, "STAT total_items %" PRIu64 "\r\n", s->total_items);
    buf_printf(out, "STAT reclaimed %" PRIu64 "\r\n", s->reclaimed);
    buf_printf(out, "STAT evictions %" PRIu64 "\r\n", s->evictions);
    out_str(out, "END\r\n");
}

/* One command line (without its line end). Returns bytes consumed after the
 * line (a data block), or -1 when the data block is incomplete. */
static long execute_line(kv_store *st, kv_conn *c, const char *line, size_t len, const char *rest,
                         size_t avail, buf *out)
{
    tok t[MAX_TOKENS + 1];
    size_t nt = tokenize(line, len, t, 2);
    if (nt == 0) {
        out_str(out, "ERROR\r\n");
        return 0;
    }
    const char *args = t[0].s + t[0].n;
    const char *end = line + len;
    if (tok_eq(&t[0], "get") || tok_eq(&t[0], "gets")) {
        cmd_get(st, args, end, t[0].n == 4, 0, 0, out);
        return 0;
    }
    if (tok_eq(&t[0], "gat") || tok_eq(&t[0], "gats")) {
        int64_t exptime;
        if (nt < 2 || parse_i64(&t[1], &exptime) < 0) {
            out_str(out, BAD_FORMAT);
            return 0;
        }
        cmd_get(st, t[1].s + t[1].n, end, t[0].n == 4, 1, exptime, out);
        return 0;
    }
    nt = tokenize(line, len, t, MAX_TOKENS + 1);
    if (nt > MAX_TOKENS) {
        out_str(out, "ERROR\r\n");
        return 0;
    }
    static const struct {
        const char *name;
        int op;
    } stores[] = {{"set", SET},       {"add", ADD},         {"replace", REPLACE},
                  {"append", APPEND}, {"prepend", PREPEND}, {"cas", CAS}};
    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
        if (tok_eq(&t[0], stores[i].name))
            return cmd_store(st, c, stores[i].op, t, nt, rest, avail, out);

    int noreply = nt > 1 && tok_eq(&t[nt - 1], "noreply");
    size_t na = noreply ? nt - 1 : nt; /* tokens without noreply */
    if (tok_eq(&t[0], "delete")) {
        if (na < 2 || na > 3 || !valid_key(&t[1]) || (na == 3 && !tok_eq(&t[2], "0"))) {
            out_str(out,
                    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
            return 0;
        }
        kv_item *it = kv_find(st, t[1].s, t[1].n);
        if (it) {
            st->stats.delete_hits++;
            kv_unlink(st, it);
        } else {
            st->stats.delete_misses++;
        }
        if (!noreply)
            out_str(out, it ? "DELETED\r\n" : "NOT_FOUND\r\n");
    } else if (tok_eq(&t[0], "incr") || tok_eq(&t[0], "decr")) {
        cmd_arith(st, t[0].s[0] == 'i', t, nt, out);
    } else if (tok_eq(&t[0], "touch")) {
        int64_t exptime;
        if (na != 3 || !valid_key(&t[1]) || parse_i64(&t[2], &exptime) < 0) {
            out_str(out, BAD_FORMAT);
            return 0;
        }
        st->stats.cmd_touch++;
        kv_item *it = kv_find(st, t[1].s, t[1].n);
        if (it) {
            st->stats.touch_hits++;
            it->exptime = kv_exptime(st, exptime);
            kv_touch_lru(st, it);
        } else {
            st->stats.touch_misses++;
        }
        if (!noreply)
            out_str(out, it ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
    } else if (tok_eq(&t[0], "flush_all")) {
        int64_t delay = 0;
        if (na > 2 || (na == 2 && parse_i64(&t[1], &delay) < 0)) {
            out_str(out, BAD_FORMAT);
            return 0;
        }
        st->stats.cmd_flush++;
        if (delay > 0) {
            st->flush_at = kv_exptime(st, delay);
        } else {
            st->flush_at = 0;
            kv_flush(st, UINT64_MAX);
        }
        if (!noreply)
            out_str(out, "OK\r\n");
    } else if (tok_eq(&t[0], "version")) {
        /* memcached ignores arguments here, and Debian's memccapable expects it */
        out_str(out, "VERSION " KV_VERSION "\r\n");
    } else if (tok_eq(&t[0], "verbosity")) {
        uint32_t level = 0;
        if (nt < 2 || nt > 3 || (na == 2 && parse_u32(&t[1], &level) < 0) ||
            (nt == 3 && !noreply)) {
            out_str(out, nt < 2 || nt > 3 ? "ERROR\r\n" : BAD_FORMAT);
            return 0;
        }
        st->verbosity = (int)level;
        if (!noreply)
            out_str(out, "OK\r\n");
    } else if (tok_eq(&t[0], "stats")) {
        cmd_stats(st, t, nt, out);
    } else if (tok_eq(&t[0], "quit") && nt == 1) {
        c->close = 1;
    } else {
        out_str(out, "ERROR\r\n");
    }
    return 0;
}

size_t kv_execute(kv_store *st, kv_conn *c, const char *in, size_t len, buf *out)
{
    size_t pos = 0;
    while (pos < len && !c->close) {
        if (c->swallow) {
            size_t n = len - pos < c->swallow ? len - pos : c->swallow;
            c->swallow -= n;
            pos += n;
            continue;
        }
        const char *line = in + pos;
        size_t avail = len - pos;
        const char *nl = memchr(line, '\n', avail);
        if (!nl) {
            size_t max =
                (avail >= 4 && memcmp(line, "get", 3) == 0) ? LINE_MAX_GET : LINE_MAX_PLAIN;
            if (avail > max) {
                out_str(out, "CLIENT_ERROR line too long\r\n");
                c->close = 1;
                return len;
            }
            break;
        }
        size_t llen = (size_t)(nl - line);
        size_t next = llen + 1;
        if (llen > 0 && line[llen - 1] == '\r')
            llen--;
        long extra = execute_line(st, c, line, llen, line + next, avail - next, out);
        if (extra < 0)
            break; /* data block incomplete: wait for more */
        pos += next + (size_t)extra;
    }
    return pos;
}

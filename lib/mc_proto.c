/* mc_proto.c -- parser for memcached text-protocol replies (see mc.h).
 * Pure: it reads a byte range and reports what reply it holds, so the
 * client, tools and the fuzzer share it. */
#include <stdlib.h>
#include <string.h>

#include "mc.h"

static const struct {
    const char *text;
    int status;
} statuses[] = {
    {"OK", MC_OK},
    {"STORED", MC_STORED},
    {"NOT_STORED", MC_NOT_STORED},
    {"EXISTS", MC_EXISTS},
    {"NOT_FOUND", MC_NOT_FOUND},
    {"DELETED", MC_DELETED},
    {"TOUCHED", MC_TOUCHED},
    {"RESET", MC_OK},
};

/* Parses an unsigned decimal at *p (advancing it); -1 when there is none. */
static int parse_num(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    uint64_t r = 0;
    if (s == end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (r > (UINT64_MAX - d) / 10)
            return -1;
        r = r * 10 + d;
        s++;
    }
    *v = r;
    *p = s;
    return 0;
}

static int is_error_line(const char *line, size_t n)
{
    return (n >= 5 && memcmp(line, "ERROR", 5) == 0) ||
           (n >= 12 && memcmp(line, "CLIENT_ERROR", 12) == 0) ||
           (n >= 12 && memcmp(line, "SERVER_ERROR", 12) == 0);
}

/* Parses "VALUE key flags bytes [cas]" (without the line end). */
static int parse_value_line(const char *s, const char *end, mc_value *v)
{
    if (end - s < 6 || memcmp(s, "VALUE ", 6) != 0)
        return -1;
    s += 6;
    const char *k = s;
    while (s < end && *s != ' ')
        s++;
    if (s == k || s == end)
        return -1;
    v->key = k;
    v->nkey = (size_t)(s - k);
    uint64_t flags, bytes, cas = 0;
    s++;
    if (parse_num(&s, end, &flags) < 0 || flags > UINT32_MAX || s == end || *s++ != ' ' ||
        parse_num(&s, end, &bytes) < 0 || bytes > (1ull << 40))
        return -1;
    if (s < end) {
        if (*s++ != ' ' || parse_num(&s, end, &cas) < 0)
            return -1;
    }
    while (s < end && *s == ' ')
        s++;
    if (s != end)
        return -1;
    v->flags = (uint32_t)flags;
    v->len = (size_t)bytes;
    v->cas = cas;
    return 0;
}

long mc_parse_reply(const char *in, size_t len, int kind, mc_reply *r, mc_value **vals, int *valcap)
{
    size_t pos = 0;
    memset(r, 0, sizeof(*r));
    r->nvalues = 0;
    for (;;) {
        const char *line = in + pos;
        const char *nl = memchr(line, '\n', len - pos);
        if (!nl)
            return len - pos > 64 * 1024 ? -1 : 0;
        size_t n = (size_t)(nl - line);
        if (n == 0 || line[n - 1] != '\r')
            return -1;
        n--;
        size_t next = pos + n + 2;
        if (is_error_line(line, n)) {
            r->status = MC_ERROR;
            r->line = line;
            return (long)next;
        }
        if (kind == MC_KIND_VALUES) {
            if (n == 3 && memcmp(line, "END", 3) == 0) {
                r->status = MC_VALUES;
                r->values = *vals;
                r->line = line;
                return (long)next;
            }
            mc_value v;
            if (parse_value_line(line, line + n, &v) < 0)
                return -1;
            if (len - next < v.len + 2)
                return 0;
            if (in[next + v.len] != '\r' || in[next + v.len + 1] != '\n')
                return -1;
            v.data = in + next;
            if (r->nvalues == *valcap) {
                int cap = *valcap ? *valcap * 2 : 8;
                mc_value *nv = realloc(*vals, (size_t)cap * sizeof(*nv));
                if (!nv)
                    return -1;
                *vals = nv;
                *valcap = cap;
            }
            (*vals)[r->nvalues++] = v;
            r->values = *vals;
            pos = next + v.len + 2;
            continue;
        }
        r->line = line;
        if (n >= 8 && memcmp(line, "VERSION ", 8) == 0) {
            r->status = MC_VERSION;
            return (long)next;
        }
        for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
            size_t sl = strlen(statuses[i].text);
            if (n == sl && memcmp(line, statuses[i].text, sl) == 0) {
                r->status = statuses[i].status;
                return (long)next;
            }
        }
        if (kind == MC_KIND_NUMBER) {
            const char *s = line;
            const char *end = line + n;
            while (end > s && end[-1] == ' ')
                end--;
            if (parse_num(&s, end, &r->number) == 0 && s == end) {
                r->status = MC_NUMBER;
                return (long)next;
            }
        }
        return -1;
    }
}

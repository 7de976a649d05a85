/* multipart.c -- streaming multipart/form-data parser (see multipart.h).
 *
 * The body is a preamble, then parts separated by the delimiter
 * "\r\n--BOUNDARY", the last one followed by "--". The parser looks for the
 * delimiter as if the body began with "\r\n" (the first boundary may open the
 * body). Boundaries may not contain CR, so CR occurs in the delimiter only at
 * its first byte: when a partial match fails, the bytes matched so far are
 * plain data and the search restarts at the current byte -- no backtracking,
 * no buffer beyond the delimiter itself. Part contents go to on_data in runs
 * as long as the input pieces allow.
 */
#include "multipart.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

enum { ST_PREAMBLE, ST_AFTER_DELIM, ST_HEADERS, ST_DATA, ST_DONE };
enum { AD_START, AD_DASH, AD_PAD, AD_CR };

#define PAD_MAX 64 /* transport padding after a boundary */

static int fail(multipart *m, int err, const char *why)
{
    if (!m->error) {
        m->error = err;
        m->why = why;
    }
    errno = m->error;
    return -1;
}

/* RFC 2046 bchars, and a boundary may not end in a space. */
static int boundary_valid(const char *b, size_t n)
{
    if (n < 1 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        if (!isalnum(c) && !strchr("'()+_,-./:=? ", c))
            return 0;
    }
    return 1;
}

/* Reads a parameter value at *p: a token or a quoted-string. Copies it into
 * out (NUL-terminated) and advances *p. Returns 0, -1 when malformed, -2
 * when longer than outlen - 1. */
static int param_value(const char **p, char *out, size_t outlen)
{
    const char *s = *p;
    size_t n = 0;
    int toolong = 0;
    if (*s == '"') {
        s++;
        for (;; s++) {
            if (!*s)
                return -1;
            if (*s == '"') {
                s++;
                break;
            }
            if (*s == '\\' && s[1])
                s++;
            if (n + 1 < outlen)
                out[n++] = *s;
            else
                toolong = 1;
        }
    } else {
        while (*s && *s != ';' && *s != ' ' && *s != '\t') {
            if (n + 1 < outlen)
                out[n++] = *s;
            else
                toolong = 1;
            s++;
        }
    }
    out[n] = '\0';
    *p = s;
    return toolong ? -2 : 0;
}

/* Walks "type; k=v; k="v"" and calls back for each parameter. Returns 0,
 * -1 malformed, -2 too long. */
typedef int param_proc(void *ctx, const char *key, size_t klen, const char **val);

static int each_param(const char *v, param_proc *fn, void *ctx)
{
    const char *p = strchr(v, ';');
    while (p && *p == ';') {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        size_t klen = (size_t)(p - k);
        while (klen && (k[klen - 1] == ' ' || k[klen - 1] == '\t'))
            klen--;
        if (*p != '=') {
            continue; /* a parameter without a value: ignore */
        }
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        int rc = fn(ctx, k, klen, &p);
        if (rc < 0)
            return rc;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ';')
            return -1;
    }
    return 0;
}

typedef struct boundary_ctx {
    char *out;
    size_t outlen;
    int found;
} boundary_ctx;

static int boundary_param(void *ctx, const char *key, size_t klen, const char **val)
{
    boundary_ctx *b = ctx;
    char tmp[MULTIPART_BOUNDARY_MAX + 2];
    int rc = param_value(val, tmp, sizeof(tmp));
    if (klen == 8 && strncasecmp(key, "boundary", 8) == 0) {
        if (rc < 0 || strlen(tmp) + 1 > b->outlen)
            return -1;
        strcpy(b->out, tmp);
        b->found = 1;
    }
    return rc == -1 ? -1 : 0;
}

int multipart_boundary(const char *content_type, char *out, size_t outlen)
{
    if (!content_type || strncasecmp(content_type, "multipart/", 10) != 0 || outlen == 0) {
        errno = EINVAL;
        return -1;
    }
    boundary_ctx b = {out, outlen, 0};
    if (each_param(content_type, boundary_param, &b) < 0 || !b.found ||
        !boundary_valid(out, strlen(out))) {
        errno = EINVAL;
        return -1;
    }
    return (int)strlen(out);
}

int multipart_init(multipart *m, const char *boundary, const multipart_callbacks *cb, void *arg)
{
    size_t n = boundary ? strlen(boundary) : 0;
    if (!boundary_valid(boundary ? boundary : "", n)) {
        errno = EINVAL;
        return -1;
    }
    memset(m, 0, sizeof(*m));
    static const multipart_callbacks none;
    m->cb = cb ? cb : &none;
    m->arg = arg;
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, boundary, n);
    m->delim_len = 4 + n;
    m->match = 2; /* the body begins as if after "\r\n" */
    m->state = ST_PREAMBLE;
    return 0;
}

static int emit(multipart *m, const char *p, size_t n)
{
    if (m->state != ST_DATA || n == 0 || !m->cb->on_data)
        return 0;
    if (m->cb->on_data(m->arg, p, n) < 0)
        return fail(m, ECANCELED, "stopped");
    return 0;
}

/* Scans for the delimiter, passing data before it on. Returns 1 when the
 * delimiter ends at p[*used - 1], 0 when all of p was taken, -1 on error. */
static int scan(multipart *m, const char *p, size_t len, size_t *used)
{
    size_t i = 0, run = 0; /* run: start of data not yet passed on */
    while (i < len) {
        if (m->match == 0) {
            const char *cr = memchr(p + i, '\r', len - i);
            if (!cr) {
                i = len;
                break;
            }
            i = (size_t)(cr - p);
            if (emit(m, p + run, i - run) < 0)
                return -1;
            m->match = 1;
            run = ++i;
            continue;
        }
        if (p[i] == m->delim[m->match]) {
            run = ++i;
            if (++m->match == m->delim_len) {
                m->match = 0;
                *used = i;
                return 1;
            }
            continue;
        }
        /* The partial match was data after all; look at p[i] afresh. */
        if (emit(m, m->delim, m->match) < 0)
            return -1;
        m->match = 0;
        run = i;
    }
    if (emit(m, p + run, len - run) < 0)
        return -1;
    *used = len;
    return 0;
}

static int header_param(void *ctx, const char *key, size_t klen, const char **val)
{
    multipart_part *part = ctx;
    char *dst = NULL;
    char skip[MULTIPART_NAME_MAX];
    if (klen == 4 && strncasecmp(key, "name", 4) == 0)
        dst = part->name;
    else if (klen == 8 && strncasecmp(key, "filename", 8) == 0)
        dst = part->filename;
    int rc = param_value(val, dst ? dst : skip, MULTIPART_NAME_MAX);
    if (dst == part->filename && rc == 0)
        part->has_filename = 1;
    if (!dst && rc == -2)
        return 0; /* a long parameter we do not keep */
    return rc;
}

/* Parses the collected headers of a part (NUL-terminated, lines ending in
 * CRLF, the empty line included). */
static int parse_headers(multipart *m)
{
    multipart_part *part = &m->part;
    memset(part, 0, sizeof(*part));
    char *line = m->headers;
    for (;;) {
        char *end = strstr(line, "\r\n");
        if (!end || end == line)
            break;
        *end = '\0';
        if (*line == ' ' || *line == '\t') { /* obsolete folding: ignore */
            line = end + 2;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return fail(m, EBADMSG, "part header without a name");
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "Content-Disposition") == 0) {
            int rc = each_param(v, header_param, part);
            if (rc == -2)
                return fail(m, EMSGSIZE, "part name or filename too long");
            if (rc < 0)
                return fail(m, EBADMSG, "malformed Content-Disposition");
        } else if (strcasecmp(line, "Content-Type") == 0) {
            size_t n = strlen(v);
            if (n >= sizeof(part->content_type))
                return fail(m, EMSGSIZE, "part Content-Type too long");
            memcpy(part->content_type, v, n + 1);
        }
        line = end + 2;
    }
    return 0;
}

int multipart_feed(multipart *m, const char *data, size_t len)
{
    if (m->error) {
        errno = m->error;
        return -1;
    }
    size_t i = 0;
    while (i < len) {
        switch (m->state) {
        case ST_PREAMBLE:
        case ST_DATA: {
            size_t used;
            int rc = scan(m, data + i, len - i, &used);
            if (rc < 0)
                return -1;
            i += used;
            if (rc == 1) {
                if (m->in_part) {
                    m->in_part = 0;
                    if (m->cb->on_part_end && m->cb->on_part_end(m->arg) < 0)
                        return fail(m, ECANCELED, "stopped");
                }
                m->state = ST_AFTER_DELIM;
                m->sub = AD_START;
                m->hlen = 0;
            }
            break;
        }
        case ST_AFTER_DELIM: {
            char c = data[i++];
            if (m->sub == AD_START && c == '-') {
                m->sub = AD_DASH;
            } else if (m->sub == AD_DASH) {
                if (c != '-')
                    return fail(m, EBADMSG, "bad closing boundary");
                m->state = ST_DONE;
            } else if ((m->sub == AD_START || m->sub == AD_PAD) && (c == ' ' || c == '\t')) {
                m->sub = AD_PAD;
                if (++m->hlen > PAD_MAX)
                    return fail(m, EBADMSG, "too much padding after a boundary");
            } else if ((m->sub == AD_START || m->sub == AD_PAD) && c == '\r') {
                m->sub = AD_CR;
            } else if (m->sub == AD_CR && c == '\n') {
                if (m->nparts >= MULTIPART_PARTS_MAX)
                    return fail(m, EMSGSIZE, "too many parts");
                m->nparts++;
                m->state = ST_HEADERS;
                m->hlen = 0;
            } else {
                return fail(m, EBADMSG, "garbage after a boundary");
            }
            break;
        }
        case ST_HEADERS: {
            char c = data[i++];
            if (m->hlen >= MULTIPART_HEADERS_MAX)
                return fail(m, EMSGSIZE, "part headers too large");
            m->headers[m->hlen++] = c;
            m->headers[m->hlen] = '\0';
            int end = (m->hlen == 2 && memcmp(m->headers, "\r\n", 2) == 0) ||
                      (m->hlen >= 4 && memcmp(m->headers + m->hlen - 4, "\r\n\r\n", 4) == 0);
            if (!end)
                break;
            if (parse_headers(m) < 0)
                return -1;
            m->state = ST_DATA;
            m->in_part = 1;
            m->match = 0;
            if (m->cb->on_part && m->cb->on_part(m->arg, &m->part) < 0)
                return fail(m, ECANCELED, "stopped");
            break;
        }
        default: /* ST_DONE: the epilogue is ignored */
            return 0;
        }
    }
    return 0;
}

int multipart_finish(multipart *m)
{
    if (m->error) {
        errno = m->error;
        return -1;
    }
    if (m->state != ST_DONE)
        return fail(m, EBADMSG, m->nparts ? "body ends inside a part" : "no parts in the body");
    return 0;
}

int multipart_done(const multipart *m)
{
    return m->state == ST_DONE;
}

const char *multipart_why(const multipart *m)
{
    return m->why ? m->why : "";
}

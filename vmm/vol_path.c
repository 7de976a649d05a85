/*
 * vol_path.c — the pure checks behind volumes (see vol_path.h). Paths are read one
 * component at a time, the way the kernel reads them, so "a//b" and "./a" mean what
 * they mean to openat2.
 */
#include "vol_path.h"

#include <string.h>

/* The next component of [*p, end): sets *c and *n, advances *p; false at the end. */
static bool next_component(const char **p, const char *end, const char **c, size_t *n)
{
    while (*p < end && **p == '/')
        (*p)++;
    if (*p == end)
        return false;
    *c = *p;
    while (*p < end && **p != '/')
        (*p)++;
    *n = *p - *c;
    return true;
}

static bool is_dot(const char *c, size_t n)
{
    return n == 1 && c[0] == '.';
}

static bool is_dotdot(const char *c, size_t n)
{
    return n == 2 && c[0] == '.' && c[1] == '.';
}

bool vol_guest_dir_ok(const char *dir)
{
    size_t len = strlen(dir);
    if (len < 2 || dir[0] != '/' || dir[len - 1] == '/')
        return false;
    const char *p = dir + 1, *end = dir + len;
    while (p < end) {
        const char *c = p;
        while (p < end && *p != '/')
            p++;
        size_t n = p - c;
        if (n == 0 || is_dot(c, n) || is_dotdot(c, n))
            return false;
        if (p < end)
            p++;
    }
    return true;
}

int vol_parse_spec(const char *spec, char *host, size_t hostmax, char *guest, size_t guestmax,
                   bool *readonly, const char **why)
{
    size_t len = strlen(spec);
    *readonly = false;
    if (len > 3 && strcmp(spec + len - 3, ":ro") == 0) {
        *readonly = true;
        len -= 3;
    } else if (len > 3 && strcmp(spec + len - 3, ":rw") == 0) {
        len -= 3;
    }
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (spec[i] == ':')
            colon = spec + i;
    if (!colon) {
        *why = "want HOSTDIR:GUESTDIR[:ro]";
        return -1;
    }
    size_t hl = colon - spec, gl = len - hl - 1;
    if (hl == 0) {
        *why = "HOSTDIR is empty";
        return -1;
    }
    if (hl >= hostmax) {
        *why = "HOSTDIR is too long";
        return -1;
    }
    if (gl >= guestmax) {
        *why = "GUESTDIR is too long";
        return -1;
    }
    memcpy(host, spec, hl);
    host[hl] = 0;
    memcpy(guest, colon + 1, gl);
    guest[gl] = 0;
    if (!vol_guest_dir_ok(guest)) {
        *why = "GUESTDIR must be an absolute path without \".\", \"..\" or empty parts, not /";
        return -1;
    }
    return 0;
}

bool vol_link_inside(const char *link, size_t link_len, const char *target, size_t len)
{
    if (len == 0 || target[0] == '/')
        return false;
    /* The depth of the link's directory below the root. */
    long depth = 0;
    const char *p = link, *end = link + link_len, *c, *last = NULL;
    size_t n, last_n = 0;
    while (next_component(&p, end, &c, &n)) {
        if (last) {
            if (is_dotdot(last, last_n) && --depth < 0)
                return false;
            if (!is_dot(last, last_n) && !is_dotdot(last, last_n))
                depth++;
        }
        last = c;
        last_n = n;
    }
    p = target;
    end = target + len;
    while (next_component(&p, end, &c, &n)) {
        if (is_dotdot(c, n)) {
            if (--depth < 0)
                return false;
        } else if (!is_dot(c, n)) {
            depth++;
        }
    }
    return true;
}

int vol_split(const char *path, char *parent, size_t parentmax, const char **name)
{
    const char *slash = strrchr(path, '/');
    const char *n = slash ? slash + 1 : path;
    size_t nl = strlen(n);
    if (nl == 0 || is_dot(n, nl) || is_dotdot(n, nl))
        return -1;
    size_t pl = slash ? (size_t)(slash - path) : 0;
    if (pl == 0) {
        if (slash) /* "/name": absolute; let openat2 refuse it as it refuses any */
            pl = 1;
        else
            path = ".", pl = 1;
    }
    if (pl >= parentmax)
        return -1;
    memcpy(parent, path, pl);
    parent[pl] = 0;
    *name = n;
    return 0;
}

/*
 * table.c — tables and units for the listing commands (see table.h).
 *
 * A table keeps copies of its cells and prints only at the end, because a
 * column is as wide as its widest cell, like `docker ps`; listings are a few
 * hundred rows at most, so holding them costs nothing.
 */
#include "table.h"
#include "cli.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *copy(const char *s)
{
    char *c = strdup(s ? s : "-");
    if (!c) {
        cli_error(CLI_FAIL, "out of memory");
        exit(CLI_FAIL);
    }
    return c;
}

static void add_row(table *t, va_list ap)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof *cells);
        if (!cells) {
            cli_error(CLI_FAIL, "out of memory");
            exit(CLI_FAIL);
        }
        t->cells = cells;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = copy(va_arg(ap, const char *));
    t->nrows++;
}

void table_init(table *t, int ncols, ...)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    va_list ap;
    va_start(ap, ncols);
    add_row(t, ap);
    va_end(ap);
}

void table_add(table *t, ...)
{
    va_list ap;
    va_start(ap, t);
    add_row(t, ap);
    va_end(ap);
}

void table_print(const table *t, FILE *out)
{
    size_t width[32] = {0};
    int ncols = t->ncols < 32 ? t->ncols : 32;
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < ncols; c++) {
            size_t w = strlen(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            if (c == ncols - 1)
                fprintf(out, "%s\n", cell);
            else
                fprintf(out, "%-*s   ", (int)width[c], cell);
        }
    }
}

void table_free(table *t)
{
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void fmt_duration(double seconds, char *out, size_t outlen)
{
    if (seconds < 0) {
        snprintf(out, outlen, "-");
        return;
    }
    long long s = (long long)seconds;
    if (s < 60)
        snprintf(out, outlen, "%llds", s);
    else if (s < 3600)
        snprintf(out, outlen, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, outlen, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, outlen, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void fmt_bytes(double bytes, char *out, size_t outlen)
{
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(out, outlen, "%.0f B", bytes);
        return;
    }
    int u = 0;
    bytes /= 1024;
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, outlen, "%.1f %s", bytes, units[u]);
}

void fmt_age(const char *rfc3339, char *out, size_t outlen)
{
    if (!rfc3339) {
        snprintf(out, outlen, "-");
        return;
    }
    struct tm tm = {0};
    const char *end = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
    time_t then = end ? timegm(&tm) : (time_t)-1;
    if (then == (time_t)-1) {
        snprintf(out, outlen, "%s", rfc3339);
        return;
    }
    long long ago = (long long)difftime(time(NULL), then);
    if (ago < 0)
        ago = 0;
    static const struct {
        long long secs;
        const char *name;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        long long n = ago / units[i].secs;
        if (n > 0 || units[i].secs == 1) {
            snprintf(out, outlen, "%lld %s%s ago", n, units[i].name, n == 1 ? "" : "s");
            return;
        }
    }
}

const char *json_str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

int json_num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return 0;
    *out = v->valuedouble;
    return 1;
}

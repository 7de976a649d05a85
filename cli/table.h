/*
 * table.h — what the listing commands (ps, images, stats) share: a table that
 * sizes its columns to what they hold, the units they show (durations, bytes,
 * ages) and lookups of fields in the daemon's JSON that tolerate absent ones.
 */
#ifndef UIGNITER_CLI_TABLE_H
#define UIGNITER_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct cJSON;

typedef struct table {
    int ncols;
    int nrows, cap;
    char **cells; /* nrows * ncols copies, row after row; the first row is the heading */
} table;

/* The heading: ncols strings. */
void table_init(table *t, int ncols, ...);
/* One row of t->ncols strings (copied; NULL shows as "-"). */
void table_add(table *t, ...);
/* Left-aligned columns three spaces apart; the last column is not padded. */
void table_print(const table *t, FILE *out);
void table_free(table *t);

/* 42s, 5m03s, 2h05m, 3d04h; negative: "-". */
void fmt_duration(double seconds, char *out, size_t outlen);
/* 512 B, 96.0 KiB, 1.3 MiB, 2.0 GiB. */
void fmt_bytes(double bytes, char *out, size_t outlen);
/* An RFC 3339 UTC time as "12 seconds ago", "5 minutes ago"...; as is when it
 * does not parse; "-" when NULL. */
void fmt_age(const char *rfc3339, char *out, size_t outlen);

/* o[key] when it is a string, else dflt. */
const char *json_str(const struct cJSON *o, const char *key, const char *dflt);
/* o[key] when it is a number: 1 and *out set; 0 otherwise. */
int json_num(const struct cJSON *o, const char *key, double *out);

#endif

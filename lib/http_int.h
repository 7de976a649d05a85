/* http_int.h -- what the HTTP server and client share inside lib/: the
 * collector that turns http-parser's URL and header callbacks into one
 * NUL-separated arena with a size limit. Not part of lib's API. */
#ifndef UIG_HTTP_INT_H
#define UIG_HTTP_INT_H

#include "buf.h"
#include "http.h"

#define HTTP_MAX_HEADERS 100

typedef struct http_msg {
    buf head;  /* target or status text, then name\0value\0 pairs */
    int state; /* 0: in the target, 1: in a name, 2: in a value */
    int nheaders;
    size_t max_bytes;
    size_t hdr_off[2 * HTTP_MAX_HEADERS];
    http_header headers[HTTP_MAX_HEADERS];
} http_msg;

void http_msg_reset(http_msg *m, size_t max_bytes);
void http_msg_free(http_msg *m);
/* Return 0, or -1 when the head grows past max_bytes or has too many headers. */
int http_msg_target(http_msg *m, const char *at, size_t len);
int http_msg_field(http_msg *m, const char *at, size_t len);
int http_msg_value(http_msg *m, const char *at, size_t len);
/* Ends the head and fills m->headers; the target is at m->head.data. */
void http_msg_finish(http_msg *m);
const char *http_find_header(const http_header *h, int n, const char *name);

#endif

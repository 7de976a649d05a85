/* http_util.c -- pieces of HTTP shared by the server and the client: the
 * header collector (http_int.h), status texts, URL decoding. */
#include "http_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void http_msg_reset(http_msg *m, size_t max_bytes)
{
    buf_clear(&m->head);
    m->state = 0;
    m->nheaders = 0;
    m->max_bytes = max_bytes;
}

void http_msg_free(http_msg *m)
{
    buf_free(&m->head);
}

static int msg_add(http_msg *m, const char *at, size_t len)
{
    if (buf_used(&m->head) + len + 1 > m->max_bytes)
        return -1;
    buf_append(&m->head, at, len);
    return 0;
}

int http_msg_target(http_msg *m, const char *at, size_t len)
{
    return msg_add(m, at, len);
}

int http_msg_field(http_msg *m, const char *at, size_t len)
{
    if (m->state != 1) {
        if (m->nheaders == HTTP_MAX_HEADERS)
            return -1;
        buf_append(&m->head, "", 1); /* ends the target or the previous value */
        m->hdr_off[2 * m->nheaders] = buf_used(&m->head);
        m->nheaders++;
        m->state = 1;
    }
    return msg_add(m, at, len);
}

int http_msg_value(http_msg *m, const char *at, size_t len)
{
    if (m->state != 2) {
        buf_append(&m->head, "", 1);
        m->hdr_off[2 * m->nheaders - 1] = buf_used(&m->head);
        m->state = 2;
    }
    return msg_add(m, at, len);
}

void http_msg_finish(http_msg *m)
{
    if (m->state == 1) { /* a name without a value */
        buf_append(&m->head, "", 1);
        m->hdr_off[2 * m->nheaders - 1] = buf_used(&m->head);
    }
    buf_append(&m->head, "", 1);
    char *base = buf_peek(&m->head);
    for (int i = 0; i < m->nheaders; i++) {
        m->headers[i].name = base + m->hdr_off[2 * i];
        m->headers[i].value = base + m->hdr_off[2 * i + 1];
    }
    m->state = 3;
}

const char *http_find_header(const http_header *h, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

const char *http_resp_header(const http_response *resp, const char *name)
{
    return http_find_header(resp->headers, resp->nheaders, name);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int http_url_decode(char *dst, const char *src, size_t len, int plus)
{
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval((unsigned char)src[i + 1]), lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            dst[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            dst[j++] = ' ';
        } else {
            dst[j++] = c;
        }
    }
    dst[j] = '\0';
    return (int)j;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 507:
        return "Insufficient Storage";
    default:
        return "Unknown";
    }
}

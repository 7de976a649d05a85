/* buf.c -- growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

char *buf_reserve(buf *b, size_t n)
{
    if (b->cap - b->len > n)
        return b->data + b->len;
    /* Reuse the consumed space in front before growing. */
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len > n)
            return b->data + b->len;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= n)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        fprintf(stderr, "out of memory (buffer of %zu bytes)\n", cap);
        abort();
    }
    b->data = d;
    b->cap = cap;
    return b->data + b->len;
}

void buf_commit(buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_append(buf *b, const void *p, size_t n)
{
    char *dst = buf_reserve(b, n);
    if (n)
        memcpy(dst, p, n);
    buf_commit(b, n);
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char *dst = buf_reserve(b, 128);
    size_t room = b->cap - b->len;
    int n = vsnprintf(dst, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        dst = buf_reserve(b, (size_t)n + 1);
        vsnprintf(dst, (size_t)n + 1, fmt, ap2);
    }
    va_end(ap2);
    if (n > 0)
        buf_commit(b, (size_t)n);
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
    if (b->data)
        b->data[b->len] = '\0';
}

void buf_truncate(buf *b, size_t n)
{
    if (!b->data || n >= b->len - b->off)
        return;
    b->len = b->off + n;
    b->data[b->len] = '\0';
}

void buf_clear(buf *b)
{
    b->off = b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

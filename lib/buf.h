/* buf.h -- a growable byte buffer with a read offset, the one buffer type of
 * lib/ (like Redis' sds, but a plain struct so that it can sit inside other
 * structs). Bytes are appended at the end and consumed from the front; the
 * space in front is reclaimed lazily when the buffer needs to grow.
 * The contents are always followed by a NUL byte, so text can be parsed in
 * place. Allocation failures abort: a service that cannot allocate a few
 * kilobytes cannot do anything useful either.
 */
#ifndef UIG_BUF_H
#define UIG_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t off; /* first unread byte */
    size_t len; /* end of the data */
    size_t cap;
} buf;

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void buf_free(buf *b);
/* Makes room for n more bytes and returns where they go; buf_commit() then
 * says how many were written there (for read(2) straight into the buffer). */
char *buf_reserve(buf *b, size_t n);
void buf_commit(buf *b, size_t n);
void buf_append(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
void buf_consume(buf *b, size_t n);
/* Keeps the first n unread bytes and drops the rest (n <= buf_used). */
void buf_truncate(buf *b, size_t n);
void buf_clear(buf *b);

static inline char *buf_peek(const buf *b)
{
    return b->data ? b->data + b->off : (char *)"";
}
static inline size_t buf_used(const buf *b)
{
    return b->len - b->off;
}

#endif

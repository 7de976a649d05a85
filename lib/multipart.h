/* multipart.h -- a streaming parser for multipart/form-data bodies (RFC 7578,
 * RFC 2046 section 5.1), as browsers and `curl -F` send them.
 *
 * The body is fed in pieces of any size as it arrives; part contents are
 * handed on as they are found, so memory is fixed (one struct, no malloc)
 * whatever the size of a file. Limits keep hostile input bounded: a boundary
 * of 1-70 characters, 8 KiB of headers per part, 64 parts.
 *
 *   char b[MULTIPART_BOUNDARY_MAX + 1];
 *   multipart_boundary(content_type_header, b, sizeof(b));
 *   multipart_init(&mp, b, &callbacks, arg);
 *   multipart_feed(&mp, data, len);  ...   multipart_finish(&mp);
 */
#ifndef UIG_MULTIPART_H
#define UIG_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70
#define MULTIPART_HEADERS_MAX  8192
#define MULTIPART_PARTS_MAX    64
#define MULTIPART_NAME_MAX     256

typedef struct multipart_part {
    char name[MULTIPART_NAME_MAX];     /* form field name; "" when absent */
    char filename[MULTIPART_NAME_MAX]; /* "" when absent */
    char content_type[128];            /* "" when absent */
    int has_filename;
} multipart_part;

/* Each returns 0 to go on, or -1 to stop the parse (multipart_feed then
 * fails with ECANCELED). */
typedef struct multipart_callbacks {
    int (*on_part)(void *arg, const multipart_part *part); /* a part's headers */
    int (*on_data)(void *arg, const char *data, size_t len);
    int (*on_part_end)(void *arg);
} multipart_callbacks;

typedef struct multipart {
    const multipart_callbacks *cb;
    void *arg;
    char delim[4 + MULTIPART_BOUNDARY_MAX]; /* "\r\n--" boundary */
    size_t delim_len;
    size_t match; /* bytes of delim matched so far */
    int state;
    int sub; /* a small state inside the current one */
    int nparts;
    int in_part;
    int error; /* errno of the first failure; sticky */
    const char *why;
    size_t hlen;
    char headers[MULTIPART_HEADERS_MAX + 1];
    multipart_part part;
} multipart;

/* Copies the boundary parameter of a Content-Type value such as
 * `multipart/form-data; boundary=----X`. Returns its length, or -1 with
 * EINVAL when the type is not multipart or the boundary is missing or
 * invalid (RFC 2046 characters, 1-70 long). */
int multipart_boundary(const char *content_type, char *out, size_t outlen);

/* Returns 0, or -1 with EINVAL for an invalid boundary. cb fields may be NULL. */
int multipart_init(multipart *m, const char *boundary, const multipart_callbacks *cb, void *arg);
/* Returns 0, or -1 with errno: EBADMSG (malformed: see multipart_why),
 * EMSGSIZE (a limit), ECANCELED (a callback stopped it). Once it failed it
 * keeps failing. Bytes after the closing boundary are ignored. */
int multipart_feed(multipart *m, const char *data, size_t len);
/* After the last piece: 0 when the closing boundary was seen, else -1 with
 * EBADMSG (the body was cut short). */
int multipart_finish(multipart *m);
/* 1 once the closing boundary has been parsed. */
int multipart_done(const multipart *m);
/* A short reason for the last failure, for error replies. */
const char *multipart_why(const multipart *m);

#endif

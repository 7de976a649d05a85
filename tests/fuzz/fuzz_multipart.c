// clang-format off
// fuzz-sources: lib/multipart.c
// clang-format on
/* fuzz_multipart.c -- libFuzzer target for lib's streaming multipart parser.
 *
 * The input's first line is the boundary (a fixed one when that line is not
 * a valid boundary), the rest is the body. The body is parsed twice: whole,
 * and in pieces of pseudo-random sizes drawn from the input itself. Both
 * runs must report the same parts, the same bytes in each part and the same
 * outcome: a streaming parser must not depend on where the network cut the
 * body. Memory errors and undefined behaviour are caught by the sanitizers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

typedef struct trace {
    char *p;
    size_t len, cap;
} trace;

static void put(trace *t, const void *d, size_t n)
{
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2 + 64;
        t->p = realloc(t->p, t->cap);
        if (!t->p)
            abort();
    }
    memcpy(t->p + t->len, d, n);
    t->len += n;
}

static int on_part(void *arg, const multipart_part *p)
{
    trace *t = arg;
    put(t, "\0P", 2);
    put(t, p->name, strlen(p->name) + 1);
    put(t, p->filename, strlen(p->filename) + 1);
    put(t, p->content_type, strlen(p->content_type) + 1);
    put(t, &p->has_filename, sizeof(p->has_filename));
    return 0;
}

static int on_data(void *arg, const char *d, size_t n)
{
    if (n == 0)
        abort(); /* empty pieces are never passed on */
    put(arg, d, n);
    return 0;
}

static int on_end(void *arg)
{
    put(arg, "\0E", 2);
    return 0;
}

static const multipart_callbacks cbs = {on_part, on_data, on_end};

/* Parses body in pieces (sizes from seed; 0: whole) into t; returns the outcome. */
static int run(const char *boundary, const uint8_t *body, size_t len, uint32_t seed, trace *t)
{
    multipart m;
    if (multipart_init(&m, boundary, &cbs, t) < 0)
        abort(); /* the boundary was checked before */
    size_t off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t n = len - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 97;
            if (n > len - off)
                n = len - off;
        }
        rc = multipart_feed(&m, (const char *)body + off, n);
        off += n;
    }
    int fin = multipart_finish(&m);
    return (rc < 0 ? 1 : 0) | (fin < 0 ? 2 : 0) | (multipart_done(&m) ? 4 : 0) | (m.error << 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char boundary[MULTIPART_BOUNDARY_MAX + 1] = "XyZ-b0undary";
    const uint8_t *nl = memchr(data, '\n', size < 80 ? size : 80);
    const uint8_t *body = data;
    size_t len = size;
    if (nl) {
        size_t bl = (size_t)(nl - data);
        char cand[MULTIPART_BOUNDARY_MAX + 2];
        if (bl <= MULTIPART_BOUNDARY_MAX) {
            memcpy(cand, data, bl);
            cand[bl] = '\0';
            multipart probe;
            if (memchr(cand, '\0', bl) == NULL && multipart_init(&probe, cand, NULL, NULL) == 0)
                memcpy(boundary, cand, bl + 1);
        }
        body = nl + 1;
        len = size - bl - 1;
    }
    /* The Content-Type parser too, on the same bytes. */
    char ct[256], out[MULTIPART_BOUNDARY_MAX + 1];
    size_t cl = size < sizeof(ct) - 1 ? size : sizeof(ct) - 1;
    memcpy(ct, data, cl);
    ct[cl] = '\0';
    if (multipart_boundary(ct, out, sizeof(out)) >= 0) {
        multipart probe;
        if (multipart_init(&probe, out, NULL, NULL) < 0)
            abort(); /* a boundary it accepts must be usable */
    }

    uint32_t seed = 0x9e3779b9u;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 31 + data[i];
    trace whole = {0}, pieces = {0};
    int a = run(boundary, body, len, 0, &whole);
    int b = run(boundary, body, len, seed | 1, &pieces);
    if (a != b || whole.len != pieces.len || (whole.len && memcmp(whole.p, pieces.p, whole.len)))
        abort(); /* the result depends on how the body was cut */
    free(whole.p);
    free(pieces.p);
    return 0;
}

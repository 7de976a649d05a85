// fuzz-sources: services/kvstore/proto.c services/kvstore/store.c lib/mc_proto.c lib/buf.c
/* fuzz_memcache.c -- libFuzzer target for both sides of the memcached text
 * protocol: kvstore's command interpreter (the input arrives in pieces whose
 * sizes come from the input itself, as a socket would deliver it) and lib's
 * reply parser, for each kind of reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/kvstore/kvstore.h"
#include "mc.h"

static kv_store store;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (kv_store_init(&store, 1 << 20, 64 * 1024) < 0)
            abort();
        ready = 1;
    }
    kv_store_tick(&store);
    kv_conn conn = {0};
    buf in = BUF_INIT, out = BUF_INIT;
    size_t pos = 0, step = size ? (size_t)data[0] % 64 + 1 : 1;
    while (pos < size && !conn.close) {
        size_t n = size - pos < step ? size - pos : step;
        buf_append(&in, data + pos, n);
        pos += n;
        size_t used = kv_execute(&store, &conn, buf_peek(&in), buf_used(&in), &out);
        if (used > buf_used(&in))
            abort();
        buf_consume(&in, used);
        buf_clear(&out);
        step = step * 7 % 61 + 1;
    }
    kv_crawl(&store, 64);
    buf_free(&in);
    buf_free(&out);

    mc_value *vals = NULL;
    int cap = 0;
    for (int kind = MC_KIND_STATUS; kind <= MC_KIND_NUMBER; kind++) {
        size_t off = 0;
        while (off < size) {
            mc_reply r;
            long n = mc_parse_reply((const char *)data + off, size - off, kind, &r, &vals, &cap);
            if (n <= 0)
                break;
            if ((size_t)n > size - off)
                abort();
            for (int i = 0; i < r.nvalues; i++)
                if (r.values[i].data + r.values[i].len > (const char *)data + size)
                    abort();
            off += (size_t)n;
        }
    }
    free(vals);
    return 0;
}

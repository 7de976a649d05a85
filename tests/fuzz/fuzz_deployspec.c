/* fuzz_deployspec.c -- a deployment file: whatever the bytes, the parser
 * answers a deployment or a reason, never crashes or leaks, and what it accepts
 * keeps the promises deploy.c relies on (names, counts, dependencies that point
 * at other services and have no cycle, a run request run_req_parse accepts, and
 * references that expand).
 */
// fuzz-sources: daemon/deployspec.c daemon/runreq.c daemon/proxy.c cli/shell_words.c lib/el.c lib/net.c lib/log.c lib/buf.c build/deps/cjson/cJSON.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/deployspec.h"
#include "../../daemon/runreq.h"

static int lookup(void *ctx, int svc, const char *what, char *out, size_t outlen)
{
    (void)ctx;
    snprintf(out, outlen, "10.0.0.%d%s", svc + 2, what[0] ? "" : ":80");
    return 0;
}

/* No cycle: every path of dependencies is shorter than the number of services. */
static int depth(const ds_spec *s, int i, int d)
{
    if (d > s->nsvc)
        abort();
    int best = 0;
    for (int k = 0; k < s->svc[i].ndeps; k++) {
        int x = depth(s, s->svc[i].deps[k], d + 1) + 1;
        best = x > best ? x : best;
    }
    return best;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ds_spec s;
    char err[512];
    err[0] = 0;
    const char *hint = size && data[0] & 1 ? "fuzz" : NULL;
    if (ds_parse((const char *)data, size, hint, &s, err, sizeof err) < 0) {
        if (!err[0] || !memchr(err, 0, sizeof err))
            abort(); /* every refusal says why */
        ds_free(&s);
        return 0;
    }
    if (!name_ok(s.name, DS_NAME_MAX) || strchr(s.name, '.') || s.nsvc < 1 ||
        s.nsvc > DS_SERVICES_MAX)
        abort();
    for (int i = 0; i < s.nsvc; i++) {
        const ds_service *v = &s.svc[i];
        if (!name_ok(v->name, DS_NAME_MAX) || strchr(v->name, '.') || v->replicas < 0 ||
            v->replicas > DS_REPLICAS_MAX || v->port < 0 || v->port > 65535 || !v->run)
            abort();
        if (v->autoscale && (v->as_queue < 0 || v->as_queue >= s.nsvc || v->as_queue == i ||
                             !s.svc[v->as_queue].port || v->as_min < 0 || v->as_min > v->as_max ||
                             v->as_max != v->replicas || v->as_per < 1 || v->as_idle_s < 0))
            abort();
        for (int k = 0; k < v->ndeps; k++)
            if (v->deps[k] < 0 || v->deps[k] >= s.nsvc || v->deps[k] == i)
                abort();
        depth(&s, i, 0);
        run_req r;
        char why[512];
        /* Named volumes aside, the stored request is one POST /vm/run takes. */
        int rc = run_req_parse(v->run, strlen(v->run), &r, why, sizeof why);
        if (rc < 0 && !strstr(why, "volumes"))
            abort();
        run_req_free(&r);
        char *x = ds_expand(&s, v->run, lookup, NULL, 1 << 20, why, sizeof why);
        free(x);
    }
    ds_free(&s);
    return 0;
}

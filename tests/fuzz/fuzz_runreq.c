/* fuzz_runreq.c -- the body of POST /vm/run: whatever the bytes, the parser
 * answers a request or a reason, never crashes or leaks, and what it accepts
 * keeps the promises the daemon relies on (names, ranges, absolute volume
 * paths, limits on counts and sizes).
 */
// fuzz-sources: daemon/runreq.c daemon/proxy.c cli/shell_words.c lib/el.c lib/net.c lib/log.c lib/buf.c build/deps/cjson/cJSON.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/runreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_req r;
    char err[512];
    err[0] = 0;
    int rc = run_req_parse((const char *)data, size, &r, err, sizeof err);
    if (rc < 0) {
        if (!err[0] || !memchr(err, 0, sizeof err))
            abort(); /* every refusal says why */
    } else {
        if (!name_ok(r.image, RR_IMAGE_MAX) || (r.name[0] && !name_ok(r.name, RR_NAME_MAX)))
            abort();
        if (r.mem_mib && (r.mem_mib < RR_MEM_MIN || r.mem_mib > RR_MEM_MAX))
            abort();
        if (r.nports > RR_PORTS_MAX || r.nvolumes > RR_VOLUMES_MAX || r.restart < 0 ||
            r.restart > 2 || !r.env)
            abort();
        size_t total = 0;
        for (int i = 0; i < r.nargs; i++)
            total += strlen(r.args[i]) + 1;
        for (int i = 0; i < r.nenv; i++) {
            if (!strchr(r.env[i], '=') || r.env[i][0] == '=')
                abort();
            total += strlen(r.env[i]) + 1;
        }
        if (total > RR_ARGENV_BYTES)
            abort();
        for (int i = 0; i < r.nvolumes; i++) {
            const char *c = strchr(r.volumes[i], ':');
            if (r.volumes[i][0] != '/' || !c || c[1] != '/')
                abort();
        }
        for (int i = 0; i < r.nports; i++)
            if (r.ports[i].host_port < 1 || r.ports[i].host_port > 65535 ||
                r.ports[i].vm_port < 1 || r.ports[i].vm_port > 65535)
                abort();
    }
    run_req_free(&r);
    return 0;
}

/* deployspec.c -- parses and checks a deployment file (see deployspec.h).
 *
 * The run fields of a service are handed to run_req_parse as they are, so a
 * service is refused for exactly the reasons a POST /vm/run would be, with the
 * service's name in front. What a deployment adds is checked here: names,
 * counts, references, and that the services' dependencies have no cycle.
 */
#include "deployspec.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runreq.h"

/* Deployment and service names: a VM name is DEPLOY.SERVICE.N, and a reference
 * is ${SERVICE.ip}, so neither may hold a '.'. */
static bool ds_name_ok(const char *s)
{
    return name_ok(s, DS_NAME_MAX) && !strchr(s, '.');
}

int ds_find(const ds_spec *s, const char *name, size_t len)
{
    for (int i = 0; i < s->nsvc; i++)
        if (strlen(s->svc[i].name) == len && memcmp(s->svc[i].name, name, len) == 0)
            return i;
    return -1;
}

static uint64_t fnv1a(const char *p)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h;
}

static const char *const run_fields[] = {"image", "args", "cmdline", "env", "mem_mib",
                                         "restart", "volumes", "ports", NULL};
static const char *const own_fields[] = {"name", "replicas", "port", "depends_on", "autoscale",
                                         NULL};
static const char *const autoscale_fields[] = {"queue", "min", "max", "per_replica", "idle_s",
                                               NULL};

static bool in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static int add_dep(ds_service *v, int dep)
{
    for (int i = 0; i < v->ndeps; i++)
        if (v->deps[i] == dep)
            return 0;
    v->deps[v->ndeps++] = dep;
    return 0;
}

/* Parses the reference at p (just after "${"), up to '}'. */
static int parse_ref(const ds_spec *s, const char *p, int *svc, char what[8], const char **end)
{
    const char *close = strchr(p, '}');
    if (!close)
        return -1;
    const char *dot = memchr(p, '.', (size_t)(close - p));
    size_t nlen = dot ? (size_t)(dot - p) : (size_t)(close - p);
    *end = close + 1;
    what[0] = 0;
    if (dot) {
        size_t wl = (size_t)(close - dot - 1);
        if ((wl != 2 || memcmp(dot + 1, "ip", 2)) && (wl != 4 || memcmp(dot + 1, "port", 4)))
            return -2;
        memcpy(what, dot + 1, wl);
        what[wl] = 0;
    }
    *svc = ds_find(s, p, nlen);
    return *svc < 0 ? -3 : 0;
}

/* Every reference in str must name another service (with a port unless it
 * asks for .ip); each becomes a dependency of service i. */
static int check_refs(ds_spec *s, int i, const char *str, const char *where, char *err,
                      size_t errlen)
{
    ds_service *v = &s->svc[i];
    for (const char *p = str; (p = strchr(p, '$'));) {
        if (p[1] == '$' && p[2] == '{') {
            p += 3;
            continue;
        }
        if (p[1] != '{') {
            p++;
            continue;
        }
        int svc;
        char what[8];
        const char *end;
        int rc = parse_ref(s, p + 2, &svc, what, &end);
        if (rc == -1)
            return rr_error(err, errlen, "services.%s.%s: '${' without its '}' (write $${ for a "
                        "literal ${)", v->name, where);
        if (rc == -2)
            return rr_error(err, errlen, "services.%s.%s: %.*s: want ${SERVICE}, ${SERVICE.ip} or "
                        "${SERVICE.port}", v->name, where, (int)(end - p > 80 ? 80 : end - p), p);
        if (rc == -3)
            return rr_error(err, errlen, "services.%s.%s: %.*s names no service of this deployment",
                        v->name, where, (int)(end - p > 80 ? 80 : end - p), p);
        if (svc == i)
            return rr_error(err, errlen, "services.%s.%s: a service cannot refer to itself", v->name,
                        where);
        if (strcmp(what, "ip") && !s->svc[svc].port)
            return rr_error(err, errlen, "services.%s.%s: %.*s needs a \"port\" on service %s",
                        v->name, where, (int)(end - p > 80 ? 80 : end - p), p, s->svc[svc].name);
        add_dep(v, svc);
        p = end;
    }
    return 0;
}

static int refs_in(ds_spec *s, int i, const cJSON *run, char *err, size_t errlen)
{
    const cJSON *e;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(run, "args");
    int k = 0;
    cJSON_ArrayForEach(e, args)
    {
        char where[32];
        snprintf(where, sizeof where, "args[%d]", k++);
        if (cJSON_IsString(e) && check_refs(s, i, e->valuestring, where, err, errlen) < 0)
            return -1;
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(run, "cmdline");
    if (cJSON_IsString(cmd) && check_refs(s, i, cmd->valuestring, "cmdline", err, errlen) < 0)
        return -1;
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(run, "env");
    k = 0;
    cJSON_ArrayForEach(e, env)
    {
        char where[96];
        if (e->string)
            snprintf(where, sizeof where, "env.%.64s", e->string);
        else
            snprintf(where, sizeof where, "env[%d]", k);
        k++;
        if (cJSON_IsString(e) && check_refs(s, i, e->valuestring, where, err, errlen) < 0)
            return -1;
    }
    return 0;
}

size_t ds_volume_named(const char *vol)
{
    const char *c = strchr(vol, ':');
    if (!c || c == vol || vol[0] == '/')
        return 0;
    char name[DS_NAME_MAX + 1];
    size_t n = (size_t)(c - vol);
    if (n > DS_NAME_MAX)
        return 0;
    memcpy(name, vol, n);
    name[n] = 0;
    return ds_name_ok(name) ? n : 0;
}

/* The run fields as run_req_parse sees them at start, with a named volume's
 * host side replaced by an absolute path of the same shape: a named volume is
 * checked like any other. */
static int check_run(const ds_service *v, cJSON *run, char *err, size_t errlen)
{
    cJSON *copy = cJSON_Duplicate(run, 1);
    if (!copy)
        abort();
    cJSON *vols = cJSON_GetObjectItemCaseSensitive(copy, "volumes"), *e;
    int k = 0;
    cJSON_ArrayForEach(e, vols)
    {
        if (!cJSON_IsString(e)) {
            k++;
            continue;
        }
        if (e->valuestring[0] != '/' && !ds_volume_named(e->valuestring)) {
            cJSON_Delete(copy);
            return rr_error(err, errlen, "services.%s.volumes[%d]: want NAME:GUESTDIR[:ro] (a named "
                        "volume: letters, digits, _ and -) or HOSTDIR:GUESTDIR[:ro]", v->name, k);
        }
        if (e->valuestring[0] != '/') {
            size_t len = strlen(e->valuestring) + 2;
            char *abs = malloc(len);
            if (!abs)
                abort();
            snprintf(abs, len, "/%s", e->valuestring);
            cJSON_SetValuestring(e, abs);
            free(abs);
        }
        k++;
    }
    char *text = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    if (!text)
        abort();
    run_req r;
    char why[400];
    int rc = run_req_parse(text, strlen(text), &r, why, sizeof why);
    free(text);
    if (rc == 0 && r.nports && v->replicas > 1)
        rc = rr_error(why, sizeof why, "ports: a host port is published by one VM, and replicas is %d",
                  v->replicas);
    run_req_free(&r);
    if (rc < 0)
        return rr_error(err, errlen, "services.%s: %s", v->name, why);
    return 0;
}

static int whole(const cJSON *x, double lo, double hi, int *out)
{
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= lo) || !(x->valuedouble <= hi) ||
        x->valuedouble != (double)(int)x->valuedouble)
        return -1;
    *out = (int)x->valuedouble;
    return 0;
}

static int parse_autoscale(ds_service *v, const cJSON *as, bool has_replicas, char *err,
                           size_t errlen)
{
    if (!cJSON_IsObject(as))
        return rr_error(err, errlen, "services.%s.autoscale: want an object {\"queue\", \"max\", ...}",
                    v->name);
    if (has_replicas)
        return rr_error(err, errlen, "services.%s: give replicas or autoscale, not both", v->name);
    char where[DS_NAME_MAX + 32];
    snprintf(where, sizeof where, "services.%s.autoscale: ", v->name);
    if (json_fields_check(as, autoscale_fields, NULL, where, err, errlen) < 0)
        return -1;
    v->autoscale = true;
    v->as_per = 1;
    v->as_idle_s = 10;
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(as, "max");
    if (!x || whole(x, 1, DS_REPLICAS_MAX, &v->as_max) < 0)
        return rr_error(err, errlen, "services.%s.autoscale.max: want a whole number from 1 to %d",
                    v->name, DS_REPLICAS_MAX);
    x = cJSON_GetObjectItemCaseSensitive(as, "min");
    if (x && whole(x, 0, v->as_max, &v->as_min) < 0)
        return rr_error(err, errlen, "services.%s.autoscale.min: want a whole number from 0 to max "
                    "(%d)", v->name, v->as_max);
    x = cJSON_GetObjectItemCaseSensitive(as, "per_replica");
    if (x && whole(x, 1, 100000, &v->as_per) < 0)
        return rr_error(err, errlen, "services.%s.autoscale.per_replica: want tasks per replica from "
                    "1 to 100000", v->name);
    x = cJSON_GetObjectItemCaseSensitive(as, "idle_s");
    if (x && whole(x, 0, 86400, &v->as_idle_s) < 0)
        return rr_error(err, errlen, "services.%s.autoscale.idle_s: want seconds from 0 to 86400",
                    v->name);
    x = cJSON_GetObjectItemCaseSensitive(as, "queue");
    if (!cJSON_IsString(x))
        return rr_error(err, errlen, "services.%s.autoscale.queue: want the name of the service "
                    "whose queue it follows (taskdb)", v->name);
    v->replicas = v->as_max;
    v->as_queue = -1;
    return 0;
}

/* Services in the order of their first field, each checked alone. */
static int parse_service(ds_spec *s, int i, const cJSON *o, cJSON **run, char *err,
                         size_t errlen)
{
    ds_service *v = &s->svc[i];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (!cJSON_IsString(name) || !ds_name_ok(name->valuestring))
        return rr_error(err, errlen, "services[%d].name: want [A-Za-z0-9][A-Za-z0-9_-]*, at most %d "
                    "characters", i, DS_NAME_MAX);
    snprintf(v->name, sizeof v->name, "%s", name->valuestring);
    if (ds_find(s, v->name, strlen(v->name)) != i)
        return rr_error(err, errlen, "services[%d].name: '%s' is given twice", i, v->name);
    char where[DS_NAME_MAX + 16];
    snprintf(where, sizeof where, "services.%s: ", v->name);
    if (json_fields_check(o, run_fields, own_fields, where, err, errlen) < 0)
        return -1;
    const cJSON *f;
    v->replicas = 1;
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "replicas");
    if (x && whole(x, 0, DS_REPLICAS_MAX, &v->replicas) < 0)
        return rr_error(err, errlen, "services.%s.replicas: want a whole number from 0 to %d",
                    v->name, DS_REPLICAS_MAX);
    x = cJSON_GetObjectItemCaseSensitive(o, "port");
    if (x && whole(x, 1, 65535, &v->port) < 0)
        return rr_error(err, errlen, "services.%s.port: want a port from 1 to 65535", v->name);
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(o, "autoscale");
    if (as && parse_autoscale(v, as, cJSON_GetObjectItemCaseSensitive(o, "replicas") != NULL, err,
                              errlen) < 0)
        return -1;
    *run = cJSON_CreateObject();
    if (!*run)
        abort();
    cJSON_ArrayForEach(f, o)
        if (in(run_fields, f->string))
            cJSON_AddItemToObject(*run, f->string, cJSON_Duplicate(f, 1));
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(o, "image");
    if (cJSON_IsString(img))
        snprintf(v->image, sizeof v->image, "%s", img->valuestring);
    if (!cJSON_GetObjectItemCaseSensitive(*run, "restart"))
        cJSON_AddStringToObject(*run, "restart", "always");
    return check_run(v, *run, err, errlen);
}

static int deps_of(ds_spec *s, int i, const cJSON *o, char *err, size_t errlen)
{
    ds_service *v = &s->svc[i];
    if (v->autoscale) {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(o, "autoscale"), "queue");
        int j = ds_find(s, q->valuestring, strlen(q->valuestring));
        if (j < 0 || j == i)
            return rr_error(err, errlen, "services.%s.autoscale.queue: want the name of another "
                        "service of this deployment", v->name);
        if (!s->svc[j].port)
            return rr_error(err, errlen, "services.%s.autoscale.queue: service %s needs a \"port\"",
                        v->name, s->svc[j].name);
        v->as_queue = j;
        add_dep(v, j); /* the queue must answer before its count can be followed */
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "depends_on"), *e;
    if (!d)
        return 0;
    if (!cJSON_IsArray(d))
        return rr_error(err, errlen, "services.%s.depends_on: want an array of service names",
                    v->name);
    int k = 0;
    cJSON_ArrayForEach(e, d)
    {
        int j = cJSON_IsString(e) ? ds_find(s, e->valuestring, strlen(e->valuestring)) : -1;
        if (j < 0)
            return rr_error(err, errlen, "services.%s.depends_on[%d]: want the name of a service of "
                        "this deployment", v->name, k);
        if (j == i)
            return rr_error(err, errlen, "services.%s.depends_on[%d]: a service cannot wait for "
                        "itself", v->name, k);
        add_dep(v, j);
        k++;
    }
    return 0;
}

/* Depth-first: 0 unseen, 1 on the path, 2 done. */
static int cycle_from(const ds_spec *s, int i, int *mark, int *path, int depth)
{
    mark[i] = 1;
    path[depth] = i;
    for (int k = 0; k < s->svc[i].ndeps; k++) {
        int j = s->svc[i].deps[k];
        if (mark[j] == 1) {
            path[depth + 1] = j;
            return depth + 2;
        }
        if (mark[j] == 0) {
            int n = cycle_from(s, j, mark, path, depth + 1);
            if (n)
                return n;
        }
    }
    mark[i] = 2;
    return 0;
}

static int check_cycles(const ds_spec *s, char *err, size_t errlen)
{
    int mark[DS_SERVICES_MAX] = {0}, path[DS_SERVICES_MAX + 1];
    for (int i = 0; i < s->nsvc; i++) {
        if (mark[i])
            continue;
        int n = cycle_from(s, i, mark, path, 0);
        if (!n)
            continue;
        char msg[DS_SERVICES_MAX * (DS_NAME_MAX + 4) + 1] = "";
        int start = 0;
        while (path[start] != path[n - 1])
            start++;
        for (int k = start; k < n; k++) {
            strcat(msg, s->svc[path[k]].name);
            if (k + 1 < n)
                strcat(msg, " -> ");
        }
        return rr_error(err, errlen, "services: they wait for each other: %s", msg);
    }
    return 0;
}

int ds_parse(const char *text, size_t len, const char *name, ds_spec *s, char *err,
             size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (len > DS_SPEC_BYTES)
        return rr_error(err, errlen, "the deployment is larger than %d bytes", DS_SPEC_BYTES);
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j)
        return rr_error(err, errlen, "the deployment is not JSON");
    cJSON *runs[DS_SERVICES_MAX] = {0};
    int rc = -1;
    if (!cJSON_IsObject(j)) {
        rr_error(err, errlen, "the deployment: want a JSON object {\"name\", \"services\"}");
        goto out;
    }
    static const char *const top_fields[] = {"name", "services", NULL};
    if (json_fields_check(j, top_fields, NULL, "", err, errlen) < 0)
        goto out;
    const cJSON *f;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (n && (!cJSON_IsString(n) || !ds_name_ok(n->valuestring))) {
        rr_error(err, errlen, "name: want [A-Za-z0-9][A-Za-z0-9_-]*, at most %d characters",
             DS_NAME_MAX);
        goto out;
    }
    if (name && n && strcmp(name, n->valuestring) != 0) {
        rr_error(err, errlen, "name: the deployment says '%s', the request '%s'", n->valuestring,
             name);
        goto out;
    }
    if (!n && (!name || !ds_name_ok(name))) {
        rr_error(err, errlen, "name: required");
        goto out;
    }
    snprintf(s->name, sizeof s->name, "%s", n ? n->valuestring : name);

    const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(j, "services");
    int count = cJSON_GetArraySize(svcs);
    if (!cJSON_IsArray(svcs) || count < 1 || count > DS_SERVICES_MAX) {
        rr_error(err, errlen, "services: want an array of 1 to %d services", DS_SERVICES_MAX);
        goto out;
    }
    int i = 0;
    cJSON_ArrayForEach(f, svcs)
    {
        if (!cJSON_IsObject(f)) {
            rr_error(err, errlen, "services[%d]: want an object", i);
            goto out;
        }
        s->nsvc = i + 1;
        if (parse_service(s, i, f, &runs[i], err, errlen) < 0)
            goto out;
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(f, svcs)
    {
        if (deps_of(s, i, f, err, errlen) < 0 || refs_in(s, i, runs[i], err, errlen) < 0)
            goto out;
        i++;
    }
    if (check_cycles(s, err, errlen) < 0)
        goto out;
    for (i = 0; i < s->nsvc; i++) {
        s->svc[i].run = cJSON_PrintUnformatted(runs[i]);
        if (!s->svc[i].run)
            abort();
        s->svc[i].hash = fnv1a(s->svc[i].run);
    }
    rc = 0;
out:
    for (i = 0; i < DS_SERVICES_MAX; i++)
        cJSON_Delete(runs[i]);
    cJSON_Delete(j);
    return rc;
}

void ds_free(ds_spec *s)
{
    for (int i = 0; i < DS_SERVICES_MAX; i++) {
        free(s->svc[i].run);
        s->svc[i].run = NULL;
    }
    s->nsvc = 0;
}

char *ds_expand(const ds_spec *s, const char *in, ds_lookup *lookup, void *ctx, size_t max,
                char *err, size_t errlen)
{
    size_t cap = strlen(in) + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    for (const char *p = in; *p;) {
        char piece[4096];
        const char *add = piece;
        size_t alen;
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            add = "${";
            alen = 2;
            p += 3;
        } else if (p[0] == '$' && p[1] == '{') {
            int svc;
            char what[8];
            const char *end;
            if (parse_ref(s, p + 2, &svc, what, &end) < 0 ||
                lookup(ctx, svc, what, piece, sizeof piece) < 0) {
                rr_error(err, errlen, "%.*s: no ready replica yet", (int)(strcspn(p, "}") + 1), p);
                free(out);
                return NULL;
            }
            alen = strlen(piece);
            p = end;
        } else {
            add = p;
            alen = 1;
            p++;
        }
        if (len + alen + 1 > max + 1) {
            rr_error(err, errlen, "longer than %zu bytes once its references are expanded", max);
            free(out);
            return NULL;
        }
        if (len + alen + 1 > cap) {
            cap = (len + alen + 1) * 2;
            out = realloc(out, cap);
            if (!out)
                abort();
        }
        memcpy(out + len, add, alen);
        len += alen;
    }
    out[len] = 0;
    return out;
}

/* runreq.c -- parses and checks the body of POST /vm/run (see runreq.h).
 *
 * Every field has one type and one meaning; a wrong type is an error naming
 * the field rather than a silent default. Arguments come either as an array
 * ("args") or as one string split like a shell would ("cmdline", the original
 * Uigniter's field), never both.
 */
#include "runreq.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell_words.h"

int rr_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

static char **strv_new(int n)
{
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        abort();
    return v;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* An array of strings into a NULL-terminated copy. */
static int string_array(const cJSON *a, const char *field, char ***out, int *n, char *err,
                        size_t errlen)
{
    int count = cJSON_GetArraySize(a);
    char **v = strv_new(count);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsString(e)) {
            strv_free(v);
            return rr_error(err, errlen, "%s[%d]: want a string", field, i);
        }
        v[i++] = xstrdup(e->valuestring);
    }
    *out = v;
    *n = i;
    return 0;
}

static bool env_ok(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return false;
    for (const char *p = kv; p < eq; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static int parse_env(const cJSON *j, run_req *r, char *err, size_t errlen)
{
    if (cJSON_IsArray(j)) {
        if (string_array(j, "env", &r->env, &r->nenv, err, errlen) < 0)
            return -1;
        for (int i = 0; i < r->nenv; i++)
            if (!env_ok(r->env[i]))
                return rr_error(err, errlen, "env[%d]: want NAME=VALUE (NAME of letters, digits, _)",
                            i);
        return 0;
    }
    if (!cJSON_IsObject(j))
        return rr_error(err, errlen, "env: want an object {\"NAME\": \"VALUE\"} or [\"NAME=VALUE\"]");
    int count = cJSON_GetArraySize(j), i = 0;
    r->env = strv_new(count);
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        if (!cJSON_IsString(e))
            return rr_error(err, errlen, "env.%.64s: want a string", e->string);
        size_t kl = strlen(e->string), vl = strlen(e->valuestring);
        char *kv = malloc(kl + vl + 2);
        if (!kv)
            abort();
        memcpy(kv, e->string, kl);
        kv[kl] = '=';
        memcpy(kv + kl + 1, e->valuestring, vl + 1);
        r->env[i++] = kv;
        r->nenv = i;
        if (!env_ok(kv))
            return rr_error(err, errlen, "env: bad name '%.64s' (letters, digits, _)", e->string);
    }
    return 0;
}

/* An absolute path without empty, "." or ".." components, no ':' (the
 * separator of the volume spec), not longer than 4095. */
static bool abs_path_ok(const char *p, size_t len)
{
    if (len == 0 || len > 4095 || p[0] != '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] == ':' || p[i] == 0)
            return false;
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] == '/')
            i++;
        size_t s = i;
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - s;
        if ((n == 1 && p[s] == '.') || (n == 2 && p[s] == '.' && p[s + 1] == '.'))
            return false;
    }
    return true;
}

static int parse_volume(const char *spec, int idx, char **out, char *err, size_t errlen)
{
    const char *c1 = strchr(spec, ':');
    if (!c1)
        return rr_error(err, errlen, "volumes[%d]: want HOSTDIR:GUESTDIR[:ro]", idx);
    const char *guest = c1 + 1;
    const char *c2 = strchr(guest, ':');
    size_t glen = c2 ? (size_t)(c2 - guest) : strlen(guest);
    if (c2 && strcmp(c2, ":ro") != 0 && strcmp(c2, ":rw") != 0)
        return rr_error(err, errlen, "volumes[%d]: the mode after GUESTDIR is ro or rw", idx);
    if (!abs_path_ok(spec, (size_t)(c1 - spec)))
        return rr_error(err, errlen, "volumes[%d]: the host directory must be an absolute path", idx);
    if (!abs_path_ok(guest, glen))
        return rr_error(err, errlen,
                    "volumes[%d]: the guest directory must be an absolute path without . or ..",
                    idx);
    bool clean = guest[glen - 1] != '/';
    for (size_t i = 1; i < glen; i++)
        clean = clean && !(guest[i] == '/' && guest[i - 1] == '/');
    if (glen == 1 || (clean == false && strspn(guest, "/") == glen))
        return rr_error(err, errlen, "volumes[%d]: cannot mount over /", idx);
    if (!clean)
        return rr_error(err, errlen,
                    "volumes[%d]: the guest directory must not have empty parts or end in /",
                    idx);
    /* Keep the spec as uvmm takes it; ":rw" is the default there. */
    size_t keep = c2 && strcmp(c2, ":rw") == 0 ? (size_t)(c2 - spec) : strlen(spec);
    char *s = malloc(keep + 1);
    if (!s)
        abort();
    memcpy(s, spec, keep);
    s[keep] = 0;
    *out = s;
    return 0;
}

int json_fields_check(const cJSON *o, const char *const *known, const char *const *known2,
                      const char *where, char *err, size_t errlen)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, o)
    {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, f->string) == 0;
        for (const char *const *k = known2; k && *k && !ok; k++)
            ok = strcmp(*k, f->string) == 0;
        if (!ok)
            return rr_error(err, errlen, "%sunknown field '%.64s'", where, f->string);
        for (const cJSON *g = f->next; g; g = g->next)
            if (strcmp(g->string, f->string) == 0)
                return rr_error(err, errlen, "%sfield '%.64s' given twice", where, f->string);
    }
    return 0;
}

static const char *const known_fields[] = {
    "image", "image_name", "cmdline", "args",    "env",         "mem_mib", "name",
    "restart", "volumes",  "ports",   "read_only", "auto_remove", "wait",    NULL,
};

int run_req_parse(const char *body, size_t len, run_req *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        return rr_error(err, errlen, "body is not JSON");
    int rc = -1;
    if (!cJSON_IsObject(j)) {
        rr_error(err, errlen, "body: want a JSON object");
        goto out;
    }
    if (json_fields_check(j, known_fields, NULL, "", err, errlen) < 0)
        goto out;

    const cJSON *image = cJSON_GetObjectItemCaseSensitive(j, "image");
    const cJSON *image_name = cJSON_GetObjectItemCaseSensitive(j, "image_name");
    if (image && image_name) {
        rr_error(err, errlen, "give image or image_name, not both");
        goto out;
    }
    if (!image)
        image = image_name;
    if (!image) {
        rr_error(err, errlen, "image: required");
        goto out;
    }
    if (!cJSON_IsString(image) || !name_ok(image->valuestring, RR_IMAGE_MAX)) {
        rr_error(err, errlen, "image: want an image name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most %d)",
             RR_IMAGE_MAX);
        goto out;
    }
    snprintf(r->image, sizeof r->image, "%s", image->valuestring);

    const cJSON *cmdline = cJSON_GetObjectItemCaseSensitive(j, "cmdline");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(j, "args");
    if (cmdline && args) {
        rr_error(err, errlen, "give args or cmdline, not both");
        goto out;
    }
    if (args) {
        if (!cJSON_IsArray(args)) {
            rr_error(err, errlen, "args: want an array of strings");
            goto out;
        }
        if (string_array(args, "args", &r->args, &r->nargs, err, errlen) < 0)
            goto out;
        r->args_given = true;
    } else if (cmdline && !cJSON_IsNull(cmdline)) {
        if (!cJSON_IsString(cmdline)) {
            rr_error(err, errlen, "cmdline: want a string");
            goto out;
        }
        char why[128];
        if (shell_words_split(cmdline->valuestring, &r->args, &r->nargs, why, sizeof why) < 0) {
            rr_error(err, errlen, "cmdline: %s", why);
            goto out;
        }
        /* An empty cmdline means "the image's defaults", as in the original. */
        r->args_given = r->nargs > 0;
    }

    const cJSON *env = cJSON_GetObjectItemCaseSensitive(j, "env");
    if (env && !cJSON_IsNull(env) && parse_env(env, r, err, errlen) < 0)
        goto out;

    size_t total = 0;
    for (int i = 0; i < r->nargs; i++)
        total += strlen(r->args[i]) + 1;
    for (int i = 0; i < r->nenv; i++)
        total += strlen(r->env[i]) + 1;
    if (total > RR_ARGENV_BYTES) {
        rr_error(err, errlen, "arguments and environment are too long (%zu bytes, at most %d)", total,
             RR_ARGENV_BYTES);
        goto out;
    }

    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(j, "mem_mib");
    if (mem && !cJSON_IsNull(mem)) {
        /* The range first: converting a huge double to int is undefined. */
        if (!cJSON_IsNumber(mem) || !(mem->valuedouble >= RR_MEM_MIN) ||
            !(mem->valuedouble <= RR_MEM_MAX) ||
            mem->valuedouble != (double)(int)mem->valuedouble) {
            rr_error(err, errlen, "mem_mib: want a whole number from %d to %d", RR_MEM_MIN,
                 RR_MEM_MAX);
            goto out;
        }
        r->mem_mib = (int)mem->valuedouble;
    }

    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (name && !cJSON_IsNull(name)) {
        if (!cJSON_IsString(name) || !name_ok(name->valuestring, RR_NAME_MAX)) {
            rr_error(err, errlen, "name: want [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d characters",
                 RR_NAME_MAX);
            goto out;
        }
        if (!strcmp(name->valuestring, "run")) {
            rr_error(err, errlen, "name: 'run' is taken by the route POST /vm/run");
            goto out;
        }
        snprintf(r->name, sizeof r->name, "%s", name->valuestring);
    }

    const cJSON *restart = cJSON_GetObjectItemCaseSensitive(j, "restart");
    if (restart && !cJSON_IsNull(restart)) {
        const char *p = cJSON_IsString(restart) ? restart->valuestring : "";
        if (!strcmp(p, "no"))
            r->restart = 0;
        else if (!strcmp(p, "on-failure"))
            r->restart = 1;
        else if (!strcmp(p, "always"))
            r->restart = 2;
        else {
            rr_error(err, errlen, "restart: want \"no\", \"on-failure\" or \"always\"");
            goto out;
        }
    }

    const cJSON *vols = cJSON_GetObjectItemCaseSensitive(j, "volumes");
    if (vols && !cJSON_IsNull(vols)) {
        if (!cJSON_IsArray(vols)) {
            rr_error(err, errlen, "volumes: want an array of \"HOSTDIR:GUESTDIR[:ro]\"");
            goto out;
        }
        int n = cJSON_GetArraySize(vols);
        if (n > RR_VOLUMES_MAX) {
            rr_error(err, errlen, "volumes: at most %d", RR_VOLUMES_MAX);
            goto out;
        }
        r->volumes = strv_new(n);
        const cJSON *v;
        cJSON_ArrayForEach(v, vols)
        {
            if (!cJSON_IsString(v)) {
                rr_error(err, errlen, "volumes[%d]: want a string", r->nvolumes);
                goto out;
            }
            if (parse_volume(v->valuestring, r->nvolumes, &r->volumes[r->nvolumes], err,
                             errlen) < 0)
                goto out;
            r->nvolumes++;
        }
    }

    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(j, "ports");
    if (ports && !cJSON_IsNull(ports)) {
        if (!cJSON_IsArray(ports)) {
            rr_error(err, errlen, "ports: want an array of \"[ADDR:]HOSTPORT:VMPORT\"");
            goto out;
        }
        if (cJSON_GetArraySize(ports) > RR_PORTS_MAX) {
            rr_error(err, errlen, "ports: at most %d", RR_PORTS_MAX);
            goto out;
        }
        const cJSON *p;
        cJSON_ArrayForEach(p, ports)
        {
            char why[128];
            if (!cJSON_IsString(p)) {
                rr_error(err, errlen, "ports[%d]: want a string", r->nports);
                goto out;
            }
            if (port_spec_parse(p->valuestring, &r->ports[r->nports], why, sizeof why) < 0) {
                rr_error(err, errlen, "ports[%d]: %s", r->nports, why);
                goto out;
            }
            for (int k = 0; k < r->nports; k++)
                if (port_spec_clash(&r->ports[k], &r->ports[r->nports])) {
                    rr_error(err, errlen, "ports[%d]: host port %d given twice", r->nports,
                         r->ports[k].host_port);
                    goto out;
                }
            r->nports++;
        }
    }

    const cJSON *ro = cJSON_GetObjectItemCaseSensitive(j, "read_only");
    if (ro && !cJSON_IsBool(ro) && !cJSON_IsNull(ro)) {
        rr_error(err, errlen, "read_only: want true or false");
        goto out;
    }
    const cJSON *rm = cJSON_GetObjectItemCaseSensitive(j, "auto_remove");
    if (rm && !cJSON_IsBool(rm) && !cJSON_IsNull(rm)) {
        rr_error(err, errlen, "auto_remove: want true or false");
        goto out;
    }
    r->auto_remove = cJSON_IsTrue(rm);
    const cJSON *wait = cJSON_GetObjectItemCaseSensitive(j, "wait");
    if (wait && !cJSON_IsBool(wait) && !cJSON_IsNull(wait)) {
        rr_error(err, errlen, "wait: want true or false");
        goto out;
    }
    r->wait = cJSON_IsTrue(wait);
    if (!r->env)
        r->env = strv_new(0);
    rc = 0;
out:
    cJSON_Delete(j);
    return rc;
}

void run_req_free(run_req *r)
{
    strv_free(r->args);
    strv_free(r->env);
    strv_free(r->volumes);
    r->args = r->env = r->volumes = NULL;
}

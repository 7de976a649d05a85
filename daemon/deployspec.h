/* deployspec.h -- a deployment file, parsed and checked (docs/deploy.md).
 *
 * Pure, like runreq.h: JSON text in, a checked deployment or a one-line reason
 * out, no daemon state, so the fuzzer runs exactly this code. A deployment is a
 * name and a list of services; each service is the body of a POST /vm/run
 * (checked by run_req_parse itself, so a field means the same in both places)
 * plus what only a deployment has: a replica count, the service's own port,
 * the services it waits for, and ${service} references in its arguments and
 * environment that become the addresses of that service's replicas.
 */
#ifndef UIGD_DEPLOYSPEC_H
#define UIGD_DEPLOYSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_NAME_MAX     24  /* deployment and service names: "DEPLOY-SERVICE-N" fits a VM name */
#define DS_SERVICES_MAX 32
#define DS_REPLICAS_MAX 256
#define DS_SPEC_BYTES   (256 * 1024)

typedef struct ds_service {
    char name[DS_NAME_MAX + 1];
    char image[129]; /* RR_IMAGE_MAX + 1 */
    int replicas;
    int port; /* the port the service listens on in its VM; 0: none given */
    int deps[DS_SERVICES_MAX]; /* indexes of the services it waits for */
    int ndeps;
    /* The run request of one replica, as JSON text: image, args or cmdline,
     * env, mem_mib, restart (default "always"), volumes, ports. Arguments and
     * environment may hold ${...} references (ds_expand); a volume whose host
     * side is a NAME rather than an absolute path is a named volume, one
     * directory per replica (ds_volume_named). */
    char *run;
    uint64_t hash; /* of run: a changed service has a new hash */
    /* "autoscale": the replica count follows the work queued in another
     * service that speaks taskdb's API (GET /health): ceil((ready + leased) /
     * per_replica) within [min, max], down only after idle_s of less work.
     * replicas is then max. */
    bool autoscale;
    int as_queue; /* index of the queue's service */
    int as_min, as_max, as_per, as_idle_s;
} ds_service;

typedef struct ds_spec {
    char name[DS_NAME_MAX + 1];
    ds_service svc[DS_SERVICES_MAX];
    int nsvc;
} ds_spec;

/* Parses a deployment. name, when not NULL, is the name the caller knows it
 * by (PUT /deployments/NAME): the file's "name" may be left out, or must be the
 * same. 0, or -1 with a reason in err; ds_free() in both cases. */
int ds_parse(const char *text, size_t len, const char *name, ds_spec *s, char *err,
             size_t errlen);
void ds_free(ds_spec *s);
/* Index of the service called name, or -1. */
int ds_find(const ds_spec *s, const char *name, size_t len);

/* What a reference stands for: the service's index, and "" (IP:PORT of every
 * ready replica, comma-separated), "ip" (the first ready replica's address) or
 * "port". Writes the text to out and returns 0, or -1 when there is none yet. */
typedef int ds_lookup(void *ctx, int svc, const char *what, char *out, size_t outlen);

/* Expands ${SERVICE}, ${SERVICE.ip} and ${SERVICE.port} in in (and $${ to a
 * literal ${). Returns a new string, or NULL with err when a reference cannot
 * be expanded yet or the result is longer than max. */
char *ds_expand(const ds_spec *s, const char *in, ds_lookup *lookup, void *ctx, size_t max,
                char *err, size_t errlen);

/* A volume "NAME:/GUEST[:ro]" with a name rather than a host path: returns the
 * length of NAME, else 0. */
size_t ds_volume_named(const char *vol);

#endif

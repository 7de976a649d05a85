/* runreq.h -- the body of POST /vm/run, parsed and checked.
 *
 * Pure: JSON text in, a request or a one-line reason out, no daemon state, so
 * the fuzzer runs exactly this code. Both bodies are accepted, ours
 * ({"image", "args"|"cmdline", "env", ...}) and the original Uigniter's
 * ({"image_name", "cmdline", "read_only"}); unknown fields are refused so that
 * a typo does not pass silently. What needs the host (does the image exist, is
 * the volume's directory there, is the port free) is checked by the caller.
 */
#ifndef UIGD_RUNREQ_H
#define UIGD_RUNREQ_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon_limits.h"
#include "proxy.h"

typedef struct run_req {
    char image[RR_IMAGE_MAX + 1];
    char name[RR_NAME_MAX + 1]; /* "" when none */
    char **args;                /* NULL-terminated; NULL when not given */
    int nargs;
    bool args_given;
    char **env; /* "K=V", NULL-terminated */
    int nenv;
    int mem_mib; /* 0: the daemon's default */
    int restart; /* RESTART_* of daemon.h: 0 no, 1 on-failure, 2 always */
    bool auto_remove;
    bool wait;
    char **volumes; /* "HOST:GUEST[:ro]": HOST absolute; GUEST absolute, without ., .., empty parts or a final / */
    int nvolumes;
    port_spec ports[RR_PORTS_MAX];
    int nports;
} run_req;

/* 0, or -1 with the reason in err (a 400). out is zeroed first and must be
 * freed with run_req_free either way. */
int run_req_parse(const char *body, size_t len, run_req *out, char *err, size_t errlen);
void run_req_free(run_req *r);
/* Writes the reason to err and returns -1: how every parser here fails. */
int rr_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct cJSON;
/* Every member of the object o is named in known (or known2, which may be
 * NULL), and none is given twice: 0, or -1 with "WHEREunknown field 'x'". */
int json_fields_check(const struct cJSON *o, const char *const *known,
                      const char *const *known2, const char *where, char *err, size_t errlen);

/* [A-Za-z0-9][A-Za-z0-9_.-]{0,max-1} */
bool name_ok(const char *s, size_t max);

#endif

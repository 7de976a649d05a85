/*
 * cmd_run.c — `uigniterctl run`: starts a VM from an image in the daemon's store
 * (POST /vm/run) and, like `docker run`, either prints its id (-d) or stays
 * attached: the VM's console streams to stdout as it comes and the command ends
 * with the VM's own exit status.
 *
 * Attached, the console comes from GET /vm/{id}/logs?follow=1, which replays
 * everything since the VM was created, so output written before the stream was
 * opened is not lost. Ctrl-C (SIGINT, also SIGTERM or SIGHUP) stops the VM
 * through the API, on the same event loop that carries the stream, so whatever
 * the program prints while it shuts down still arrives; a second one stops it
 * at once (timeout 0: SIGKILL). The status is read from GET /vm/{id} once the
 * stream has ended. --rm is done here rather than by the daemon when attached,
 * because the daemon's auto_remove would delete the record, and with it the
 * exit status, before we could read it.
 */
#include "api.h"
#include "cli.h"

#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: uigniterctl run [-d] [--name NAME] [-e K=V]... [-m MIB] [-p [ADDR:]HOST:GUEST]...\n"
    "                       [-v HOSTDIR:GUESTDIR[:ro]]... [--restart no|on-failure|always]\n"
    "                       [--rm] IMAGE [ARG...]\n"
    "\n"
    "Starts a VM running IMAGE (a name in the daemon's store, see `images`) with ARGs\n"
    "in place of the image's default arguments when any are given.\n"
    "\n"
    "  -d, --detach          print the VM's id and return; otherwise stay attached:\n"
    "                        its console goes to stdout and the VM's exit status is\n"
    "                        ours; Ctrl-C stops the VM (twice: kills it)\n"
    "  --name NAME           a unique name to use in place of the id\n"
    "  -e, --env K=V         an environment variable (repeatable); a bare K takes\n"
    "                        its value from our own environment\n"
    "  -m, --memory MIB      guest memory in MiB (default: the daemon's --mem)\n"
    "  -p, --publish [ADDR:]HOST:GUEST\n"
    "                        proxy TCP port HOST on loopback address ADDR (default\n"
    "                        127.0.0.1) to the VM's port GUEST (repeatable)\n"
    "  -v, --volume HOSTDIR:GUESTDIR[:ro]\n"
    "                        a host directory inside the VM (repeatable); a relative\n"
    "                        HOSTDIR is taken from the current directory\n"
    "  --restart POLICY      no (default), on-failure or always\n"
    "  --rm                  remove the VM's record and log once it has ended\n"
    "  -h, --help            this text\n"
    "\n"
    "exit status: -d: 0 started, 1 failed, 2 usage error; attached: the VM's exit\n"
    "status (the program's own, 128+N for a fatal signal N, 125 for a monitor\n"
    "error), or 1 when the VM could not be started or followed, 2 usage error\n";

struct run_opts {
    int detach, auto_remove;
    const char *name, *restart, *image;
    int mem_mib;
    cJSON *env, *ports, *volumes;
    char **args;
    int nargs;
};

struct attach {
    char id[128];
    int signals;    /* caught so far */
    int stops_sent; /* 0, 1: a stop, 2: also a kill */
    api_req stop, kill;
    int stdout_gone;
};

/* ---- options ------------------------------------------------------------------------ */

/* HOST:GUEST[:ro] splits at the last ':' followed by '/' (GUEST is absolute). */
static int add_volume(cJSON *volumes, const char *spec)
{
    const char *split = NULL;
    for (const char *p = strstr(spec, ":/"); p; p = strstr(p + 1, ":/"))
        split = p;
    if (!split || split == spec)
        return cli_error(CLI_USAGE, "run: -v %s: want HOSTDIR:GUESTDIR[:ro] (GUESTDIR absolute)",
                         spec);
    char *host = strndup(spec, (size_t)(split - spec));
    char *abs = NULL;
    if (!host)
        return cli_error(CLI_FAIL, "out of memory");
    if (host[0] != '/') {
        char *real = realpath(host, NULL);
        if (real) {
            abs = real;
        } else {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof cwd)) {
                free(host);
                return cli_error(CLI_FAIL, "run: -v %s: cannot tell the current directory: %s",
                                 spec, strerror(errno));
            }
            abs = malloc(strlen(cwd) + strlen(host) + 2);
            if (abs)
                sprintf(abs, "%s/%s", cwd, host);
        }
    } else {
        abs = strdup(host);
    }
    free(host);
    char *full = abs ? malloc(strlen(abs) + strlen(split) + 1) : NULL;
    if (!full) {
        free(abs);
        return cli_error(CLI_FAIL, "out of memory");
    }
    sprintf(full, "%s%s", abs, split);
    cJSON_AddItemToArray(volumes, cJSON_CreateString(full));
    free(abs);
    free(full);
    return CLI_OK;
}

static int add_env(cJSON *env, const char *spec)
{
    if (!*spec || *spec == '=')
        return cli_error(CLI_USAGE, "run: -e '%s': want K=V or K", spec);
    if (strchr(spec, '=')) {
        cJSON_AddItemToArray(env, cJSON_CreateString(spec));
        return CLI_OK;
    }
    const char *v = getenv(spec);
    if (!v)
        return CLI_OK; /* like docker: an unset variable is not passed */
    char *kv = malloc(strlen(spec) + strlen(v) + 2);
    if (!kv)
        return cli_error(CLI_FAIL, "out of memory");
    sprintf(kv, "%s=%s", spec, v);
    cJSON_AddItemToArray(env, cJSON_CreateString(kv));
    free(kv);
    return CLI_OK;
}

enum { OPT_NAME = 256, OPT_RESTART, OPT_RM };

static int parse_options(int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        {"detach", no_argument, NULL, 'd'},
        {"name", required_argument, NULL, OPT_NAME},
        {"env", required_argument, NULL, 'e'},
        {"memory", required_argument, NULL, 'm'},
        {"publish", required_argument, NULL, 'p'},
        {"volume", required_argument, NULL, 'v'},
        {"restart", required_argument, NULL, OPT_RESTART},
        {"rm", no_argument, NULL, OPT_RM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c, rc;
    char *end;
    while ((c = getopt_long(argc, argv, "+:de:m:p:v:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->detach = 1;
            break;
        case OPT_NAME:
            o->name = optarg;
            break;
        case 'e':
            if ((rc = add_env(o->env, optarg)) != CLI_OK)
                return rc;
            break;
        case 'm': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v <= 0 || v > INT_MAX)
                return cli_error(CLI_USAGE, "run: -m '%s': want a size in MiB", optarg);
            o->mem_mib = (int)v;
            break;
        }
        case 'p':
            if (!*optarg)
                return cli_error(CLI_USAGE, "run: -p: want [ADDR:]HOSTPORT:GUESTPORT");
            cJSON_AddItemToArray(o->ports, cJSON_CreateString(optarg));
            break;
        case 'v':
            if ((rc = add_volume(o->volumes, optarg)) != CLI_OK)
                return rc;
            break;
        case OPT_RESTART:
            if (strcmp(optarg, "no") && strcmp(optarg, "on-failure") && strcmp(optarg, "always"))
                return cli_error(CLI_USAGE, "run: --restart '%s': want no, on-failure or always",
                                 optarg);
            o->restart = optarg;
            break;
        case OPT_RM:
            o->auto_remove = 1;
            break;
        case 'h':
            fputs(run_usage, stdout);
            return -1;
        default:
            return cli_option_error("run", c, argv);
        }
    }
    if (optind >= argc)
        return cli_error(CLI_USAGE, "run: IMAGE is missing (see uigniterctl run --help)");
    o->image = argv[optind];
    o->args = argv + optind + 1;
    o->nargs = argc - optind - 1;
    return CLI_OK;
}

static cJSON *run_body(const struct run_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "image", o->image);
    if (o->nargs > 0) {
        cJSON *args = cJSON_AddArrayToObject(j, "args");
        for (int i = 0; i < o->nargs; i++)
            cJSON_AddItemToArray(args, cJSON_CreateString(o->args[i]));
    }
    if (cJSON_GetArraySize(o->env) > 0)
        cJSON_AddItemReferenceToObject(j, "env", o->env);
    if (o->mem_mib)
        cJSON_AddNumberToObject(j, "mem_mib", o->mem_mib);
    if (o->name)
        cJSON_AddStringToObject(j, "name", o->name);
    if (o->restart)
        cJSON_AddStringToObject(j, "restart", o->restart);
    if (cJSON_GetArraySize(o->volumes) > 0)
        cJSON_AddItemReferenceToObject(j, "volumes", o->volumes);
    if (cJSON_GetArraySize(o->ports) > 0)
        cJSON_AddItemReferenceToObject(j, "ports", o->ports);
    if (o->auto_remove && o->detach)
        cJSON_AddTrueToObject(j, "auto_remove");
    return j;
}

/* ---- attached ------------------------------------------------------------------------ */

static int to_stdout(const char *data, size_t len, void *arg)
{
    struct attach *a = arg;
    if (api_write_stdout(data, len) < 0) {
        a->stdout_gone = 1;
        return -1;
    }
    return 0;
}

static void send_stop(struct attach *a, api_req *r, const char *query)
{
    if (api_path(r, "/vm/", a->id, query) < 0)
        return;
    r->method = "POST";
    r->timeout_ms = 10 * 60 * 1000; /* the reply comes once the VM has ended */
    api_start(r);
}

static void on_signal(int signo, void *arg)
{
    (void)signo;
    struct attach *a = arg;
    a->signals++;
    if (!a->id[0])
        return; /* not started yet: stopped as soon as it is */
    if (a->stops_sent == 0) {
        fprintf(stderr, "uigniterctl: stopping VM %s (again to kill it)\n", a->id);
        send_stop(a, &a->stop, "/stop");
        a->stops_sent = 1;
    } else if (a->stops_sent == 1) {
        send_stop(a, &a->kill, "/stop?timeout=0");
        a->stops_sent = 2;
    }
}

static int signal_number(const char *name)
{
    if (!name)
        return 0;
    if (strncmp(name, "SIG", 3) == 0)
        name += 3;
    for (int i = 1; i < NSIG; i++) {
        const char *abbrev = sigabbrev_np(i);
        if (abbrev && strcmp(abbrev, name) == 0)
            return i;
    }
    return 0;
}

/* The ended VM's status as an exit status, or -1 when it is not known (yet). */
static int vm_status(const cJSON *vm, int *ended)
{
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vm, "state"));
    *ended = state && (strcmp(state, "exited") == 0 || strcmp(state, "crashed") == 0);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(vm, "exit_code");
    if (cJSON_IsNumber(code))
        return (int)code->valuedouble & 255;
    int sig = signal_number(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vm, "signal")));
    return sig ? 128 + sig : -1;
}

static int attach(struct attach *a)
{
    api_req logs = {.sink = to_stdout, .sink_arg = a, .timeout_ms = INT_MAX};
    if (api_path(&logs, "/vm/", a->id, "/logs?follow=1") < 0)
        return CLI_FAIL;
    api_start(&logs);
    api_wait(&logs);
    int ok = api_ok(&logs);
    if (a->stdout_gone)
        cli_error(CLI_FAIL, "stdout is closed; VM %s goes on", a->id);
    else if (!ok)
        api_report(&logs);
    api_release(&logs);
    if (!ok)
        return CLI_FAIL;
    if (a->stops_sent) {
        api_wait(&a->stop);
        if (!api_ok(&a->stop))
            api_report(&a->stop);
    }
    if (a->stops_sent > 1) {
        api_wait(&a->kill);
        if (!api_ok(&a->kill))
            api_report(&a->kill);
    }
    /* The stream ends when the VM has; its record may lag a moment behind. */
    for (int tries = 0;; tries++) {
        api_req get = {0};
        if (api_path(&get, "/vm/", a->id, NULL) < 0 || api_do(&get) < 0) {
            api_release(&get);
            return CLI_FAIL;
        }
        int ended, status = vm_status(get.json, &ended);
        api_release(&get);
        if (ended && status >= 0)
            return status;
        if (ended)
            return cli_error(CLI_FAIL, "VM %s ended with an unknown status", a->id);
        if (tries == 50)
            return cli_error(CLI_FAIL, "the console of VM %s ended but the VM has not", a->id);
        usleep(100 * 1000);
    }
}

static int run(const struct run_opts *o)
{
    static struct attach a; /* the signal callback may see it until exit */
    if (!o->detach)
        api_on_signal(on_signal, &a);
    api_req r = {.method = "POST", .timeout_ms = 120 * 1000};
    strcpy(r.path, "/vm/run");
    cJSON *body = run_body(o);
    api_json_body(&r, body);
    cJSON_Delete(body);
    if (api_do(&r) < 0) {
        api_release(&r);
        return CLI_FAIL;
    }
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r.json, "id"));
    if (!id || !*id || strlen(id) >= sizeof a.id) {
        api_release(&r);
        return cli_error(CLI_FAIL, "uigniterd's answer to POST /vm/run has no VM id");
    }
    snprintf(a.id, sizeof a.id, "%s", id);
    if (o->detach) {
        if (cli_opts.json)
            api_print_raw(&r);
        else
            printf("%s\n", a.id);
        api_release(&r);
        return fflush(stdout) == 0 ? CLI_OK : cli_error(CLI_FAIL, "writing the id failed");
    }
    api_release(&r);
    if (a.signals) { /* Ctrl-C while it was being started */
        a.signals--;
        on_signal(SIGINT, &a);
    }
    int status = attach(&a);
    if (o->auto_remove) {
        api_req del = {.method = "DELETE"};
        if (api_path(&del, "/vm/", a.id, "?force=1") == 0)
            api_do(&del);
        api_release(&del);
    }
    api_release(&a.stop);
    api_release(&a.kill);
    return status;
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o = {
        .env = cJSON_CreateArray(),
        .ports = cJSON_CreateArray(),
        .volumes = cJSON_CreateArray(),
    };
    int rc = parse_options(argc, argv, &o);
    if (rc == CLI_OK)
        rc = run(&o);
    else if (rc < 0)
        rc = CLI_OK; /* --help */
    cJSON_Delete(o.env);
    cJSON_Delete(o.ports);
    cJSON_Delete(o.volumes);
    return rc;
}

/*
 * cmd_deploy.c — deployments (docs/deploy.md): `uigniterctl deploy FILE` hands
 * a deployment file to the daemon (PUT /deployments/NAME) and waits until
 * every service has its replicas ready; `status [NAME]` shows what the daemon
 * keeps (GET /deployments[/NAME]); `undeploy NAME...` stops and forgets them
 * (DELETE /deployments/NAME, answered once the last VM has ended). The three
 * share the status table, hence one file.
 */
#include "api.h"
#include "cli.h"
#include "table.h"

#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char deploy_usage[] =
    "usage: uigniterctl deploy [--name NAME] [--wait SECONDS] FILE\n"
    "\n"
    "Hands the deployment in FILE (JSON, see docs/deploy.md; - reads stdin) to\n"
    "uigniterd, which starts its services in the order they wait for each other\n"
    "and keeps each at its replica count from then on. A deployment of that name\n"
    "already there is updated: replicas of a changed service are replaced, counts\n"
    "are followed. Then waits until every replica is ready and prints the status.\n"
    "\n"
    "  --name NAME     the deployment's name (default: the file's \"name\", else the\n"
    "                  file's base name without .json)\n"
    "  --wait SECONDS  how long to wait for every replica to be ready (default 120;\n"
    "                  0: do not wait)\n"
    "  -h, --help      this text\n"
    "\n"
    "exit status: 0 deployed (and ready), 1 refused or not ready in time, 2 usage error\n";

static const char status_usage[] =
    "usage: uigniterctl status [NAME]\n"
    "\n"
    "Shows each deployment (or the one named): per service its image, ready replicas\n"
    "against the declared count, the addresses of the ready ones, how many ended and\n"
    "were replaced, and what it waits for or why it last failed.\n"
    "With the global --json, prints the daemon's JSON as is.\n"
    "\n"
    "exit status: 0 shown, 1 failed (no such deployment), 2 usage error\n";

static const char undeploy_usage[] =
    "usage: uigniterctl undeploy NAME...\n"
    "\n"
    "Stops every VM of each deployment and forgets it (its named volumes stay in\n"
    "the daemon's state directory). Returns once the VMs have ended.\n"
    "\n"
    "exit status: 0 all removed, 1 any failed, 2 usage error\n";

static void note_of(const cJSON *s, char *out, size_t outlen)
{
    const char *err = json_str(s, "error", NULL), *end = json_str(s, "last_end", NULL);
    if (err)
        snprintf(out, outlen, "%s", err);
    else if (end)
        snprintf(out, outlen, "last ended: %s", end);
    else
        snprintf(out, outlen, "-");
}

static void print_deployment(const cJSON *d)
{
    printf("deployment %s: %s\n", json_str(d, "name", "?"), json_str(d, "state", "?"));
    table t;
    table_init(&t, 6, "SERVICE", "IMAGE", "READY", "ADDRESSES", "REPLACED", "NOTE");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(d, "services"))
    {
        double ready = 0, replicas = 0, replaced = 0, port = 0;
        json_num(s, "ready", &ready);
        json_num(s, "replicas", &replicas);
        json_num(s, "replaced", &replaced);
        int has_port = json_num(s, "port", &port);
        char rd[32], rp[32], addrs[1024] = "", note[512];
        const cJSON *as = cJSON_GetObjectItemCaseSensitive(s, "autoscale");
        double lo = 0, hi = 0;
        if (cJSON_IsObject(as) && json_num(as, "min", &lo) && json_num(as, "max", &hi))
            snprintf(rd, sizeof rd, "%d/%d (auto %d-%d)", (int)ready, (int)replicas, (int)lo,
                     (int)hi);
        else
            snprintf(rd, sizeof rd, "%d/%d", (int)ready, (int)replicas);
        snprintf(rp, sizeof rp, "%d", (int)replaced);
        const cJSON *v;
        size_t len = 0;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(s, "vms"))
        {
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "ready")))
                continue;
            const char *ip = json_str(v, "ip_address", "?");
            int n = has_port ? snprintf(addrs + len, sizeof addrs - len, "%s%s:%d",
                                        len ? "," : "", ip, (int)port)
                             : snprintf(addrs + len, sizeof addrs - len, "%s%s", len ? "," : "",
                                        ip);
            if (n < 0 || (size_t)n >= sizeof addrs - len)
                break;
            len += (size_t)n;
        }
        note_of(s, note, sizeof note);
        table_add(&t, json_str(s, "name", "?"), json_str(s, "image", "?"), rd,
                  len ? addrs : NULL, rp, note);
    }
    table_print(&t, stdout);
    table_free(&t);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *p = malloc(cap);
    while (p) {
        if (n + 4096 + 1 > cap) {
            char *q = realloc(p, cap *= 2);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
        }
        size_t got = fread(p + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!p || bad) {
        free(p);
        errno = bad ? EIO : ENOMEM;
        return NULL;
    }
    p[n] = 0;
    *len = n;
    return p;
}

/* GET /deployments/NAME; r->json set on success. */
static int get_status(api_req *r, const char *name)
{
    api_release(r);
    memset(r, 0, sizeof *r);
    if (api_path(r, "/deployments/", name, NULL) < 0)
        return -1;
    return api_do(r);
}

static int all_ready(const cJSON *d)
{
    return strcmp(json_str(d, "state", ""), "ready") == 0;
}

int cmd_deploy(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},
        {"wait", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL;
    long wait_s = 120;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'w': {
            char *end;
            wait_s = strtol(optarg, &end, 10);
            if (end == optarg || *end || wait_s < 0 || wait_s > 86400)
                return cli_error(CLI_USAGE, "deploy: --wait: want seconds from 0 to 86400, got '%s'",
                                 optarg);
            break;
        }
        case 'h':
            fputs(deploy_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("deploy", c, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_error(CLI_USAGE, "deploy: want one FILE (see uigniterctl deploy --help)");
    const char *file = argv[optind];
    size_t len = 0;
    char *text = read_all(file, &len);
    if (!text)
        return cli_error(CLI_FAIL, "deploy: %s: %s", file, strerror(errno));
    char fallback[256];
    if (!name) {
        cJSON *j = cJSON_ParseWithLength(text, len);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
        if (cJSON_IsString(n)) {
            snprintf(fallback, sizeof fallback, "%s", n->valuestring);
        } else if (strcmp(file, "-") != 0) {
            char copy[4096];
            snprintf(copy, sizeof copy, "%s", file);
            snprintf(fallback, sizeof fallback, "%s", basename(copy));
            size_t fl = strlen(fallback);
            if (fl > 5 && strcmp(fallback + fl - 5, ".json") == 0)
                fallback[fl - 5] = 0;
        } else {
            cJSON_Delete(j);
            free(text);
            return cli_error(CLI_USAGE, "deploy: the deployment on stdin has no \"name\": give "
                                        "--name");
        }
        cJSON_Delete(j);
        name = fallback;
    }
    api_req r = {0};
    r.method = "PUT";
    if (api_path(&r, "/deployments/", name, NULL) < 0) {
        free(text);
        return CLI_USAGE;
    }
    r.body = text;
    r.body_len = len;
    r.timeout_ms = 60 * 1000;
    int rc = api_do(&r);
    free(text);
    if (rc < 0) {
        api_release(&r);
        return CLI_FAIL;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (wait_s > 0 && r.json && !all_ready(r.json)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) / 1e9 >= (double)wait_s)
            break;
        usleep(100 * 1000);
        if (get_status(&r, name) < 0) {
            api_release(&r);
            return CLI_FAIL;
        }
    }
    rc = CLI_OK;
    if (cli_opts.json)
        api_print_raw(&r);
    else if (r.json)
        print_deployment(r.json);
    if (wait_s > 0 && (!r.json || !all_ready(r.json)))
        rc = cli_error(CLI_FAIL, "deploy: %s is not ready after %ld s (uigniterctl status %s)",
                       name, wait_s, name);
    api_release(&r);
    return rc;
}

int cmd_status(int argc, char **argv)
{
    int done = cli_help_only(argc, argv, "status", status_usage);
    if (done >= 0)
        return done;
    if (argc - optind > 1)
        return cli_error(CLI_USAGE, "status: at most one NAME (see uigniterctl status --help)");
    api_req r = {0};
    int rc;
    if (optind < argc) {
        rc = get_status(&r, argv[optind]);
    } else {
        snprintf(r.path, sizeof r.path, "/deployments");
        rc = api_do(&r);
    }
    if (rc < 0) {
        api_release(&r);
        return CLI_FAIL;
    }
    if (cli_opts.json) {
        api_print_raw(&r);
    } else if (cJSON_IsArray(r.json)) {
        const cJSON *d;
        int first = 1;
        cJSON_ArrayForEach(d, r.json)
        {
            if (!first)
                putchar('\n');
            first = 0;
            print_deployment(d);
        }
        if (first)
            printf("no deployments\n");
    } else if (cJSON_IsObject(r.json)) {
        print_deployment(r.json);
    }
    api_release(&r);
    return fflush(stdout) == 0 ? CLI_OK : cli_error(CLI_FAIL, "writing the status failed");
}

int cmd_undeploy(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(undeploy_usage, stdout);
        return CLI_OK;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-')
            return cli_error(CLI_USAGE, "undeploy: unknown option '%s' (see uigniterctl undeploy "
                                        "--help)", argv[i]);
    if (argc < 2)
        return cli_error(CLI_USAGE, "undeploy: no deployment given (see uigniterctl undeploy "
                                    "--help)");
    return api_for_each("DELETE", "/deployments/", argv + 1, argc - 1, NULL, 300 * 1000);
}

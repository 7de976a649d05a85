/*
 * cmd_ps.c — `uigniterctl ps`: the daemon's VMs (GET /vm) as a table, or their
 * ids alone (-q) for scripts such as `uigniterctl stop $(uigniterctl ps -q)`.
 *
 * The table shows what tells VMs apart at a glance: id, name, image, state with
 * the exit status once ended ("exited (0)", "crashed (139 SIGSEGV)"), address,
 * the host core the VM is pinned to, uptime and whether the warm pool served
 * it. Everything else is in `inspect`; --json prints the daemon's array as is.
 */
#include "api.h"
#include "cli.h"
#include "table.h"

#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char ps_usage[] =
    "usage: uigniterctl ps [-a] [-q]\n"
    "\n"
    "Lists the VMs that are starting, running or restarting, oldest first:\n"
    "  ID  NAME  IMAGE  STATUS  IP  CPU (the host core it runs on)  UPTIME\n"
    "  POOL (hit: served by a prepared VM of the warm pool; miss: made on the spot)\n"
    "STATUS of an ended VM carries its exit status: \"exited (0)\", \"crashed (139 SIGSEGV)\".\n"
    "\n"
    "  -a, --all     also the VMs that have ended\n"
    "  -q, --quiet   the ids only, one a line\n"
    "  -h, --help    this text\n"
    "\n"
    "With the global --json, prints the daemon's JSON array as is.\n"
    "\n"
    "exit status: 0 listed, 1 failed, 2 usage error\n";

static void status_of(const cJSON *vm, char *out, size_t outlen)
{
    const char *state = json_str(vm, "state", "?");
    double code, restarts;
    const char *sig = json_str(vm, "signal", NULL);
    int ended = strcmp(state, "exited") == 0 || strcmp(state, "crashed") == 0;
    if (ended && json_num(vm, "exit_code", &code))
        snprintf(out, outlen, "%s (%d%s%s)", state, (int)code, sig ? " " : "", sig ? sig : "");
    else if (ended && sig)
        snprintf(out, outlen, "%s (%s)", state, sig);
    else if (strcmp(state, "restarting") == 0 && json_num(vm, "restarts", &restarts))
        snprintf(out, outlen, "restarting (%d restarts)", (int)restarts);
    else
        snprintf(out, outlen, "%s", state);
}

static void print_table(const cJSON *vms)
{
    table t;
    table_init(&t, 8, "ID", "NAME", "IMAGE", "STATUS", "IP", "CPU", "UPTIME", "POOL");
    const cJSON *vm;
    cJSON_ArrayForEach(vm, vms)
    {
        char status[96], cpu[16] = "-", uptime[32] = "-";
        double v;
        status_of(vm, status, sizeof status);
        const char *state = json_str(vm, "state", "");
        int live = strcmp(state, "exited") && strcmp(state, "crashed");
        if (live && json_num(vm, "cpu", &v))
            snprintf(cpu, sizeof cpu, "%d", (int)v);
        if (live && json_num(vm, "uptime_s", &v))
            fmt_duration(v, uptime, sizeof uptime);
        const cJSON *hit = cJSON_GetObjectItemCaseSensitive(vm, "pool_hit");
        table_add(&t, json_str(vm, "id", NULL), json_str(vm, "name", NULL),
                  json_str(vm, "image", NULL), status, json_str(vm, "ip_address", NULL), cpu,
                  uptime, cJSON_IsBool(hit) ? (cJSON_IsTrue(hit) ? "hit" : "miss") : NULL);
    }
    table_print(&t, stdout);
    table_free(&t);
}

int cmd_ps(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, NULL, 'a'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int all = 0, quiet = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:aqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(ps_usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("ps", c, argv);
        }
    }
    if (optind < argc)
        return cli_error(CLI_USAGE, "ps: unexpected argument '%s' (see uigniterctl ps --help)",
                         argv[optind]);
    api_req r = {0};
    snprintf(r.path, sizeof r.path, "/vm%s", all ? "?all=1" : "");
    if (api_do(&r) < 0) {
        api_release(&r);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (cli_opts.json) {
        api_print_raw(&r);
    } else if (!cJSON_IsArray(r.json)) {
        rc = cli_error(CLI_FAIL, "uigniterd's answer to GET /vm is not a JSON array");
    } else if (quiet) {
        const cJSON *vm;
        cJSON_ArrayForEach(vm, r.json) printf("%s\n", json_str(vm, "id", "?"));
    } else {
        print_table(r.json);
    }
    api_release(&r);
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_error(CLI_FAIL, "writing the listing failed");
    return rc;
}
